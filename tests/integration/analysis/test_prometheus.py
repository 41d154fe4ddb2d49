"""Prometheus on the devstack: real pods of the sample app found through the apiserver and
scraped on the bridge, their request counts queryable by revision; fake pods never scraped."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from kubernetes import client, config

from devstack.components.kube import kubeconfig
from devstack.components.prometheus import Prometheus
from devstack.hello_pods import SCRAPED, jar_config_map, pod_spec
from devstack.stack import Context, up
from tests.support.helpers import run_devstack, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]


@pytest.fixture(scope="module")
def prometheus(devstack: Context) -> str:
    up(devstack, ["prometheus", "kube-proxy", "kwok", "maven", "registry"],
       echo=lambda line: print(line, file=sys.stderr))  # fmt: skip
    return Prometheus().endpoint(devstack)


@pytest.fixture(scope="module")
def core(devstack: Context) -> client.CoreV1Api:
    return client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig(devstack))))


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    name = f"prom-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name, propagation_policy="Background")


def query(prometheus: str, promql: str) -> list[dict[str, Any]]:
    resp = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10)
    resp.raise_for_status()
    return list(resp.json()["data"]["result"])


def test_status_lists_prometheus_and_its_discovery_ready(prometheus: str) -> None:
    rows = {
        row["name"]: row
        for row in json.loads(run_devstack("status", "--json").stdout)["components"]
    }
    assert rows["prometheus"]["ready"] and rows["prometheus"]["endpoint"] == prometheus
    assert rows["prometheus-discovery"]["ready"]


def test_a_real_pod_is_scraped_by_revision_and_a_fake_one_never(
    prometheus: str, devstack_env: dict[str, str], core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, jar_config_map(devstack_env, "1.0.1"))
    labels = {"app.kubernetes.io/instance": "hello", "rollouts-pod-template-hash": "bad01"}
    meta = {"name": "real", "labels": labels, "annotations": SCRAPED}
    core.create_namespaced_pod(namespace, {"metadata": meta, "spec": pod_spec("1.0.1")})
    # The same pod without the opt-in to the real node lands on a KWOK node with a fake address.
    fake_spec = {"containers": [{"name": "app", "image": "fake"}]}
    core.create_namespaced_pod(namespace, {"metadata": {**meta, "name": "fake"}, "spec": fake_spec})

    def ready_ip() -> str:
        pod = core.read_namespaced_pod("real", namespace)
        ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
        return str(pod.status.pod_ip) if ready else ""

    ip = wait_for("the real pod Ready", ready_ip, timeout=120)
    codes = [httpx.get(f"http://{ip}:8080/", timeout=5).status_code for _ in range(100)]

    selector = f'namespace="{namespace}",rollouts_pod_template_hash="bad01"'

    def scraped_all() -> list[dict[str, Any]]:
        rows = query(prometheus, f"sum by (code, pod) (http_server_requests_total{{{selector}}})")
        return rows if sum(float(r["value"][1]) for r in rows) == len(codes) else []

    rows = wait_for("Prometheus to scrape every request", scraped_all, timeout=60)
    counted = {r["metric"]["code"]: int(float(r["value"][1])) for r in rows}
    assert counted == {str(c): codes.count(c) for c in set(codes)}
    assert {r["metric"]["pod"] for r in rows} == {"real"}
    fake = wait_for("the fake pod Running on KWOK",
                    lambda: core.read_namespaced_pod("fake", namespace).status.pod_ip)  # fmt: skip
    assert not fake.startswith("10.245.0.")
    discovered = httpx.get(f"{prometheus}/api/v1/targets", timeout=10).json()["data"]
    scraped = {t["labels"].get("pod") for t in discovered["activeTargets"]
               if t["labels"].get("namespace") == namespace}  # fmt: skip
    assert scraped == {"real"}
