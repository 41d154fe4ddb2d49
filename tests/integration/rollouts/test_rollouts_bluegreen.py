"""Blue-green on the real Argo Rollouts controller: deploy, upgrade, promote, abort, retry, undo."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from kubernetes import client

from rollway.errors import Conflict, InvalidInput, NotFound
from rollway.rollouts import RolloutDegraded, RolloutInfo, RolloutsClient, wait_for_phase
from tests.integration.rollouts.manifests import (
    APP,
    bluegreen,
    create,
    generation,
    selector,
    service,
    set_image,
)
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration


def deploy(api: client.ApiClient, namespace: str) -> RolloutInfo:
    create(api, namespace, service(f"{APP}-active"), service(f"{APP}-preview"), bluegreen())
    return wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)


def upgrade(api: client.ApiClient, namespace: str, image: str) -> RolloutInfo:
    set_image(api, namespace, image)
    return wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=120)


def test_deploy_upgrade_promote(
    api: client.ApiClient, rollouts: RolloutsClient, namespace: str
) -> None:
    first = deploy(api, namespace)
    assert (first.strategy, first.phase, first.revision) == ("BlueGreen", "Healthy", 1)
    assert first.active_hash == first.stable_hash == first.current_hash != ""
    assert selector(api, namespace, f"{APP}-active") == first.active_hash
    [rs1] = first.replicasets
    assert (rs1.revision, rs1.status, rs1.images, rs1.ready) == (1, "stable,active", ("web:1",), 2)

    # Nothing to promote: refused, and nothing patched.
    before = generation(api, namespace)
    with pytest.raises(Conflict, match=f"rollout '{APP}' is not paused"):
        rollouts.promote(namespace, APP)
    assert generation(api, namespace) == before

    paused = upgrade(api, namespace, "web:2")
    assert (paused.phase, paused.message, paused.revision) == ("Paused", "BlueGreenPause", 2)
    assert paused.pause_reasons == ("BlueGreenPause",)
    new_hash = paused.current_hash
    assert paused.preview_hash == new_hash != first.active_hash == paused.active_hash
    assert selector(api, namespace, f"{APP}-preview") == new_hash
    assert selector(api, namespace, f"{APP}-active") == first.active_hash
    assert [(rs.revision, rs.status, rs.images) for rs in paused.replicasets] == [
        (2, "preview", ("web:2",)),
        (1, "stable,active", ("web:1",)),
    ]
    assert [i.image for i in paused.images] == ["web:1", "web:2"]
    assert rollouts.get(namespace, APP) == rollouts.info(rollouts.read(namespace, APP))

    promoted = rollouts.promote(namespace, APP)
    assert promoted.pause_reasons == ()  # the status patch went through
    healthy = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    assert healthy.active_hash == healthy.stable_hash == new_hash
    assert selector(api, namespace, f"{APP}-active") == new_hash

    # The old ReplicaSet keeps its pods for scaleDownDelaySeconds, then scales to zero.
    def old_replicaset() -> object:
        old = rollouts.get(namespace, APP).replicasets[1]
        return old if old.status == "scaled down" and old.replicas == 0 else None

    wait_for("old ReplicaSet scaled down", old_replicaset, timeout=60)
    history = rollouts.history(namespace, APP)
    assert [(rs.revision, rs.status) for rs in history] == [
        (2, "stable,active"),
        (1, "scaled down"),
    ]


def test_abort_then_retry(api: client.ApiClient, rollouts: RolloutsClient, namespace: str) -> None:
    first = deploy(api, namespace)
    paused = upgrade(api, namespace, "web:2")

    aborted = rollouts.abort(namespace, APP)
    assert aborted.aborted
    with pytest.raises(RolloutDegraded, match=f"rollout '{APP}' is Degraded: RolloutAborted") as e:
        wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=60)
    degraded = e.value.info
    assert degraded.phase == "Degraded"
    assert degraded.active_hash == first.active_hash
    assert selector(api, namespace, f"{APP}-active") == first.active_hash
    with pytest.raises(Conflict, match="is not paused"):
        rollouts.promote(namespace, APP)  # aborted: nothing paused to promote

    rollouts.retry(namespace, APP)
    again = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=120)
    assert (again.phase, again.message, again.aborted) == ("Paused", "BlueGreenPause", False)
    assert again.preview_hash == paused.preview_hash
    assert again.active_hash == first.active_hash
    with pytest.raises(Conflict, match="is not aborted"):
        rollouts.retry(namespace, APP)


def test_undo_brings_back_the_previous_revision(
    api: client.ApiClient, rollouts: RolloutsClient, namespace: str
) -> None:
    first = deploy(api, namespace)
    upgrade(api, namespace, "web:2")
    rollouts.promote(namespace, APP)
    second = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    assert second.active_hash != first.active_hash

    before = generation(api, namespace)
    with pytest.raises(NotFound, match=r"has no revision 7 \(revisions: 2, 1\)") as missing:
        rollouts.undo(namespace, APP, 7)
    assert missing.value.field == "revision"
    with pytest.raises(InvalidInput, match="revision number"):
        rollouts.undo(namespace, APP, 0)
    with pytest.raises(Conflict, match="already runs the template of revision 2"):
        rollouts.undo(namespace, APP, 2)
    assert generation(api, namespace) == before

    rollouts.undo(namespace, APP)
    back = wait_for_phase(api, namespace, APP, until={"Paused", "Healthy"}, timeout=120)
    if back.phase == "Paused":  # autoPromotionEnabled: false holds the rollback for promotion too
        rollouts.promote(namespace, APP)
        back = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    assert back.active_hash == back.stable_hash == first.active_hash
    assert selector(api, namespace, f"{APP}-active") == first.active_hash
    assert [c.image for c in back.containers] == ["web:1"]
    # The controller re-labels the old ReplicaSet with the next revision number.
    assert back.revision == 3
    assert (back.replicasets[0].revision, back.replicasets[0].hash) == (3, first.active_hash)


def test_pause_resume_restart(
    api: client.ApiClient, rollouts: RolloutsClient, namespace: str
) -> None:
    deploy(api, namespace)

    rollouts.pause(namespace, APP)
    paused = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=60)
    assert (paused.phase, paused.paused) == ("Paused", True)
    rollouts.resume(namespace, APP)
    resumed = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=60)
    assert not resumed.paused

    core = client.CoreV1Api(api)

    def pod_names() -> set[str]:
        return {
            str(p.metadata.name) for p in core.list_namespaced_pod(namespace).items if p.metadata
        }

    before = pod_names()
    # The controller restarts pods created *before* restartAt (second precision): make sure the
    # clock has left the second the current pods were created in.
    newest = max(p.metadata.creation_timestamp for p in core.list_namespaced_pod(namespace).items)
    wait_for("a new second", lambda: datetime.now(UTC).replace(microsecond=0) > newest, timeout=5)
    restarted = rollouts.restart(namespace, APP)
    assert (restarted.phase, restarted.message) == (
        "Progressing",
        "waiting for rollout spec update to be observed",
    )
    done = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    assert done.restarted_at is not None
    wait_for(
        "every pod replaced", lambda: (names := pod_names()) and not names & before, timeout=90
    )


def test_missing_rollout_is_named(
    api: client.ApiClient, rollouts: RolloutsClient, namespace: str
) -> None:
    for action in (rollouts.get, rollouts.promote, rollouts.abort, rollouts.undo, rollouts.pause):
        with pytest.raises(NotFound, match=f"rollout 'nope' in namespace '{namespace}' not found"):
            action(namespace, "nope")
    with pytest.raises(NotFound, match="rollout 'nope'"):
        wait_for_phase(api, namespace, "nope", timeout=5)
    with pytest.raises(InvalidInput) as bad:
        rollouts.get(namespace, "No_Such")
    assert bad.value.field == "name"
