"""Layers written twice from the same files are the same bytes, whatever the order given."""

from __future__ import annotations

import tarfile
from pathlib import Path

from devstack.oci_layout import Entry, write_layer


def test_layers_are_reproducible(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_text("same bytes\n")
    entries = [
        Entry("etc/hello", 0o644, data=b"hello\n"),
        Entry("opt/app/source.txt", 0o644, source),
        Entry("home/app", 0o755, owner=1000),
    ]
    results = []
    for name in ("one", "two"):
        blobs = tmp_path / name
        blobs.mkdir()
        results.append(write_layer(blobs, list(reversed(entries)) if name == "two" else entries))
    assert results[0] == results[1]

    descriptor, _ = results[0]
    blob = tmp_path / "one" / str(descriptor["digest"]).removeprefix("sha256:")
    with tarfile.open(blob) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names == sorted(names)
    assert names[:2] == ["etc", "etc/hello"]  # parent directories have entries of their own
    assert all(m.mtime == 0 for m in members)
    assert {(m.name, m.uid) for m in members if m.uid} == {("home/app", 1000)}
