"""OCI image layouts written on this machine, the same bytes on every run.

Layers are sorted tar+gzip with mtime 0 and fixed owners, JSON blobs are canonical, so a layout
built again has the same digests and pushing it again sends nothing.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import BinaryIO

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
DESCRIPTION = "org.opencontainers.image.description"
REF_NAME = "org.opencontainers.image.ref.name"
EPOCH = "1970-01-01T00:00:00Z"


@dataclasses.dataclass(frozen=True)
class Entry:
    """One file or directory of a layer; `source` is read through symlinks, so none are stored."""

    path: str
    mode: int = 0o755
    source: Path | None = None
    data: bytes | None = None
    owner: int = 0

    @property
    def is_dir(self) -> bool:
        return self.source is None and self.data is None


class _Digesting:
    """A write-through file wrapper counting bytes and their sha256 (tarfile needs `tell`)."""

    def __init__(self, sink: BinaryIO | gzip.GzipFile) -> None:
        self.sink, self.size, self.sha = sink, 0, hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.sink.write(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.sink.flush()


def write_layer(blobs: Path, entries: list[Entry]) -> tuple[dict[str, object], str]:
    """Write a reproducible tar+gzip layer (sorted, mtime 0, root-owned) into `blobs`.

    Returns its descriptor and its diff_id (sha256 of the uncompressed tar).
    """
    wanted = {e.path: e for e in entries}
    for path in list(wanted):  # every parent directory gets an entry of its own
        parts = path.split("/")
        for i in range(1, len(parts)):
            wanted.setdefault("/".join(parts[:i]), Entry("/".join(parts[:i])))
    tmp = blobs / ".layer.partial"
    with tmp.open("wb") as out:
        packed = _Digesting(out)
        with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=6) as gz:
            plain = _Digesting(gz)
            # mode "w" only writes and tells, so the wrapper needs no read/seek.
            with tarfile.open(fileobj=plain, mode="w", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for path in sorted(wanted):
                    _add(tar, wanted[path])
    digest = packed.sha.hexdigest()
    tmp.rename(blobs / digest)
    return descriptor(OCI_LAYER, digest, packed.size), f"sha256:{plain.sha.hexdigest()}"


def _add(tar: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.path + ("/" if entry.is_dir else ""))
    info.mtime, info.mode = 0, entry.mode
    info.uid = info.gid = entry.owner
    info.uname = info.gname = "root" if entry.owner == 0 else ""
    if entry.is_dir:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    elif entry.data is not None:
        info.size = len(entry.data)
        tar.addfile(info, io.BytesIO(entry.data))
    else:
        assert entry.source is not None
        with entry.source.open("rb") as fh:  # follows symlinks into /etc/java-17-openjdk etc.
            info.size = os.fstat(fh.fileno()).st_size
            tar.addfile(info, fh)


def descriptor(media_type: str, digest_hex: str, size: int) -> dict[str, object]:
    return {"mediaType": media_type, "digest": f"sha256:{digest_hex}", "size": size}


def write_json(blobs: Path, media_type: str, doc: object) -> dict[str, object]:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (blobs / digest).write_bytes(raw)
    return descriptor(media_type, digest, len(raw))


def refs(layout: Path) -> dict[str, dict[str, object]]:
    """The layout's manifests by their ref name (the tag)."""
    index = json.loads((layout / "index.json").read_text())
    return {m["annotations"][REF_NAME]: m for m in index["manifests"]}
