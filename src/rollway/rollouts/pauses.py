"""Whether a rendered release stops for promotion before its new version takes all the traffic.

Where an environment requires approval, the pipeline's gate has to come before users get the new
version: at the Rollout's pause when it is sure to wait there, else before anything is applied.
This is decided from the rendered manifests themselves, so no value, `--set` or chart template
can move the gate past the point where traffic changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

#: Kinds that run pods of their own, beside the Rollout, the moment they are applied.
POD_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                       "CronJob"})  # fmt: skip


def why_no_pause(manifests: Iterable[Mapping[str, Any]]) -> str | None:
    """None when the release is sure to wait for promotion before switching its traffic; else
    the reason it would not (it then needs its approval before it is applied)."""
    objects = list(manifests)
    others = sorted({str(m.get("kind")) for m in objects if m.get("kind") in POD_KINDS})
    if others:
        return f"it runs pods outside the Rollout ({', '.join(others)})"
    rollouts = [m for m in objects if m.get("kind") == "Rollout"]
    if len(rollouts) != 1:
        return f"it holds {len(rollouts)} Rollouts, not one"
    spec = rollouts[0].get("spec") or {}
    if spec.get("workloadRef"):
        return "the Rollout takes its pods from a workloadRef"
    strategy = spec.get("strategy") or {}
    blue_green, canary = strategy.get("blueGreen"), strategy.get("canary")
    if isinstance(blue_green, dict):
        return _blue_green(blue_green)
    if isinstance(canary, dict):
        return _canary(canary)
    return "the Rollout has neither a blue-green nor a canary strategy"


def _blue_green(strategy: Mapping[str, Any]) -> str | None:
    # The controller's default is true: only an explicit false waits for promotion.
    if strategy.get("autoPromotionEnabled") is not False:
        return "blue-green promotes by itself (autoPromotionEnabled is not false)"
    if strategy.get("autoPromotionSeconds"):
        return "blue-green promotes by itself after autoPromotionSeconds"
    return None


def _canary(strategy: Mapping[str, Any]) -> str | None:
    steps = strategy.get("steps") or []
    if not steps:
        return "a rolling update (a canary without steps) never pauses"
    for step in steps:
        if not isinstance(step, Mapping):
            continue
        pause = step.get("pause")
        if isinstance(pause, Mapping) and pause.get("duration") is None:
            return None  # `pause: {}`: waits until promoted
        if _weight(step.get("setWeight")) >= 100:
            return "the canary takes all the traffic before its first pause without a duration"
    return "the canary has no pause without a duration (pause: {})"


def _weight(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
