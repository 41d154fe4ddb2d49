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

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

STOPPED = {"Failed", "Error", "Inconclusive"}
NOT_PASSED = {"fail", "marginal", "inconclusive"}


def judged_reason(runs: Iterable[Mapping[str, Any]], rollout: str) -> str | None:
    """The reason of the newest judgement that did not pass, among the AnalysisRuns of
    `rollout` that stopped it."""
    owned = [
        run for run in runs
        if any(ref.get("kind") == "Rollout" and ref.get("name") == rollout
               for ref in run.get("metadata", {}).get("ownerReferences") or ())
    ]  # fmt: skip
    owned.sort(key=lambda run: str(run["metadata"].get("creationTimestamp", "")), reverse=True)
    for run in owned:
        status = run.get("status") or {}
        if status.get("phase") not in STOPPED:
            continue
        for metric in status.get("metricResults") or ():
            for measurement in reversed(metric.get("measurements") or ()):
                reason = _reason(measurement.get("value"))
                if reason:
                    return reason
    return None


def analysis_reason(api: ApiClient, namespace: str, rollout: str) -> str | None:
    """judged_reason over the namespace's AnalysisRuns; None when they cannot be read."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        runs = client.CustomObjectsApi(api).list_namespaced_custom_object(
            "argoproj.io", "v1alpha1", namespace, "analysisruns"
        )
    except ApiException:
        return None
    items = runs.get("items", []) if isinstance(runs, dict) else []
    return judged_reason(items, rollout)


def _reason(value: object) -> str | None:
    if not isinstance(value, str) or not value.startswith("{"):
        return None
    try:
        judgement = json.loads(value)
    except ValueError:
        return None
    if not isinstance(judgement, dict) or judgement.get("verdict") not in NOT_PASSED:
        return None
    reason = judgement.get("reason")
    return reason.splitlines()[0][:500] if isinstance(reason, str) and reason else None
