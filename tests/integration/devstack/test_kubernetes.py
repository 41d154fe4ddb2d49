"""Smoke test of the control plane, KWOK and the real Argo Rollouts controller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, config

from devstack.components.kube import kubeconfig
from devstack.stack import Context
from tests.support.cluster import fresh_namespace
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "rollouts"


@pytest.fixture(scope="module")
def api(devstack: Context) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig(devstack)))


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    with fresh_namespace(api, "smoke") as name:
        yield name


def service(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": "hello"}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def rollout(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "hello"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "hello"}},
            "template": {
                "metadata": {"labels": {"app": "hello"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {
                "blueGreen": {
                    "activeService": "hello-active",
                    "previewService": "hello-preview",
                    "autoPromotionEnabled": False,
                }
            },
        },
    }


def test_nodes_are_kwok_and_ready(api: client.ApiClient) -> None:
    nodes = client.CoreV1Api(api).list_node(label_selector="type=kwok").items
    assert len(nodes) >= 2
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", node.metadata.name


def test_bluegreen_rollout_on_real_controller(api: client.ApiClient, namespace: str) -> None:
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    for name in ("hello-active", "hello-preview"):
        core.create_namespaced_service(namespace, service(name))
    custom.create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, rollout("hello:1.0.0")
    )

    def get() -> dict[str, Any]:
        return custom.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "hello")

    def phase() -> str | None:
        return get().get("status", {}).get("phase")

    wait_for("first revision Healthy", lambda: phase() == "Healthy")
    pods = core.list_namespaced_pod(namespace, label_selector="app=hello").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.spec.node_name.startswith("kwok-node-")
        assert pod.status.phase == "Running"
        assert {c.type: c.status for c in pod.status.conditions}["Ready"] == "True"
    stable = get()["status"]["stableRS"]

    def selector(svc: str) -> str | None:
        return core.read_namespaced_service(svc, namespace).spec.selector.get(
            "rollouts-pod-template-hash"
        )

    assert selector("hello-active") == stable

    # Upgrade: the controller pauses with the preview Service on the new pod hash.
    custom.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "hello",
        {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "hello:1.1.0"}]}}}},
    )  # fmt: skip
    paused = wait_for(
        "upgrade Paused",
        lambda: (
            (s := get().get("status", {})).get("phase") == "Paused"
            and s.get("currentPodHash") != stable
            and s
        ),
    )
    new_hash = paused["currentPodHash"]
    assert paused["pauseConditions"][0]["reason"] == "BlueGreenPause"
    wait_for("preview selects new hash", lambda: selector("hello-preview") == new_hash)
    assert selector("hello-active") == stable

    # Promote exactly as `kubectl argo rollouts promote` does: clear pauseConditions on status.
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, PLURAL, "hello", {"status": {"pauseConditions": None}}
    )
    wait_for("active switched to new hash", lambda: selector("hello-active") == new_hash)
    wait_for(
        "promoted Healthy", lambda: phase() == "Healthy" and get()["status"]["stableRS"] == new_hash
    )
