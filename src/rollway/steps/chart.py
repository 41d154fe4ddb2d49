"""fetch-chart: one ref of the team's chart repository → a chart directory and its commit id."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import click

from ..chart import chartfile, git
from ..errors import InvalidInput
from ..validation import no_template
from . import outputs


def chart_path(value: str) -> str:
    """A relative path inside the repository, never leaving it."""
    no_template("path", value)
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInput(f"{value!r} must be a relative path inside the repository", field="path")
    return str(path)


@click.command("fetch-chart")
@click.option("--repo", "url", required=True, help="http(s) clone URL of the chart repository.")
@click.option("--ref", required=True, help="Branch, tag or full commit id.")
@click.option("--path", "subpath", default="charts/app", show_default=True, help="Chart directory.")
@click.option(
    "--dest",
    required=True,
    type=click.Path(path_type=Path),
    help="Where the work tree goes (absent or empty).",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds git may take.")
@outputs.option
def command(
    url: str, ref: str, subpath: str, dest: Path, timeout: float, outputs_dir: Path
) -> None:
    """Shallow-fetch REF of the chart repository and select the chart at PATH.

    Credentials: ROLLWAY_GIT_TOKEN, or ROLLWAY_GIT_USERNAME / ROLLWAY_GIT_PASSWORD (each may be
    given as a file by the *_FILE variable).
    """
    url, ref, subpath = git.repo_url(url), git.git_ref(ref), chart_path(subpath)

    def select(tree: Path, commit: str) -> chartfile.ChartMeta:
        shown = f"{subpath} (at {ref}, commit {commit[:12]})"
        if not (tree / subpath).resolve().is_relative_to(tree.resolve()):
            raise InvalidInput(f"{shown} is a symlink leading out of the repository", field="path")
        return chartfile.load(tree / subpath, field="path", shown=shown)

    commit, chart = git.fetch(url, ref, dest, select, header=git.auth_header(), timeout=timeout)
    outputs.emit(
        {
            "commit": commit,
            "chart-name": chart.name,
            "chart-version": chart.version,
            "chart-dir": str((dest / subpath).resolve()),
        },
        outputs_dir,
    )
