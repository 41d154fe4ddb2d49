"""Bad values for charts/app fail at render time with a message that names the value.

The schema (values.schema.json) catches types, ranges and formats; templates/_validate.tpl
catches rules across values. Each case is one mistake on top of valid values.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import HelmChart

pytestmark = pytest.mark.integration


def canary(**block: Any) -> dict[str, Any]:
    return {"strategy": "canary", "canary": block}


def web_template(name: str) -> dict[str, Any]:
    return {"name": name, "metrics": [{"name": "m", "provider": {"web": {"url": "http://x"}}}]}


CASES: dict[str, tuple[dict[str, Any], str]] = {
    "unknown-strategy": (
        {"strategy": "bluegren"},
        'strategy: strategy must be one of the following: "bluegreen", "canary", "rolling"',
    ),
    "misspelt-value": ({"stratgy": "canary"}, "(root): Additional property stratgy is not allowed"),
    "negative-replicas": ({"replicas": -1}, "replicas: Must be greater than or equal to 0"),
    "replicas-not-a-number": ({"replicas": "two"}, "replicas: Invalid type. Expected: integer"),
    "image-without-repository": ({"image": {"repository": None}}, "image: repository is required"),
    "image-repository-empty": ({"image": {"repository": ""}}, "image.repository: Does not match"),
    "image-repository-with-tag": (
        {"image": {"repository": "harbor.example.com/team/orders:1.4.2"}},
        "image.repository: Does not match",
    ),
    "image-digest-malformed": ({"image": {"digest": "sha256:abc"}}, "image.digest: Does not match"),
    "setWeight-above-100": (
        canary(steps=[{"setWeight": 120}]),
        "canary.steps.0.setWeight: Must be less than or equal to 100",
    ),
    "setWeight-negative": (
        canary(steps=[{"setWeight": -5}]),
        "canary.steps.0.setWeight: Must be greater than or equal to 0",
    ),
    "weights-decrease": (
        canary(steps=[{"setWeight": 50}, {"pause": {}}, {"setWeight": 20}]),
        "canary.steps[2].setWeight is 20, lower than canary.steps[0].setWeight (50): "
        "weights must not decrease",
    ),
    "pause-duration-words": (
        canary(steps=[{"setWeight": 10}, {"pause": {"duration": "5 minutes"}}]),
        "canary.steps.1.pause.duration: Does not match pattern",
    ),
    "pause-duration-days": (
        canary(steps=[{"pause": {"duration": "1d"}}]),
        "canary.steps.0.pause.duration: Does not match pattern",
    ),
    "pause-duration-negative": (
        canary(steps=[{"pause": {"duration": -30}}]),
        "canary.steps.0.pause.duration: Must be greater than or equal to 0",
    ),
    "step-with-two-actions": (
        canary(steps=[{"setWeight": 10, "pause": {}}]),
        "canary.steps.0: Must have at most 1 properties",
    ),
    "step-unknown": (
        canary(steps=[{"setCanaryScale": {"replicas": 1}}]),
        "canary.steps.0: Additional property setCanaryScale is not allowed",
    ),
    "analysis-step-without-templates": (
        canary(steps=[{"analysis": {"args": [{"name": "a", "value": "b"}]}}]),
        "canary.steps.0.analysis: templates is required",
    ),
    "canary-surge-not-percent": (canary(maxSurge="25"), "canary.maxSurge: Does not match pattern"),
    "canary-no-surge-no-unavailable": (
        canary(maxSurge="0%", maxUnavailable=0),
        "canary.maxSurge and canary.maxUnavailable are both 0",
    ),
    "rolling-no-surge-no-unavailable": (
        {"strategy": "rolling", "rolling": {"maxSurge": 0, "maxUnavailable": 0}},
        "rolling.maxSurge and rolling.maxUnavailable are both 0",
    ),
    "traffic-provider-unknown": (
        canary(trafficRouting={"provider": "linkerd"}),
        "canary.trafficRouting.provider: canary.trafficRouting.provider must be one of",
    ),
    "nginx-without-ingress": (
        canary(trafficRouting={"provider": "nginx"}),
        "canary.trafficRouting.nginx.stableIngress is empty and ingress.enabled is false",
    ),
    "istio-without-virtual-service": (
        canary(trafficRouting={"provider": "istio"}),
        "canary.trafficRouting.istio.virtualService.name is required",
    ),
    "auto-promotion-seconds-without-auto-promotion": (
        {"bluegreen": {"autoPromotionSeconds": 60}},
        "bluegreen.autoPromotionSeconds only works with bluegreen.autoPromotionEnabled: true",
    ),
    "promotion-analysis-args-without-templates": (
        {"bluegreen": {"prePromotionAnalysis": {"args": [{"name": "a", "value": "b"}]}}},
        "bluegreen.prePromotionAnalysis: Has a dependency on templates",
    ),
    "analysis-template-name-invalid": (
        {"bluegreen": {"postPromotionAnalysis": {"templates": [{"templateName": "Smoke_Test"}]}}},
        "bluegreen.postPromotionAnalysis.templates.0.templateName: Does not match pattern",
    ),
    "analysis-provider-unsupported": (
        {"analysisTemplates": [{"name": "a", "metrics": [{"name": "m", "provider": {"datadog": {}}}]}]},
        "analysisTemplates.0.metrics.0.provider: Additional property datadog is not allowed",
    ),
    "analysis-prometheus-without-query": (
        {"analysisTemplates": [{"name": "a", "metrics": [{"name": "m", "provider": {"prometheus": {"address": "http://p"}}}]}]},
        "analysisTemplates.0.metrics.0.provider.prometheus: query is required",
    ),
    "analysis-interval-words": (
        {"analysisTemplates": [{"name": "a", "metrics": [{"name": "m", "interval": "1 minute", "provider": {"web": {"url": "http://x"}}}]}]},
        "analysisTemplates.0.metrics.0.interval: Does not match pattern",
    ),
    "analysis-template-names-repeat": (
        {"analysisTemplates": [web_template("smoke"), web_template("smoke")]},
        'analysisTemplates[1].name "smoke" is already used by analysisTemplates[0]',
    ),
    "ingress-without-hosts": (
        {"ingress": {"enabled": True, "hosts": []}},
        "ingress.hosts: Array must have at least 1 items",
    ),
    "hpa-min-above-max": (
        {"autoscaling": {"enabled": True, "minReplicas": 5, "maxReplicas": 3}},
        "autoscaling.minReplicas (5) is greater than autoscaling.maxReplicas (3)",
    ),
    "pdb-both-limits": (
        {"podDisruptionBudget": {"enabled": True, "minAvailable": 1, "maxUnavailable": 1}},
        "podDisruptionBudget.minAvailable and podDisruptionBudget.maxUnavailable are both set",
    ),
    "container-port-out-of-range": (
        {"containerPort": 70000},
        "containerPort: Must be less than or equal to 65535",
    ),
    "service-account-name-invalid": (
        {"serviceAccount": {"name": "Orders"}},
        "serviceAccount.name: Does not match pattern",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("values", "message"), CASES.values(), ids=CASES.keys())
def test_bad_values_fail_naming_the_value(
    app_chart: HelmChart, values: dict[str, Any], message: str
) -> None:
    assert message in app_chart.template_error(values)
