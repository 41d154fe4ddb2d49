"""The patches `kubectl argo rollouts` sends for each action, decided from the Rollout as read.

Pure functions, so what reaches the API server is unit-tested byte for byte. Where the plugin
would send nothing (or nothing that changes the Rollout), these raise `Conflict` instead, so a
user learns that e.g. a rollout that is not paused has nothing to promote.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..errors import Conflict, NotFound
from .canary import canary_strategy, current_step
from .info import HASH_LABEL, REVISION_ANNOTATION, Object
from .phase import Rollout, is_fully_promoted


@dataclass(frozen=True)
class Promotion:
    """The two merge patches of `promote`: the status subresource first, then the spec."""

    status: dict[str, Any] | None
    spec: dict[str, Any] | None


def promotion(ro: Rollout, *, full: bool = False) -> Promotion:
    """What `promote` (or `promote --full`) sends for this Rollout (`getPatches`)."""
    spec, status = ro.get("spec") or {}, ro.get("status") or {}
    name = (ro.get("metadata") or {}).get("name", "")
    spec_patch = resume() if spec.get("paused") else None
    if full:
        if status.get("currentPodHash", "") != status.get("stableRS", ""):
            return Promotion(status={"status": {"promoteFull": True}}, spec=spec_patch)
        if spec_patch is None:
            raise Conflict(f"rollout '{name}' is already fully promoted")
        return Promotion(status=None, spec=spec_patch)

    pause_conditions = status.get("pauseConditions") or []
    _, index = current_step(ro)
    next_index = None if index is None else index + 1 if index < _step_count(ro) else index
    status_patch: dict[str, Any] | None = None
    if _inconclusive(ro) and pause_conditions and status.get("controllerPause"):
        # Unpause, clear the conditions and move on, or an inconclusive step followed by a pause
        # step would stay stuck.
        if next_index is not None:
            status_patch = {
                "pauseConditions": None,
                "controllerPause": False,
                "currentStepIndex": next_index,
            }
    elif pause_conditions:
        status_patch = {"pauseConditions": None}
    elif canary_strategy(ro) is not None and next_index is not None:
        # Not paused mid-update (running analysis or an experiment): skip the current step.
        if next_index == index and spec_patch is None:
            raise Conflict(f"rollout '{name}' is not paused and has no canary step left to promote")
        status_patch = {"pauseConditions": None, "currentStepIndex": next_index}
    if status_patch is None and spec_patch is None:
        raise Conflict(f"rollout '{name}' is not paused: nothing to promote")
    return Promotion(
        status=None if status_patch is None else {"status": status_patch}, spec=spec_patch
    )


def abort(ro: Rollout) -> dict[str, Any]:
    """`abort`, a status patch; refused when no update is under way (the controller drops it)."""
    if is_fully_promoted(ro):
        name = (ro.get("metadata") or {}).get("name", "")
        raise Conflict(f"rollout '{name}' has no update in progress: nothing to abort")
    return {"status": {"abort": True}}


def retry(ro: Rollout) -> dict[str, Any]:
    """`retry rollout`, a status patch; refused unless the rollout is aborted."""
    if not (ro.get("status") or {}).get("abort"):
        name = (ro.get("metadata") or {}).get("name", "")
        raise Conflict(f"rollout '{name}' is not aborted: nothing to retry")
    return {"status": {"abort": False}}


def pause() -> dict[str, Any]:
    """`pause`: a merge patch of the Rollout's spec."""
    return {"spec": {"paused": True}}


def resume() -> dict[str, Any]:
    """Clearing `spec.paused`: the spec half of `promote`."""
    return {"spec": {"paused": False}}


def restart(at: datetime | None = None) -> dict[str, Any]:
    """`restart`: ask the controller to recreate pods started before `at` (default: now)."""
    when = (at or datetime.now(UTC)).astimezone(UTC)
    return {"spec": {"restartAt": when.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def undo(
    ro: Rollout, replicasets: Iterable[Object], revision: int | None = None
) -> tuple[list[Any], int]:
    """`undo [--to-revision N]`: a JSON patch restoring the pod template of that revision, and
    the revision's number (the controller files the result as a new revision).

    Without a revision, the one before the latest. The template comes from the revision's
    ReplicaSet, minus the pod-template-hash label the controller adds.
    """
    name = (ro.get("metadata") or {}).get("name", "")
    target = _revision_replicaset(ro, replicasets, revision)
    template = copy.deepcopy(target.get("spec", {}).get("template") or {})
    number = revision if revision is not None else _revision(target)
    current = copy.deepcopy((ro.get("spec") or {}).get("template") or {})
    for tmpl in (template, current):
        ((tmpl.get("metadata") or {}).get("labels") or {}).pop(HASH_LABEL, None)
    if is_derivative(current, template):
        raise Conflict(
            f"rollout '{name}' already runs the template of revision {number}: nothing to undo",
            field="revision",
        )
    return [{"op": "replace", "path": "/spec/template", "value": template}], number


def _revision_replicaset(
    ro: Rollout, replicasets: Iterable[Object], revision: int | None
) -> Mapping[str, Any]:
    """The ReplicaSet of a revision (`rolloutRevision`); by default the previous one."""
    name = (ro.get("metadata") or {}).get("name", "")
    uid = (ro.get("metadata") or {}).get("uid")
    by_revision: dict[int, Object] = {}
    for rs in replicasets:
        if _controlled_by(rs, uid) and (number := _revision_or_none(rs)) is not None:
            by_revision.setdefault(number, rs)
    if revision is not None:
        if revision not in by_revision:
            known = ", ".join(str(n) for n in sorted(by_revision, reverse=True)) or "none"
            raise NotFound(
                f"rollout '{name}' has no revision {revision} (revisions: {known})",
                field="revision",
            )
        return by_revision[revision]
    numbers = sorted(by_revision, reverse=True)
    if len(numbers) < 2:
        raise NotFound(f"rollout '{name}' has no previous revision to undo to", field="revision")
    return by_revision[numbers[1]]


def is_derivative(a: Any, b: Any) -> bool:
    """`apiequality.Semantic.DeepDerivative(a, b)` on JSON: equal, ignoring what `a` leaves unset.

    Empty strings, maps, lists and nulls in `a` are not compared; the API server fills defaults
    into a ReplicaSet's template that the Rollout's own template does not carry.
    """
    if a is None:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return not a or (
            len(a) <= len(b) and all(k in b and is_derivative(v, b[k]) for k, v in a.items())
        )
    if isinstance(a, list):
        return not a or (len(a) <= len(b) and all(map(is_derivative, a, b)))
    if isinstance(a, str):
        return a == "" or a == b
    return bool(a == b)


def _inconclusive(ro: Rollout) -> bool:
    run = ((ro.get("status") or {}).get("canary") or {}).get("currentStepAnalysisRunStatus")
    return (
        canary_strategy(ro) is not None and run is not None and run.get("status") == "Inconclusive"
    )


def _step_count(ro: Rollout) -> int:
    return len((canary_strategy(ro) or {}).get("steps") or ())


def _controlled_by(obj: Object, uid: str | None) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return uid is not None and any(r.get("uid") == uid and r.get("controller") for r in refs)


def _revision_or_none(rs: Object) -> int | None:
    """As the plugin's undo parses it: missing is 0, not a number is skipped."""
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        return None


def _revision(rs: Object) -> int:
    return _revision_or_none(rs) or 0
