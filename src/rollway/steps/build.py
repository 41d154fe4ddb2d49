"""`rollway-step build-image`: the jar onto a base image, pushed to the registry by digest.

Credentials come from ROLLWAY_REGISTRY_USERNAME/PASSWORD (or …_FILE) or a mounted Docker
config.json, never from arguments. Outputs: image (repo@digest), digest, tag, pushed,
blobs_uploaded, bytes_uploaded, base_digest.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import threading
from concurrent.futures import Future
from pathlib import Path

import click

from ..errors import InvalidInput
from ..validation import MAVEN_ID
from .outputs import emit

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
SHA256_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
#: Label keys the build sets itself, for provenance; a user may not override them.
RESERVED_LABELS = ("io.rollway.", "org.opencontainers.image.base.")


@click.command("build-image")
@click.option(
    "--jar",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The jar to put in the image.",
)
@click.option("--base", required=True, help="Base image, e.g. harbor/library/eclipse-temurin:17")
@click.option("--target", required=True, help="Repository to push to, REPO[:TAG].")
@click.option("--platform", default="linux/amd64", show_default=True, help="os/arch[/variant]")
@click.option("--coordinates", help="groupId:artifactId:version of the jar (labels, default tag).")
@click.option("--jar-sha256", help="The sha256 the jar must have.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.option("--env", "env_vars", multiple=True, metavar="K=V", help="Environment (repeatable).")
@click.option("--label", "labels", multiple=True, metavar="K=V", help="Image label (repeatable).")
def command(
    jar: Path,
    base: str,
    target: str,
    platform: str,
    coordinates: str | None,
    jar_sha256: str | None,
    port: int,
    env_vars: tuple[str, ...],
    labels: tuple[str, ...],
) -> None:
    """Build an image from a jar onto a base image and push it (no Docker daemon needed)."""
    hashed = _sha256_from_now(jar)
    from ..image import BuildRequest, Platform, build_image, default_root, parse_reference

    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="build-image: %(message)s")
    if coordinates is not None:
        parts = coordinates.split(":")
        if len(parts) != 3 or not all(MAVEN_ID.match(p) for p in parts):
            raise InvalidInput(
                f"{coordinates!r} is not groupId:artifactId:version", field="coordinates"
            )
    if jar_sha256 is not None and not SHA256_HEX.match(jar_sha256):
        raise InvalidInput("must be 64 hexadecimal digits", field="jar-sha256")
    registry = os.environ.get("ROLLWAY_REGISTRY") or "docker.io"
    request = BuildRequest(
        jar=jar,
        base=parse_reference(base, field="base", default_registry=registry),
        target=parse_reference(target, field="target", default_registry=registry),
        platform=Platform.parse(platform),
        coordinates=coordinates,
        jar_sha256=jar_sha256,
        port=port,
        env=_pairs("env", env_vars, ENV_NAME),
        labels=_labels(labels),
    )
    result = build_image(request, cache_dir=_cache_dir(default_root()), hashed=hashed)
    emit(
        {
            "image": result.image,
            "digest": result.digest,
            "tag": result.tag,
            "pushed": result.pushed,
            "blobs_uploaded": result.blobs_uploaded,
            "bytes_uploaded": result.bytes_uploaded,
            "base_digest": result.base_digest,
        }
    )


def _sha256_from_now(jar: Path) -> Future[str]:
    """The jar's sha256, hashed on a thread of its own from the step's first moment: the image
    modules (~45 ms) load meanwhile, and a build cannot go far without it."""
    hashed: Future[str] = Future()

    def run() -> None:
        try:
            with jar.open("rb") as fh:
                hashed.set_result(hashlib.file_digest(fh, "sha256").hexdigest())
        except BaseException as err:  # noqa: BLE001 — handed to whoever waits for it
            hashed.set_exception(err)

    threading.Thread(target=run, name="hash-jar", daemon=True).start()
    return hashed


def _pairs(field: str, values: tuple[str, ...], key: re.Pattern[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        name, sep, text = value.partition("=")
        if not sep or not key.match(name):
            raise InvalidInput(f"{value!r} is not KEY=value with a valid key", field=field)
        pairs[name] = text
    return pairs


def _labels(values: tuple[str, ...]) -> dict[str, str]:
    labels = _pairs("label", values, LABEL_KEY)
    for name in labels:
        if name.startswith(RESERVED_LABELS):
            raise InvalidInput(f"{name!r} is set by the build itself (provenance)", field="label")
    return labels


def _cache_dir(root: Path) -> Path | None:
    """The layer cache, or None (build in a temp dir) where it cannot be written, e.g. a
    read-only root filesystem in a pod."""
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        logging.getLogger(__name__).warning("layer cache %s unusable (%s); not caching", root, err)
        return None
    if not os.access(root, os.W_OK):
        logging.getLogger(__name__).warning("layer cache %s is read-only; not caching", root)
        return None
    return root
