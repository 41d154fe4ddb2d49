"""charts/app rendered by the real helm: lint, every strategy, the optional objects, names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import APP_CHART, HelmChart, Rendered

pytestmark = pytest.mark.integration

DIGEST = "sha256:" + "ab" * 32


def rollout(objects: Rendered) -> dict[str, Any]:
    return objects.one("Rollout", "orders")


def pod_spec(objects: Rendered) -> dict[str, Any]:
    return rollout(objects)["spec"]["template"]["spec"]


def container(objects: Rendered) -> dict[str, Any]:
    (only,) = pod_spec(objects)["containers"]
    return only


def test_lint_strict_is_clean_with_defaults(app_chart: HelmChart) -> None:
    proc = app_chart.run("lint", "--strict")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout
    # In lint mode helm downgrades a template `fail` to an INFO line; that would be a bug too.
    assert "[WARNING]" not in proc.stdout and "Fail:" not in proc.stdout + proc.stderr


def test_lint_strict_is_clean_with_each_example(app_chart: HelmChart, ci_values: Path) -> None:
    proc = app_chart.run("lint", "--strict", files=[ci_values])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout and "Fail:" not in proc.stdout + proc.stderr


def test_defaults_are_a_bluegreen_java_service_named_by_release(app_chart: HelmChart) -> None:
    objects = app_chart.template()
    assert objects.kinds() == [
        ("Rollout", "orders"),
        ("Service", "orders"),
        ("Service", "orders-preview"),
    ]
    spec = rollout(objects)["spec"]
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "blueGreen": {
            "activeService": "orders",
            "previewService": "orders-preview",
            "autoPromotionEnabled": False,
            "scaleDownDelaySeconds": 30,
        }
    }
    assert spec["revisionHistoryLimit"] == 3
    assert spec["progressDeadlineSeconds"] == 600
    assert container(objects)["image"] == "registry.example.com/team/app:1.0.0"


def test_standard_labels_and_selectors(app_chart: HelmChart) -> None:
    objects = app_chart.template({"image": {"tag": "1.4.2"}})
    expected = {
        "app.kubernetes.io/name": "orders",
        "app.kubernetes.io/instance": "orders",
        "app.kubernetes.io/version": "1.4.2",
        "app.kubernetes.io/managed-by": "Helm",
        "helm.sh/chart": "app-0.1.0",
        "rollway.io/app": "orders",
    }
    for obj in objects:
        assert expected.items() <= obj["metadata"]["labels"].items(), obj["metadata"]["name"]
    spec = rollout(objects)["spec"]
    selector = spec["selector"]["matchLabels"]
    assert selector == {"app.kubernetes.io/name": "orders", "app.kubernetes.io/instance": "orders"}
    # No helm.sh/chart on pods: bumping the chart alone must not start a release.
    assert spec["template"]["metadata"]["labels"] == {
        **selector,
        "app.kubernetes.io/version": "1.4.2",
        "rollway.io/app": "orders",
    }
    for service in (o for o in objects if o["kind"] == "Service"):
        assert service["spec"]["selector"] == selector
        assert service["spec"]["ports"] == [
            {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
        ]


def test_bluegreen_options_and_analysis(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "bluegreen-values.yaml"])
    blue_green = rollout(objects)["spec"]["strategy"]["blueGreen"]
    assert blue_green["autoPromotionEnabled"] is True
    assert blue_green["autoPromotionSeconds"] == 120
    assert blue_green["scaleDownDelaySeconds"] == 60
    assert blue_green["previewReplicaCount"] == 1
    # Templates the chart makes are named after the release; others pass through unchanged.
    assert blue_green["prePromotionAnalysis"] == {
        "templates": [{"templateName": "orders-smoke"}],
        "args": [{"name": "url", "value": "http://orders-preview"}],
    }
    assert blue_green["postPromotionAnalysis"]["templates"] == [
        {"templateName": "orders-success-rate"},
        {"templateName": "shared-latency", "clusterScope": True},
    ]
    assert blue_green["postPromotionAnalysis"]["args"] == [
        {"name": "service", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
    ]
    for name in (blue_green["activeService"], blue_green["previewService"]):
        objects.one("Service", name)


def test_canary_steps_exactly_as_given(app_chart: HelmChart) -> None:
    steps = [
        {"setWeight": 10},
        {"pause": {}},
        {"setWeight": 30},
        {"pause": {"duration": 45}},
        {"setWeight": 30},
        {"pause": {"duration": "2h"}},
        {"analysis": {"templates": [{"templateName": "external-check"}]}},
        {"setWeight": 100},
    ]
    objects = app_chart.template({"strategy": "canary", "canary": {"steps": steps}})
    canary = rollout(objects)["spec"]["strategy"]["canary"]
    assert canary["steps"] == steps
    # No router: the replica split is the traffic split, so the Service clients use selects both
    # versions; the controller pins only the stable and canary Services.
    assert canary["stableService"] == "orders-stable"
    assert canary["canaryService"] == "orders-canary"
    assert canary["maxSurge"] == "25%" and canary["maxUnavailable"] == 0
    assert "trafficRouting" not in canary
    roles = {
        name: objects.one("Service", name)["metadata"]["labels"]["rollway.io/service-role"]
        for name in ("orders", "orders-stable", "orders-canary")
    }
    assert roles == {"orders": "all", "orders-stable": "stable", "orders-canary": "canary"}


def test_canary_analysis_step_refers_to_the_chart_template(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "canary-values.yaml"])
    canary = rollout(objects)["spec"]["strategy"]["canary"]
    assert canary["maxSurge"] == 1
    analysis = [s["analysis"] for s in canary["steps"] if "analysis" in s]
    assert analysis == [
        {
            "templates": [{"templateName": "orders-success-rate"}],
            "args": [{"name": "service", "value": "orders-canary"}],
        }
    ]
    objects.one("AnalysisTemplate", "orders-success-rate")


def test_canary_nginx_routes_a_clone_of_the_chart_ingress(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "canary-nginx-values.yaml"])
    canary = rollout(objects)["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {
        "nginx": {
            "stableIngress": "orders",
            "additionalIngressAnnotations": {"canary-by-header": "X-Canary"},
        }
    }
    assert (canary["stableService"], canary["canaryService"]) == ("orders", "orders-canary")
    ingress = objects.one("Ingress", "orders")
    (rule,) = ingress["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": canary["stableService"], "port": {"name": "http"}}


def test_canary_nginx_with_an_existing_ingress(app_chart: HelmChart) -> None:
    objects = app_chart.template(
        {
            "strategy": "canary",
            "canary": {"trafficRouting": {"provider": "nginx", "nginx": {"stableIngress": "edge"}}},
        }
    )
    tr = rollout(objects)["spec"]["strategy"]["canary"]["trafficRouting"]
    assert tr == {"nginx": {"stableIngress": "edge"}}
    assert not [o for o in objects if o["kind"] == "Ingress"]


def test_canary_istio_host_level(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "canary-istio-values.yaml"])
    canary = rollout(objects)["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"] == {
        "istio": {"virtualService": {"name": "orders", "routes": ["primary"]}}
    }
    assert (canary["stableService"], canary["canaryService"]) == ("orders", "orders-canary")


def test_canary_istio_subset_level_leaves_the_host_service_unpinned(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "canary-istio-subsets-values.yaml"])
    canary = rollout(objects)["spec"]["strategy"]["canary"]
    assert canary["trafficRouting"]["istio"]["destinationRule"] == {
        "name": "orders",
        "canarySubsetName": "canary",
        "stableSubsetName": "stable",
    }
    assert "stableService" not in canary and "canaryService" not in canary
    assert objects.kinds() == [("Rollout", "orders"), ("Service", "orders")]


def test_rolling_is_a_canary_without_steps(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "rolling-values.yaml"])
    assert rollout(objects)["spec"]["strategy"] == {
        "canary": {"maxSurge": 1, "maxUnavailable": "25%"}
    }
    assert objects.kinds() == [("Rollout", "orders"), ("Service", "orders")]


@pytest.mark.parametrize(
    ("image", "reference"),
    [
        ({"digest": DIGEST}, f"registry.example.com/team/app@{DIGEST}"),
        ({"digest": DIGEST, "tag": "1.4.2"}, f"registry.example.com/team/app@{DIGEST}"),
        ({"tag": "1.4.2"}, "registry.example.com/team/app:1.4.2"),
        ({}, "registry.example.com/team/app:1.0.0"),
        ({"repository": "127.0.0.1:25000/team/orders", "tag": "1.4.2"}, "127.0.0.1:25000/team/orders:1.4.2"),
    ],
    ids=["digest", "digest-wins-over-tag", "tag", "app-version", "registry-port"],
)  # fmt: skip
def test_image_reference(app_chart: HelmChart, image: dict[str, str], reference: str) -> None:
    assert container(app_chart.template({"image": image}))["image"] == reference


def test_container_defaults_suit_spring_boot(app_chart: HelmChart) -> None:
    app = container(app_chart.template())
    assert app["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert app["readinessProbe"]["httpGet"] == {
        "path": "/actuator/health/readiness",
        "port": "http",
    }
    assert app["livenessProbe"]["httpGet"] == {"path": "/actuator/health/liveness", "port": "http"}
    assert app["startupProbe"]["httpGet"] == {"path": "/actuator/health/liveness", "port": "http"}
    assert app["resources"]["limits"]["memory"] == "1Gi"
    assert "env" not in app and "envFrom" not in app


def test_a_probe_can_be_replaced_or_dropped(app_chart: HelmChart) -> None:
    app = container(
        app_chart.template(
            {
                "readinessProbe": {"httpGet": None, "tcpSocket": {"port": "http"}},
                "startupProbe": None,
            }
        )
    )
    assert app["readinessProbe"] == {
        "tcpSocket": {"port": "http"},
        "periodSeconds": 5,
        "failureThreshold": 3,
    }
    assert "startupProbe" not in app


def test_optional_objects_are_off_by_default(app_chart: HelmChart) -> None:
    kinds = {kind for kind, _ in app_chart.template().kinds()}
    assert kinds == {"Rollout", "Service"}


def test_optional_objects_and_pod_settings(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "extras-values.yaml"])
    assert objects.kinds() == [
        ("HorizontalPodAutoscaler", "orders-api"),
        ("Ingress", "orders-api"),
        ("PodDisruptionBudget", "orders-api"),
        ("Rollout", "orders-api"),
        ("Service", "orders-api"),
        ("Service", "orders-api-preview"),
        ("ServiceAccount", "orders-api"),
    ]
    ro = objects.one("Rollout")
    assert "replicas" not in ro["spec"], "the HPA owns the replica count"
    hpa = objects.one("HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "name": "orders-api",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (3, 12)
    targets = {m["resource"]["name"]: m["resource"]["target"] for m in hpa["metrics"]}
    assert targets == {
        "cpu": {"type": "Utilization", "averageUtilization": 70},
        "memory": {"type": "Utilization", "averageUtilization": 85},
    }
    pdb = objects.one("PodDisruptionBudget")["spec"]
    assert pdb == {"maxUnavailable": "25%", "selector": ro["spec"]["selector"]}
    sa = objects.one("ServiceAccount")
    assert sa["metadata"]["annotations"] == {
        "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/orders"
    }

    pod = ro["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == "orders-api"
    assert pod["spec"]["imagePullSecrets"] == [{"name": "harbor-pull"}]
    assert pod["spec"]["securityContext"]["runAsUser"] == 1000
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["spec"]["tolerations"][0]["key"] == "dedicated"
    assert pod["metadata"]["labels"]["team"] == "payments"
    assert pod["metadata"]["annotations"] == {"rollway.io/artifact": "com.acme:orders:1.4.2"}
    (app,) = pod["spec"]["containers"]
    assert app["ports"][0]["containerPort"] == 9090
    assert [e["name"] for e in app["env"]] == ["JAVA_TOOL_OPTIONS", "DB_PASSWORD"]
    assert app["envFrom"] == [{"configMapRef": {"name": "orders-config"}}]
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    assert ro["spec"]["revisionHistoryLimit"] == 5
    assert ro["spec"]["progressDeadlineSeconds"] == 900

    service = objects.one("Service", "orders-api")
    assert service["metadata"]["annotations"] == {"prometheus.io/scrape": "true"}
    assert service["spec"]["ports"][0]["port"] == 8080
    (rule,) = objects.one("Ingress")["spec"]["rules"]
    assert rule["host"] == "orders.example.com"
    assert rule["http"]["paths"] == [
        {
            "path": "/api",
            "pathType": "Prefix",
            "backend": {"service": {"name": "orders-api", "port": {"name": "http"}}},
        }
    ]


def test_pdb_defaults_to_one_available(app_chart: HelmChart) -> None:
    objects = app_chart.template({"podDisruptionBudget": {"enabled": True}})
    assert objects.one("PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_service_account_by_name_only(app_chart: HelmChart) -> None:
    objects = app_chart.template({"serviceAccount": {"name": "shared"}})
    assert pod_spec(objects)["serviceAccountName"] == "shared"
    assert not [o for o in objects if o["kind"] == "ServiceAccount"]


def test_analysis_templates_with_web_and_prometheus(app_chart: HelmChart) -> None:
    objects = app_chart.template(files=[APP_CHART / "ci" / "bluegreen-values.yaml"])
    smoke = objects.one("AnalysisTemplate", "orders-smoke")
    assert smoke["apiVersion"] == "argoproj.io/v1alpha1"
    assert smoke["spec"]["args"] == [{"name": "url"}]
    (health,) = smoke["spec"]["metrics"]
    assert health["provider"]["web"]["url"] == "{{args.url}}/actuator/health"
    rate = objects.one("AnalysisTemplate", "orders-success-rate")
    (metric,) = rate["spec"]["metrics"]
    assert metric["provider"]["prometheus"]["address"] == "http://prometheus.monitoring:9090"
    assert 'service="{{args.service}}"' in metric["provider"]["prometheus"]["query"]
    assert (metric["interval"], metric["count"], metric["failureLimit"]) == ("1m", 5, 1)


def test_pod_labels_cannot_break_the_selector(app_chart: HelmChart) -> None:
    labels = {"team": "payments", "app.kubernetes.io/name": "other"}
    pod = rollout(app_chart.template({"podLabels": labels}))["spec"]["template"]
    assert pod["metadata"]["labels"]["team"] == "payments"
    assert pod["metadata"]["labels"]["app.kubernetes.io/name"] == "orders"


@pytest.mark.parametrize(
    ("release", "values", "rollout_name"),
    [
        ("orders", {"nameOverride": "api"}, "orders-api"),
        ("orders", {"nameOverride": "orders"}, "orders"),
        ("orders", {"fullnameOverride": "payments-orders"}, "payments-orders"),
    ],
)
def test_names_derive_from_the_release(
    app_chart: HelmChart, release: str, values: dict[str, str], rollout_name: str
) -> None:
    objects = app_chart.template(values, release=release)
    blue_green = objects.one("Rollout", rollout_name)["spec"]["strategy"]["blueGreen"]
    assert blue_green["activeService"] == rollout_name
    assert blue_green["previewService"] == f"{rollout_name}-preview"


@pytest.mark.parametrize("strategy", ["bluegreen", "canary"])
def test_long_names_are_cut_to_63_characters(app_chart: HelmChart, strategy: str) -> None:
    long_name = "a" * 40 + "-" + "b" * 30
    objects = app_chart.template({"fullnameOverride": long_name, "strategy": strategy})
    names = [o["metadata"]["name"] for o in objects]
    assert all(len(name) <= 63 and not name.endswith("-") for name in names), names
    assert objects.one("Rollout")["metadata"]["name"] == long_name[:63]
    suffix = {"bluegreen": "-preview", "canary": "-canary"}[strategy]
    assert [n for n in names if n.endswith(suffix)], names
