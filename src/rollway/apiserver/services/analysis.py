"""The newest analysis of an environment's rollout, as the API, `app status` and the dashboard
show it: the controller's phase for the AnalysisRun and the judge's verdict so far."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ValidationError

from ...rollouts.verdicts import analysis_runs, judgement, owned_runs
from ..schemas.analysis import AnalysisStatus, Judgement

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


def newest(api: ApiClient, namespace: str, rollout: str) -> AnalysisStatus | None:
    """The newest AnalysisRun of `rollout`, None when it never ran one."""
    runs = owned_runs(analysis_runs(api, namespace), rollout)
    if not runs:
        return None
    run = runs[0]
    status = run.get("status") or {}
    found = judgement(run)
    try:
        judged = Judgement.model_validate(found) if found is not None else None
    except ValidationError:  # a measurement shaped like a judgement, but not Rollway's
        judged = None
    return AnalysisStatus(
        name=str(run["metadata"]["name"]),
        phase=str(status.get("phase") or "Pending"),
        message=str(status.get("message") or ""),
        judgement=judged,
    )
