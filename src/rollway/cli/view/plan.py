"""What `--dry-run` shows: the server's plan (resolved version, image, strategy steps, gates)
and the manifest diff against the cluster, coloured like `kubectl diff` on a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..output import show

Json = Mapping[str, Any]


def print_plan(plan: Json) -> None:
    from rich.console import Group
    from rich.text import Text

    artifact, image = plan.get("artifact") or {}, plan.get("image") or {}
    manifests, strategy = plan.get("manifests") or {}, plan.get("strategy") or {}
    window = plan.get("window") or {}
    lines = [Text(f"Plan (dry run): {plan.get('kind')} {plan.get('app')} to {plan.get('env')} "
                  f"(namespace {plan.get('namespace')}); nothing was changed", "bold")]  # fmt: skip
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
    rows += [("", f"{index}. {step}") for index, step in enumerate(strategy.get("steps") or [], 1)]
    rows.append(("Approval:", "required" if plan.get("approvalRequired") else "not required"))
    opening = window.get("nextOpening")
    rows.append(("Window:", "open" if window.get("open") else f"closed (opens {opening})"))
    if plan.get("blockedBy"):
        rows.append(("Blocked by:", f"deployment {plan['blockedBy']} is in flight: "
                                    "a real request would be refused"))  # fmt: skip
    rows.append(("Manifests:", _part(manifests, _changes)))
    lines += [Text(f"{key:<12} {value}") for key, value in rows]
    diff = manifests.get("diff")
    if diff:
        lines.append(Text())
        for line in str(diff).splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            lines.append(Text(line, style))
    elif not manifests.get("error"):
        lines += [Text(), Text("No manifest changes.")]
    show(Group(*lines))


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
