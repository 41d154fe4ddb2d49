"""charts/app against the real kube-apiserver, Argo Rollouts CRDs and controller (KWOK nodes).

Needs at least DEVSTACK_ONLY=helm,kube-scheduler,kwok,argo-rollouts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from kubernetes import client, config

from tests.support.cluster import fresh_namespace
from tests.support.helpers import kubectl, wait_for

from .conftest import APP_CHART, HelmChart

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "rollouts"
HASH = "rollouts-pod-template-hash"


@pytest.fixture(scope="module")
def api(devstack_env: dict[str, str]) -> client.ApiClient:
    return config.new_client_from_config(config_file=devstack_env["KUBECONFIG"])


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    with fresh_namespace(api, "chart") as name:
        yield name


def dry_run(env: dict[str, str], namespace: str, manifest: str) -> list[str]:
    """Objects the apiserver accepted; strict validation rejects fields a CRD does not know."""
    out = kubectl(
        env, "apply", "--dry-run=server", "--validate=strict", "-n", namespace, "-f", "-",
        stdin=manifest,
    )  # fmt: skip
    return sorted(line.removesuffix(" created (server dry run)") for line in out.splitlines())


#: How `kubectl apply` names each kind the chart makes (resource.group).
RESOURCES = {
    "Rollout": "rollout.argoproj.io",
    "AnalysisTemplate": "analysistemplate.argoproj.io",
    "Ingress": "ingress.networking.k8s.io",
    "PodDisruptionBudget": "poddisruptionbudget.policy",
    "HorizontalPodAutoscaler": "horizontalpodautoscaler.autoscaling",
    "Service": "service",
    "ServiceAccount": "serviceaccount",
}


def expected(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(f"{RESOURCES[o['kind']]}/{o['metadata']['name']}" for o in objects)


def test_defaults_are_accepted_by_the_apiserver(
    app_chart: HelmChart, devstack_env: dict[str, str], namespace: str
) -> None:
    objects = app_chart.template()
    assert dry_run(devstack_env, namespace, app_chart.template_text()) == expected(objects)


def test_each_example_is_accepted_by_the_apiserver(
    app_chart: HelmChart, devstack_env: dict[str, str], namespace: str, ci_values: Path
) -> None:
    objects = app_chart.template(files=[ci_values])
    accepted = dry_run(devstack_env, namespace, app_chart.template_text(files=[ci_values]))
    assert accepted == expected(objects)


class Release:
    """One helm release of charts/app in a namespace, and its Rollout as the controller sees it."""

    def __init__(self, chart: HelmChart, api: client.ApiClient, namespace: str) -> None:
        self.chart, self.namespace = chart, namespace
        self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)

    def apply(self, files: list[Path], tag: str) -> None:
        values = {"image": {"repository": "127.0.0.1:25000/team/orders", "tag": tag}}
        proc = self.chart.run(
            "upgrade",
            "--install",
            "orders",
            "--namespace",
            self.namespace,
            values=values,
            files=files,
        )
        assert proc.returncode == 0, proc.stderr

    def rollout(self) -> dict[str, Any]:
        found = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, "orders"
        )
        return cast(dict[str, Any], found)

    def settled(self, phase: str) -> dict[str, Any]:
        """Wait for the phase on the newest generation; fail at once on an invalid spec."""

        def check() -> dict[str, Any]:
            rollout = self.rollout()
            status: dict[str, Any] = rollout.get("status", {})
            invalid = [c for c in status.get("conditions", []) if c["type"] == "InvalidSpec"]
            assert not invalid, invalid
            fresh = status.get("observedGeneration") == str(rollout["metadata"]["generation"])
            return status if fresh and status.get("phase") == phase else {}

        return wait_for(f"Rollout orders {phase}", check, timeout=120)

    def selector(self, service: str) -> str | None:
        """The pod-template hash the controller pinned the Service to, if any."""
        spec = self.core.read_namespaced_service(service, self.namespace).spec
        assert spec is not None and spec.selector is not None
        return cast(str | None, spec.selector.get(HASH))


@pytest.fixture
def release(app_chart: HelmChart, api: client.ApiClient, namespace: str) -> Release:
    return Release(app_chart, api, namespace)


def test_bluegreen_release_on_the_real_controller(release: Release) -> None:
    release.apply([], tag="1.0.0")
    first = release.settled("Healthy")["stableRS"]
    assert release.selector("orders") == first

    release.apply([], tag="1.1.0")
    paused = release.settled("Paused")
    assert paused["pauseConditions"][0]["reason"] == "BlueGreenPause"
    new = paused["currentPodHash"]
    assert new != first
    wait_for("preview on the new pods", lambda: release.selector("orders-preview") == new)
    assert release.selector("orders") == first


def test_canary_release_on_the_real_controller(release: Release) -> None:
    files = [APP_CHART / "ci" / "canary-values.yaml"]
    release.apply(files, tag="1.0.0")
    first = release.settled("Healthy")["stableRS"]
    assert release.selector("orders-stable") == first

    release.apply(files, tag="1.1.0")
    paused = release.settled("Paused")
    assert paused["currentStepIndex"] == 1, "stops at the indefinite pause after setWeight 25"
    assert paused["pauseConditions"][0]["reason"] == "CanaryPauseStep"
    new = paused["currentPodHash"]
    wait_for("canary Service on the new pods", lambda: release.selector("orders-canary") == new)
    assert release.selector("orders-stable") == first
    assert release.selector("orders") is None, "the Service clients use spans both versions"


def test_rolling_release_on_the_real_controller(release: Release) -> None:
    files = [APP_CHART / "ci" / "rolling-values.yaml"]
    release.apply(files, tag="1.0.0")
    first = release.settled("Healthy")["stableRS"]
    release.apply(files, tag="1.1.0")
    second = release.settled("Healthy")
    assert second["stableRS"] == second["currentPodHash"] != first
    assert release.selector("orders") is None, "a rolling update leaves its Service alone"
