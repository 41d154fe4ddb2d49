"""Images of local layers: configs stacked onto a base, indexes, and OCI layouts on disk."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rollway.image import Entry, Platform, write_layer
from rollway.image.assemble import extend, layout_refs, scratch, write_layout
from rollway.image.config import CREATED, digest_of
from rollway.image.layer import Layer

AMD64 = Platform("linux", "amd64")


def _layer(tmp_path: Path, name: str) -> Layer:
    return write_layer([Entry(name, 0o644, 2, lambda: io.BytesIO(b"hi"))], tmp_path / "blobs")


def test_extend_stacks_layers_and_merges_settings(tmp_path: Path) -> None:
    one, two = _layer(tmp_path, "a"), _layer(tmp_path, "b")
    base = extend(scratch(AMD64), [(one, "first")], env={"PATH": "/bin", "LANG": "C"},
                  labels={"x": "1"}, user="1000:1000")  # fmt: skip
    image = extend(base, [(two, "second")], env={"PATH": "/usr/bin"}, labels={"y": "2"},
                   cmd=["serve"], annotations={"y": "2"})  # fmt: skip
    config = image.config
    assert config["rootfs"]["diff_ids"] == [one.diff_id, two.diff_id]
    assert [h["created_by"] for h in config["history"]] == ["first", "second"]
    assert config["config"] == {
        "Env": ["PATH=/usr/bin", "LANG=C"],
        "Labels": {"x": "1", "y": "2"},
        "User": "1000:1000",
        "Cmd": ["serve"],
    }
    assert (config["os"], config["architecture"], config["created"]) == ("linux", "amd64", CREATED)
    manifest = json.loads(image.manifest_bytes)
    assert [d["digest"] for d in manifest["layers"]] == [one.digest, two.digest]
    assert manifest["config"]["digest"] == digest_of(image.config_bytes)
    assert manifest["annotations"] == {"y": "2"}
    assert base.config["rootfs"]["diff_ids"] == [one.diff_id]  # the base is left as it was


def test_same_layers_same_digest_and_any_change_shows(tmp_path: Path) -> None:
    layer = _layer(tmp_path, "a")
    first = extend(scratch(AMD64), [(layer, "a")], labels={"v": "1"})
    assert extend(scratch(AMD64), [(layer, "a")], labels={"v": "1"}).digest == first.digest
    assert extend(scratch(AMD64), [(layer, "a")], labels={"v": "2"}).digest != first.digest


def test_a_layout_holds_its_images_by_name(tmp_path: Path) -> None:
    layer = _layer(tmp_path, "a")
    base = extend(scratch(AMD64), [(layer, "a")])
    image = extend(base, [(_layer(tmp_path, "b"), "b")], cmd=["serve"])
    target = tmp_path / "layout"
    write_layout(target, {"base": base, "app": image})
    refs = layout_refs(target)
    assert (refs["base"]["digest"], refs["app"]["digest"]) == (base.digest, image.digest)
    blobs = target / "blobs" / "sha256"
    assert (blobs / image.digest[7:]).read_bytes() == image.manifest_bytes
    for digest in (layer.digest, image.layers[1].digest, digest_of(image.config_bytes)):
        assert (blobs / digest[7:]).exists()
    assert json.loads((target / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    write_layout(target, {"base": base})  # rewritten whole, never merged
    assert set(layout_refs(target)) == {"base"}
