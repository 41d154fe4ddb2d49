"""What `kubectl argo rollouts get rollout` shows, computed from Rollout/ReplicaSet/pod dicts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from rollway.rollouts import ImageInfo, rollout_info
from rollway.rollouts.info import pod_info, replicaset_health
from tests.unit.rollouts.builders import bluegreen, canary, pod, replicaset


def paused_bluegreen() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    ro = bluegreen(
        phase="Paused", message="BlueGreenPause", controllerPause=True,
        pauseConditions=[{"reason": "BlueGreenPause", "startTime": "2026-01-01T00:01:00Z"}],
        currentPodHash="h2", stableRS="h1", replicas=20, updatedReplicas=10, readyReplicas=20,
        availableReplicas=20, blueGreen={"activeSelector": "h1", "previewSelector": "h2"},
    )  # fmt: skip
    replicasets = [
        replicaset("h0", 0 + 1, "web:0", replicas=0),  # revision 1, scaled down
        replicaset("h1", 2, "web:1", replicas=10),
        replicaset("h2", 3, "web:2", replicas=10),
        replicaset("zz", 9, "other:1", replicas=3, owner="someone-else"),
    ]
    return ro, replicasets


def test_bluegreen_view() -> None:
    ro, replicasets = paused_bluegreen()
    info = rollout_info(ro, replicasets)
    assert (info.name, info.namespace, info.strategy) == ("web", "shop", "BlueGreen")
    assert (info.phase, info.message, info.revision) == ("Paused", "BlueGreenPause", 2)
    assert (info.desired, info.current, info.updated, info.ready, info.available) == (
        10, 20, 10, 20, 20,
    )  # fmt: skip
    assert (info.active_hash, info.preview_hash, info.stable_hash, info.current_hash) == (
        "h1", "h2", "h1", "h2",
    )  # fmt: skip
    assert info.canary_hash == ""
    assert (info.step, info.steps, info.set_weight, info.actual_weight) == (None, 0, None, None)
    assert info.pause_reasons == ("BlueGreenPause",)
    assert [c.image for c in info.containers] == ["web:2"]
    # Newest first; the ReplicaSet another owner holds is not part of the rollout.
    assert [(rs.revision, rs.name, rs.status, rs.health) for rs in info.replicasets] == [
        (3, "web-h2", "preview", "Healthy"),
        (2, "web-h1", "stable,active", "Healthy"),
        (1, "web-h0", "scaled down", "ScaledDown"),
    ]
    assert info.revisions == (3, 2, 1)
    assert info.images == (
        ImageInfo("web:1", ("stable", "active")),
        ImageInfo("web:2", ("preview",)),
    )
    assert info.replicasets[0].created == datetime(2026, 1, 1, tzinfo=UTC)


def test_old_replicaset_waiting_for_scale_down() -> None:
    ro, replicasets = paused_bluegreen()
    ro["status"].update(stableRS="h2", blueGreen={"activeSelector": "h2"})
    deadline = "2026-01-01T00:05:00Z"
    replicasets[1]["metadata"]["annotations"]["scale-down-deadline"] = deadline
    old = rollout_info(ro, replicasets).replicasets[1]
    assert (old.revision, old.status, old.scale_down_deadline) == (2, "old", deadline)


def test_same_image_in_two_stacks_merges_tags() -> None:
    ro, replicasets = paused_bluegreen()
    replicasets[2]["spec"]["template"]["spec"]["containers"][0]["image"] = "web:1"
    assert rollout_info(ro, replicasets).images == (
        ImageInfo("web:1", ("active", "preview", "stable")),
    )


def canary_at(index: int, *, canary_available: int, total_available: int, **extra: Any) -> Any:
    ro = canary(
        phase="Paused", message="CanaryPauseStep", currentStepIndex=index,
        currentPodHash="new", stableRS="old", replicas=10, updatedReplicas=2,
        availableReplicas=total_available, **extra,
    )  # fmt: skip
    replicasets = [
        replicaset("old", 1, "web:1", replicas=8),
        replicaset("new", 2, "web:2", replicas=2, available=canary_available),
    ]
    return rollout_info(ro, replicasets)


def test_canary_step_and_weights_from_available_pods() -> None:
    info = canary_at(1, canary_available=2, total_available=10)
    assert (info.strategy, info.step, info.steps) == ("Canary", 1, 4)
    assert (info.set_weight, info.actual_weight) == (20, 20)
    assert (info.stable_hash, info.canary_hash) == ("old", "new")
    assert [(rs.status, rs.replicas, rs.available) for rs in info.replicasets] == [
        ("canary", 2, 2),
        ("stable", 8, 8),
    ]
    # Integer arithmetic, as the plugin: 1 of 9 available pods is 11%.
    assert canary_at(1, canary_available=1, total_available=9).actual_weight == 11
    assert canary_at(1, canary_available=0, total_available=0).actual_weight == 0


def test_set_weight_is_the_last_set_weight_up_to_the_current_step() -> None:
    assert canary_at(0, canary_available=2, total_available=10).set_weight == 20
    assert canary_at(3, canary_available=2, total_available=10).set_weight == 50
    # Past the last step: full weight, whatever the pods say.
    past = canary_at(4, canary_available=2, total_available=10)
    assert (past.step, past.set_weight, past.actual_weight) == (4, 100, 100)
    aborted = canary_at(3, canary_available=0, total_available=8, abort=True)
    assert (aborted.set_weight, aborted.actual_weight, aborted.aborted) == (0, 0, True)


def test_no_step_index_yet_means_first_step() -> None:
    info = canary_at(0, canary_available=2, total_available=10)
    ro = canary(currentPodHash="new", stableRS="old", availableReplicas=10)
    assert "currentStepIndex" not in ro["status"]
    bare = rollout_info(ro, [replicaset("new", 2, "web:2", replicas=2)])
    assert (bare.step, bare.set_weight, bare.actual_weight) == (None, 20, info.actual_weight)


def test_steps_free_canary() -> None:
    ro = canary([], currentPodHash="new", stableRS="old", availableReplicas=10)
    info = rollout_info(ro, [replicaset("new", 2, "web:2", replicas=2)])
    assert (info.step, info.steps, info.set_weight, info.actual_weight) == (None, 0, 100, 100)


@pytest.mark.parametrize(
    ("weights", "expected"),
    [({"canary": {"weight": 35, "podTemplateHash": "new"}}, 35), (None, 20)],
)
def test_traffic_routed_weight_comes_from_status(weights: Any, expected: int) -> None:
    routed: dict[str, Any] = {"canary": {"weights": weights}} if weights else {}
    ro = canary(currentStepIndex=1, currentPodHash="new", stableRS="old", availableReplicas=10,
                **routed)  # fmt: skip
    ro["spec"]["strategy"]["canary"]["trafficRouting"] = {"nginx": {"stableIngress": "web"}}
    assert rollout_info(ro, []).actual_weight == expected


def test_max_traffic_weight_scales_the_end_weight() -> None:
    ro = canary(currentStepIndex=4, availableReplicas=10)
    ro["spec"]["strategy"]["canary"]["trafficRouting"] = {"maxTrafficWeight": 1000}
    info = rollout_info(ro, [])
    assert (info.set_weight, info.actual_weight) == (1000, 1000)


def test_replicaset_health() -> None:
    rs = replicaset("h1", 1, "web:1", replicas=3)
    assert replicaset_health(rs) == "Healthy"
    rs["metadata"]["generation"] = 2
    assert replicaset_health(rs) == "Progressing"  # not observed yet
    rs["status"]["observedGeneration"] = 2
    rs["status"]["availableReplicas"] = 1
    assert replicaset_health(rs) == "Progressing"
    rs["status"]["conditions"] = [{"type": "ReplicaFailure", "status": "True"}]
    assert replicaset_health(rs) == "ReplicaFailure"
    assert replicaset_health(replicaset("h0", 1, "web:0", replicas=0)) == "ScaledDown"


def test_pods_are_listed_under_their_replicaset() -> None:
    ro, replicasets = paused_bluegreen()
    pods = [
        pod("web-h2-b", "rs-h2"),
        pod("web-h2-a", "rs-h2", container_state={"waiting": {"reason": "CrashLoopBackOff"}},
            ready=False),
        pod("stray", "rs-unrelated"),
    ]  # fmt: skip
    preview = rollout_info(ro, replicasets, pods).replicasets[0]
    assert [(p.name, p.status, p.ready) for p in preview.pods] == [
        ("web-h2-a", "CrashLoopBackOff", "0/1"),
        ("web-h2-b", "Running", "1/1"),
    ]


def test_pod_status_words() -> None:
    terminating = pod("p", "rs")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:02:00Z"
    assert pod_info(terminating).status == "Terminating"
    exited = pod("p", "rs", container_state={"terminated": {"exitCode": 137, "signal": 0}})
    assert pod_info(exited).status == "ExitCode:137"
    init = pod("p", "rs")
    init["spec"]["initContainers"] = [{"name": "migrate"}]
    init["status"]["initContainerStatuses"] = [{"name": "migrate", "state": {"running": {}}}]
    assert pod_info(init).status == "Init:0/1"
    failed_init = pod("p", "rs")
    failed_init["spec"]["initContainers"] = [{"name": "migrate"}]
    failed_init["status"]["initContainerStatuses"] = [
        {"name": "migrate", "restartCount": 2, "state": {"terminated": {"exitCode": 1}}}
    ]
    assert (pod_info(failed_init).status, pod_info(failed_init).restarts) == (
        "Init:ExitCode:1", 2,
    )  # fmt: skip
