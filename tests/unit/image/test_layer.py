"""Reproducible layers: same entries, same bytes; digests computed in the one streamed pass."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import tarfile
import zlib
from pathlib import Path

import pytest

from rollway.image import Entry, write_layer
from rollway.image import layer as layer_module
from rollway.image.layer import BLOCK_SIZE, MTIME


def _entries(content: bytes = b"hello") -> list[Entry]:
    return [
        Entry("app/lib/b.jar", 0o644, len(content), lambda: io.BytesIO(content)),
        Entry("app/a.txt", 0o644, 3, lambda: io.BytesIO(b"abc")),
    ]


def test_digests_match_the_blob_and_its_tar(tmp_path: Path) -> None:
    layer = write_layer(_entries(), tmp_path)
    blob = layer.path.read_bytes()
    assert layer.path == tmp_path / layer.digest.removeprefix("sha256:")
    assert layer.digest == f"sha256:{hashlib.sha256(blob).hexdigest()}"
    assert layer.size == len(blob)
    assert layer.diff_id == f"sha256:{hashlib.sha256(gzip.decompress(blob)).hexdigest()}"
    assert [p.name for p in tmp_path.iterdir()] == [layer.path.name]  # no temp file left


def test_same_entries_give_the_same_bytes(tmp_path: Path) -> None:
    first = write_layer(_entries(), tmp_path / "one")
    second = write_layer(list(reversed(_entries())), tmp_path / "two")
    assert first.digest == second.digest
    assert first.diff_id == second.diff_id
    assert write_layer(_entries(b"other"), tmp_path / "three").digest != first.digest


def test_entries_are_sorted_root_owned_fixed_time_with_parents(tmp_path: Path) -> None:
    layer = write_layer(_entries(), tmp_path)
    with tarfile.open(layer.path) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["app", "app/a.txt", "app/lib", "app/lib/b.jar"]
        assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
            (0, 0, "", "", MTIME)
        }
        assert [(m.isdir(), m.mode) for m in members] == [
            (True, 0o755),
            (False, 0o644),
            (True, 0o755),
            (False, 0o644),
        ]
        assert tar.extractfile("app/lib/b.jar").read() == b"hello"  # type: ignore[union-attr]
        assert tar.pax_headers == {}  # nothing host-specific (no atime/ctime records)


def test_gzip_header_has_no_name_or_time(tmp_path: Path) -> None:
    head = write_layer(_entries(), tmp_path).path.read_bytes()[:10]
    assert head[:3] == b"\x1f\x8b\x08"
    assert head[3] == 0  # no FNAME
    assert head[4:8] == b"\0\0\0\0"  # MTIME 0


def test_an_empty_layer_is_valid(tmp_path: Path) -> None:
    layer = write_layer([], tmp_path)
    with tarfile.open(layer.path) as tar:
        assert tar.getmembers() == []


def test_a_symlink_is_stored_as_one(tmp_path: Path) -> None:
    layer = write_layer([Entry("lib", link="usr/lib"), Entry("usr/lib/x.so")], tmp_path)
    with tarfile.open(layer.path) as tar:
        link = tar.getmember("lib")
        assert link.issym() and link.linkname == "usr/lib"
        assert (link.uid, link.mtime) == (0, MTIME)
        assert tar.getmember("usr/lib").isdir()


def _large(size: int) -> list[Entry]:
    content = random.Random(15).randbytes(size)  # incompressible, like a jar's deflated entries
    return [Entry("app/app.jar", 0o644, size, lambda: io.BytesIO(content))]


def test_a_layer_of_many_blocks_is_one_gzip_member(tmp_path: Path) -> None:
    layer = write_layer(_large(3 * BLOCK_SIZE + 5), tmp_path)
    blob = layer.path.read_bytes()
    inflate = zlib.decompressobj(wbits=16 + 15)
    tar = inflate.decompress(blob)
    assert inflate.eof and inflate.unused_data == b""  # one member, nothing after it
    assert layer.diff_id == f"sha256:{hashlib.sha256(tar).hexdigest()}"
    assert layer.digest == f"sha256:{hashlib.sha256(blob).hexdigest()}"
    assert layer.size == len(blob)


def test_the_bytes_do_not_depend_on_how_many_threads_compress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    digests = set()
    for threads in (1, 3):
        monkeypatch.setattr(layer_module, "COMPRESSORS", threads)
        digests.add(write_layer(_large(2 * BLOCK_SIZE + 7), tmp_path / str(threads)).digest)
    assert len(digests) == 1


def test_a_failing_entry_leaves_no_partial_blob(tmp_path: Path) -> None:
    def broken() -> io.BytesIO:
        raise OSError("gone")

    with pytest.raises(OSError, match="gone"):
        write_layer([*_large(BLOCK_SIZE + 1), Entry("app/z.jar", 0o644, 1, broken)], tmp_path)
    assert list(tmp_path.iterdir()) == []
