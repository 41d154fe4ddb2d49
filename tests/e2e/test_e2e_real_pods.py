"""The production path on the devstack's real node: Rollway installed by its own chart serves `app`
from its pod, the real Argo Workflows controller runs `rollway-deploy` in pods of Rollway's own
image, the app's pods run `java -jar`, and real HTTP answers through the Services prove each
release: a first deploy (every step a pod on the real node, the exit handler reporting back to
the in-cluster API server), blue-green preview against active, promotion, an abort that never
reaches the active Service, a rollback, and a canary's split."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest

from devstack.components.release import NAMESPACE as RELEASE_NAMESPACE
from tests.e2e.flow import HELLO, Engine, Kube, reaches, reported_back, settled, settles
from tests.e2e.traffic import (
    ON_REAL_NODE,
    Answers,
    answer,
    answers_with,
    real_node,
    sample,
    service_url,
)
from tests.support.cli import Cli, status
from tests.support.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

#: Argo names a retried step's pods' nodes `<step>(<try>)`.
TRY = re.compile(r"\(\d+\)$")


@pytest.fixture
def register(argo: Engine) -> Callable[..., None]:
    """Register an app whose chart comes from the git server as pods reach it, whose pods run
    on the real node."""

    def registered(name: str, strategy: str = "bluegreen", replicas: int = 2) -> None:
        argo.api.register("alice", {
            "name": name,
            "environments": [{"name": "dev"}],
            "chart": {"repo": argo.chart_repo, "path": "charts/app"},
            "artifact": HELLO,
            "strategy": strategy,
            "parameters": {"values": ON_REAL_NODE, "replicas": replicas},
        })  # fmt: skip

    return registered


@pytest.fixture
def alice(argo: Engine) -> Cli:
    return argo.login("alice")


def test_first_deploy_on_argo_runs_every_step_in_a_pod_on_the_real_node_and_reports_back(
    alice: Cli, argo: Engine, register: Callable[..., None], app_name: str, kube: Kube
) -> None:
    ns = f"{app_name}-dev"
    register(app_name)

    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")

    done = reaches(alice, app_name, settled("succeeded", "Healthy"), "deployed and Healthy")
    ident = done["deployment"]["id"]
    wait_for("the Service answers 1.0.0", answers_with(service_url(kube, ns, app_name),
                                                       "hello 1.0.0"), timeout=60)  # fmt: skip
    node = real_node(kube)
    assert {p["spec"]["nodeName"] for p in kube.ready_pods(ns, kube.selector_hash(ns, app_name))
            } == {node}  # fmt: skip
    report = reported_back(kube, argo.api, RELEASE_NAMESPACE, ident, "Succeeded")
    workflow = wait_for("the workflow to record its exit handler's end",
                        partial(ended, kube, RELEASE_NAMESPACE, ident), timeout=120)  # fmt: skip
    nodes = workflow["status"]["nodes"]
    pods = {TRY.sub("", nodes[i]["displayName"]): p
            for i, p in kube.step_pods(RELEASE_NAMESPACE, workflow["metadata"]["name"]).items()}  # fmt: skip
    # Each step that did its work did it in a pod of its own on the real node, the exit
    # handler's report too; the gates had nothing to wait for.
    steps = {s["name"]: s["phase"] for s in done["deployment"]["steps"]}
    succeeded = {name for name, phase in steps.items() if phase == "Succeeded"}
    assert set(pods) - {"report"} == succeeded - {"report"}, (sorted(pods), steps)
    assert {"resolve-artifact", "build-image", "render", "apply", "wait-healthy"} <= succeeded
    assert steps["approval"] == steps["promote"] == "Skipped"
    assert pods["report"]["metadata"]["name"] == report["metadata"]["name"]
    assert {p["spec"]["nodeName"] for p in pods.values()} == {node}
    assert {p["status"]["phase"] for p in pods.values()} == {"Succeeded"}


def ended(kube: Kube, namespace: str, deployment_id: str) -> dict[str, Any]:
    """The deployment's workflow once Argo recorded every node's end, its exit handler's too."""
    workflow = kube.workflow(namespace, deployment_id)
    nodes = workflow["status"]["nodes"].values()
    return workflow if all(n.get("finishedAt") for n in nodes) else {}


