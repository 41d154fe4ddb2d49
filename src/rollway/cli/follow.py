"""Following a deployment until it reaches an outcome: `--wait` and `status --watch`.

Polls the API once a second for the deployment record and the Rollout's view (the Rollout
changes — pods getting ready, weights moving — without the workflow changing, so both are
read). On a terminal the view is redrawn in place (rich Live); otherwise each change is
printed as a line, which reads well in CI logs. Ctrl-C stops following only: the deployment
runs on, and the hint says how to reattach. An API server that stops answering for a while (a
restart, an upgrade of Rollway itself) is waited out: the deployment runs on without it.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from ..pipeline import WAIT_HEALTHY
from . import lookup
from .errors import ApiProblem, Interrupted, Unreachable
from .view import icons

if TYPE_CHECKING:
    from .api import Api

INTERVAL = 1.0
#: Seconds following waits for an API server that does not answer before it gives up.
RIDE_OUT = 300.0
#: Answers of a proxy or an API server on its way up or down: the server will be back.
UNAVAILABLE = (502, 503, 504)
FINISHED = ("succeeded", "failed", "aborted", "rejected")

Json = dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Snapshot:
    deployment: Json
    rollout: Json | None
    rollout_error: str | None


@dataclasses.dataclass(frozen=True)
class Outcome:
    exit_code: int
    message: str
    hint: str | None = None


def snapshots(api: Api, deployment_id: str) -> Iterator[Snapshot]:
    """The deployment and its Rollout once a second; an unanswering API server is retried for
    up to RIDE_OUT seconds, saying so once when it goes and once when it is back."""
    down_since: float | None = None
    app = "NAME"
    while True:
        try:
            deployment = lookup.deployment(api, deployment_id)
        except (Unreachable, ApiProblem) as err:
            if isinstance(err, ApiProblem) and err.status not in UNAVAILABLE:
                raise
            if down_since is None:
                down_since = time.monotonic()
                click.echo(f"{err.message}; retrying for up to {RIDE_OUT:.0f} s (the deployment"
                           " runs on)", err=True)  # fmt: skip
            elif time.monotonic() - down_since > RIDE_OUT:
                raise Unreachable(
                    f"{err.message} for {RIDE_OUT:.0f} s: stopped following deployment"
                    f" {deployment_id}, which runs on",
                    hint=f"reattach with: app status {app} --watch",
                ) from None
            time.sleep(INTERVAL)
            continue
        if down_since is not None:
            click.echo("the API server answers again: following on", err=True)
            down_since = None
        app = deployment["app"]
        rollout, error = lookup.rollout(api, app, deployment["env"])
        yield Snapshot(deployment, rollout, error)
        time.sleep(INTERVAL)


def outcome(snap: Snapshot, *, until_paused: bool) -> Outcome | None:
    """Where following stops: the deployment finished, or (`until_paused`) it waits for a
    person — at the approval gate, or with the Rollout paused for promotion."""
    d = snap.deployment
    state, ident, app = d["state"], d["id"], d["app"]
    if state == "succeeded":
        return Outcome(0, f"deployment {ident} succeeded: {app} {_version(d)} runs in {d['env']}")
    if state in FINISHED:
        reason = f": {d['message']}" if d.get("message") else ""
        return Outcome(1, f"deployment {ident} {state}{reason}",
                       hint=f"see its logs: app logs {app} --deployment {ident}")  # fmt: skip
    if not until_paused:
        return None
    if state == "waiting" or awaiting_promotion(snap):
        where = _paused_at(snap.rollout)
        if (d.get("parameters") or {}).get("approval-required") == "true":
            return Outcome(0, f"deployment {ident} waits for approval ({where})",
                           hint=f"an approver runs: app approve {ident}   "
                                f"(or: app reject {ident})")  # fmt: skip
        return Outcome(
            0,
            f"deployment {ident} awaits promotion ({where})",
            hint=f"promote it: app promote {app}   (or roll back: app abort {app})",
        )
    return None


def awaiting_promotion(snap: Snapshot) -> bool:
    """The Rollout is paused while the pipeline, past its own promotion, waits for Healthy:
    only a person's `app promote` moves it on."""
    rollout = snap.rollout
    if rollout is None or rollout.get("phase") != "Paused" or rollout.get("aborted"):
        return False
    running = {
        s.get("name") for s in snap.deployment.get("steps") or [] if s.get("phase") == "Running"
    }
    return WAIT_HEALTHY in running


