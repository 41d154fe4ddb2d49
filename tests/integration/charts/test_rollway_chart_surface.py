"""What Rollway's chart exposes of the API server: the Ingress routes the API, not /metrics;
the clients whose tokens the API accepts reach its settings."""

from __future__ import annotations

import json
from typing import Any

from .conftest import HelmChart
from .rollway_chart import container, render

INGRESS = {"enabled": True, "hosts": ["rollway.example.com"]}


def routed(values: dict[str, Any], helm: HelmChart) -> dict[str, str]:
    ingress = render(helm, values).one("Ingress", "rollway-apiserver")["spec"]
    return {p["path"]: p["pathType"] for p in ingress["rules"][0]["http"]["paths"]}


def test_the_ingress_routes_api_docs_and_dashboard_not_metrics(chart: HelmChart) -> None:
    assert routed({"ingress": INGRESS}, chart) == {
        "/api/": "Prefix", "/openapi.json": "Exact", "/docs": "Exact", "/ui": "Prefix"
    }  # fmt: skip


def test_metrics_through_the_ingress_only_when_asked(chart: HelmChart) -> None:
    assert routed({"ingress": {**INGRESS, "exposeMetrics": True}}, chart)["/metrics"] == "Exact"


def test_the_allowed_clients_reach_the_api_server(chart: HelmChart) -> None:
    objects = render(chart, {"keycloak": {"allowedClients": ["rollway-cli", "jenkins"]}})
    config = objects.one("ConfigMap", "rollway-apiserver")["data"]
    assert json.loads(config["ROLLWAY_OIDC_ALLOWED_CLIENTS"]) == ["rollway-cli", "jenkins"]
    assert {"configMapRef": {"name": "rollway-apiserver"}} in container(objects)["envFrom"]


def test_the_dashboards_client_reaches_the_api_server(chart: HelmChart) -> None:
    config = render(chart, {}).one("ConfigMap", "rollway-apiserver")["data"]
    assert config["ROLLWAY_UI_CLIENT_ID"] == "rollway-dashboard"
    assert "rollway-dashboard" in json.loads(config["ROLLWAY_OIDC_ALLOWED_CLIENTS"])
