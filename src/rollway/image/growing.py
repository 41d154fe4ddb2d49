"""A file one thread is still writing that another reads as it grows: a layer uploaded while deflated.

The reader holds its own descriptor (a duplicate of the writer's), so neither the writer closing
the file nor its rename into the cache disturbs a read under way; the descriptor is released by
the one read (when it ends) or by `close` (when nobody reads). The writer announces every write
and then the end (with the blob's digest) or its failure; the reader waits for either.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

_CHUNK = 1 << 20


class Abandoned(Exception):
    """The writer failed or the reader was closed: the bytes will never be whole."""


class GrowingFile:
    """One writer's file, read once from the start by one reader while it grows."""

    def __init__(self, fd: int) -> None:
        """`fd` is the writer's descriptor, opened for reading too (as `mkstemp` opens it)."""
        self._fd: int | None = os.dup(fd)
        self._changed = threading.Condition()
        self._size = 0
        self._ended = False
        self._closed = False
        self._reading = False
        #: sha256:… of the whole file once the writer ends well; None until then or on failure.
        self.digest: str | None = None

    def grew(self, count: int) -> None:
        """The writer appended (and flushed) `count` bytes."""
        with self._changed:
            self._size += count
            self._changed.notify_all()

    def end(self, digest: str | None) -> None:
        """The writer is done: `digest` of the whole, or None when it failed."""
        with self._changed:
            self._ended = True
            self.digest = digest
            self._changed.notify_all()

    def chunks(self) -> Iterator[bytes]:
        """The bytes from the start, each as soon as it is written, to the writer's end."""
        with self._changed:
            if self._reading:
                raise Abandoned("the file is read once")
            if self._closed or self._fd is None:
                raise Abandoned("the read was given up")
            self._reading = True
            fd = self._fd
        try:
            yield from self._read(fd)
        finally:
            with self._changed:
                self._fd = None
            os.close(fd)

    def _read(self, fd: int) -> Iterator[bytes]:
        offset = 0
        while True:
            with self._changed:
                while self._size <= offset and not (self._ended or self._closed):
                    self._changed.wait()
                size, ended, closed = self._size, self._ended, self._closed
            if closed:
                raise Abandoned("the read was given up")
            if offset < size:
                data = os.pread(fd, min(_CHUNK, size - offset), offset)
                if not data:
                    raise Abandoned(f"the file ends at {offset} bytes, not {size}")
                offset += len(data)
                yield data
            elif ended and self.digest is None:
                raise Abandoned("the writer failed")
            elif ended:
                return

    def close(self) -> None:
        """Give the read up: a read under way fails with Abandoned, an unstarted one never starts."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            if self._reading:  # the read releases its descriptor itself
                return
            fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
