"""What `app status` shows: the deployment and its pipeline steps, then the Rollout laid out as
`kubectl argo rollouts get rollout` lays it out (header, then the revision tree).

Everything shown is what the API computed (phases, tags, weights); this module only arranges
it. Input is the API's JSON (camelCase), so `-o json` and the table show the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..output import age, duration
from . import icons

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.table import Table
    from rich.text import Text

Json = Mapping[str, Any]
KEY_WIDTH = 17  # the plugin's "%-17s%v"
#: Revision statuses that are not tags (`ReplicaSetInfo.status`).
UNTAGGED = ("old", "scaled down")


def status_view(
    deployment: Json | None,
    rollout: Json | None,
    rollout_error: str | None = None,
    *,
    now: datetime | None = None,
) -> RenderableType:
    from rich.console import Group
    from rich.text import Text

    now = now or datetime.now(UTC)
    parts: list[RenderableType] = []
    if deployment is not None:
        parts += [deployment_header(deployment), Text(), steps_table(deployment, now)]
    if rollout is not None:
        parts += [Text(), rollout_header(rollout), Text(), rollout_tree(rollout, now)]
        if rollout.get("analysis"):
            parts += [Text(), analysis_view(rollout["analysis"])]
    elif rollout_error:
        parts += [Text(), _line("Rollout:", Text(f"unavailable: {rollout_error}", "yellow"))]
    return Group(*parts)


def deployment_header(d: Json) -> Text:
    from rich.text import Text

    state = str(d.get("state", ""))
    provenance = d.get("provenance") or {}
    lines = [
        _line("Deployment:", d.get("id", "")),
        _line("App:", f"{d.get('app')} (env {d.get('env')}, namespace {d.get('namespace')})"),
        _line("Kind:", f"{d.get('kind')} to {_version(d)} ({d.get('strategy')})"),
        _line("State:", _icon_text(icons.DEPLOYMENT.get(state, " "), state)),
    ]
    if d.get("message"):
        lines.append(_line("Message:", str(d["message"])))
    lines.append(_line("Started by:", f"{d.get('createdBy')}, {age(d.get('createdAt'))} ago"))
    image, digest = provenance.get("image"), provenance.get("imageDigest")
    if image:
        lines.append(_line("Image:", image if "@" in image or not digest else f"{image}@{digest}"))
    decision = d.get("decision")
    if decision:
        note = f" ({decision['comment']})" if decision.get("comment") else ""
        lines.append(_line("Decision:", f"{decision['decision']} by {decision['by']}{note}"))
    return Text("\n").join(lines)


def steps_table(d: Json, now: datetime) -> Table:
    table = _grid("STEP", "PHASE", "DURATION", "INFO")
    steps = d.get("steps") or []
    for step in steps:
        phase = str(step.get("phase", ""))
        icon = icons.step(phase, str(step.get("type", "")))
        table.add_row(
            _icon_text(icon, str(step.get("name", ""))),
            "Waiting" if icon == icons.PAUSED else phase,
            _step_duration(step, now),
            _step_info(step),
        )
    if not steps:
        table.add_row(_icon_text(icons.WAITING, "(not started)"), "", "", "")
    return table


def rollout_header(r: Json) -> Text:
    from rich.text import Text

    phase = str(r.get("phase", ""))
    lines = [
        _line("Name:", r.get("name", "")),
        _line("Namespace:", r.get("namespace", "")),
        _line("Status:", _icon_text(icons.ROLLOUT.get(phase, " "), phase)),
    ]
    if r.get("message"):
        lines.append(_line("Message:", str(r["message"])))
    lines.append(_line("Strategy:", r.get("strategy", "")))
    if r.get("strategy") == "Canary":
        step = r.get("step")
        lines.append(_line("  Step:", f"{step}/{r.get('steps')}" if step is not None else "-"))
        lines.append(_line("  SetWeight:", str(r.get("setWeight"))))
        lines.append(_line("  ActualWeight:", str(r.get("actualWeight"))))
    for i, (image, tags) in enumerate(images(r)):
        text = Text(image)
        if tags:
            text.append(" (")
            text.append(Text(", ").join(Text(t, icons.STYLES.get(t, "")) for t in tags))
            text.append(")")
        lines.append(_line("Images:" if i == 0 else "", text))
    lines.append(Text("Replicas:"))
    for key in ("desired", "current", "updated", "ready", "available"):
        lines.append(_line(f"  {key.title()}:", str(r.get(key, 0))))
    return Text("\n").join(lines)


def rollout_tree(r: Json, now: datetime) -> Table:
    """NAME KIND STATUS AGE INFO, with the revisions and their ReplicaSets and pods."""
    from rich.text import Text

    table = _grid("NAME", "KIND", "STATUS", "AGE", "INFO")
    phase = str(r.get("phase", ""))
    table.add_row(f"⟳ {r.get('name')}", "Rollout",
                  _icon_text(icons.ROLLOUT.get(phase, " "), phase), "", "")  # fmt: skip
    by_revision: dict[int, list[Json]] = {}
    for rs in r.get("revisions") or []:
        by_revision.setdefault(int(rs.get("revision") or 0), []).append(rs)
    numbers = sorted(by_revision, reverse=True)
    for i, number in enumerate(numbers):
        prefix, sub = _branch(i == len(numbers) - 1, "")
        sets = by_revision[number]
        deployment = next((rs["deploymentId"] for rs in sets if rs.get("deploymentId")), None)
        info = f"deployment:{deployment}" if deployment else ""
        table.add_row(f"{prefix}# revision:{number}", "", "", "", info)
        for j, rs in enumerate(sets):
            rs_prefix, rs_sub = _branch(j == len(sets) - 1, sub)
            health = str(rs.get("health", ""))
            tags = _tags(rs)
            info_text = Text(",").join(Text(t, icons.STYLES.get(t, "")) for t in tags)
            name_style = icons.STYLES.get(tags[-1], "") if tags else ""
            table.add_row(
                Text(f"{rs_prefix}⧉ ").append(str(rs.get("name", "")), name_style),
                "ReplicaSet",
                _icon_text(icons.REPLICASET.get(health, " "), health),
                age(rs.get("created"), now),
                info_text,
            )
            pods = rs.get("pods") or []
            for k, pod in enumerate(pods):
                pod_prefix, _ = _branch(k == len(pods) - 1, rs_sub)
                status = str(pod.get("status", ""))
                info = f"ready:{pod.get('ready')}"
                if pod.get("restarts"):
                    info += f",restarts:{pod['restarts']}"
                table.add_row(f"{pod_prefix}□ {pod.get('name')}", "Pod",
                              _icon_text(icons.pod(status), status),
                              age(pod.get("created"), now), info)  # fmt: skip
    return table


def analysis_view(a: Json) -> RenderableType:
    """The newest analysis: the run's phase and the judge's line, then each metric, canary
    against baseline (medians over the window), with its p-value and outcome."""
    from rich.console import Group
    from rich.text import Text

    phase = str(a.get("phase", ""))
    judged = a.get("judgement") or {}
    header = [_line("Analysis:", f"{a.get('name')} ({phase})")]
    if judged:
        score = judged.get("score")
        verdict = str(judged.get("verdict", ""))
        scored = f", score {score:g}" if isinstance(score, int | float) else ""
        header.append(_line("  Verdict:", Text(f"{verdict}{scored}", _VERDICT.get(verdict, ""))))
        header.append(_line("  Reason:", str(judged.get("reason", ""))))
    elif a.get("message"):
        header.append(_line("  Message:", str(a["message"])))
    table = _grid("METRIC", "CANARY", "BASELINE", "P-VALUE", "RESULT")
    for m in judged.get("metrics") or []:
        outcome = str(m.get("outcome", ""))
        p = m.get("pValue")
        table.add_row(
            m.get("name", ""),
            _median(m.get("canary"), m.get("unit", "")),
            _median(m.get("baseline"), m.get("unit", "")),
            "-" if p is None else ("<0.001" if p < 0.001 else f"{p:.3f}"),
            Text(outcome, _VERDICT.get(outcome, "")),
        )
    return (
        Group(Text("\n").join(header), table) if judged.get("metrics") else Text("\n").join(header)
    )


_VERDICT = {"pass": "green", "fail": "red", "marginal": "yellow", "inconclusive": "yellow",
            "nodata": "yellow"}  # fmt: skip


def _median(side: Json | None, unit: str) -> str:
    if not side:
        return "-"
    value = float(side.get("median", 0))
    if unit == "ratio":
        return f"{value:.1%}"
    if unit == "seconds":
        return f"{value * 1000:.0f} ms"
    return f"{value:g}"


def images(r: Json) -> list[tuple[str, list[str]]]:
    """The running images with the tags of the revisions that run them (`info.Images`)."""
    tags: dict[str, set[str]] = {image: set() for image in r.get("images") or []}
    for rs in r.get("revisions") or []:
        for image in rs.get("images") or []:
            if image in tags:
                tags[image].update(_tags(rs))
    return [(image, sorted(found)) for image, found in sorted(tags.items())]


def _tags(rs: Json) -> list[str]:
    status = str(rs.get("status", ""))
    return [] if not status or status in UNTAGGED else status.split(",")


def _version(d: Json) -> str:
    resolved = (d.get("provenance") or {}).get("resolvedVersion")
    requested = str(d.get("version", ""))
    return f"{requested} ({resolved})" if resolved and resolved != requested else requested


def _step_duration(step: Json, now: datetime) -> str:
    if step.get("durationSeconds") is not None:
        return duration(step["durationSeconds"])
    started = step.get("startedAt")
    if started and not step.get("finishedAt"):
        return age(started, now)
    return "-"


def _step_info(step: Json) -> str:
    """A few outputs worth a glance, the retries, and why a failed step failed."""
    outputs: Mapping[str, str] = step.get("outputs") or {}
    shown = [f"{k}:{outputs[k][:12]}" for k in ("version", "phase", "revision", "commit")
             if outputs.get(k)]  # fmt: skip
    if step.get("retries"):
        shown.append(f"retries:{step['retries']}")
    info = ",".join(shown)
    if step.get("phase") in ("Failed", "Error") and step.get("message"):
        info = f"{info}  {step['message']}".strip()
    return info


def _line(key: str, value: Any) -> Text:
    from rich.text import Text

    text = Text(f"{key:<{KEY_WIDTH}}")
    text.append(value if isinstance(value, Text) else Text(str(value)))
    return text


def _icon_text(icon: str, label: str) -> Text:
    from rich.text import Text

    return Text(icon, icons.STYLES.get(icon, "")).append(f" {label}" if label else "")


def _grid(*headers: str) -> Table:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold",
                  padding=(0, 2, 0, 0))  # fmt: skip
    for header in headers:
        table.add_column(header, no_wrap=True)
    return table


def _branch(last: bool, sub: str) -> tuple[str, str]:
    """The plugin's `getPrefixes`."""
    return (sub + "└──", sub + "   ") if last else (sub + "├──", sub + "│  ")
