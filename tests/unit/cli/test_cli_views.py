"""The status view (as `kubectl argo rollouts get rollout` lays it out), the plan and progress
lines, rendered from API-shaped JSON with rich's recording console."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from rollway.cli.follow import Snapshot, changes, outcome
from rollway.cli.view.status import status_view

NOW = datetime(2026, 11, 22, 8, 10, tzinfo=UTC)
IMAGE = "harbor.local/rollway/hello@sha256:"


def deployment(state: str = "waiting", **extra: Any) -> dict[str, Any]:
    step = {"type": "Pod", "retries": 0, "message": "", "outputs": {}}
    return {
        "id": "hello-dev-abc", "app": "hello", "env": "dev", "namespace": "hello-dev",
        "kind": "upgrade", "state": state, "version": "1.1.0", "strategy": "bluegreen",
        "message": "", "createdBy": "alice", "createdAt": "2026-11-22T08:05:00Z",
        "parameters": {"approval-required": "false"},
        "provenance": {"image": IMAGE + "bb", "resolvedVersion": "1.1.0"},
        "steps": [
            {**step, "name": "resolve-artifact", "phase": "Succeeded", "durationSeconds": 3.0,
             "startedAt": "2026-11-22T08:05:01Z", "outputs": {"version": "1.1.0"}},
            {**step, "name": "wait-rollout", "phase": "Running",
             "startedAt": "2026-11-22T08:09:30Z"},
            {**step, "name": "approval", "type": "Suspend", "phase": "Running"},
        ],
        **extra,
    }  # fmt: skip


def pod(name: str, status: str = "Running") -> dict[str, Any]:
    return {"name": name, "status": status, "ready": "1/1", "restarts": 0,
            "created": "2026-11-22T08:09:00Z"}  # fmt: skip


def revision(number: int, name: str, image: str, status: str, pods: list[str]) -> dict[str, Any]:
    return {"name": name, "hash": name[-5:], "revision": number, "images": [image],
            "health": "Healthy", "status": status, "desired": 2, "ready": 2, "available": 2,
            "created": "2026-11-22T08:00:00Z", "pods": [pod(p) for p in pods],
            "deploymentId": f"dep-{number}"}  # fmt: skip


def rollout(strategy: str = "BlueGreen", **extra: Any) -> dict[str, Any]:
    return {
        "name": "hello", "namespace": "hello-dev", "strategy": strategy, "phase": "Paused",
        "message": "BlueGreenPause", "revision": 2, "images": [IMAGE + "aa", IMAGE + "bb"],
        "desired": 2, "current": 4, "updated": 2, "ready": 2, "available": 2, "step": None,
        "steps": 0, "setWeight": None, "actualWeight": None, "paused": False, "aborted": False,
        "pauseReasons": ["BlueGreenPause"],
        "revisions": [
            revision(2, "hello-6cf78c66c5", IMAGE + "bb", "preview", ["hello-6cf78c66c5-a"]),
            revision(1, "hello-5d5b6f7c99", IMAGE + "aa", "stable,active",
                     ["hello-5d5b6f7c99-b", "hello-5d5b6f7c99-c"]),
        ],
        **extra,
    }  # fmt: skip


def render(*args: Any) -> str:
    console = Console(record=True, width=160, color_system=None)
    console.print(status_view(*args, now=NOW))
    return "\n".join(line.rstrip() for line in console.export_text().splitlines())


def test_bluegreen_view_lays_out_the_pipeline_and_the_revision_tree() -> None:
    text = render(deployment(), rollout())

    for line in (
        "Deployment:      hello-dev-abc",
        "Kind:            upgrade to 1.1.0 (bluegreen)",
        "State:           ॥ waiting",
        f"Image:           {IMAGE}bb",
        "Status:          ॥ Paused",
        "Message:         BlueGreenPause",
        f"Images:          {IMAGE}aa (active, stable)",
        f"                 {IMAGE}bb (preview)",
        "  Current:       4",
    ):
        assert line in text.splitlines(), text
    assert "✔ resolve-artifact  Succeeded  3s        version:1.1.0" in text
    assert "◌ wait-rollout      Running    30s" in text
    assert "॥ approval          Waiting" in text
    tree = text[text.index("NAME") :].splitlines()
    assert tree[1].startswith("⟳ hello ") and "॥ Paused" in tree[1]
    assert tree[2].startswith("├──# revision:2") and tree[2].endswith("deployment:dep-2")
    assert tree[3].startswith("│  └──⧉ hello-6cf78c66c5") and tree[3].endswith("10m  preview")
    assert tree[4].startswith("│     └──□ hello-6cf78c66c5-a") and "✔ Running" in tree[4]
    assert tree[5].startswith("└──# revision:1")
    assert tree[6].endswith("stable,active") and tree[8].startswith("      └──□ hello-5d5b6f7c99-c")


def test_canary_view_shows_step_and_weights() -> None:
    canary = rollout("Canary", message="CanaryPauseStep", step=1, steps=5, setWeight=25,
                     actualWeight=50)  # fmt: skip
    text = render(None, canary).splitlines()
    assert "  Step:          1/5" in text and "  SetWeight:     25" in text
    assert "  ActualWeight:  50" in text


def test_the_judges_analysis_shows_each_metric_canary_against_baseline() -> None:
    side = {"count": 9, "mean": 0.0, "median": 0.0}
    judged = {
        "verdict": "fail", "score": 33.3,
        "reason": "analysis: error-rate 19.8% (canary) vs 0.2% (baseline), p < 0.001",
        "metrics": [
            {"name": "error-rate", "outcome": "fail", "critical": True, "weight": 1, "unit": "ratio",
             "canary": {**side, "median": 0.198}, "baseline": {**side, "median": 0.002},
             "pValue": 0.0002, "effectSize": 1.0, "change": 98.0, "reason": ""},
            {"name": "latency-p99", "outcome": "nodata", "critical": False, "weight": 1,
             "unit": "seconds", "canary": None, "baseline": {**side, "median": 0.0123},
             "pValue": None, "effectSize": None, "change": None, "reason": ""},
        ],
    }  # fmt: skip
    analysis = {
        "name": "hello-6cf78c66c5-2-1",
        "phase": "Failed",
        "message": "",
        "judgement": judged,
    }
    text = render(None, rollout("Canary", analysis=analysis)).splitlines()
    assert "Analysis:        hello-6cf78c66c5-2-1 (Failed)" in text
    assert "  Verdict:       fail, score 33.3" in text
    assert f"  Reason:        {judged['reason']}" in text
    rows = [line.split() for line in text if line.startswith(("error-rate", "latency-p99"))]
    assert rows == [["error-rate", "19.8%", "0.2%", "<0.001", "fail"],
                    ["latency-p99", "-", "12", "ms", "-", "nodata"]]  # fmt: skip
    pending = {"name": "r", "phase": "Running", "message": "", "judgement": None}
    assert "Analysis:        r (Running)" in render(None, rollout("Canary", analysis=pending))


def test_a_cluster_that_cannot_be_read_is_said_beside_the_pipeline() -> None:
    text = render(deployment("running"), None, "the Kubernetes API answered 503")
    assert "Rollout:         unavailable: the Kubernetes API answered 503" in text


def test_outcomes_of_following() -> None:
    paused = Snapshot(deployment("waiting"), rollout(), None)
    found = outcome(paused, until_paused=True)
    assert found and found.exit_code == 0 and "awaits promotion" in found.message
    assert found.hint and "app promote hello" in found.hint
    assert outcome(paused, until_paused=False) is None

    approval = deployment("waiting", parameters={"approval-required": "true"})
    found = outcome(Snapshot(approval, rollout(), None), until_paused=True)
    assert (
        found
        and "waits for approval" in found.message
        and "app approve hello-dev-abc" in str(found.hint)
    )

    failed = outcome(Snapshot(deployment("failed", message="render: boom"), None, None),
                     until_paused=True)  # fmt: skip
    assert failed and failed.exit_code == 1 and failed.message.endswith("failed: render: boom")
    ok = outcome(
        Snapshot(deployment("succeeded"), rollout(phase="Healthy"), None), until_paused=True
    )
    assert ok and ok.exit_code == 0 and "hello 1.1.0 runs in dev" in ok.message


def test_a_canary_paused_while_the_pipeline_waits_for_healthy_awaits_promotion() -> None:
    running = deployment("running")
    running["steps"] = [{"name": "wait-healthy", "type": "Pod", "phase": "Running"}]
    canary = rollout("Canary", step=3, steps=5, actualWeight=50)
    found = outcome(Snapshot(running, canary, None), until_paused=True)
    assert found and "canary at step 3/5, weight 50%" in found.message
    still = outcome(
        Snapshot(running, rollout("Canary", phase="Progressing"), None), until_paused=True
    )
    assert still is None


def test_progress_lines_say_only_what_changed() -> None:
    seen: dict[str, str] = {}
    first = changes(Snapshot(deployment("running"), None, None), seen)
    assert first[0] == "◌ deployment hello-dev-abc: running"
    assert "  ✔ resolve-artifact: Succeeded" in first
    assert changes(Snapshot(deployment("running"), None, None), seen) == []
    later = changes(Snapshot(deployment("waiting"), rollout(), None), seen)
    assert later == ["॥ deployment hello-dev-abc: waiting",
                     "  ॥ rollout hello: Paused (BlueGreenPause) ready 2/2"]  # fmt: skip
