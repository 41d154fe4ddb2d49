"""A local cache of built layers, keyed by what went into them, so a warm rebuild skips tar+gzip.

The key hashes every entry's path, mode, size and content sha256, the layer format, the gzip
level and block size and the ISA-L version: a hit is byte-for-byte the layer a fresh build
would write.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import isal

from .growing import GrowingFile
from .layer import BLOCK_SIZE, GZIP_LEVEL, Entry, Layer, complete, write_layer

#: Bump when the same entries would give different layer bytes (tar layout, mtimes, gzip header).
FORMAT = 2
ENV = "ROLLWAY_LAYER_CACHE"
_CHUNK = 1 << 20


def default_root() -> Path:
    """`$ROLLWAY_LAYER_CACHE`, else `$XDG_CACHE_HOME/rollway/layers` (~/.cache/rollway/layers)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "rollway" / "layers"


def layer_key(entries: Iterable[Entry], level: int = GZIP_LEVEL) -> str:
    sha = hashlib.sha256(
        f"rollway-layer/{FORMAT} gzip/{level}/{BLOCK_SIZE} isa-l/{isal.ISAL_VERSION}\n".encode()
    )
    for entry in complete(entries):
        if entry.link is not None:
            content = f"link:{entry.link}"
        else:
            content = "dir" if entry.is_dir else entry.sha256 or _content_sha256(entry)
        sha.update(json.dumps([entry.path, entry.mode, entry.size, content]).encode() + b"\n")
    return sha.hexdigest()


def _content_sha256(entry: Entry) -> str:
    assert entry.open is not None
    sha = hashlib.sha256()
    with entry.open() as fh:
        while chunk := fh.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


class LayerCache:
    """`<root>/keys/<key>.json` points at `<root>/blobs/sha256/<hex>`; writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.keys = root / "keys"

    def layer(
        self,
        entries: tuple[Entry, ...],
        level: int = GZIP_LEVEL,
        watch: Callable[[GrowingFile], None] | None = None,
    ) -> tuple[Layer, bool]:
        """The layer for `entries`, from the cache or freshly built into it; True on a hit.
        `watch` sees a fresh build's blob while it grows (see `write_layer`)."""
        key = layer_key(entries, level)
        cached = self._get(key)
        if cached is not None:
            return cached, True
        layer = write_layer(entries, self.blobs, level, watch)
        self._put(key, layer)
        return layer, False

    def _get(self, key: str) -> Layer | None:
        try:
            record = json.loads((self.keys / f"{key}.json").read_text())
            path = self.blobs / record["digest"].removeprefix("sha256:")
            if path.stat().st_size != record["size"]:
                return None
        except (OSError, ValueError, KeyError):
            return None
        return Layer(record["digest"], record["diff_id"], record["size"], path)

    def _put(self, key: str, layer: Layer) -> None:
        self.keys.mkdir(parents=True, exist_ok=True)
        record = {"digest": layer.digest, "diff_id": layer.diff_id, "size": layer.size}
        fd, tmp = tempfile.mkstemp(dir=self.keys, prefix=".key-")
        with os.fdopen(fd, "w") as fh:
            json.dump(record, fh)
        os.replace(tmp, self.keys / f"{key}.json")
