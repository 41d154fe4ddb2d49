"""Where an approval gate goes: only a release sure to wait for promotion is approved at its
pause; everything else is approved before it is applied."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.rollouts.pauses import why_no_pause


def rollout(strategy: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"kind": "Rollout", "metadata": {"name": "hello"},
            "spec": {"strategy": strategy, **spec}}  # fmt: skip


SERVICE = {"kind": "Service", "metadata": {"name": "hello"}}


@pytest.mark.parametrize(
    "strategy",
    [
        {"blueGreen": {"autoPromotionEnabled": False}},
        {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 100}]}},
        {"canary": {"steps": [{"analysis": {"templates": []}}, {"pause": {"duration": None}}]}},
    ],
)
def test_a_release_that_waits_for_promotion_is_approved_at_its_pause(
    strategy: dict[str, Any],
) -> None:
    assert why_no_pause([SERVICE, rollout(strategy)]) is None


@pytest.mark.parametrize(
    ("manifests", "reason"),
    [
        ([rollout({"blueGreen": {}})], "blue-green promotes by itself"),
        ([rollout({"blueGreen": {"autoPromotionEnabled": True}})], "promotes by itself"),
        ([rollout({"blueGreen": {"autoPromotionEnabled": False, "autoPromotionSeconds": 30}})],
         "after autoPromotionSeconds"),
        ([rollout({"canary": {"maxSurge": 1}})], "rolling update"),
        ([rollout({"canary": {"steps": [{"setWeight": 50}, {"pause": {"duration": "1h"}}]}})],
         "no pause without a duration"),
        ([rollout({"canary": {"steps": [{"setWeight": 100}, {"pause": {}}]}})],
         "takes all the traffic"),
        ([rollout({"blueGreen": {"autoPromotionEnabled": False}}),
          {"kind": "Deployment", "metadata": {"name": "sidecar"}}], "pods outside the Rollout"),
        ([rollout({"blueGreen": {"autoPromotionEnabled": False}}, workloadRef={"name": "x"})],
         "workloadRef"),
        ([SERVICE], "0 Rollouts"),
        ([rollout({})], "neither a blue-green nor a canary"),
    ],
)  # fmt: skip
def test_anything_else_is_approved_before_it_is_applied(
    manifests: list[dict[str, Any]], reason: str
) -> None:
    found = why_no_pause(manifests)
    assert found is not None and reason in found
