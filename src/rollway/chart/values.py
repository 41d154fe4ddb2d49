"""The values Rollway renders a chart with: user values, `--set` overrides, then the pipeline's own.

Precedence, lowest first: the chart's values.yaml, `--values-json`, `--set`, then what the
pipeline decides (image digest, strategy, replicas), which nothing a user passes can override.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidInput

#: An image by digest: `harbor.example.com/team/orders@sha256:<64 hex>`.
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
KEY_PATH = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")


def image(reference: str, field: str = "image") -> dict[str, Any]:
    """`{"image": {"repository", "digest"}}` from `REPO@sha256:…` (a tag is refused)."""
    repository, at, digest = reference.partition("@")
    if not at or not DIGEST.match(digest):
        raise InvalidInput(
            f"{reference!r} must be REPOSITORY@sha256:<64 hex digits> (an image by digest)",
            field=field,
        )
    if not repository or ":" in repository.rpartition("/")[2] or "{{" in repository:
        raise InvalidInput(
            f"repository {repository!r} must have no tag: the digest names the image", field=field
        )
    return {"image": {"repository": repository, "digest": digest}}


def from_json(text: str | None, field: str = "values-json") -> dict[str, Any]:
    """A JSON object of values; anything else is refused with the parser's reason."""
    if not text:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"is not valid JSON: {err}", field=field) from None
    if not isinstance(values, dict):
        raise InvalidInput(f"must be a JSON object, not {type(values).__name__}", field=field)
    return values


def scalar(text: str) -> Any:
    """A `--set` value typed the way `helm --set` types it: bools, null and integers; else text."""
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if INTEGER.match(text):
        return int(text)
    return text


def from_sets(items: Sequence[str], field: str = "set") -> dict[str, Any]:
    """Nested values from `a.b.c=value` items, later items winning."""
    values: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not KEY_PATH.match(key):
            raise InvalidInput(
                f"{item!r} must be KEY=VALUE, KEY a dotted path like canary.maxSurge",
                field=field,
            )
        merge(values, _nest(key.split("."), scalar(text)))
    return values


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    for key in reversed(path[1:]):
        value = {key: value}
    return {path[0]: value}


def merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into `base` in place; maps merge, anything else (lists too) replaces,
    as Helm merges values files."""
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def build(*layers: Mapping[str, Any]) -> dict[str, Any]:
    """Merge value layers, lowest precedence first."""
    values: dict[str, Any] = {}
    for layer in layers:
        merge(values, layer)
    return values
