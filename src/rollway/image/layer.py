"""Reproducible layers: a tar of entries, gzipped to a file in one streamed pass.

Everything that could vary between two builds of the same input is pinned: entry order (sorted),
mtimes (epoch + 1 s, as Jib does, since some tools read 0 as "unset"), owner (uid/gid 0, with
modes that let any user read), tar format (PAX), and the gzip header (no name, mtime 0),
compressor, level and block size. The uncompressed digest (the diff_id) and the compressed one
(the blob digest) are computed while the bytes stream to disk, so no layer is ever held in memory.

Compression runs on several threads (python-isal's threaded writer, which escapes the GIL): the
tar is deflated in BLOCK_SIZE blocks, each primed with the 32 KiB before it and ended by a sync
flush, into one ordinary gzip member. The bytes depend on the block size, never on how many
threads made them.

Deflate is ISA-L's (python-isal): gzip-compatible, and bench/image_build.py measured its level 1
at ~14x the speed of zlib's level 1 on a 60 MB fat jar, for the same size (a jar is already
deflated), and within 2% of zlib level 6's size on a Spring Boot jar.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, BinaryIO

from isal import igzip_threaded

from .growing import GrowingFile

#: Epoch + 1 s: the mtime of every entry.
MTIME = 1
#: ISA-L level 1 (of 0-3): see the module docstring and bench/image_build.py.
GZIP_LEVEL = 1
#: Bytes of tar per deflate block (see the module docstring). Part of the layer's bytes and of the
#: cache key: never tune it to the machine. It bounds the memory too: a block and its output per
#: thread, one more in each queue.
BLOCK_SIZE = 1 << 20
#: Threads that deflate at once: the output is the same for any number.
COMPRESSORS = max(1, min(4, os.cpu_count() or 1))
DIR_MODE = 0o755
FILE_MODE = 0o644
_COPY_BUFFER = 1 << 20


@dataclasses.dataclass(frozen=True)
class Entry:
    """One file, directory or symlink of a layer; `path` is relative to / (`app/app.jar`)."""

    path: str
    mode: int = FILE_MODE
    size: int = 0
    #: Opens the content; None for a directory or a symlink.
    open: Callable[[], IO[bytes]] | None = None
    #: sha256 hex of the content, when already known (saves a read when computing cache keys).
    sha256: str | None = None
    #: A symlink's target, as stored (`../lib/x`, `usr/bin`).
    link: str | None = None

    @property
    def is_dir(self) -> bool:
        return self.open is None and self.link is None


@dataclasses.dataclass(frozen=True)
class Layer:
    """A built layer blob on disk."""

    digest: str  # sha256:… of the gzip blob, what the manifest lists
    diff_id: str  # sha256:… of the tar, what the config's rootfs lists
    size: int
    path: Path


def complete(entries: Iterable[Entry]) -> list[Entry]:
    """The entries plus a directory entry for every parent, sorted by path."""
    wanted = {e.path: e for e in entries}
    for path in list(wanted):
        parts = path.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            wanted.setdefault(parent, Entry(parent, DIR_MODE))
    return [wanted[p] for p in sorted(wanted)]


def write_layer(
    entries: Iterable[Entry],
    blobs: Path,
    level: int = GZIP_LEVEL,
    watch: Callable[[GrowingFile], None] | None = None,
) -> Layer:
    """Write the layer into `blobs/<hex digest>`; an existing identical blob is kept as is.

    `watch` is handed the blob as a GrowingFile before its first byte, to read while it is
    written (an upload that need not wait for the digest)."""
    blobs.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=blobs, prefix=".layer-", suffix=".partial")
    tmp = Path(tmp_name)
    growing, digest = None, None
    try:
        with os.fdopen(fd, "wb") as out:
            if watch:
                growing = GrowingFile(fd)
                watch(growing)
            packed = _Digesting(out, growing)
            with igzip_threaded.open(
                packed, "wb", level, threads=COMPRESSORS, block_size=BLOCK_SIZE
            ) as gz:
                plain = _Digesting(gz)
                with tarfile.TarFile(
                    fileobj=plain,  # type: ignore[arg-type]  # write-only: needs write and tell
                    mode="w",
                    format=tarfile.PAX_FORMAT,
                    copybufsize=_COPY_BUFFER,
                ) as tar:
                    for entry in complete(entries):
                        _add(tar, entry)
        target = blobs / packed.sha.hexdigest()
        tmp.replace(target)
        digest = f"sha256:{packed.sha.hexdigest()}"
    finally:
        tmp.unlink(missing_ok=True)
        if growing:
            growing.end(digest)
    return Layer(
        digest=digest,
        diff_id=f"sha256:{plain.sha.hexdigest()}",
        size=packed.size,
        path=target,
    )


def _add(tar: tarfile.TarFile, entry: Entry) -> None:
    info = tarfile.TarInfo(entry.path)
    info.mtime = MTIME
    info.mode = entry.mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.link is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = entry.link
        info.mode = 0o777
        tar.addfile(info)
        return
    if entry.open is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return
    info.size = entry.size
    with entry.open() as content:
        tar.addfile(info, content)


class _Digesting:
    """A write-through wrapper that counts and hashes what passes (tarfile also needs `tell`),
    and tells a reader of the growing file each write, flushed so it can read it."""

    def __init__(self, sink: BinaryIO | IO[bytes], growing: GrowingFile | None = None) -> None:
        self.sink = sink
        self.size = 0
        self.sha = hashlib.sha256()
        self.growing = growing

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        written = self.sink.write(data)
        if self.growing:
            self.sink.flush()
            self.growing.grew(len(data))
        return written

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.sink.flush()
