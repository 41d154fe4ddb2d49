"""The layer cache: hits only for identical entries, and survives a lost blob."""

from __future__ import annotations

import io
from pathlib import Path

from rollway.image import Entry, LayerCache
from rollway.image.cache import layer_key


def _entries(content: bytes, sha256: str | None = None) -> tuple[Entry, ...]:
    return (Entry("app/app.jar", 0o644, len(content), lambda: io.BytesIO(content), sha256),)


def test_second_build_is_a_hit(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    first, hit = cache.layer(_entries(b"jar"))
    assert not hit
    again, hit = cache.layer(_entries(b"jar"))
    assert hit
    assert again == first


def test_key_follows_content_path_and_mode() -> None:
    base = layer_key(_entries(b"jar"))
    assert layer_key(_entries(b"jar")) == base
    assert layer_key(_entries(b"jaR")) != base
    assert layer_key((Entry("app/other.jar", 0o644, 3, lambda: io.BytesIO(b"jar")),)) != base
    assert layer_key((Entry("app/app.jar", 0o600, 3, lambda: io.BytesIO(b"jar")),)) != base
    assert layer_key(_entries(b"jar"), level=6) != base


def test_key_follows_a_symlink_target() -> None:
    link = layer_key((Entry("lib", link="usr/lib"),))
    assert layer_key((Entry("lib", link="usr/lib"),)) == link
    assert layer_key((Entry("lib", link="usr/lib64"),)) != link
    assert layer_key((Entry("lib"),)) != link  # a directory of the same name


def test_a_known_sha256_spares_reading_the_content() -> None:
    def unreadable() -> io.BytesIO:
        raise AssertionError("content read although its sha256 was given")

    entries = (Entry("app/app.jar", 0o644, 3, unreadable, "ab" * 32),)
    assert len(layer_key(entries)) == 64


def test_a_lost_blob_is_rebuilt(tmp_path: Path) -> None:
    cache = LayerCache(tmp_path)
    layer, _ = cache.layer(_entries(b"jar"))
    layer.path.unlink()
    rebuilt, hit = cache.layer(_entries(b"jar"))
    assert not hit
    assert rebuilt.digest == layer.digest
    assert rebuilt.path.exists()
