"""What a workflow's status means for a deployment record."""

from __future__ import annotations

import dataclasses

from rollway.apiserver.models import Deployment
from rollway.apiserver.services import status
from rollway.workflows.backends import NodeStatus, WorkflowStatus


def node(name: str, phase: str, kind: str = "Pod", **outputs: str) -> NodeStatus:
    return NodeStatus(id=name, name=name, type=kind, phase=phase, template=name,  # type: ignore[arg-type]
                      started_at="2026-11-22T08:00:00Z", finished_at="2026-11-22T08:00:30Z",
                      outputs=outputs)  # fmt: skip


def workflow(phase: str, *nodes: NodeStatus) -> WorkflowStatus:
    return WorkflowStatus(
        name="wf",
        namespace="rollway",
        template="rollway-deploy",
        phase=phase,
        labels={},
        parameters={},
        nodes=nodes,
    )  # type: ignore[arg-type]


def record() -> Deployment:
    return Deployment(id="wf", state="running", parameters={"coordinates": "g:a:LATEST",
                      "chart-repo": "http://git/charts.git"}, steps=[], provenance={},
                      message="")  # fmt: skip


def test_states() -> None:
    waiting = workflow("Running", node("approval", "Running", "Suspend"))
    other_suspend = workflow("Running", node("hold", "Running", "Suspend"))

    assert status.state_of(waiting, None) == "waiting"
    assert status.state_of(other_suspend, None) == "running"
    assert status.state_of(workflow("Succeeded"), None) == "succeeded"
    assert status.state_of(workflow("Failed"), None) == "failed"
    assert status.state_of(workflow("Error"), "aborted") == "aborted"
    assert status.state_of(workflow("Failed"), "rejected") == "rejected"


def test_steps_skip_groups_and_retry_attempts() -> None:
    wf = workflow(
        "Running",
        node("wf", "Running", "DAG"),
        node("build-image", "Succeeded", "Retry", digest="sha256:1", secret="x"),
        node("build-image(0)", "Failed"),
        node("build-image(1)", "Succeeded"),
    )

    steps = status.steps_of(wf)

    assert [(s["name"], s["type"]) for s in steps] == [("build-image", "Retry")]
    assert steps[0]["duration_seconds"] == 30.0
    assert steps[0]["outputs"] == {"digest": "sha256:1"}  # only outputs known to be harmless


def test_provenance_from_step_outputs() -> None:
    wf = workflow(
        "Succeeded",
        node("resolve-artifact", "Succeeded", version="1.2.3", sha256="ab"),
        node("build-image", "Succeeded", image="r/a@sha256:1", digest="sha256:1", pushed="false"),
        node("fetch-chart", "Succeeded", commit="c0ffee"),
        node("apply", "Succeeded", rollout="a"),
        node("wait-healthy", "Succeeded", revision="4"),
    )
    deployment = record()

    assert status.apply(deployment, wf) is True
    assert deployment.provenance == {
        "coordinates": "g:a:1.2.3", "chart_repo": "http://git/charts.git",
        "resolved_version": "1.2.3", "jar_sha256": "ab", "image": "r/a@sha256:1",
        "image_digest": "sha256:1", "image_pushed": False, "chart_commit": "c0ffee",
        "rollout": "a", "rollout_revision": "4",
    }  # fmt: skip
    assert deployment.state == "succeeded" and deployment.finished_at is not None
    assert status.apply(deployment, wf) is False  # nothing new


def test_a_deployment_the_server_stopped_keeps_its_reason() -> None:
    """Argo's "Stopped with strategy 'Stop'" must not replace why the server stopped it."""
    stopped = dataclasses.replace(workflow("Failed"), message="Stopped with strategy 'Stop'")
    deployment = record()
    deployment.stop_reason = status.STOPPED_BY_ROLLWAY
    deployment.message = 'resolve-artifact: image "r/a:1" cannot be pulled: 401 Unauthorized'

    status.apply(deployment, stopped)

    assert deployment.state == "failed"
    assert deployment.message.endswith("401 Unauthorized")
    aborted = record()
    aborted.stop_reason = "aborted"
    status.apply(aborted, stopped)
    assert (aborted.state, aborted.message) == ("aborted", "Stopped with strategy 'Stop'")
