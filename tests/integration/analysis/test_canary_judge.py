"""The canary judge on real pods: the real Argo Rollouts controller measures Rollway's judge
(a `web` metric calling the API server with a client-credentials token), which compares the
canary revision with the stable one in Prometheus while traffic flows to both. A bad release
is aborted with no human action while the stable version keeps answering; a good one is
promoted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devstack.components.prometheus import Prometheus
from devstack.stack import Context, up
from rollway.analysis.template import JudgeClient, judge_step, judge_template
from rollway.rollouts import RolloutDegraded, load_api, wait_for_phase
from tests.helpers import wait_for
from tests.integration.analysis.hello_pods import SCRAPED, config_map_name, jar_config_map, pod_spec
from tests.integration.analysis.load import Load
from tests.integration.apiserver.conftest import (
    HELLO,
    LiveServer,
    Tokens,
    cleanup,
    database,
    engine,
    in_namespaces,
    unique_prefix,
)
from tests.projects import admitted

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

GROUP, VERSION = "argoproj.io", "v1alpha1"
APP = "hello"
LABELS = {"app.kubernetes.io/instance": APP}
WINDOW = 90
STABLE = "1.0.0"


@pytest.fixture(scope="module")
def stack(devstack: Context) -> Context:
    up(devstack, ["prometheus", "argo-rollouts", "kube-proxy", "keycloak", "maven", "registry",
                  "git"])  # fmt: skip
    return devstack


@pytest.fixture
def judge_server(
    stack: Context, devstack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, str]]:
    """A live API server reading the devstack's Prometheus, with hello registered; and the
    namespace of hello's dev environment, created as an admin would."""
    monkeypatch.setenv("ROLLWAY_PROMETHEUS_URL", Prometheus().endpoint(stack))
    backend, prefix = engine(devstack_env, tmp_path / "engine"), unique_prefix()
    tokens = Tokens(devstack_env)
    with (
        database(tmp_path) as url,
        cleanup(backend, devstack_env, prefix),
        LiveServer(devstack_env, url, backend) as server,
    ):
        call = server.caller(tokens)
        spec = admitted(call, in_namespaces(HELLO, prefix), "hello")
        answer = call("dave", "POST", "/api/v1/apps", json=spec)
        assert answer.status_code == 201, answer.text
        namespace = next(e["namespace"] for e in spec["environments"] if e["name"] == "dev")
        core = client.CoreV1Api(load_api(devstack_env["KUBECONFIG"]))
        core.create_namespace({"metadata": {"name": namespace}})
        yield server, namespace


def rollout(version: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    template = {"metadata": {"labels": LABELS, "annotations": SCRAPED}, "spec": pod_spec(version)}
    canary = {"stableService": f"{APP}-stable", "canaryService": f"{APP}-canary", "steps": steps}
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Rollout", "metadata": {"name": APP},
        "spec": {"replicas": 2, "selector": {"matchLabels": LABELS}, "template": template,
                 "strategy": {"canary": canary}},
    }  # fmt: skip


def service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"selector": LABELS, "ports": [{"port": 8080, "targetPort": 8080}]}}  # fmt: skip


