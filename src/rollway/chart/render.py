"""`helm template` through pyhelm3, with Helm's refusals turned into errors naming the value."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

import yaml

from ..errors import InvalidInput, UpstreamError

#: `- replicas: Invalid type. Expected: integer, given: string` under a schema failure.
SCHEMA_LINE = re.compile(r"^-\s*(?P<path>\S+):\s*(?P<reason>.+)$")
#: `Error: execution error at (app/templates/rollout.yaml:1:4): <message from `fail`>`.
EXECUTION = re.compile(r"execution error at \((?P<where>[^)]*)\):\s*(?P<message>.+)", re.DOTALL)
ADDITIONAL = re.compile(r"Additional property (?P<name>\S+) is not allowed")
VALUE_PATH = re.compile(r"^(?P<path>[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_\[\]]+)*)\b")

Manifest = dict[str, Any]


def helm_binary() -> str:
    """HELM_BINARY, else `helm` on PATH."""
    binary = os.environ.get("HELM_BINARY") or "helm"
    if not shutil.which(binary):
        raise UpstreamError(f"helm binary {binary!r} not found", hint="set HELM_BINARY or PATH")
    return binary


def template(
    chart_dir: Path, release: str, namespace: str, values: dict[str, Any]
) -> list[Manifest]:
    """The objects the chart renders to with `values` (an empty document is dropped)."""
    from pyhelm3 import Client, errors

    executable = helm_binary()
    # pyhelm3 logs each failed command as a warning; the error raised here says it better.
    logging.getLogger("pyhelm3").addHandler(logging.NullHandler())

    async def run() -> list[Manifest]:
        client = Client(executable=executable)
        chart = await client.get_chart(chart_dir)
        docs = await client.template_resources(chart, release, values, namespace=namespace)
        return [doc for doc in docs if doc]

    try:
        return asyncio.run(run())
    except errors.Error as err:
        known = set(values) | set(_defaults(chart_dir))
        raise rejection(err.stderr.decode(errors="replace"), known) from None
    except yaml.YAMLError as err:
        raise InvalidInput(f"the chart renders invalid YAML: {err}", field="chart") from None


def _schema_path(problem: re.Match[str]) -> str | None:
    """The value a schema complaint is about; `(root)` means an unknown top-level value."""
    if problem["path"] != "(root)":
        return problem["path"]
    unknown = ADDITIONAL.search(problem["reason"])
    return unknown["name"] if unknown else None


def _defaults(chart_dir: Path) -> dict[str, Any]:
    try:
        values = yaml.safe_load((chart_dir / "values.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return values if isinstance(values, dict) else {}


def rejection(stderr: str, known: set[str]) -> InvalidInput:
    """One error naming the value at fault and the chart's reason.

    Schema failures name the value path; a template's `fail` message names it first when the
    chart follows the convention (`bluegreen.autoPromotionSeconds only works with …`), which is
    recognised when it starts with a top-level value in `known`.
    """
    text = stderr.strip().removeprefix("Error: ")
    problems = [m for m in (SCHEMA_LINE.match(ln.strip()) for ln in text.splitlines()) if m]
    if "don't meet the specifications of the schema" in text and problems:
        reasons = "; ".join(f"{m['path']}: {m['reason']}" for m in problems)
        return InvalidInput(
            f"the chart's values.schema.json rejects it ({reasons})",
            field=next(filter(None, map(_schema_path, problems)), "values"),
        )
    execution = EXECUTION.search(text)
    if execution:
        message = execution["message"].strip().splitlines()[0]
        path = VALUE_PATH.match(message)
        named = path["path"] if path and path["path"].split(".")[0] in known else None
        reason = message if not named else message[len(named) :].strip(" :")
        return InvalidInput(
            f"the chart refuses it ({execution['where']}): {reason}", field=named or "values"
        )
    first = next((ln for ln in text.splitlines() if ln.strip()), "helm template failed")
    return InvalidInput(f"helm template failed: {first}", field="chart")
