"""Parameter types of deploy and upgrade: parsed and checked before any request, so a bad value
is a usage error (exit 2) naming the flag."""

from __future__ import annotations

import re
from typing import Any

import click

from ..chart.values import parse_set
from ..errors import InvalidInput
from ..pipeline import no_template
from ..validation import MAVEN_ID

#: `pause`, `pause:30s`, `pause:1h30m` in --canary-steps.
PAUSE = re.compile(r"^pause(?::(\d+[smh]?|(?:\d+h)?(?:\d+m)?(?:\d+s)?))?$")


class Artifact(click.ParamType):  # type: ignore[type-arg]
    """GROUP:ARTIFACT[:VERSION] → (group:artifact, version or None)."""

    name = "GROUP:ARTIFACT[:VERSION]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        parts = str(value).split(":")
        if len(parts) not in (2, 3) or not all(parts):
            self.fail(f"{value!r} is not GROUP:ARTIFACT or GROUP:ARTIFACT:VERSION", param, ctx)
        for part in parts:
            if not MAVEN_ID.fullmatch(part):
                self.fail(f"{part!r} in {value!r} may only have letters, digits, '.', '_', '-'",
                          param, ctx)  # fmt: skip
        return ":".join(parts[:2]), parts[2] if len(parts) == 3 else None


class Chart(click.ParamType):  # type: ignore[type-arg]
    """REPO[//PATH][@REF], the git URL with an optional chart path and ref (Terraform-style)."""

    name = "REPO[//PATH][@REF]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dict):
            return value
        text = str(value)
        if not text:
            self.fail(f"{text!r} is not a chart location", param, ctx)
        try:
            no_template("--chart", text)  # the server's rule: `{{` starts an Argo expression
        except InvalidInput as err:
            self.fail(f"{text!r} {err.message}", param, ctx)
        scheme = text.find("://")
        start = scheme + 3 if scheme >= 0 else 0
        chart: dict[str, str] = {}
        at = text.rfind("@")
        if at > text.rfind("/") and at > start:
            text, chart["ref"] = text[:at], text[at + 1 :]
        repo, sep, path = text[start:].partition("//")
        chart["repo"] = text[:start] + repo
        if sep:
            chart["path"] = path.strip("/")
        if not repo or any(v == "" for v in chart.values()):
            self.fail(f"{value!r} has an empty part; expected REPO[//PATH][@REF]", param, ctx)
        return chart


def sets(values: tuple[str, ...]) -> dict[str, str]:
    """`--set a.b=c` pairs, keys checked as the server checks them, values as text: the server
    types them as `helm --set` does."""
    found: dict[str, str] = {}
    for item in values:
        try:
            parse_set(item)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--set") from None
        key, _, value = item.partition("=")
        found[key] = value
    return found


def set_values(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    """`sets` as a click callback, so a bad pair is refused while the command line is parsed."""
    return sets(values)


#: `--set` of `app deploy` and `app upgrade`: the values land in the `values` argument.
set_option = click.option(
    "--set",
    "values",
    multiple=True,
    metavar="KEY=VALUE",
    callback=set_values,
    help="Chart value, as helm --set takes it: a.b=1, 'nodeSelector.kubernetes\\.io/arch=amd64', "
    "tolerations[0].key=k (repeatable).",
)


def canary_steps(text: str | None) -> list[dict[str, Any]] | None:
    """`20,50,100`: weights with a pause until promoted between them; explicit pauses
    (`20,pause:30s,50,pause,100`) replace the implicit ones."""
    if text is None:
        return None
    items = [i.strip() for i in text.split(",") if i.strip()]
    if not items:
        raise click.BadParameter("is empty", param_hint="--canary-steps")
    explicit = any(i.startswith("pause") for i in items)
    steps: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        match = PAUSE.fullmatch(item)
        if match:
            steps.append({"pause": {"duration": match[1]} if match[1] else {}})
            continue
        if not item.isdigit() or not 0 <= int(item) <= 100:
            raise click.BadParameter(
                f"{item!r} is neither a weight (0-100) nor pause[:DURATION]",
                param_hint="--canary-steps",
            )
        steps.append({"setWeight": int(item)})
        if not explicit and index < len(items) - 1:
            steps.append({"pause": {}})
    return steps
