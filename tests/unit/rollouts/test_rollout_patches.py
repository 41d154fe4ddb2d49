"""What each action sends, as `kubectl argo rollouts` sends it, and the cases it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from rollway.errors import Conflict, NotFound
from rollway.rollouts import Promotion, patches, promotion
from rollway.rollouts.patches import is_derivative
from tests.unit.rollouts.builders import bluegreen, canary, replicaset, template

PAUSED_BG = {"pauseConditions": [{"reason": "BlueGreenPause"}], "controllerPause": True,
             "currentPodHash": "new", "stableRS": "old"}  # fmt: skip


def test_promote_paused_bluegreen_clears_pause_conditions() -> None:
    assert promotion(bluegreen(**PAUSED_BG)) == Promotion(
        status={"status": {"pauseConditions": None}}, spec=None
    )


def test_promote_also_unpauses_a_manual_pause() -> None:
    ro = bluegreen(**PAUSED_BG)
    ro["spec"]["paused"] = True
    assert promotion(ro) == Promotion(
        status={"status": {"pauseConditions": None}}, spec={"spec": {"paused": False}}
    )
    del ro["status"]["pauseConditions"]
    assert promotion(ro) == Promotion(status=None, spec={"spec": {"paused": False}})


def test_promote_canary_at_pause_step_clears_conditions_only() -> None:
    ro = canary(currentStepIndex=1, pauseConditions=[{"reason": "CanaryPauseStep"}],
                controllerPause=True, currentPodHash="new", stableRS="old")  # fmt: skip
    assert promotion(ro).status == {"status": {"pauseConditions": None}}


def test_promote_canary_mid_step_skips_the_step() -> None:
    ro = canary(currentStepIndex=2, currentPodHash="new", stableRS="old")
    assert promotion(ro).status == {"status": {"pauseConditions": None, "currentStepIndex": 3}}
    del ro["status"]["currentStepIndex"]  # not set yet: the first step
    assert promotion(ro).status == {"status": {"pauseConditions": None, "currentStepIndex": 1}}


def test_promote_inconclusive_analysis_unpauses_and_moves_on() -> None:
    ro = canary(currentStepIndex=2, pauseConditions=[{"reason": "InconclusiveAnalysisRun"}],
                controllerPause=True, canary={"currentStepAnalysisRunStatus":
                                              {"name": "web-2", "status": "Inconclusive"}})  # fmt: skip
    assert promotion(ro).status == {
        "status": {"pauseConditions": None, "controllerPause": False, "currentStepIndex": 3}
    }


@pytest.mark.parametrize(
    ("ro", "message"),
    [
        (bluegreen(currentPodHash="new", stableRS="old"), "is not paused: nothing to promote"),
        (canary([], currentPodHash="new", stableRS="old"), "is not paused: nothing to promote"),
        (canary(currentStepIndex=4, currentPodHash="a", stableRS="a"), "no canary step left"),
    ],
)
def test_promote_with_nothing_to_promote_is_refused(ro: dict[str, Any], message: str) -> None:
    with pytest.raises(Conflict, match=message) as caught:
        promotion(ro)
    assert "rollout 'web'" in str(caught.value)


def test_promote_full() -> None:
    ro = canary(currentStepIndex=1, pauseConditions=[{"reason": "CanaryPauseStep"}],
                currentPodHash="new", stableRS="old")  # fmt: skip
    assert promotion(ro, full=True) == Promotion(
        status={"status": {"promoteFull": True}}, spec=None
    )
    ro["spec"]["paused"] = True
    assert promotion(ro, full=True) == Promotion(
        status={"status": {"promoteFull": True}}, spec={"spec": {"paused": False}}
    )


def test_promote_full_of_a_fully_promoted_rollout() -> None:
    ro = bluegreen(currentPodHash="same", stableRS="same")
    with pytest.raises(Conflict, match="rollout 'web' is already fully promoted"):
        promotion(ro, full=True)
    ro["spec"]["paused"] = True  # the plugin still clears a manual pause
    assert promotion(ro, full=True) == Promotion(status=None, spec={"spec": {"paused": False}})


def test_abort_and_retry() -> None:
    updating = canary(currentPodHash="new", stableRS="old")
    assert patches.abort(updating) == {"status": {"abort": True}}
    with pytest.raises(Conflict, match="not aborted: nothing to retry"):
        patches.retry(updating)
    updating["status"]["abort"] = True
    assert patches.retry(updating) == {"status": {"abort": False}}
    with pytest.raises(Conflict, match="no update in progress: nothing to abort"):
        patches.abort(canary(currentPodHash="same", stableRS="same"))


def test_restart_at_is_rfc3339_utc() -> None:
    at = datetime(2026, 3, 4, 5, 6, 7, 890, tzinfo=timezone(timedelta(hours=2)))
    assert patches.restart(at) == {"spec": {"restartAt": "2026-03-04T03:06:07Z"}}
    now = datetime.fromisoformat(patches.restart()["spec"]["restartAt"])
    assert abs(now - datetime.now(UTC)) < timedelta(minutes=1)


def history() -> list[dict[str, Any]]:
    return [
        replicaset("h3", 3, "web:3", replicas=10),
        replicaset("h1", 1, "web:1", replicas=0),
        replicaset("h2", 2, "web:2", replicas=0),
        replicaset("hx", 7, "web:x", replicas=0, owner="someone-else"),
    ]


def test_undo_restores_the_previous_revision_template() -> None:
    ro = canary()
    ro["spec"]["template"] = template("web:3")
    [op], restored = patches.undo(ro, history())
    assert restored == 2
    assert (op["op"], op["path"]) == ("replace", "/spec/template")
    assert op["value"]["spec"]["containers"][0]["image"] == "web:2"
    assert op["value"]["metadata"]["labels"] == {"app": "web"}  # the hash label is dropped


def test_undo_to_a_revision() -> None:
    ro = canary()
    ro["spec"]["template"] = template("web:3")
    [op], restored = patches.undo(ro, history(), 1)
    assert restored == 1
    assert op["value"]["spec"]["containers"][0]["image"] == "web:1"


def test_undo_to_a_missing_revision_names_it_and_the_known_ones() -> None:
    with pytest.raises(NotFound) as caught:
        patches.undo(canary(), history(), 7)  # 7 belongs to another owner
    assert caught.value.field == "revision"
    assert str(caught.value) == "revision: rollout 'web' has no revision 7 (revisions: 3, 2, 1)"


def test_undo_without_history() -> None:
    with pytest.raises(NotFound, match="no previous revision"):
        patches.undo(canary(), history()[:1])


def test_undo_to_the_running_template_is_refused() -> None:
    ro = canary()
    ro["spec"]["template"] = template("web:3")
    with pytest.raises(Conflict, match="already runs the template of revision 3"):
        patches.undo(ro, history(), 3)


def test_is_derivative_ignores_what_the_first_leaves_unset() -> None:
    server = {"a": "x", "b": {"c": [1, 2], "d": ""}, "e": False, "f": None}
    assert is_derivative({"a": "x", "b": {"c": [1, 2]}}, server)
    assert is_derivative({"a": "", "b": {}, "g": None}, {"a": "y", "b": {"z": 1}, "g": 0})
    assert not is_derivative({"a": "y"}, server)
    assert not is_derivative({"e": True}, server)  # booleans are compared, even false ones
    assert not is_derivative({"n": 0}, server)  # a key the other lacks
    assert not is_derivative({"b": {"c": [1, 3]}}, server)
    assert not is_derivative({"b": {"c": [1, 2, 3]}}, server)
    assert not is_derivative({"a": 1}, {"a": "1"})
