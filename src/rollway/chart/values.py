"""The values Rollway renders a chart with: user values, `--set` overrides, then the pipeline's own.

Precedence, lowest first: the chart's values.yaml, `--values-json`, `--set`, then what the
pipeline decides (image digest, strategy, replicas), which nothing a user passes can override.
`--set` items are set into the values below them one by one, as `helm --set` is into `-f` files,
so `tolerations[0].key=…` and `tolerations[0].operator=…` fill one list item.
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
INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")
#: One dot-separated part of a `--set` key: a name (letters, digits, `_`, `-`, `/`, and `\.` for a
#: literal dot), then any number of list indexes `[N]`. Helm reads more; Rollway refuses the rest.
SEGMENT = re.compile(r"((?:[A-Za-z0-9_/-]|\\\.)+)((?:\[[0-9]+\])*)")
INDEX = re.compile(r"\[([0-9]+)\]")
UNESCAPED_DOT = re.compile(r"(?<!\\)\.")
LONE_BACKSLASH = re.compile(r"\\(?!\.)")
#: Helm's limit on nesting (30) and a far smaller one than its 65536 on list indexes: the values
#: travel as one workflow parameter, and a list is padded with nulls up to its highest index.
MAX_DEPTH = 30
MAX_INDEX = 1000

#: Where a `--set` value goes: map keys and list indexes, outermost first.
Path = tuple[str | int, ...]


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


def key_path(key: str) -> Path:
    """Where `helm --set KEY=…` puts its value; ValueError says what is wrong with KEY.

    Parts are split at unescaped dots, `\\.` being a literal dot (`kubernetes\\.io/arch`); a part
    may end in list indexes (`tolerations[0]`, `matrix[1][2]`).
    """
    if "{{" in key:
        raise ValueError("must not contain '{{' (Argo template syntax)")
    if LONE_BACKSLASH.search(key):
        raise ValueError("may use '\\' only before a dot ('\\.' is a literal dot)")
    path: list[str | int] = []
    for segment in UNESCAPED_DOT.split(key):
        match = SEGMENT.fullmatch(segment)
        if not match:
            raise ValueError(_malformed(segment))
        path.append(match[1].replace("\\.", "."))
        for index in INDEX.findall(match[2]):
            if int(index) > MAX_INDEX:
                raise ValueError(f"has list index {int(index)}; the largest allowed is {MAX_INDEX}")
            path.append(int(index))
    if len(path) > MAX_DEPTH:
        raise ValueError(
            f"nests {len(path)} names and indexes deep; at most {MAX_DEPTH} are allowed"
        )
    return tuple(path)


def _malformed(segment: str) -> str:
    if not segment:
        return "has an empty part (a dot at either end, or two in a row)"
    if segment.startswith("["):
        return f"has a list index with no name before it in {segment!r}"
    other = re.search(r"[^A-Za-z0-9_/\\.\[\]-]", segment)
    if other:
        return f"has {other[0]!r}: a name has letters, digits, '_', '-', '/' and '\\.' only"
    if segment.count("[") != segment.count("]"):
        return f"has unbalanced brackets in {segment!r}"
    return f"has {segment!r}, not NAME[N]: N a whole number, nothing after the ']'"


def parse_set(item: str) -> tuple[Path, Any]:
    """`KEY=VALUE` → where the value goes and the value typed; ValueError names the item."""
    key, eq, text = item.partition("=")
    if not eq:
        raise ValueError(f"{item!r} is not KEY=VALUE")
    try:
        path = key_path(key)
    except ValueError as err:
        raise ValueError(f"{item!r}: the key {err}") from None
    if "{{" in text:
        raise ValueError(f"{item!r}: the value must not contain '{{{{' (Argo template syntax)")
    return path, scalar(text)


def from_sets(
    items: Sequence[str], field: str = "set", base: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`base` (the values-file layer) with `KEY=VALUE` items set into it in order, as `helm --set`
    sets into the `-f` values: items that address one list item fill that one item."""
    values = copy.deepcopy(dict(base or {}))
    for item in items:
        try:
            path, value = parse_set(item)
        except ValueError as err:
            raise InvalidInput(str(err), field=field) from None
        try:
            put(values, path, value)
        except ValueError as err:
            raise InvalidInput(f"{item!r}: {err}", field=field) from None
    return values


def put(values: dict[str, Any], path: Path, value: Any) -> None:
    """Set `value` at `path` in place as Helm's strvals parser does: maps and lists are created
    on the way, a list is padded with nulls up to the index; stepping into a map key that holds
    something else is an error, into a list item that holds no map replaces it with one."""
    node: Any = values
    for depth, step in enumerate(path[:-1]):
        want: type = list if isinstance(path[depth + 1], int) else dict
        node = _child(node, step, want, path[: depth + 1])
    if isinstance(path[-1], int):
        _pad(node, path[-1])
    node[path[-1]] = value


def _child(node: Any, step: str | int, want: type, where: Path) -> Any:
    if isinstance(step, int):
        _pad(node, step)
        if node[step] is None or (want is dict and not isinstance(node[step], dict)):
            node[step] = want()
    elif step not in node:
        node[step] = want()
    if not isinstance(node[step], want):
        kind = "a list" if want is list else "a map"
        raise ValueError(f"{_key_text(where)} is {_kind(node[step])} here, not {kind}")
    return node[step]


def _pad(items: list[Any], index: int) -> None:
    items.extend([None] * (index + 1 - len(items)))


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return f"the value {json.dumps(value)[:40]}"


def _key_text(path: Path) -> str:
    """`path` written back as a `--set` key."""
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        else:
            text += ("." if text else "") + step.replace(".", "\\.")
    return text


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
