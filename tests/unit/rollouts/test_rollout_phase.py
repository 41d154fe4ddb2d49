"""The phase and message of a Rollout, as `utils/rollout.GetRolloutPhase` computes them."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.rollouts import Phase, rollout_phase
from tests.unit.rollouts.builders import bluegreen, canary


def without_phase(ro: dict[str, Any], **status: Any) -> dict[str, Any]:
    """A status the controller has not summarised: the phase is computed client-side."""
    ro["status"] = {"observedGeneration": "4", **status}
    return ro


def test_controller_phase_is_trusted_once_the_generation_is_observed() -> None:
    ro = canary(phase="Paused", message="CanaryPauseStep", controllerPause=True,
                pauseConditions=[{"reason": "CanaryPauseStep"}])  # fmt: skip
    assert rollout_phase(ro) == ("Paused", "CanaryPauseStep")


@pytest.mark.parametrize(("observed", "expected"), [("3", "Progressing"), ("4", "Healthy"),
                                                     ("5", "Healthy"), ("6b8f9c5d", "Healthy"),
                                                     ("", "Healthy")])  # fmt: skip
def test_observed_generation_is_a_string(observed: str, expected: str) -> None:
    ro = bluegreen(phase="Healthy")
    ro["status"]["observedGeneration"] = observed
    phase, message = rollout_phase(ro)
    assert phase == expected
    if expected == "Progressing":
        assert message == "waiting for rollout spec update to be observed"


def test_cleared_pause_conditions_while_controller_paused_is_unpausing() -> None:
    ro = bluegreen(phase="Paused", message="BlueGreenPause", controllerPause=True)
    assert rollout_phase(ro) == ("Progressing", "waiting for rollout to unpause")
    ro["status"]["pauseConditions"] = [{"reason": "BlueGreenPause"}]
    assert rollout_phase(ro) == ("Paused", "BlueGreenPause")


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"type": "InvalidSpec", "reason": "InvalidSpec", "message": "bad steps"},
         "InvalidSpec: bad steps"),
        ({"type": "Progressing", "reason": "RolloutAborted", "message": "aborted update to 2"},
         "RolloutAborted: aborted update to 2"),
        ({"type": "Progressing", "reason": "ProgressDeadlineExceeded", "message": "too slow"},
         "ProgressDeadlineExceeded: too slow"),
    ],
)  # fmt: skip
def test_degraded_conditions(condition: dict[str, str], message: str) -> None:
    # The controller writes the RolloutAborted condition together with `status.abort`.
    aborted = condition["reason"] == "RolloutAborted"
    ro = without_phase(canary(), conditions=[condition], pauseConditions=[{"reason": "X"}],
                       abort=aborted)  # fmt: skip
    assert rollout_phase(ro) == (Phase.DEGRADED, message)


def test_manual_pause_before_pause_conditions() -> None:
    ro = without_phase(canary(), pauseConditions=[{"reason": "CanaryPauseStep"}])
    assert rollout_phase(ro) == ("Paused", "CanaryPauseStep")
    ro["spec"]["paused"] = True
    assert rollout_phase(ro) == ("Paused", "manually paused")


def test_restart_pending_until_restarted_at_matches() -> None:
    full = {"replicas": 10, "updatedReplicas": 10, "availableReplicas": 10,
            "stableRS": "abc", "currentPodHash": "abc"}  # fmt: skip
    ro = without_phase(canary(), **full)
    ro["spec"]["restartAt"] = "2026-01-01T10:00:00Z"
    assert rollout_phase(ro) == ("Progressing", "rollout is restarting")
    ro["status"]["restartedAt"] = "2026-01-01T10:00:00+00:00"  # same instant, other spelling
    assert rollout_phase(ro) == ("Healthy", "")


def test_replica_progress_messages() -> None:
    ro = without_phase(canary(), updatedReplicas=4, availableReplicas=10)
    assert rollout_phase(ro) == ("Progressing", "more replicas need to be updated")
    ro["status"].update(updatedReplicas=10, availableReplicas=9)
    assert rollout_phase(ro) == ("Progressing", "updated replicas are still becoming available")


def test_replicas_default_to_one() -> None:
    ro = without_phase(canary(), updatedReplicas=1, availableReplicas=1, replicas=1,
                       stableRS="abc", currentPodHash="abc")  # fmt: skip
    del ro["spec"]["replicas"]
    assert rollout_phase(ro) == ("Healthy", "")


def test_bluegreen_cutover_and_post_promotion() -> None:
    done = {"replicas": 10, "updatedReplicas": 10, "availableReplicas": 10}
    ro = without_phase(bluegreen(), **done, currentPodHash="new", stableRS="old",
                       blueGreen={"activeSelector": "old"})  # fmt: skip
    assert rollout_phase(ro) == ("Progressing", "active service cutover pending")
    ro["status"]["blueGreen"]["activeSelector"] = "new"
    assert rollout_phase(ro) == (
        "Progressing",
        "waiting for post-promotion verification to complete",
    )
    ro["spec"]["strategy"]["blueGreen"]["postPromotionAnalysis"] = {"templates": []}
    assert rollout_phase(ro) == ("Progressing", "waiting for analysis to complete")
    ro["status"]["blueGreen"]["postPromotionAnalysisRunStatus"] = {"status": "Running"}
    assert rollout_phase(ro)[1] == "waiting for analysis to complete"
    ro["status"]["blueGreen"]["postPromotionAnalysisRunStatus"] = {"status": "Successful"}
    assert rollout_phase(ro)[1] == "waiting for post-promotion verification to complete"
    ro["status"]["stableRS"] = "new"
    assert rollout_phase(ro) == ("Healthy", "")


def test_canary_old_replicas_then_steps() -> None:
    ro = without_phase(canary(), replicas=12, updatedReplicas=10, availableReplicas=10,
                       currentPodHash="new", stableRS="old")  # fmt: skip
    assert rollout_phase(ro) == ("Progressing", "old replicas are pending termination")
    ro["spec"]["strategy"]["canary"]["trafficRouting"] = {"nginx": {"stableIngress": "web"}}
    assert rollout_phase(ro) == ("Progressing", "waiting for all steps to complete")
    ro["status"]["stableRS"] = "new"
    assert rollout_phase(ro) == ("Healthy", "")
