"""What `--dry-run` shows: the server's plan (resolved version, image, strategy steps, gates)
and the manifest diff against the cluster, coloured like `kubectl diff` on a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..output import console

Json = Mapping[str, Any]


def print_plan(plan: Json) -> None:
    from rich.text import Text

    out = console()
    artifact, image = plan.get("artifact") or {}, plan.get("image") or {}
    manifests, strategy = plan.get("manifests") or {}, plan.get("strategy") or {}
    window = plan.get("window") or {}
    out.print(Text(f"Plan (dry run): {plan.get('kind')} {plan.get('app')} to {plan.get('env')} "
                   f"(namespace {plan.get('namespace')}) — nothing was changed", "bold"))  # fmt: skip
    rows = [
        (
            "Artifact:",
            _part(
                artifact,
                lambda a: (
                    f"{a.get('coordinates')}" + (f" → {a['version']}" if a.get("version") else "")
                ),
            ),
        ),  # fmt: skip
        ("Image:", _part(image, _image)),
        ("Strategy:", str(strategy.get("name", ""))),
    ]
    for index, step in enumerate(strategy.get("steps") or [], 1):
        rows.append(("", f"{index}. {step}"))
    rows.append(("Approval:", "required" if plan.get("approvalRequired") else "not required"))
    opening = window.get("nextOpening")
    rows.append(("Window:", "open" if window.get("open") else f"closed (opens {opening})"))
    if plan.get("blockedBy"):
        rows.append(("Blocked by:", f"deployment {plan['blockedBy']} is in flight: "
                                    "a real request would be refused"))  # fmt: skip
    rows.append(("Manifests:", _part(manifests, _changes)))
    for key, value in rows:
        out.print(f"{key:<12} {value}", highlight=False, markup=False)
    diff = manifests.get("diff")
    if diff:
        out.print()
        for line in str(diff).splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            out.print(Text(line, style), soft_wrap=True)
    elif not manifests.get("error"):
        out.print("\nNo manifest changes.")


def _part(part: Json, describe: Any) -> str:
    """A part of the plan, or why the server could not work it out."""
    if part.get("error"):
        return f"could not be determined: {part['error']}"
    return str(describe(part))


def _image(image: Json) -> str:
    target = f"{image.get('repository')}:{image.get('tag')}"
    if image.get("action") == "reuse":
        return f"{target} exists ({image.get('digest')}): reused"
    return f"{target} will be built and pushed"


def _changes(manifests: Json) -> str:
    changes = manifests.get("changes") or {}
    counted = [f"{len(v)} {k}" for k, v in changes.items() if v]
    note = " (rendered with a placeholder digest)" if manifests.get("placeholderDigest") else ""
    return (", ".join(counted) or f"{len(manifests.get('objects') or [])} objects") + note
