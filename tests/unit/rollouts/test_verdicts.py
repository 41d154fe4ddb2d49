"""The judge's reason replaces the controller's "assessed Failed" line when a judgement stopped
the rollout; anything else (a plain metric, a pass, another rollout's run) leaves it alone."""

from __future__ import annotations

import json
from typing import Any

from rollway.rollouts.verdicts import judged_reason, judgement, owned_runs

REASON = "analysis: error-rate 19.8% (canary) vs 0.2% (baseline), p < 0.001"


def run(
    phase: str, value: str, *, owner: str = "hello", created: str = "2026-01-01T00:00:00Z"
) -> dict[str, Any]:
    return {
        "metadata": {"creationTimestamp": created,
                     "ownerReferences": [{"kind": "Rollout", "name": owner}]},
        "status": {"phase": phase, "metricResults": [{"measurements": [{"value": value}]}]},
    }  # fmt: skip


def judged(verdict: str, reason: str = REASON) -> str:
    return json.dumps({"verdict": verdict, "reason": reason, "metrics": []})


def test_a_failed_judgement_gives_its_reason() -> None:
    assert judged_reason([run("Failed", judged("fail"))], "hello") == REASON


def test_inconclusive_and_marginal_judgements_give_theirs_too() -> None:
    why = "analysis inconclusive: Prometheus did not answer: ConnectError"
    assert judged_reason([run("Inconclusive", judged("inconclusive", why))], "hello") == why


def test_the_newest_stopped_run_of_that_rollout_wins() -> None:
    runs = [
        run("Failed", judged("fail", "old"), created="2026-01-01T00:00:00Z"),
        run("Failed", judged("fail", "new"), created="2026-01-02T00:00:00Z"),
        run("Failed", judged("fail", "other"), owner="payments", created="2026-01-03T00:00:00Z"),
        run("Running", judged("fail", "running"), created="2026-01-04T00:00:00Z"),
    ]
    assert judged_reason(runs, "hello") == "new"


def test_plain_metrics_and_passes_leave_the_controllers_message() -> None:
    assert judged_reason([run("Failed", "0.93")], "hello") is None
    assert judged_reason([run("Failed", "{not json")], "hello") is None
    assert judged_reason([run("Failed", judged("pass"))], "hello") is None
    assert judged_reason([run("Failed", json.dumps({"verdict": "fail"}))], "hello") is None
    assert judged_reason([], "hello") is None


def test_the_newest_run_of_a_rollout_and_its_judgement_so_far() -> None:
    runs = [run("Successful", judged("pass", "analysis passed: score 100/100")),
            run("Running", "", created="2026-01-02T00:00:00Z"),
            run("Failed", judged("fail"), owner="payments", created="2026-01-03T00:00:00Z")]  # fmt: skip
    newest, older = owned_runs(runs, "hello")
    assert judgement(newest) is None  # still running: nothing measured yet
    assert judgement(older) == json.loads(judged("pass", "analysis passed: score 100/100"))


def test_the_runs_of_a_rollouts_experiments_are_its_own() -> None:
    def experiment_run(rollout: str, created: str) -> dict[str, Any]:
        found = run("Failed", judged("fail", f"{rollout}'s experiment"), created=created)
        found["metadata"]["ownerReferences"] = [
            {"kind": "Experiment", "name": f"{rollout}-7c9-2-1"}
        ]
        found["metadata"]["labels"] = {"rollway.io/rollout": rollout}
        return found

    runs = [run("Failed", judged("fail", "own step"), created="2026-01-01T00:00:00Z"),
            experiment_run("hello", "2026-01-02T00:00:00Z"),
            experiment_run("payments", "2026-01-03T00:00:00Z")]  # fmt: skip
    assert len(owned_runs(runs, "hello")) == 2
    assert judged_reason(runs, "hello") == "hello's experiment"
