"""Canary on the real Argo Rollouts controller: replica counts and weights per step, promotions."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from rollway.errors import Conflict
from rollway.rollouts import RolloutDegraded, RolloutInfo, RolloutsClient, wait_for_phase
from tests.integration.rollouts.manifests import APP, canary, create, set_image
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

STEPS: list[dict[str, Any]] = [
    {"setWeight": 20},
    {"pause": {}},
    {"setWeight": 50},
    {"pause": {"duration": "10s"}},
]


def counts(info: RolloutInfo) -> list[tuple[str, int, int, tuple[str, ...]]]:
    """(status, replicas, available, images) of the ReplicaSets that have pods."""
    return [(rs.status, rs.replicas, rs.available, rs.images)
            for rs in info.replicasets if rs.replicas]  # fmt: skip


def deploy_and_upgrade(api: client.ApiClient, namespace: str) -> tuple[RolloutInfo, RolloutInfo]:
    create(api, namespace, canary(STEPS, replicas=10))
    first = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
    set_image(api, namespace, "web:2")
    paused = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=180)
    return first, paused


def test_steps_promote_and_promote_full(
    api: client.ApiClient, rollouts: RolloutsClient, namespace: str
) -> None:
    first, paused = deploy_and_upgrade(api, namespace)
    # A first deploy skips the steps: the controller sets the index past the last one.
    assert (first.strategy, first.step, first.steps) == ("Canary", 4, 4)
    assert (first.set_weight, first.actual_weight) == (100, 100)
    assert counts(first) == [("stable", 10, 10, ("web:1",))]

    # setWeight 20 of 10 replicas, no traffic router: the controller runs 2 canary + 8 stable.
    assert (paused.phase, paused.message) == ("Paused", "CanaryPauseStep")
    assert (paused.step, paused.set_weight, paused.actual_weight) == (1, 20, 20)
    assert counts(paused) == [("canary", 2, 2, ("web:2",)), ("stable", 8, 8, ("web:1",))]
    assert (paused.current, paused.updated, paused.available) == (10, 2, 10)
    assert paused.canary_hash == paused.current_hash != paused.stable_hash == first.stable_hash

    promoted = rollouts.promote(namespace, APP)
    assert promoted.phase == "Progressing"  # unpausing: pause conditions cleared
    half = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=180)
    # setWeight 50, then the timed pause: 5 + 5.
    assert (half.step, half.set_weight, half.actual_weight) == (3, 50, 50)
    assert counts(half) == [("canary", 5, 5, ("web:2",)), ("stable", 5, 5, ("web:1",))]

    # The 10 s pause ends by itself; the canary becomes the stable.
    done = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
    assert (done.step, done.set_weight, done.actual_weight) == (4, 100, 100)
    assert done.stable_hash == paused.current_hash
    assert counts(done) == [("stable", 10, 10, ("web:2",))]

    # promote --full: from the first pause straight to the end, skipping the remaining steps.
    set_image(api, namespace, "web:3")
    third = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=180)
    assert (third.step, third.set_weight, third.revision) == (1, 20, 3)
    rollouts.promote(namespace, APP, full=True)
    full = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
    assert full.stable_hash == third.current_hash
    assert counts(full) == [("stable", 10, 10, ("web:3",))]
    with pytest.raises(Conflict, match="already fully promoted"):
        rollouts.promote(namespace, APP, full=True)
    with pytest.raises(Conflict, match="no canary step left"):
        rollouts.promote(namespace, APP)


def test_abort_and_retry(api: client.ApiClient, rollouts: RolloutsClient, namespace: str) -> None:
    first, paused = deploy_and_upgrade(api, namespace)

    rollouts.abort(namespace, APP)
    with pytest.raises(RolloutDegraded, match="RolloutAborted") as caught:
        wait_for_phase(api, namespace, APP, until={"Healthy", "Paused"}, timeout=120)
    aborted = caught.value.info
    assert aborted.aborted
    assert (aborted.set_weight, aborted.stable_hash) == (0, first.stable_hash)

    # The canary pods go away; the stable runs all 10 again.
    def back_to_stable() -> RolloutInfo | None:
        info = rollouts.get(namespace, APP)
        return info if counts(info) == [("stable", 10, 10, ("web:1",))] else None

    settled = wait_for("stable back to 10 replicas", back_to_stable, timeout=120)
    assert settled is not None
    assert (settled.phase, settled.actual_weight) == ("Degraded", 0)

    rollouts.retry(namespace, APP)
    again = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=180)
    assert (again.step, again.set_weight, again.actual_weight) == (1, 20, 20)
    assert counts(again) == [("canary", 2, 2, ("web:2",)), ("stable", 8, 8, ("web:1",))]
    assert again.current_hash == paused.current_hash