def follow(
    api: Api,
    deployment_id: str,
    *,
    until_paused: bool,
    stderr: bool,
) -> tuple[Outcome, Snapshot]:
    """Show progress (on stderr or stdout) until an outcome; return it and the last view."""
    feed = snapshots(api, deployment_id)
    last: Snapshot | None = None
    try:
        with _display(stderr) as show:
            while True:
                last = next(feed)
                show(last)
                found = outcome(last, until_paused=until_paused)
                if found is not None:
                    return found, last
    except KeyboardInterrupt:
        app = last.deployment["app"] if last else "NAME"
        raise Interrupted(
            f"stopped following deployment {deployment_id}; it keeps running",
            hint=f"reattach with: app status {app} --watch",
        ) from None


@contextmanager
def _display(stderr: bool) -> Iterator[Callable[[Snapshot], None]]:
    """Redraw the status view in place on a terminal; else print what changed, line by line."""
    stream = sys.stderr if stderr else sys.stdout
    if not stream.isatty():
        seen: dict[str, str] = {}

        def show(snap: Snapshot) -> None:
            for line in changes(snap, seen):
                click.echo(line, err=stderr)

        yield show
        return
    from rich.live import Live

    from .output import console
    from .view.status import status_view

    with Live(console=console(stderr=stderr), auto_refresh=False, transient=False) as live:
        yield lambda snap: live.update(
            status_view(snap.deployment, snap.rollout, snap.rollout_error), refresh=True
        )


def changes(snap: Snapshot, seen: dict[str, str]) -> list[str]:
    """Lines for what changed since the last snapshot (`seen` is updated)."""
    lines: list[str] = []
    d = snap.deployment

    def note(key: str, value: str, line: str) -> None:
        if seen.get(key) != value:
            seen[key] = value
            lines.append(line)

    state = str(d.get("state"))
    note("state", state, f"{icons.DEPLOYMENT.get(state, ' ')} deployment {d['id']}: {state}")
    for step in d.get("steps") or []:
        phase = str(step.get("phase"))
        icon = icons.step(phase, str(step.get("type", "")))
        note(f"step:{step.get('name')}", phase, f"  {icon} {step.get('name')}: {phase}")
    if snap.rollout is not None:
        r = snap.rollout
        phase = str(r.get("phase"))
        detail = f" ({r['message']})" if r.get("message") else ""
        weight = f" step {r.get('step')}/{r.get('steps')} weight {r.get('actualWeight')}%" \
            if r.get("strategy") == "Canary" else ""  # fmt: skip
        summary = f"{phase}{detail}{weight} ready {r.get('ready')}/{r.get('desired')}"
        note("rollout", summary,
             f"  {icons.ROLLOUT.get(phase, ' ')} rollout {r.get('name')}: {summary}")  # fmt: skip
    return lines


def _version(d: Json) -> str:
    return str((d.get("provenance") or {}).get("resolvedVersion") or d.get("version"))


def _paused_at(rollout: Json | None) -> str:
    """Where a paused release stands, in the Rollout's words."""
    if rollout is None:
        return "rollout not read"
    if rollout.get("strategy") == "Canary":
        return (f"canary at step {rollout.get('step')}/{rollout.get('steps')}, "
                f"weight {rollout.get('actualWeight')}%")  # fmt: skip
    if rollout.get("strategy") == "BlueGreen":
        return f"{rollout.get('phase')}: the preview runs beside the active version"
    return f"rollout {rollout.get('name')} {rollout.get('phase')}"
