"""The AnalysisTemplate that puts Rollway's judge into a rollout: one `web` metric the Argo
Rollouts controller measures once, after the window, by POSTing both revisions' hashes to the
API server's judge with an OAuth2 client-credentials token.

The whole judgement (verdict, reason, each metric with both sides' figures, p-value and effect
size) is the measurement's value, so the AnalysisRun records why. Its conditions make the
verdict the controller's: `pass` succeeds, `fail` fails (the rollout aborts), and `marginal` or
`inconclusive` match neither, an inconclusive measurement that pauses the rollout for a human. A judge that errors (the API server away) is an Error measurement,
which the controller retries and, past its limit, also aborts: never a silent pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..pipeline import LABEL_ROLLOUT


@dataclasses.dataclass(frozen=True)
class JudgeClient:
    """The Keycloak client the controller authenticates as, its secret in a Secret of the
    app's namespace (never in the template)."""

    token_url: str
    client_id: str
    secret_name: str
    secret_key: str = "client-secret"


def judge_step(name: str = "rollway-judge") -> dict[str, Any]:
    """The canary step (or blue-green `prePromotionAnalysis`) that runs the judge: the rollout
    hands it the two revisions' hashes, the new one as canary, the stable one as baseline."""
    return {
        "templates": [{"templateName": name}],
        "args": [
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "baseline-hash", "valueFrom": {"podTemplateHashValue": "Stable"}},
        ],
    }


def experiment_step(name: str, rollout: str, *, with_services: bool) -> dict[str, Any]:
    """The canary `experiment` step that judges against a fair baseline: starting one pod of
    the stable version and one of the canary's together, the judge comparing those two; it ends
    with the judge's measurement. `with_services`: each pod gets a Service (named after its
    ReplicaSet, passed as `baseline-service` / `canary-service`) for traffic to reach it. Its
    AnalysisRuns, owned by the Experiment, are labelled with the Rollout's name."""
    service: dict[str, Any] = {"service": {}} if with_services else {}
    args = [
        {"name": "canary-hash", "value": "{{templates.canary.podTemplateHash}}"},
        {"name": "baseline-hash", "value": "{{templates.baseline.podTemplateHash}}"},
    ]
    if with_services:  # each template's Service is named after its ReplicaSet
        args += [
            {"name": "baseline-service", "value": "{{templates.baseline.replicaset.name}}"},
            {"name": "canary-service", "value": "{{templates.canary.replicaset.name}}"},
        ]
    return {
        "templates": [
            {"name": "baseline", "specRef": "stable", "replicas": 1, **service},
            {"name": "canary", "specRef": "canary", "replicas": 1, **service},
        ],
        "analyses": [{"name": "judge", "templateName": name, "requiredForCompletion": True,
                      "args": args}],
        "analysisRunMetadata": {"labels": {LABEL_ROLLOUT: rollout}},
    }  # fmt: skip


def judge_template(
    *,
    api_url: str,
    app: str,
    env: str,
    client: JudgeClient,
    window_seconds: int,
    analysis: dict[str, Any] | None = None,
    name: str = "rollway-judge",
) -> dict[str, Any]:
    """An entry of the app chart's `analysisTemplates` (name, args, metrics)."""
    body: dict[str, Any] = {
        "canaryHash": "{{args.canary-hash}}",
        "baselineHash": "{{args.baseline-hash}}",
        "windowSeconds": window_seconds,
    }
    if analysis is not None:
        body["analysis"] = analysis
    return {
        "name": name,
        "args": [
            {"name": "canary-hash"},
            {"name": "baseline-hash"},
            {"name": "client-secret", "valueFrom": {"secretKeyRef": {
                "name": client.secret_name, "key": client.secret_key}}},
        ],
        "metrics": [{
            "name": "judge",
            "initialDelay": f"{window_seconds}s",
            "count": 1,
            "successCondition": 'result.verdict == "pass"',
            "failureCondition": 'result.verdict == "fail"',
            "provider": {"web": {
                "method": "POST",
                "url": f"{api_url}/api/v1/apps/{app}/environments/{env}/analysis/judgements",
                "jsonBody": body,
                "jsonPath": "{$}",
                "timeoutSeconds": 30,
                "authentication": {"oauth2": {
                    "tokenUrl": client.token_url,
                    "clientId": client.client_id,
                    "clientSecret": "{{args.client-secret}}",
                }},
            }},
        }],
    }  # fmt: skip
