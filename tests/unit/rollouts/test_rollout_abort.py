"""One phase through an abort and a retry: what the pipeline's wait, the API and `app status` see.

Each status is shaped as the Argo Rollouts controller writes it (a blue-green paused for promotion,
aborted by a user, scaled back, retried; a canary aborted by its analysis or its progress
deadline). The wait and the view (`rollout_info`, which the API server and the CLI show) both take
`rollout_phase`, so they cannot disagree; these cases pin what that one phase is.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from rollway.rollouts import RolloutDegraded, rollout_info, rollout_phase, wait_for_phase
from rollway.rollouts import watch as watch_module
from tests.unit.rollouts.builders import bluegreen, canary, replicaset

STABLE, NEW = "6f7d8c9b5", "5c4b7d8f9"
ABORTED_MESSAGE = "Rollout aborted update to revision 2"
AVAILABLE = {"type": "Available", "status": "True", "reason": "AvailableReason",
             "message": "Rollout has minimum availability"}  # fmt: skip
NOT_HEALTHY = {"type": "Healthy", "status": "False", "reason": "RolloutHealthy",
               "message": "Rollout is not healthy"}  # fmt: skip


def paused_for_promotion() -> dict[str, Any]:
    """A blue-green whose preview (revision 2) waits for `promote`: the controller's status."""
    return bluegreen(
        phase="Paused",
        message="BlueGreenPause",
        controllerPause=True,
        pauseConditions=[{"reason": "BlueGreenPause", "startTime": "2026-01-01T00:01:00Z"}],
        conditions=[
            AVAILABLE,
            {
                "type": "Paused",
                "status": "True",
                "reason": "RolloutPaused",
                "message": "Rollout is paused",
            },
            {
                "type": "Progressing",
                "status": "Unknown",
                "reason": "RolloutPaused",
                "message": "Rollout is paused",
            },
            NOT_HEALTHY,
        ],  # fmt: skip
        blueGreen={"activeSelector": STABLE, "previewSelector": NEW},
        currentPodHash=NEW,
        stableRS=STABLE,
        replicas=20,
        updatedReplicas=10,
        readyReplicas=20,
        availableReplicas=20,
    )


def abort_patched(ro: dict[str, Any]) -> dict[str, Any]:
    """`app abort` (`kubectl argo rollouts abort`): only `status.abort`, no new generation."""
    ro = copy.deepcopy(ro)
    ro["status"]["abort"] = True
    return ro


def abort_acted_on(scaled_back: bool) -> dict[str, Any]:
    """The controller's next status: Degraded, pause cleared, the preview scaling back to 0."""
    ro = paused_for_promotion()
    status = ro["status"]
    for key in ("controllerPause", "pauseConditions"):
        del status[key]
    status.update(
        abort=True,
        abortedAt="2026-01-01T00:02:00Z",
        phase="Degraded",
        message=f"RolloutAborted: {ABORTED_MESSAGE}",
        replicas=10 if scaled_back else 20,
        updatedReplicas=0 if scaled_back else 10,
    )
    status["conditions"][1:3] = [
        {"type": "Paused", "status": "False", "reason": "RolloutPaused",
         "message": "Rollout is paused"},
        {"type": "Progressing", "status": "False", "reason": "RolloutAborted",
         "message": ABORTED_MESSAGE},
    ]  # fmt: skip
    return ro


def retry_patched(ro: dict[str, Any]) -> dict[str, Any]:
    """`app retry` (`kubectl argo rollouts retry`): `status.abort` false, nothing else yet."""
    ro = copy.deepcopy(ro)
    ro["status"]["abort"] = False
    return ro


def retry_acted_on() -> dict[str, Any]:
    """The controller's next status: the abort condition replaced, the preview scaling up again."""
    ro = abort_acted_on(scaled_back=True)
    status = ro["status"]
    del status["abortedAt"]
    status.update(abort=False, phase="Progressing", message="more replicas need to be updated")
    status["conditions"][2] = {"type": "Progressing", "status": "Unknown",
                               "reason": "RolloutRetry", "message": "Retrying Rollout after abort"}  # fmt: skip
    return ro


