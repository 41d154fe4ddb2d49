"""The plan an approval binds to: every part of it changes the digest; naming the run does not."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from rollway.workflows.binding import PLAN_OUTPUTS, file_sha256, plan_digest

PARAMETERS = {"deployment-id": "hello-prod-abc", "app": "hello", "strategy": "bluegreen",
              "values": "{}", "replicas": "2", "approval-required": "true",
              "first-release": "false"}  # fmt: skip
OUTPUTS = {"jar-sha256": "a" * 64, "image-digest": "sha256:" + "b" * 64, "chart-commit": "c" * 40,
           "manifests-sha256": "d" * 64}  # fmt: skip


def test_no_digest_until_every_part_is_known() -> None:
    for part in PLAN_OUTPUTS:
        assert plan_digest(PARAMETERS, {**OUTPUTS, part: None}) is None
        assert plan_digest(PARAMETERS, {**OUTPUTS, part: ""}) is None


@pytest.mark.parametrize("part", sorted(PLAN_OUTPUTS))
def test_each_output_is_bound(part: str) -> None:
    assert plan_digest(PARAMETERS, {**OUTPUTS, part: "e" * 64}) != plan_digest(PARAMETERS, OUTPUTS)


@pytest.mark.parametrize(("name", "value"), [("strategy", "rolling"), ("values", '{"a":1}'),
                                             ("replicas", "3"), ("app", "other")])  # fmt: skip
def test_each_parameter_is_bound(name: str, value: str) -> None:
    changed = {**PARAMETERS, name: value}
    assert plan_digest(changed, OUTPUTS) != plan_digest(PARAMETERS, OUTPUTS)


def test_the_run_and_its_gate_are_not_part_of_the_plan() -> None:
    renamed = {**PARAMETERS, "deployment-id": "hello-prod-xyz", "first-release": "true"}
    assert plan_digest(renamed, OUTPUTS) == plan_digest(PARAMETERS, OUTPUTS)


def test_file_sha256_is_the_hash_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "manifests.yaml"
    path.write_bytes(b"kind: Rollout\n")
    assert file_sha256(path) == hashlib.sha256(b"kind: Rollout\n").hexdigest()
