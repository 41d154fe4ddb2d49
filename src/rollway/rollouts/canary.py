"""Canary step and weight arithmetic, as `utils/replicaset` and `utils/weightutil` define it."""

from __future__ import annotations

from typing import Any

from .phase import Rollout


def canary_strategy(ro: Rollout) -> dict[str, Any] | None:
    """`spec.strategy.canary`, or None for any other strategy."""
    return ((ro.get("spec") or {}).get("strategy") or {}).get("canary")


def current_step(ro: Rollout) -> tuple[dict[str, Any] | None, int | None]:
    """The current canary step and its index (`GetCurrentCanaryStep`).

    No index without steps; past the last step the index is returned with no step.
    """
    canary = canary_strategy(ro)
    steps = (canary or {}).get("steps") or []
    if not steps:
        return None, None
    index = (ro.get("status") or {}).get("currentStepIndex") or 0
    if index >= len(steps):
        return None, index
    return steps[index], index


def max_traffic_weight(ro: Rollout) -> int:
    """100 unless the traffic router declares another scale (`MaxTrafficWeight`)."""
    routing = (canary_strategy(ro) or {}).get("trafficRouting") or {}
    weight = routing.get("maxTrafficWeight")
    return 100 if weight is None else int(weight)


def set_weight(ro: Rollout) -> int:
    """The desired canary weight of the current step (`GetCurrentSetWeight`)."""
    if (ro.get("status") or {}).get("abort"):
        return 0
    step, index = current_step(ro)
    if step is None or index is None:
        return max_traffic_weight(ro)
    steps = (canary_strategy(ro) or {}).get("steps") or []
    for previous in reversed(steps[: index + 1]):
        if previous.get("setWeight") is not None:
            return int(previous["setWeight"])
    return 0
