"""Maven coordinates: the accepted forms, errors naming the part at fault, maven2 paths."""

from __future__ import annotations

import pytest

from rollway.errors import InvalidInput
from rollway.maven import Coordinates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("com.acme:orders", Coordinates("com.acme", "orders", "RELEASE", "", "jar")),
        ("com.acme:orders:1.4.2", Coordinates("com.acme", "orders", "1.4.2")),
        ("com.acme:orders:LATEST", Coordinates("com.acme", "orders", "LATEST")),
        (
            "com.acme:orders:1.0-SNAPSHOT:sources",
            Coordinates("com.acme", "orders", "1.0-SNAPSHOT", "sources"),
        ),
        ("com.acme:orders:1.0@war", Coordinates("com.acme", "orders", "1.0", "", "war")),
        ("com.acme:orders:1.0:all@zip", Coordinates("com.acme", "orders", "1.0", "all", "zip")),
        ("  com.acme:orders:1.0 ", Coordinates("com.acme", "orders", "1.0")),
    ],
)
def test_parses_every_documented_form(text: str, expected: Coordinates) -> None:
    assert Coordinates.parse(text) == expected


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("orders", "1 ':'-separated part"),
        ("a:b:c:d:e", "5 ':'-separated part"),
        ("com.acme::1.0", "artifactId is empty"),
        (":orders", "groupId is empty"),
        ("com.acme:orders:1.0:", "classifier is empty"),
        ("com.acme:orders@", "extension after '@' is empty"),
        ("com.acme:ord ers", "artifactId 'ord ers'"),
        ("com.acme:orders:1/0", "version '1/0'"),
        ("com.acme:orders:1.0@j/ar", "extension 'j/ar'"),
        ("com.acme:orders@a@b", "extension 'a@b'"),
    ],
)
def test_a_malformed_part_is_named_with_the_expected_form(text: str, names: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        Coordinates.parse(text)
    assert caught.value.field == "coordinates"
    assert names in caught.value.message
    assert "group:artifact[:version][:classifier][@extension]" in caught.value.message


def test_argo_template_syntax_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"\{\{"):
        Coordinates.parse("com.acme:{{workflow.name}}")


def test_str_round_trips_the_canonical_form() -> None:
    for text in ("com.acme:orders:1.0", "com.acme:orders:1.0:all@zip", "com.acme:orders:2@war"):
        assert str(Coordinates.parse(text)) == text


def test_kinds_of_version() -> None:
    assert Coordinates.parse("g:a").is_meta_version
    assert Coordinates.parse("g:a:LATEST").is_meta_version
    assert Coordinates.parse("g:a:1.0-SNAPSHOT").is_snapshot
    assert not Coordinates.parse("g:a:1.0-20261122.101010-2").is_snapshot  # an exact build
    assert not Coordinates.parse("g:a:1.0").is_snapshot


def test_paths_follow_the_maven2_layout() -> None:
    release = Coordinates.parse("com.acme.shop:orders:1.4.2")
    assert release.artifact_path == "com/acme/shop/orders"
    assert release.file_path() == "com/acme/shop/orders/1.4.2/orders-1.4.2.jar"
    sources = Coordinates.parse("com.acme:orders:1.0:sources@zip")
    assert sources.file_path() == "com/acme/orders/1.0/orders-1.0-sources.zip"


def test_snapshot_builds_live_in_the_base_version_directory() -> None:
    snapshot = Coordinates.parse("com.acme:orders:1.2.0-SNAPSHOT")
    assert snapshot.file_path("1.2.0-20261122.101010-2") == (
        "com/acme/orders/1.2.0-SNAPSHOT/orders-1.2.0-20261122.101010-2.jar"
    )
    exact = Coordinates.parse("com.acme:orders:1.2.0-20261122.101010-2")
    assert exact.base_version == "1.2.0-SNAPSHOT"
    assert exact.file_path() == "com/acme/orders/1.2.0-SNAPSHOT/orders-1.2.0-20261122.101010-2.jar"