def test_bluegreen_on_argo_with_real_pods_preview_promote_then_rollback(
    alice: Cli, register: Callable[..., None], app_name: str, kube: Kube
) -> None:
    ns = f"{app_name}-dev"
    register(app_name)
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    deployed = status(alice, app_name)
    assert deployed["deployment"]["state"] == "succeeded", deployed
    active = service_url(kube, ns, app_name)
    wait_for("the active Service answers 1.0.0", answers_with(active, "hello 1.0.0"), timeout=60)
    pods = kube.ready_pods(ns, kube.selector_hash(ns, app_name))
    assert pods and all(p["spec"]["nodeName"] == real_node(kube) for p in pods)

    with Answers(active) as watched:
        upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--strategy",
                            "bluegreen", "--wait")  # fmt: skip
        assert upgrade.returncode == 0, upgrade.stderr
        preview = service_url(kube, ns, f"{app_name}-preview")
        assert answer(preview) == "hello 1.1.0"
        assert answer(active) == "hello 1.0.0"
        before = len(watched.seen)
        assert set(watched.seen[:before]) == {"hello 1.0.0"}

        assert alice.run("promote", app_name).returncode == 0
        reaches(alice, app_name, settled("succeeded", "Healthy"), "promoted and Healthy")
        wait_for("the active Service answers 1.1.0", answers_with(active, "hello 1.1.0"),
                 timeout=60)  # fmt: skip
    after = watched.seen[before:]
    assert "hello 1.1.0" in after
    switched = after.index("hello 1.1.0")
    assert set(after[switched:]) == {"hello 1.1.0"}, "the active Service went back after the switch"

    back = alice.run("rollback", app_name)
    assert back.returncode == 0, back.stderr
    if settles(kube, ns, app_name) == "Paused":  # the old pods outlived their scale-down delay
        assert alice.run("promote", app_name).returncode == 0
    wait_for("the active Service answers 1.0.0 again", answers_with(active, "hello 1.0.0"),
             timeout=120)  # fmt: skip


def test_abort_on_argo_never_lets_the_active_service_answer_the_new_version(
    alice: Cli, register: Callable[..., None], app_name: str, kube: Kube
) -> None:
    ns = f"{app_name}-dev"
    register(app_name)
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    active = service_url(kube, ns, app_name)
    wait_for("the active Service answers 1.0.0", answers_with(active, "hello 1.0.0"), timeout=60)

    with Answers(active) as watched:
        upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--wait")
        assert upgrade.returncode == 0, upgrade.stderr
        assert answer(service_url(kube, ns, f"{app_name}-preview")) == "hello 1.1.0"
        assert alice.run("abort", app_name).returncode == 0
        reaches(alice, app_name, lambda s: s["deployment"]["state"] == "aborted", "aborted")
        time.sleep(2)  # keep listening a little after the abort settled
    assert watched.seen and set(watched.seen) == {"hello 1.0.0"}


#: Requests per canary pause; each opens a new connection, so kube-proxy picks a pod each time.
SAMPLES = 200


def test_canary_on_argo_with_real_pods_serves_the_replica_split_at_each_pause(
    alice: Cli, register: Callable[..., None], app_name: str, kube: Kube
) -> None:
    """At each pause, the share of answers from the new version through the app's Service (it
    selects stable and canary pods: no traffic routing) matches the controller's replica split,
    within 4 standard deviations of a binomial draw of SAMPLES requests (at least 0.1)."""
    ns = f"{app_name}-dev"
    register(app_name, strategy="canary", replicas=4)
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    service = service_url(kube, ns, app_name)
    wait_for("the Service answers 1.0.0", answers_with(service, "hello 1.0.0"), timeout=60)

    upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--canary-steps", "25,50,100",
                        "--wait")  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    for step in (1, 3):
        rollout = paused_at(kube, ns, app_name, step)
        hashes = (rollout["status"]["currentPodHash"], rollout["status"]["stableRS"])
        counts = wait_for("the split to be ready", partial(ready_split, kube, ns, *hashes),
                          timeout=120)  # fmt: skip
        expected = counts[0] / sum(counts)
        answers = [sample(service) for _ in range(SAMPLES)]
        assert set(answers) <= {"hello 1.0.0", "hello 1.1.0"}, set(answers)
        share = answers.count("hello 1.1.0") / SAMPLES
        tolerance = max(0.1, 4 * math.sqrt(expected * (1 - expected) / SAMPLES))
        assert abs(share - expected) <= tolerance, (step, counts, share)
        assert alice.run("promote", app_name).returncode == 0
    reaches(alice, app_name, settled("succeeded", "Healthy"), "canary promoted to Healthy")
    wait_for("only 1.1.0 answers", lambda: {answer(service) for _ in range(20)} == {"hello 1.1.0"},
             timeout=120)  # fmt: skip


def paused_at(kube: Kube, namespace: str, name: str, step: int) -> dict[str, Any]:
    def paused() -> dict[str, Any]:
        rollout = kube.rollout(namespace, name)
        status = rollout.get("status") or {}
        at = status.get("currentStepIndex") == step and status.get("pauseConditions")
        return rollout if at else {}

    return wait_for(f"{name} paused at step {step}", paused, timeout=180)


def ready_split(kube: Kube, namespace: str, canary: str, stable: str) -> tuple[int, int] | None:
    """(canary, stable) ready pods once every pod of both ReplicaSets is ready."""
    (c_want, c_ready), (s_want, s_ready) = (kube.replicas(namespace, canary),
                                            kube.replicas(namespace, stable))  # fmt: skip
    return (c_ready, s_ready) if (c_want, s_want) == (c_ready, s_ready) and c_ready else None
