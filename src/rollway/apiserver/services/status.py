"""What a workflow's status means for its deployment record: state, steps, provenance.

The steps are the DAG's tasks (and the exit handler) as the engine reports them; provenance is
read from the outputs the steps publish (resolved jar, image digest, chart commit, revision).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ...pipeline import (
    APPLY,
    BUILD_IMAGE,
    FETCH_CHART,
    GATES,
    RESOLVE_ARTIFACT,
    WAIT_HEALTHY,
    WAIT_ROLLOUT,
)
from ...workflows.backends import NodeStatus, WorkflowStatus
from ...workflows.binding import PLAN_OUTPUTS, plan_digest
from ..models import Deployment, utcnow

#: Node types that group others (not steps a user cares about).
GROUPS = frozenset({"DAG", "Steps", "StepGroup", "TaskGroup"})
#: `build-image(1)`: one attempt of a retried step; the step itself is reported.
ATTEMPT = re.compile(r"\(\d+\)$")
#: `stop_reason` of a deployment the API server stopped itself (a step whose pod can never
#: start): the record keeps the reason it wrote, not the engine's "Stopped with strategy …".
STOPPED_BY_ROLLWAY = "failed"
#: Outputs copied into the step view (small, and none of them secret).
SHOWN_OUTPUTS = frozenset({"version", "sha256", "url", "image", "digest", "pushed", "commit",
                           "rollout", "phase", "revision", "manifests-sha256", "gate",
                           "gate-reason"})  # fmt: skip
#: provenance field -> (step, output)
PROVENANCE = {
    "resolved_version": (RESOLVE_ARTIFACT, "version"),
    "jar_sha256": (RESOLVE_ARTIFACT, "sha256"),
    "image": (BUILD_IMAGE, "image"),
    "image_digest": (BUILD_IMAGE, "digest"),
    "chart_commit": (FETCH_CHART, "commit"),
    "rollout": (APPLY, "rollout"),
}


def state_of(workflow: WorkflowStatus, stop_reason: str | None) -> str:
    if workflow.phase == "Succeeded":
        return "succeeded"
    if workflow.finished:
        return stop_reason or "failed"
    suspended = workflow.suspended
    if suspended is not None and suspended.name in GATES:
        return "waiting"
    return "running"


def steps_of(workflow: WorkflowStatus) -> list[dict[str, Any]]:
    names: list[str] = []
    for node in workflow.nodes:
        if node.type in GROUPS or ATTEMPT.search(node.name) or node.name == workflow.name:
            continue
        if node.name not in names:
            names.append(node.name)
    nodes = [workflow.node(name) for name in names]
    steps = [_step(node) for node in nodes if node is not None]
    return sorted(steps, key=lambda s: (s["started_at"] is None, s["started_at"] or ""))


def provenance_of(workflow: WorkflowStatus, deployment: Deployment) -> dict[str, Any]:
    def output(step: str, name: str) -> str | None:
        node = workflow.node(step)
        return node.outputs.get(name) if node is not None else None

    found: dict[str, Any] = {
        "coordinates": deployment.parameters.get("coordinates"),
        "chart_repo": deployment.parameters.get("chart-repo"),
    }
    for field, (step, name) in PROVENANCE.items():
        found[field] = output(step, name)
    pushed = output(BUILD_IMAGE, "pushed")
    found["image_pushed"] = pushed == "true" if pushed is not None else None
    found["plan"] = current_plan(workflow)
    found["rollout_revision"] = output(WAIT_HEALTHY, "revision") or output(WAIT_ROLLOUT, "revision")
    if found["resolved_version"] and deployment.parameters.get("coordinates"):
        group_artifact = deployment.parameters["coordinates"].rsplit(":", 1)[0]
        found["coordinates"] = f"{group_artifact}:{found['resolved_version']}"
    return {k: v for k, v in found.items() if v is not None}


def current_plan(workflow: WorkflowStatus) -> str | None:
    """The digest of the plan the workflow would ship, once its steps published every part."""
    outputs = {}
    for part, (step, name) in PLAN_OUTPUTS.items():
        node = workflow.node(step)
        outputs[part] = node.outputs.get(name) if node is not None else None
    return plan_digest(workflow.parameters, outputs)


def apply(deployment: Deployment, workflow: WorkflowStatus) -> bool:
    """Bring the record up to date; True when anything changed."""
    state = state_of(workflow, deployment.stop_reason)
    steps, provenance = steps_of(workflow), provenance_of(workflow, deployment)
    message = (
        deployment.message
        if deployment.stop_reason == STOPPED_BY_ROLLWAY
        else workflow.message[:2000]
    )
    changed = (
        state != deployment.state
        or steps != deployment.steps
        or provenance != deployment.provenance
        or message != deployment.message
        or deployment.workflow != workflow.name
    )
    if not changed:
        return False
    deployment.workflow = workflow.name
    deployment.state, deployment.steps = state, steps
    deployment.provenance, deployment.message = provenance, message
    if deployment.started_at is None:
        deployment.started_at = _time(workflow.started_at) or utcnow()
    if workflow.finished:
        deployment.finished_at = _time(workflow.finished_at) or utcnow()
    else:
        deployment.finished_at = None
    return True


def _step(node: NodeStatus) -> dict[str, Any]:
    started, finished = _time(node.started_at), _time(node.finished_at)
    return {
        "name": node.name,
        "type": node.type,
        "phase": node.phase,
        "started_at": node.started_at,
        "finished_at": node.finished_at,
        "duration_seconds": (finished - started).total_seconds() if started and finished else None,
        "message": node.message[:1000],
        "retries": node.retries,
        "outputs": {k: v[:500] for k, v in node.outputs.items() if k in SHOWN_OUTPUTS},
    }


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
