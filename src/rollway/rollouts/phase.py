"""The phase and message of a Rollout: the one answer the API, the CLI and the pipeline's wait give.

Mirrors `utils/rollout.GetRolloutPhase` (what `kubectl argo rollouts get/status` show): the
controller writes `status.phase`/`status.message`, but they are only trusted once the controller
has observed the latest spec and reacted to a cleared pause — and, beyond upstream, to an abort
or a retry (see `abort_unobserved`). Works on the Rollout as a plain dict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

Rollout = Mapping[str, Any]

# Go's strconv.Atoi: optional sign and decimal digits only (Python's int() is more lenient).
_ATOI = re.compile(r"^[+-]?[0-9]+$")
_COMPLETED_ANALYSIS = {"Successful", "Failed", "Error", "Inconclusive"}


class Phase(StrEnum):
    """`v1alpha1.RolloutPhase`."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    DEGRADED = "Degraded"


def rollout_phase(ro: Rollout) -> tuple[str, str]:
    """The phase and message of a Rollout (`GetRolloutPhase`, and an abort or retry observed)."""
    if not generation_observed(ro):
        return Phase.PROGRESSING, "waiting for rollout spec update to be observed"
    if is_unpausing(ro):
        return Phase.PROGRESSING, "waiting for rollout to unpause"
    if (action := abort_unobserved(ro)) is not None:
        return Phase.PROGRESSING, f"waiting for rollout to {action}"
    # The workloadRef check of GetRolloutPhase needs `spec.TemplateResolvedFromRef`, which is not
    # serialized (json:"-"): it is always false for a Rollout read from the API, so never applies.
    status = ro.get("status") or {}
    if status.get("phase"):
        # Rollouts 1.0+ compute phase and message in the controller.
        return status["phase"], status.get("message", "")
    return calculate_rollout_phase(ro)


def generation_observed(ro: Rollout) -> bool:
    """Has the controller seen the latest spec? `status.observedGeneration` is a string.

    A non-numeric value is a pre-0.10 spec hash and counts as observed, as upstream does.
    """
    observed = str((ro.get("status") or {}).get("observedGeneration", ""))
    if not _ATOI.match(observed):
        return True
    generation = int((ro.get("metadata") or {}).get("generation", 0))
    return int(observed) >= generation


def is_unpausing(ro: Rollout) -> bool:
    """A user cleared the pause conditions but the controller has not reacted yet."""
    status = ro.get("status") or {}
    return bool(status.get("controllerPause")) and not status.get("pauseConditions")


def abort_unobserved(ro: Rollout) -> str | None:
    """The action ("abort" or "retry") the controller has not reacted to yet, else None.

    Both patch `status.abort`, which bumps no `metadata.generation`, so until the controller
    reconciles, `status.phase` still describes the state before (a Paused blue-green just
    aborted, a Degraded one just retried). The controller sets its Progressing condition to reason
    RolloutAborted in the same update as `status.abort` (a user's abort, a failed analysis, a
    progress deadline with progressDeadlineAbort), and replaces it once `status.abort` is cleared.
    """
    status = ro.get("status") or {}
    acted_on = any(
        c.get("type") == "Progressing" and c.get("reason") == "RolloutAborted"
        for c in status.get("conditions") or ()
    )
    aborted = bool(status.get("abort"))
    if aborted == acted_on:
        return None
    return "abort" if aborted else "retry"


def calculate_rollout_phase(ro: Rollout) -> tuple[str, str]:
    """Client-side phase for a status without `phase` (`CalculateRolloutPhase`)."""
    spec, status = ro.get("spec") or {}, ro.get("status") or {}
    for cond in status.get("conditions") or ():
        if cond.get("type") == "InvalidSpec":
            return Phase.DEGRADED, f"InvalidSpec: {cond.get('message', '')}"
        if cond.get("reason") in ("RolloutAborted", "ProgressDeadlineExceeded"):
            return Phase.DEGRADED, f"{cond['reason']}: {cond.get('message', '')}"
    if spec.get("paused"):
        return Phase.PAUSED, "manually paused"
    for pause in status.get("pauseConditions") or ():
        return Phase.PAUSED, pause.get("reason", "")
    if spec.get("restartAt") and not _same_time(spec["restartAt"], status.get("restartedAt")):
        return Phase.PROGRESSING, "rollout is restarting"
    updated = status.get("updatedReplicas", 0)
    if updated < desired_replicas(ro):
        return Phase.PROGRESSING, "more replicas need to be updated"
    if status.get("availableReplicas", 0) < updated:
        return Phase.PROGRESSING, "updated replicas are still becoming available"
    strategy = spec.get("strategy") or {}
    fully_promoted = bool(status.get("stableRS")) and is_fully_promoted(ro)
    if strategy.get("blueGreen") is not None:
        active = (status.get("blueGreen") or {}).get("activeSelector", "")
        if not active or active != status.get("currentPodHash", ""):
            return Phase.PROGRESSING, "active service cutover pending"
        if not fully_promoted:
            if _waiting_for_post_promotion_analysis(ro):
                return Phase.PROGRESSING, "waiting for analysis to complete"
            return Phase.PROGRESSING, "waiting for post-promotion verification to complete"
    elif strategy.get("canary") is not None:
        if strategy["canary"].get("trafficRouting") is None and status.get(
            "replicas", 0
        ) > status.get("updatedReplicas", 0):
            return Phase.PROGRESSING, "old replicas are pending termination"
        if not fully_promoted:
            return Phase.PROGRESSING, "waiting for all steps to complete"
    return Phase.HEALTHY, ""


def is_fully_promoted(ro: Rollout) -> bool:
    """Stable hash equals desired hash: not in the middle of an update."""
    status = ro.get("status") or {}
    return bool(status.get("stableRS", "") == status.get("currentPodHash", ""))


def desired_replicas(ro: Rollout) -> int:
    """`spec.replicas`, defaulting to 1 like the controller."""
    replicas = (ro.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def _waiting_for_post_promotion_analysis(ro: Rollout) -> bool:
    if ro["spec"]["strategy"]["blueGreen"].get("postPromotionAnalysis") is None:
        return False
    run = ((ro.get("status") or {}).get("blueGreen") or {}).get("postPromotionAnalysisRunStatus")
    return run is None or run.get("status") not in _COMPLETED_ANALYSIS


def _same_time(a: str, b: str | None) -> bool:
    return b is not None and datetime.fromisoformat(a) == datetime.fromisoformat(b)
