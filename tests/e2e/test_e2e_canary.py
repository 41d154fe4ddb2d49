"""Canary through `app` on the devstack: an upgrade with weights 20, 50, 100 pauses at each
weight with the ReplicaSets split as the Argo Rollouts controller computes it, and repeated
`app promote` takes it through every pause to Healthy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.flow import HELLO, Api, Kube, canary_split, reaches, scaled, settled
from tests.support.cli import Cli, chart, status
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration


def test_canary_steps_promoted_through_every_pause_to_healthy(
    login: Callable[[str], Cli],
    app_name: str,
    api: Api,
    kube: Kube,
    devstack_env: dict[str, str],
) -> None:
    alice, ns = login("alice"), f"{app_name}-dev"
    api.admit(app_name, "dev")  # the platform admin opens project hello to its namespace
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev",
             "--strategy", "canary", "--chart", chart(devstack_env), "--wait")  # fmt: skip
    stable = kube.rollout(ns, app_name)["status"]["stableRS"]

    upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--canary-steps", "20,50,100",
                        "--wait")  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    assert "canary at step" in upgrade.stdout
    rollout = kube.rollout(ns, app_name)
    assert rollout["spec"]["strategy"]["canary"]["steps"] == [
        {"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {}}, {"setWeight": 100},
    ]  # fmt: skip
    canary = rollout["status"]["currentPodHash"]
    assert canary != stable

    # First pause (step 1, after setWeight 20): the split the controller computes for the
    # Rollout's own replicas and maxSurge. With 2 replicas it surges to 1 canary + 2 stable
    # (33%, closer to 20% than 1 + 1 = 50%), not the naive ceil(20% of 2) = 1 + 1.
    first = _paused_at(kube, ns, app_name, 1)
    expected = _split(first, 20)
    assert expected == (1, 2)
    _wait_split(kube, ns, canary, stable, expected)
    seen = status(alice, app_name)
    view = seen["rollout"]
    assert (view["phase"], view["step"], view["steps"], view["setWeight"]) == ("Paused", 1, 5, 20)
    assert view["actualWeight"] == 100 * expected[0] // sum(expected)
    assert _desired(view, "canary") == expected[0] and _desired(view, "stable") == expected[1]
    assert seen["deployment"]["state"] == "waiting"  # at the pipeline's gate

    # Each `app promote` moves it past one pause: the first passes the pipeline's gate (which
    # promotes the Rollout), the next promotes the Rollout while the pipeline waits for Healthy.
    assert alice.run("promote", app_name).returncode == 0
    second = _paused_at(kube, ns, app_name, 3)
    _wait_split(kube, ns, canary, stable, _split(second, 50))
    assert status(alice, app_name)["rollout"]["setWeight"] == 50

    promoted = alice.run("promote", app_name)
    assert promoted.returncode == 0, promoted.stderr
    done = reaches(alice, app_name, settled("succeeded", "Healthy"), "promoted to Healthy")
    phases = {s["name"]: s["phase"] for s in done["deployment"]["steps"]}
    assert phases.pop("plan-approval") == "Skipped"  # the gate was the Rollout's pause
    assert set(phases.values()) == {"Succeeded"}
    final = kube.rollout(ns, app_name)["status"]
    assert final["stableRS"] == canary and final["currentStepIndex"] == 5
    _wait_split(kube, ns, canary, stable, (2, 0))
    assert done["rollout"]["images"] == [done["deployment"]["provenance"]["image"]]


def _paused_at(kube: Kube, namespace: str, name: str, step: int) -> dict[str, Any]:
    """The Rollout once the controller paused it at step `step` (0-based, as in its status)."""

    def paused() -> dict[str, Any]:
        rollout = kube.rollout(namespace, name)
        status = rollout["status"]
        at = status.get("currentStepIndex") == step and status.get("pauseConditions")
        return rollout if at else {}

    return wait_for(f"{name} paused at step {step}", paused, timeout=120)


def _split(rollout: dict[str, Any], weight: int) -> tuple[int, int]:
    replicas = int(rollout["spec"]["replicas"])
    surge = scaled(rollout["spec"]["strategy"]["canary"].get("maxSurge", "25%"), replicas,
                   round_up=True)  # fmt: skip
    return canary_split(replicas, weight, surge)


def _wait_split(
    kube: Kube, namespace: str, canary: str, stable: str, expected: tuple[int, int]
) -> None:
    """The canary and stable ReplicaSets reach `expected` replicas, all of them ready."""
    want = ((expected[0], expected[0]), (expected[1], expected[1]))
    wait_for(
        f"canary/stable replicas {expected}",
        lambda: (kube.replicas(namespace, canary), kube.replicas(namespace, stable)) == want,
        timeout=120,
    )


def _desired(view: dict[str, Any], tag: str) -> int:
    return sum(r["desired"] for r in view["revisions"] if tag in r["status"].split(","))
