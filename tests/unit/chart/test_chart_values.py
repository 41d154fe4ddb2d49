"""The values a chart renders with: image by digest, --set typing, merging and precedence."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.chart import values
from rollway.errors import InvalidInput

DIGEST = "sha256:" + "ab" * 32


def test_image_by_digest_becomes_repository_and_digest() -> None:
    assert values.image(f"harbor.example.com:8443/team/orders@{DIGEST}") == {
        "image": {"repository": "harbor.example.com:8443/team/orders", "digest": DIGEST}
    }


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("harbor.example.com/team/orders:1.0", "must be REPOSITORY@sha256"),
        ("harbor.example.com/team/orders@sha256:abc", "must be REPOSITORY@sha256"),
        (f"harbor.example.com/team/orders:1.0@{DIGEST}", "must have no tag"),
        (f"@{DIGEST}", "must have no tag"),
        (f"{{{{inputs.image}}}}@{DIGEST}", "must have no tag"),
    ],
)
def test_anything_but_an_image_by_digest_is_refused(reference: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason) as caught:
        values.image(reference)
    assert caught.value.field == "image"


@pytest.mark.parametrize(
    ("text", "typed"),
    [("true", True), ("false", False), ("null", None), ("3", 3), ("-1", -1), ("0", 0),
     ("1.0", "1.0"), ("007", "007"), ("25%", "25%"), ("", "")],
)  # fmt: skip
def test_set_values_are_typed_like_helm_set(text: str, typed: object) -> None:
    assert values.scalar(text) == typed


def test_set_items_nest_by_dotted_path_and_later_ones_win() -> None:
    assert values.from_sets(
        ["replicas=3", "bluegreen.autoPromotionEnabled=true", "canary.maxSurge=1",
         "canary.maxSurge=50%", "image.pullPolicy=Always"]
    ) == {
        "replicas": 3,
        "bluegreen": {"autoPromotionEnabled": True},
        "canary": {"maxSurge": "50%"},
        "image": {"pullPolicy": "Always"},
    }  # fmt: skip


@pytest.mark.parametrize("item", ["replicas", "=3", "a..b=1", "env[0]name=X", "a b=1"])
def test_malformed_set_items_are_refused(item: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        values.from_sets([item])
    assert caught.value.field == "set"
    assert repr(item) in caught.value.message


def test_values_json_must_be_an_object() -> None:
    assert values.from_json(None) == {} == values.from_json("")
    assert values.from_json('{"replicas": 4}') == {"replicas": 4}
    with pytest.raises(InvalidInput, match="not valid JSON") as caught:
        values.from_json("{replicas: 4}")
    assert caught.value.field == "values-json"
    with pytest.raises(InvalidInput, match="JSON object, not list"):
        values.from_json("[1, 2]")


def test_layers_merge_deeply_maps_only_and_later_layers_win() -> None:
    user: dict[str, Any] = {
        "replicas": 1,
        "image": {"repository": "sneaky/override", "pullPolicy": "Always"},
        "canary": {"steps": [{"setWeight": 10}, {"pause": {}}], "maxSurge": 1},
        "env": [{"name": "A", "value": "1"}],
    }
    sets = {"canary": {"steps": [{"setWeight": 50}]}, "env": []}
    pipeline = {**values.image(f"reg/app@{DIGEST}"), "strategy": "canary", "replicas": 3}
    merged = values.build(user, sets, pipeline)
    assert merged == {
        "replicas": 3,
        "image": {"repository": "reg/app", "digest": DIGEST, "pullPolicy": "Always"},
        "canary": {"steps": [{"setWeight": 50}], "maxSurge": 1},  # lists replace, as in Helm
        "env": [],
        "strategy": "canary",
    }
    assert user["canary"]["steps"] == [{"setWeight": 10}, {"pause": {}}]  # inputs untouched
