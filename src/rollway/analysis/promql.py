"""Every series a team's query reads must be the side's own pods.

The judge runs a team's PromQL with the rights of the API server, for any caller with a role in
the app's project; a query reading another namespace's series (`x{namespace="payments"}`, or a
bare `up`) would hand that project's figures to this one through the judgement's means. So a
query is accepted only when each of its vector selectors carries `$selector` (the side's
namespace and revision): every `{…}` block names it, and no metric name stands without one.
Function, aggregation and keyword names, the label lists of `by`/`without`/`on`/`ignoring`/
`group_left`/`group_right`, numbers, durations and strings are told apart by a small scanner;
Prometheus still parses the query for real when it runs.
"""

from __future__ import annotations

import re

from ..errors import InvalidInput

TOKEN = re.compile(
    r"""(?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|`[^`]*`)"""
    r"|(?P<range>\[[^\]]*\])"
    r"|(?P<selector>\$selector)"
    r"|(?P<number>(?:0x[0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)(?:ms|[smhdwy])?)"
    r"|(?P<name>[A-Za-z_:][A-Za-z0-9_:]*)"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)",
    re.DOTALL,
)
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "start", "end", "atan2"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


def check_scoped(query: str, field: str) -> None:
    """InvalidInput naming `field` unless every vector selector of `query` has `$selector`."""
    tokens = [(m.lastgroup, m.group()) for m in TOKEN.finditer(query) if m.lastgroup != "space"]
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        following = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "{":
            end = _closing(tokens, i, "{", "}")
            if not any(k == "selector" for k, _ in tokens[i:end]):
                raise InvalidInput(
                    f"every {{…}} selector must include $selector (found {_text(tokens[i : end + 1])})",
                    field=field,
                )
            i = end + 1
            continue
        if kind == "name":
            lowered = text.lower()
            if lowered in LABEL_LISTS and following == "(":
                i = _closing(tokens, i + 1, "(", ")") + 1
                continue
            aggregation = following.lower() in ("by", "without")  # `sum by (le) (…)`
            if following not in ("(", "{") and lowered not in KEYWORDS and not aggregation:
                raise InvalidInput(
                    f"metric {text!r} must select the side's pods: write {text}{{$selector}}",
                    field=field,
                )
        i += 1


def _closing(tokens: list[tuple[str | None, str]], start: int, opening: str, close: str) -> int:
    depth = 0
    for j in range(start, len(tokens)):
        if tokens[j][1] == opening:
            depth += 1
        elif tokens[j][1] == close:
            depth -= 1
            if depth == 0:
                return j
    return len(tokens) - 1


def _text(tokens: list[tuple[str | None, str]]) -> str:
    return "".join(text for _, text in tokens)[:80]