ABORT_AND_RETRY = [
    ("paused for promotion", paused_for_promotion(), ("Paused", "BlueGreenPause")),
    ("abort patched", abort_patched(paused_for_promotion()),
     ("Progressing", "waiting for rollout to abort")),
    ("abort acted on", abort_acted_on(scaled_back=False),
     ("Degraded", f"RolloutAborted: {ABORTED_MESSAGE}")),
    ("preview scaled back", abort_acted_on(scaled_back=True),
     ("Degraded", f"RolloutAborted: {ABORTED_MESSAGE}")),
    ("retry patched", retry_patched(abort_acted_on(scaled_back=True)),
     ("Progressing", "waiting for rollout to retry")),
    ("retry acted on", retry_acted_on(), ("Progressing", "more replicas need to be updated")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("ro", "expected"), [case[1:] for case in ABORT_AND_RETRY], ids=[c[0] for c in ABORT_AND_RETRY]
)
def test_the_view_and_the_phase_agree_through_abort_and_retry(
    ro: dict[str, Any], expected: tuple[str, str]
) -> None:
    """A stale Paused after `abort`, or a stale Degraded after `retry`, is never shown."""
    info = rollout_info(ro, [replicaset(STABLE, 1, "web:1", replicas=10),
                             replicaset(NEW, 2, "web:2", replicas=10)])  # fmt: skip
    assert rollout_phase(ro) == expected
    assert (info.phase, info.message) == expected
    assert info.aborted is bool(ro["status"].get("abort"))


@pytest.mark.parametrize(
    "message",
    [
        'Metric "error-rate" assessed Failed due to failed (1) > failureLimit (0)',
        'ReplicaSet "web-5c4b7d8f9" has timed out progressing.',
    ],
    ids=["analysis", "progress deadline"],
)
def test_an_abort_by_the_controller_is_degraded_at_once(message: str) -> None:
    """A failed analysis or `progressDeadlineAbort`: the controller sets `status.abort` and the
    condition in the same update, so there is nothing to wait for."""
    ro = canary(
        abort=True,
        abortedAt="2026-01-01T00:02:00Z",
        phase="Degraded",
        message=f"RolloutAborted: {ABORTED_MESSAGE}: {message}",
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "RolloutAborted",
                "message": f"{ABORTED_MESSAGE}: {message}",
            }
        ],  # fmt: skip
        currentPodHash=NEW,
        stableRS=STABLE,
        currentStepIndex=0,
    )
    assert rollout_phase(ro) == ("Degraded", f"RolloutAborted: {ABORTED_MESSAGE}: {message}")
    assert rollout_info(ro).set_weight == 0


def test_a_spec_change_after_an_abort_waits_for_its_generation_first() -> None:
    """A new release over an aborted one: the controller clears the abort when it sees it."""
    ro = abort_acted_on(scaled_back=True)
    ro["metadata"]["generation"] = 5
    assert rollout_phase(ro) == ("Progressing", "waiting for rollout spec update to be observed")


class FakeClient:
    """RolloutsClient's `info` without a cluster: the view of the Rollout as read."""

    def __init__(self, _api: object) -> None:
        pass

    def info(self, ro: dict[str, Any]) -> Any:
        return rollout_info(ro)


def watched(monkeypatch: pytest.MonkeyPatch, versions: list[dict[str, Any]]) -> None:
    def watch_rollout(*_args: object, **_kwargs: object) -> Iterator[dict[str, Any]]:
        yield from versions

    monkeypatch.setattr(watch_module, "RolloutsClient", FakeClient)
    monkeypatch.setattr(watch_module, "watch_rollout", watch_rollout)


def test_the_wait_for_a_pause_fails_on_an_abort_it_sees_before_the_controller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """wait-rollout --until paused-or-healthy, started just after `app abort`: the stale Paused
    does not end it; the controller's Degraded does, and each phase it reported is the view's."""
    versions = [case[1] for case in ABORT_AND_RETRY[1:4]]
    watched(monkeypatch, versions)
    seen: list[tuple[str, str]] = []

    with pytest.raises(RolloutDegraded, match=f"is Degraded: RolloutAborted: {ABORTED_MESSAGE}"):
        wait_for_phase(None, "shop", "web", until=("Paused", "Healthy"),
                       on_change=lambda phase, message: seen.append((phase, message)))  # fmt: skip

    assert seen == [case[2] for case in ABORT_AND_RETRY[1:3]]
    assert seen == [(i.phase, i.message) for i in map(rollout_info, versions[:2])]


def test_the_wait_after_a_retry_does_not_fail_on_the_stale_degraded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    paused_again = paused_for_promotion()
    watched(monkeypatch, [ABORT_AND_RETRY[4][1], ABORT_AND_RETRY[5][1], paused_again])
    info = wait_for_phase(None, "shop", "web", until=("Paused", "Healthy"))
    assert (info.phase, info.message, info.aborted) == ("Paused", "BlueGreenPause", False)
