"""Why an analysis stopped a rollout, in the words of the judge that measured it.

The controller only says `Metric "judge" assessed Failed due to failed (1) > failureLimit (0)`.
When a metric's measurement value is a judgement (an object with a `verdict` and a `reason`, as
Rollway's canary judge answers), its reason is the line a user wants instead:
`analysis: error-rate 19.8% (canary) vs 0.2% (baseline), p < 0.001`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..pipeline import LABEL_ROLLOUT

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

STOPPED = {"Failed", "Error", "Inconclusive"}
NOT_PASSED = {"fail", "marginal", "inconclusive"}


def owned_runs(runs: Iterable[Mapping[str, Any]], rollout: str) -> list[Mapping[str, Any]]:
    """The AnalysisRuns of `rollout`, newest first: its own, and those of its experiments
    (owned by the Experiment, labelled with the Rollout by Rollway's experiment step)."""
    owned = [
        run for run in runs
        if any(ref.get("kind") == "Rollout" and ref.get("name") == rollout
               for ref in run.get("metadata", {}).get("ownerReferences") or ())
        or (run.get("metadata", {}).get("labels") or {}).get(LABEL_ROLLOUT) == rollout
    ]  # fmt: skip
    owned.sort(key=lambda run: str(run["metadata"].get("creationTimestamp", "")), reverse=True)
    return owned


def judgement(run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The newest judgement recorded in a run's measurements, if a judge measured it."""
    for metric in (run.get("status") or {}).get("metricResults") or ():
        for measurement in reversed(metric.get("measurements") or ()):
            value = _judgement(measurement.get("value"))
            if value is not None:
                return value
    return None


def judged_reason(runs: Iterable[Mapping[str, Any]], rollout: str) -> str | None:
    """The reason of the newest judgement that did not pass, among the AnalysisRuns of
    `rollout` that stopped it."""
    for run in owned_runs(runs, rollout):
        status = run.get("status") or {}
        if status.get("phase") not in STOPPED:
            continue
        found = judgement(run)
        if found and found["verdict"] in NOT_PASSED:
            reason: str = found["reason"]
            return reason.splitlines()[0][:500]
    return None


def analysis_runs(api: ApiClient, namespace: str) -> list[Mapping[str, Any]]:
    """The namespace's AnalysisRuns; none when they cannot be read."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        runs = client.CustomObjectsApi(api).list_namespaced_custom_object(
            "argoproj.io", "v1alpha1", namespace, "analysisruns"
        )
    except ApiException:
        return []
    return list(runs.get("items", [])) if isinstance(runs, dict) else []


def analysis_reason(api: ApiClient, namespace: str, rollout: str) -> str | None:
    """judged_reason over the namespace's AnalysisRuns."""
    return judged_reason(analysis_runs(api, namespace), rollout)


def _judgement(value: object) -> dict[str, Any] | None:
    """A measurement value that is a judgement: an object with a verdict and a reason."""
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        found = json.loads(value)
    except ValueError:
        return None
    if not isinstance(found, dict) or not isinstance(found.get("verdict"), str):
        return None
    reason = found.get("reason")
    return found if isinstance(reason, str) and reason else None