def release(
    env: dict[str, str], server: LiveServer, namespace: str, version: str
) -> tuple[client.ApiClient, Load, dict[str, Any]]:
    """The app at STABLE with the judge attached, then updated to `version` under traffic;
    returns the API client, the load (still running) and the first Rollout's view."""
    api = load_api(env["KUBECONFIG"])
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    for v in {STABLE, version}:
        core.create_namespaced_config_map(namespace, jar_config_map(env, v))
    core.create_namespaced_secret(namespace, {"metadata": {"name": "judge-client"},
                                              "stringData": {"client-secret": env["ROLLWAY_CI_CLIENT_SECRET"]}})  # fmt: skip
    keycloak = f"{env['ROLLWAY_KEYCLOAK_URL']}/realms/{env['ROLLWAY_KEYCLOAK_REALM']}"
    judge = judge_template(
        api_url=server.url, app=APP, env="dev", window_seconds=WINDOW,
        client=JudgeClient(token_url=f"{keycloak}/protocol/openid-connect/token",
                           client_id=env["ROLLWAY_CI_CLIENT_ID"], secret_name="judge-client"),
    )  # fmt: skip
    template = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "AnalysisTemplate",
                "metadata": {"name": judge["name"]},
                "spec": {"args": judge["args"], "metrics": judge["metrics"]}}  # fmt: skip
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "analysistemplates", template)
    for name in (f"{APP}-stable", f"{APP}-canary"):
        core.create_namespaced_service(namespace, service(name))
    steps = [{"setWeight": 50}, {"analysis": judge_step(judge["name"])}]
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "rollouts",
                                           rollout(STABLE, steps))  # fmt: skip
    first = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
    urls = [f"http://{core.read_namespaced_service(n, namespace).spec.cluster_ip}:8080/"
            for n in (f"{APP}-stable", f"{APP}-canary")]  # fmt: skip
    for url in urls:  # kube-proxy has programmed both new Services
        wait_for(f"{url} answering", lambda url=url: Load.answer(url).status == 200, timeout=30)
    load = Load(urls, per_second=10, limit=WINDOW + 240).__enter__()
    patch = {"spec": {"template": {"spec": {"volumes": [
        {"name": "jar", "configMap": {"name": config_map_name(version)}}]}}}}  # fmt: skip
    custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "rollouts", APP, patch)
    return api, load, {"stable_hash": first.stable_hash}


def judgement(api: client.ApiClient, namespace: str) -> dict[str, Any]:
    """The judge's measurement as the controller recorded it."""
    runs = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "analysisruns")["items"]  # fmt: skip
    assert len(runs) == 1, [r["metadata"]["name"] for r in runs]
    status = runs[0].get("status", {})
    assert status.get("metricResults"), status
    (metric,) = status["metricResults"]
    return dict(json.loads(metric["measurements"][-1]["value"]))


def test_a_bad_canary_is_aborted_by_the_judge_while_stable_keeps_answering(
    judge_server: tuple[LiveServer, str], devstack_env: dict[str, str]
) -> None:
    server, namespace = judge_server
    api, load, first = release(devstack_env, server, namespace, "1.0.1")
    try:
        with pytest.raises(RolloutDegraded, match="RolloutAborted") as caught:
            wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=WINDOW + 180)
    finally:
        load.__exit__()
    assert caught.value.info.stable_hash == first["stable_hash"]
    verdict = judgement(api, namespace)
    assert verdict["verdict"] == "fail"
    assert verdict["reason"].startswith("analysis: error-rate ")
    assert "(canary) vs 0.0% (baseline), p < 0.001" in verdict["reason"]
    errors = next(m for m in verdict["metrics"] if m["name"] == "error-rate")
    assert errors["outcome"] == "fail" and errors["effectSize"] > 0.9
    stable_url, canary_url = load.urls
    stable = load.of(stable_url)
    assert stable and {(a.status, a.body) for a in stable} == {(200, f"hello {STABLE}")}
    assert any(a.status == 500 for a in load.of(canary_url))


def test_a_good_canary_passes_the_judge_and_is_promoted_without_a_human(
    judge_server: tuple[LiveServer, str], devstack_env: dict[str, str]
) -> None:
    server, namespace = judge_server
    api, load, first = release(devstack_env, server, namespace, "1.1.0")
    try:
        done = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=WINDOW + 180)
    finally:
        load.__exit__()
    assert done.stable_hash == done.current_hash != first["stable_hash"]
    verdict = judgement(api, namespace)
    assert verdict["verdict"] == "pass", verdict["reason"]
    assert {m["outcome"] for m in verdict["metrics"]} == {"pass"}
    assert all(m["canary"]["count"] >= 4 for m in verdict["metrics"])
