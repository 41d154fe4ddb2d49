"""A layer read while it is written: every byte once, in order, and nothing left open."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from rollway.image.growing import Abandoned, GrowingFile
from rollway.image.layer import Entry, write_layer


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _writer(path: Path) -> tuple[int, GrowingFile]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    return fd, GrowingFile(fd)


def test_a_reader_gets_each_write_as_it_lands_and_stops_at_the_end(tmp_path: Path) -> None:
    fd, growing = _writer(tmp_path / "blob")
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.extend(growing.chunks()))
    reader.start()
    parts = [bytes([n]) * (300_000 + n) for n in range(5)]  # some longer than a chunk read
    for part in parts:
        os.write(fd, part)
        growing.grew(len(part))
    os.close(fd)  # the writer's close does not disturb the reader's own descriptor
    growing.end("sha256:" + hashlib.sha256(b"".join(parts)).hexdigest())
    reader.join(5)
    assert not reader.is_alive()
    assert b"".join(read) == b"".join(parts)


def test_a_failed_writer_fails_the_read(tmp_path: Path) -> None:
    fd, growing = _writer(tmp_path / "blob")
    os.write(fd, b"half")
    growing.grew(4)
    growing.end(None)
    chunks = growing.chunks()
    assert next(chunks) == b"half"
    with pytest.raises(Abandoned, match="writer failed"):
        next(chunks)
    os.close(fd)


def test_closing_gives_up_a_read_under_way_or_never_started(tmp_path: Path) -> None:
    before = _open_fds()
    fd, waiting = _writer(tmp_path / "a")
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            list(waiting.chunks())
        except Abandoned as err:
            outcome.append(err)

    reader = threading.Thread(target=read)
    reader.start()
    waiting.close()  # the reader is waiting for bytes that will never come
    reader.join(5)
    assert not reader.is_alive() and outcome
    os.close(fd)

    fd, unread = _writer(tmp_path / "b")
    unread.close()
    with pytest.raises(Abandoned):
        next(unread.chunks())
    os.close(fd)
    assert _open_fds() == before  # every duplicate descriptor released


def test_write_layer_hands_out_the_blob_it_is_writing(tmp_path: Path) -> None:
    content = os.urandom(3 << 20)  # incompressible: several deflate blocks
    source = tmp_path / "app.jar"
    source.write_bytes(content)
    entry = Entry("app/app.jar", size=len(content), open=lambda: source.open("rb"))
    streamed: list[bytes] = []
    readers: list[threading.Thread] = []

    def watch(growing: GrowingFile) -> None:
        reader = threading.Thread(target=lambda: streamed.extend(growing.chunks()))
        reader.start()
        readers.append(reader)

    layer = write_layer([entry], tmp_path / "blobs", watch=watch)
    readers[0].join(5)
    assert b"".join(streamed) == layer.path.read_bytes()
    assert layer.digest == "sha256:" + hashlib.sha256(b"".join(streamed)).hexdigest()
