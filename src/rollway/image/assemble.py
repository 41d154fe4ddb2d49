"""Images made entirely of local layers: from scratch or onto another local image.

Where `build_image` puts a jar onto a base image read from a registry, this makes images from
files alone: a runtime base (Python from real files) and Rollway's own image on top of it. The
result is written as an OCI image layout (a cache that a later run pushes without rebuilding)
and pushed from that layout tag-last, with the same blob and manifest code as `build_image`.
Nothing reads a clock: the same layers give the same digests.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import media
from .config import CREATED, descriptor, digest_of, encode, image_manifest, merge_env
from .layer import Layer
from .platform import Platform
from .push import Blob, PushStats, push_image
from .registry import RegistryClient

REF_NAME = "org.opencontainers.image.ref.name"
LAYOUT_VERSION = '{"imageLayoutVersion":"1.0.0"}'


@dataclasses.dataclass(frozen=True)
class LocalImage:
    """An OCI image whose config and layers are all on this machine."""

    config: Mapping[str, Any]
    layers: tuple[Layer, ...] = ()
    annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @functools.cached_property
    def config_bytes(self) -> bytes:
        return encode(self.config)

    @functools.cached_property
    def manifest_bytes(self) -> bytes:
        config = descriptor(media.OCI_CONFIG, digest_of(self.config_bytes), len(self.config_bytes))
        return encode(image_manifest(media.OCI, config, [], self.layers, self.annotations))

    @property
    def digest(self) -> str:
        return digest_of(self.manifest_bytes)

    @property
    def platform(self) -> Platform:
        return Platform.of(self.config)


def scratch(platform: Platform) -> LocalImage:
    """An image with no layers and an empty config, to stack layers on."""
    doc: dict[str, Any] = {"architecture": platform.architecture, "os": platform.os}
    if platform.variant:
        doc["variant"] = platform.variant
    doc |= {
        "created": CREATED,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    return LocalImage(doc)


def extend(
    base: LocalImage,
    layers: Sequence[tuple[Layer, str]],
    *,
    env: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    user: str | None = None,
    working_dir: str | None = None,
    cmd: Sequence[str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> LocalImage:
    """`base` plus `layers` (each with the history line saying what it holds) and settings.

    Env and labels are merged into the base's (the new value wins); the others replace.
    """
    doc = copy.deepcopy(dict(base.config))
    container = dict(doc.get("config") or {})
    if env:
        container["Env"] = merge_env(container.get("Env") or [], env)
    if labels:
        container["Labels"] = {**(container.get("Labels") or {}), **labels}
    for key, value in (("User", user), ("WorkingDir", working_dir)):
        if value is not None:
            container[key] = value
    if cmd is not None:
        container["Cmd"] = list(cmd)
    doc["config"] = container
    doc["created"] = CREATED
    doc["rootfs"] = {
        "type": "layers",
        "diff_ids": [*doc["rootfs"]["diff_ids"], *(layer.diff_id for layer, _ in layers)],
    }
    doc["history"] = [
        *doc.get("history", []),
        *({"created": CREATED, "created_by": what} for _, what in layers),
    ]
    return LocalImage(
        doc,
        (*base.layers, *(layer for layer, _ in layers)),
        dict(base.annotations if annotations is None else annotations),
    )


def write_layout(target: Path, refs: Mapping[str, LocalImage]) -> None:
    """Write an OCI image layout holding `refs` (tag → image) into `target`, atomically.

    Layer blobs are hard-linked from where they were built when the file system allows.
    """
    tmp = target.with_name(f".{target.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    blobs = tmp / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    entries = []
    for name, image in sorted(refs.items()):
        for layer in image.layers:
            _link_blob(layer.path, blobs / layer.digest.removeprefix("sha256:"))
        _write_blob(blobs, image.config_bytes)
        _write_blob(blobs, image.manifest_bytes)
        entry = descriptor(media.OCI_MANIFEST, image.digest, len(image.manifest_bytes))
        entries.append({**entry, "annotations": {REF_NAME: name}})
    (tmp / "oci-layout").write_text(LAYOUT_VERSION)
    (tmp / "index.json").write_text(encode({"schemaVersion": 2, "manifests": entries}).decode())
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)


def layout_refs(layout: Path) -> dict[str, dict[str, Any]]:
    """The descriptors of a layout's index.json by their ref name."""
    index = json.loads((layout / "index.json").read_text())
    return {m["annotations"][REF_NAME]: m for m in index["manifests"]}


def push_layout(
    client: RegistryClient, repository: str, layout: Path, ref: str, tag: str
) -> tuple[str, PushStats]:
    """Push the image a layout names `ref` to `repository:tag` (blobs, then the manifest, then
    the tag); returns its digest."""
    blobs = layout / "blobs" / "sha256"
    body = (blobs / layout_refs(layout)[ref]["digest"].removeprefix("sha256:")).read_bytes()
    doc = json.loads(body)
    parts = [doc["config"], *doc["layers"]]
    content = [
        Blob(d["digest"], d["size"], blobs / d["digest"].removeprefix("sha256:")) for d in parts
    ]
    return push_image(client, repository, content, body, doc["mediaType"], tag)


def _write_blob(blobs: Path, data: bytes) -> None:
    (blobs / digest_of(data).removeprefix("sha256:")).write_bytes(data)


def _link_blob(source: Path, target: Path) -> None:
    if target.exists():
        return
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
