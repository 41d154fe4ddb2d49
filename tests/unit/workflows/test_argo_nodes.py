"""How the Argo backend reads `status.nodes`, checked against what a real Argo 3.7.9 reported
(tests/unit/workflows/data: a run of the parity case `retries` on the devstack's real node)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hera.workflows.models import NodeStatus

from rollway.workflows.backends.argo import fnv32a, pod_name, steps

DATA = Path(__file__).parent / "data" / "argo-3.7.9-retries.json"


@pytest.fixture
def nodes() -> dict[str, Any]:
    raw = json.loads(DATA.read_text())["nodes"]
    return {node_id: NodeStatus(**node) for node_id, node in raw.items()}


def test_fnv1a_matches_gos_hash_fnv() -> None:
    """Values printed by Go's hash/fnv New32a for the same strings."""
    assert fnv32a(b"nodename") == 1454367246
    assert fnv32a(b"stp.inline") == 2902770869
    assert fnv32a(b"w1.onExit.report") == 798315300


def test_pod_names_are_the_ones_the_controller_gave() -> None:
    assert pod_name("w1", "w1.transient(2)", "transient") == "w1-transient-2878021406"
    assert pod_name("w1", "w1.onExit.report", "report") == "w1-report-798315300"
    assert pod_name("w1", "w1.stp.inline", "") == f"w1-{fnv32a(b'w1.stp.inline')}"
    assert pod_name("w1", "w1", "main") == "w1"  # a workflow of one pod


def test_a_long_prefix_is_cut_where_argo_cuts_it() -> None:
    name = pod_name("w" * 200, "w.x", "t" * 100)
    assert name == f"{('w' * 200 + '-' + 't' * 100)[:242]}-{fnv32a(b'w.x')}"
    assert len(name) <= 253


def test_each_retried_step_is_reported_once_with_its_attempts(nodes: dict[str, Any]) -> None:
    found = {n.name: n for n in steps("w1", nodes)}
    assert sorted(found) == ["any", "fine", "permanent", "transient", "w1"]  # no `(n)` attempts
    transient = found["transient"]
    assert (transient.id, transient.type, transient.phase) == ("w1-2526440281", "Pod", "Failed")
    assert transient.retries == 2
    assert transient.message == "main: Error (exit code 75)"  # the last attempt's reason
    assert transient.pods == (
        "w1-transient-2811205120", "w1-transient-3549273261", "w1-transient-2878021406"
    )  # fmt: skip
    assert (found["permanent"].retries, found["any"].retries) == (0, 1)
    fine = found["fine"]
    assert (fine.phase, dict(fine.outputs), fine.pods) == ("Succeeded", {"v": "1"},
                                                          ("w1-fine-559545160",))  # fmt: skip


def test_a_step_backing_off_shows_the_retry_nodes_message(nodes: dict[str, Any]) -> None:
    """While Argo waits before the next attempt the step is Running, saying why."""
    retry = nodes["w1-2526440281"]
    nodes["w1-2526440281"] = retry.model_copy(
        update={"phase": "Running", "message": "Backoff for 1 second"}
    )
    transient = next(n for n in steps("w1", nodes) if n.name == "transient")
    assert (transient.phase, transient.message) == ("Running", "Backoff for 1 second")
