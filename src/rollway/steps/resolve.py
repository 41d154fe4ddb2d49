"""resolve-artifact: Maven coordinates → exact version → downloaded, checksum-verified jar."""

from __future__ import annotations

from pathlib import Path

import click

from . import outputs

DEFAULT_DOWNLOAD_DIR = "/tmp/rollway/artifacts"


@click.command("resolve-artifact")
@click.option(
    "--coordinates",
    required=True,
    help="group:artifact[:version][:classifier][@extension]; version: fixed, LATEST, RELEASE "
    "(the default) or X-SNAPSHOT (its newest build).",
)
@click.option(
    "--repository",
    "repositories",
    multiple=True,
    help="Repository base URL, asked in order (repeatable). "
    "Default: $ROLLWAY_MAVEN_URL then $ROLLWAY_MAVEN_SNAPSHOTS_URL.",
)
@click.option(
    "--download-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="ROLLWAY_DOWNLOAD_DIR",
    default=DEFAULT_DOWNLOAD_DIR,
    show_default=True,
)
@outputs.option
def command(
    coordinates: str, repositories: tuple[str, ...], download_dir: Path, outputs_dir: Path
) -> None:
    """Resolve and download an artifact, verifying the checksum published beside it.

    Credentials: ROLLWAY_MAVEN_USERNAME / ROLLWAY_MAVEN_PASSWORD, or files named by
    ROLLWAY_MAVEN_USERNAME_FILE / ROLLWAY_MAVEN_PASSWORD_FILE.
    """
    from ..maven import Coordinates, MavenClient  # httpx: imported only when the step runs

    wanted = Coordinates.parse(coordinates)
    with MavenClient.from_env(repositories) as maven:
        download = maven.download(maven.resolve(wanted), download_dir)
    resolved = download.resolved
    outputs.emit(
        {
            "coordinates": str(resolved.coordinates),
            "version": resolved.version,
            "base-version": resolved.base_version,
            "url": resolved.url,
            "sha256": download.sha256,
            "size": str(download.size),
            "path": str(download.path.resolve()),
            "verified-with": download.verified_with,
        },
        outputs_dir,
    )
