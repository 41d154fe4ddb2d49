"""A version the Maven repository does not have: the pipeline stops at resolve-artifact with one
line naming the version and listing those that exist, and the cluster is left as it was — on the
embedded engine and on Argo (steps in pods on the real node)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.flow import HELLO, Engine, Kube, error_line
from tests.support.cli import status

pytestmark = pytest.mark.integration

#: Everything resolve-artifact says about a missing version, on the `error:` line.
MISSING = re.compile(
    r"^error: deployment (?P<id>\S+) failed: resolve-artifact: .*"
    r"version 9\.9\.9 of com\.example:hello not found in .*; available: (?P<versions>.+)$"
)


def test_upgrade_to_a_missing_version_fails_at_resolve_and_changes_nothing(
    engine: Engine, app_name: str, kube: Kube
) -> None:
    alice, ns = engine.login("alice"), f"{app_name}-dev"
    engine.api.admit(app_name, "dev")
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev",
             "--chart", engine.chart, "--project", "hello", "--wait")  # fmt: skip
    before = _cluster(kube, ns, app_name)

    failed = alice.run("upgrade", app_name, "--version", "9.9.9", "--wait")

    assert failed.returncode == 1, failed.stderr
    line = error_line(failed.stderr)
    found = MISSING.match(line)
    assert found, line
    assert {"1.0.0", "1.1.0"} <= set(found["versions"].split(", "))
    assert f"hint: see its logs: app logs {app_name} --deployment {found['id']}" in failed.stderr
    record = status(alice, app_name)
    assert record["deployment"]["id"] == found["id"]
    assert record["deployment"]["state"] == "failed"
    steps = {s["name"]: s["phase"] for s in record["deployment"]["steps"]}
    assert steps["resolve-artifact"] == "Failed"
    assert all(steps[s] == "Omitted" for s in ("build-image", "render", "apply", "wait-rollout"))
    # The deployment is over, so nothing can change later either: compare now.
    assert _cluster(kube, ns, app_name) == before
    assert record["rollout"]["phase"] == "Healthy"
    running = [c["image"] for c in before["rollout"]["template"]["spec"]["containers"]]
    assert record["rollout"]["images"] == running


def test_first_deploy_of_a_missing_version_creates_no_rollout(
    engine: Engine, app_name: str, kube: Kube
) -> None:
    alice, ns = engine.login("alice"), f"{app_name}-dev"
    engine.api.admit(app_name, "dev")

    failed = alice.run("deploy", app_name, "--artifact", f"{HELLO}:9.9.9", "--env", "dev",
                       "--chart", engine.chart, "--project", "hello", "--wait")  # fmt: skip

    assert failed.returncode == 1, failed.stderr
    line = error_line(failed.stderr)
    found = MISSING.match(line)
    assert found, line
    assert {"1.0.0", "1.1.0"} <= set(found["versions"].split(", "))
    assert kube.rollouts(ns) == []
    history = alice.json("history", app_name)
    assert [(d["id"], d["state"]) for d in history["deployments"]] == [(found["id"], "failed")]
    assert history["revisions"] == []


def _cluster(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    """What a deployment would change: the Rollout's spec (generation, pod template) and the
    Services and ReplicaSets, each with the resourceVersion any write would bump."""
    rollout = kube.rollout(namespace, name)
    return {
        "rollout": {
            "generation": rollout["metadata"]["generation"],
            "template": rollout["spec"]["template"],
            "stable": rollout["status"]["stableRS"],
        },
        "services": {
            n: (s["metadata"]["resourceVersion"], s["spec"]["selector"])
            for n, s in kube.services(namespace).items()
        },
        "replicasets": {
            h: (rs["metadata"]["resourceVersion"], rs["spec"]["replicas"])
            for h, rs in kube.replicasets(namespace).items()
        },
    }
