"""The new image's config and manifest: the base image's, plus the jar's layers and how to run it.

Nothing here reads a clock or the environment, so the same inputs always give the same bytes
(and so the same digest): timestamps are fixed and JSON is written with sorted keys.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import UpstreamError
from .layer import Layer
from .media import Format

#: Every timestamp in the config: epoch + 1 s, like the layers' mtimes.
CREATED = "1970-01-01T00:00:01Z"
#: The user the app runs as when the base image would run it as root.
DEFAULT_USER = "1000"
ROOT_USERS = frozenset({"", "0", "root", "0:0", "root:root"})

TITLE = "org.opencontainers.image.title"
VERSION = "org.opencontainers.image.version"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
ARTIFACT = "io.rollway.artifact"
JAR_SHA256 = "io.rollway.jar-sha256"


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """How the image runs the app, and the labels it carries."""

    entrypoint: Sequence[str]
    working_dir: str
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    port: int | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)


def provenance(
    *, jar_sha256: str, base_name: str, base_digest: str, coordinates: str | None
) -> dict[str, str]:
    """Labels (and manifest annotations) that trace an image back to its jar and base image."""
    labels = {JAR_SHA256: jar_sha256, BASE_NAME: base_name, BASE_DIGEST: base_digest}
    if coordinates:
        _, artifact, version = coordinates.split(":")
        labels |= {ARTIFACT: coordinates, TITLE: artifact, VERSION: version}
    return labels


def image_config(
    base: Mapping[str, Any], layers: Sequence[tuple[Layer, str]], run: RunSpec
) -> dict[str, Any]:
    """The base config with the jar's layers appended and `run` applied.

    `layers` pairs each new layer with the history line that says what it holds.
    """
    doc = copy.deepcopy(dict(base))
    # These describe the container that built the base image, not this one.
    for stale in ("container", "container_config", "docker_version"):
        doc.pop(stale, None)
    container = dict(doc.get("config") or {})
    container["Entrypoint"] = list(run.entrypoint)
    container.pop("Cmd", None)  # the base's default arguments mean nothing to the app
    container["WorkingDir"] = run.working_dir
    container["Env"] = merge_env(container.get("Env") or [], run.env)
    if run.port is not None:
        container["ExposedPorts"] = {**(container.get("ExposedPorts") or {}), f"{run.port}/tcp": {}}
    if str(container.get("User") or "") in ROOT_USERS:
        container["User"] = DEFAULT_USER
    container["Labels"] = {**(container.get("Labels") or {}), **run.labels}
    doc["config"] = container
    doc["created"] = CREATED
    rootfs = doc.get("rootfs") or {}
    doc["rootfs"] = {
        "type": "layers",
        "diff_ids": [*rootfs.get("diff_ids", []), *(layer.diff_id for layer, _ in layers)],
    }
    doc["history"] = [
        *doc.get("history", []),
        *({"created": CREATED, "created_by": f"rollway build-image: {what}"} for _, what in layers),
    ]
    return doc


def merge_env(base: Sequence[str], extra: Mapping[str, str]) -> list[str]:
    """`KEY=value` lines: the base's (JAVA_HOME, PATH…) in order, then `extra`, which wins."""
    merged = dict(line.partition("=")[::2] for line in base)
    merged.update(extra)
    return [f"{key}={value}" for key, value in merged.items()]


def image_manifest(
    fmt: Format,
    config: Mapping[str, Any],
    base_layers: Sequence[Mapping[str, Any]],
    layers: Sequence[Layer],
    annotations: Mapping[str, str],
) -> dict[str, Any]:
    """A manifest in the base image's format; base layer descriptors are kept as they were."""
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": fmt.manifest,
        "config": config,
        "layers": [
            *(dict(d) for d in base_layers),
            *(descriptor(fmt.layer, layer.digest, layer.size) for layer in layers),
        ],
    }
    if fmt.annotations and annotations:
        doc["annotations"] = dict(annotations)
    return doc


def descriptor(media_type: str, digest: str, size: int) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": size}


def encode(doc: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, no spaces): equal documents, equal digests."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def digest_of(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def check_base(manifest: Mapping[str, Any], config: Mapping[str, Any], image: str) -> None:
    """A base whose config and manifest disagree on its layers would make a broken image."""
    layers = manifest.get("layers") or []
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(layers) != len(diff_ids):
        raise UpstreamError(
            f"base image {image}: manifest lists {len(layers)} layers but its config "
            f"{len(diff_ids)} diff_ids"
        )
