"""The canary judge on real pods: the real Argo Rollouts controller measures Rollway's judge
(a `web` metric calling the API server with a client-credentials token), which compares the
new revision with the stable one in Prometheus while traffic flows to both. A bad release is
aborted with no human action while the stable version keeps answering, as a canary step and as
a blue-green pre-promotion analysis; a good one is promoted; Prometheus away pauses for a
human."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devstack.components.prometheus import Prometheus
from devstack.hello_pods import SCRAPED, config_map_name, jar_config_map, pod_spec
from devstack.stack import Context, up
from rollway.analysis.template import JudgeClient, judge_step, judge_template
from rollway.kube.client import load_api
from rollway.rollouts import RolloutDegraded, wait_for_phase
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
from tests.support.helpers import free_port, wait_for
from tests.support.load import Load
from tests.support.projects import admitted
from tests.support.step_runner import run as run_step

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


@contextmanager
def judging(env: dict[str, str], state: Path) -> Iterator[tuple[LiveServer, str]]:
    """A live API server (its judge reads ROLLWAY_PROMETHEUS_URL), with hello registered; and
    the namespace of hello's dev environment, created as an admin would."""
    backend, prefix = engine(env, state / "engine"), unique_prefix()
    tokens = Tokens(env)
    with (
        database(state) as url,
        cleanup(backend, env, prefix),
        LiveServer(env, url, backend) as server,
    ):
        call = server.caller(tokens)
        spec = admitted(call, in_namespaces(HELLO, prefix), "hello")
        answer = call("dave", "POST", "/api/v1/apps", json=spec)
        assert answer.status_code == 201, answer.text
        namespace = next(e["namespace"] for e in spec["environments"] if e["name"] == "dev")
        core = client.CoreV1Api(load_api(env["KUBECONFIG"]))
        core.create_namespace({"metadata": {"name": namespace}})
        yield server, namespace


@pytest.fixture
def judge_server(
    stack: Context, devstack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, str]]:
    monkeypatch.setenv("ROLLWAY_PROMETHEUS_URL", Prometheus().endpoint(stack))
    with judging(devstack_env, tmp_path) as served:
        yield served


@pytest.fixture
def blind_judge_server(
    stack: Context, devstack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, str]]:
    """The judge's Prometheus does not answer: nothing listens on its port."""
    monkeypatch.setenv("ROLLWAY_PROMETHEUS_URL", f"http://127.0.0.1:{free_port()}")
    with judging(devstack_env, tmp_path) as served:
        yield served


#: Per strategy: the Service that serves the stable version, the one that reaches the new
#: version, and the strategy with the judge (template `name`) in its analysis.
SERVICES = {"canary": (f"{APP}-stable", f"{APP}-canary"),
            "bluegreen": (f"{APP}-active", f"{APP}-preview")}  # fmt: skip


def strategy(kind: str, name: str) -> dict[str, Any]:
    old, new = SERVICES[kind]
    if kind == "canary":
        steps = [{"setWeight": 50}, {"analysis": judge_step(name)}]
        return {"canary": {"stableService": old, "canaryService": new, "steps": steps}}
    # Blue-green: the judge runs before the switch, on the preview pods against the active ones.
    return {"blueGreen": {"activeService": old, "previewService": new,
                          "prePromotionAnalysis": judge_step(name)}}  # fmt: skip


def rollout(version: str, strategy: dict[str, Any]) -> dict[str, Any]:
    template = {"metadata": {"labels": LABELS, "annotations": SCRAPED}, "spec": pod_spec(version)}
    return {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Rollout", "metadata": {"name": APP},
        "spec": {"replicas": 2, "selector": {"matchLabels": LABELS}, "template": template,
                 "strategy": strategy},
    }  # fmt: skip


def service(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name},
            "spec": {"selector": LABELS, "ports": [{"port": 8080, "targetPort": 8080}]}}  # fmt: skip


def release(
    env: dict[str, str], server: LiveServer, namespace: str, version: str, kind: str = "canary"
) -> tuple[client.ApiClient, Load, dict[str, Any]]:
    """The app at STABLE with the judge attached, then updated to `version` under traffic to
    both Services (the stable one first); returns the API client, the load (still running) and
    the first Rollout's stable hash."""
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
    for name in SERVICES[kind]:
        core.create_namespaced_service(namespace, service(name))
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "rollouts",
                                           rollout(STABLE, strategy(kind, judge["name"])))  # fmt: skip
    first = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
    urls = [f"http://{core.read_namespaced_service(n, namespace).spec.cluster_ip}:8080/"
            for n in SERVICES[kind]]  # fmt: skip
    for url in urls:  # kube-proxy has programmed both new Services
        wait_for(f"{url} answering", lambda url=url: Load.answer(url).status == 200, timeout=30)
    load = Load(urls, per_second=10, limit=WINDOW + 240).__enter__()
    # A new revision even for the same version (as a restart or a config change makes one).
    patch = {"spec": {"template": {
        "metadata": {"annotations": {"example.com/release": "2"}},
        "spec": {"volumes": [{"name": "jar", "configMap": {"name": config_map_name(version)}}]},
    }}}  # fmt: skip
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


@pytest.mark.parametrize("kind", ["canary", "bluegreen"])
def test_a_bad_release_is_aborted_by_the_judge_while_stable_keeps_answering(
    judge_server: tuple[LiveServer, str], devstack_env: dict[str, str], tmp_path: Path, kind: str
) -> None:
    server, namespace = judge_server
    api, load, first = release(devstack_env, server, namespace, "1.0.1", kind)
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
    # The pipeline's wait-rollout step fails with the judge's words, not the controller's.
    step = run_step(devstack_env, tmp_path / "wait", "wait-rollout", "--namespace", namespace,
                  "--name", APP, "--timeout", "60")  # fmt: skip
    assert step.exit_code != 0
    assert f"rollout '{APP}' is Degraded: {verdict['reason']}" in step.stderr
    assert step.outputs["message"] == verdict["reason"]
    # The API shows the analysis that stopped it: each metric, canary against baseline.
    shown = server.caller(Tokens(devstack_env))("alice", "GET",
                                                 "/api/v1/apps/hello/environments/dev/analysis")  # fmt: skip
    assert shown.status_code == 200, shown.text
    assert shown.json()["phase"] == "Failed"
    assert shown.json()["judgement"] == verdict
    stable_url, new_url = load.urls
    stable = load.of(stable_url)
    assert stable and {(a.status, a.body) for a in stable} == {(200, f"hello {STABLE}")}
    assert any(a.status == 500 for a in load.of(new_url))


@pytest.mark.parametrize("version", ["1.1.0", STABLE])  # a good release; the same version again
def test_a_good_canary_passes_the_judge_and_is_promoted_without_a_human(
    judge_server: tuple[LiveServer, str], devstack_env: dict[str, str], version: str
) -> None:
    server, namespace = judge_server
    api, load, first = release(devstack_env, server, namespace, version)
    try:
        done = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=WINDOW + 180)
    finally:
        load.__exit__()
    assert done.stable_hash == done.current_hash != first["stable_hash"]
    verdict = judgement(api, namespace)
    assert verdict["verdict"] == "pass", verdict["reason"]
    assert {m["outcome"] for m in verdict["metrics"]} == {"pass"}
    assert all(m["canary"]["count"] >= 4 for m in verdict["metrics"])


def test_prometheus_away_pauses_the_rollout_for_a_human_never_a_silent_pass(
    blind_judge_server: tuple[LiveServer, str], devstack_env: dict[str, str]
) -> None:
    server, namespace = blind_judge_server
    api, load, first = release(devstack_env, server, namespace, "1.0.1")
    try:
        paused = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=WINDOW + 180)
        # Paused before the analysis ran says nothing: wait for the judge's measurement.
        verdict = wait_for("the judge's measurement", lambda: measured(api, namespace),
                           timeout=WINDOW + 120)  # fmt: skip
        paused = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=30)
    finally:
        load.__exit__()
    assert verdict["verdict"] == "inconclusive"
    assert verdict["reason"] == "analysis inconclusive: Prometheus did not answer: ConnectError"
    assert paused.stable_hash == first["stable_hash"] != paused.current_hash
    assert run_phase(api, namespace) == "Inconclusive"


def measured(api: client.ApiClient, namespace: str) -> dict[str, Any] | None:
    runs = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "analysisruns")["items"]  # fmt: skip
    for run in runs:
        for metric in run.get("status", {}).get("metricResults", []):
            if metric.get("measurements") and metric["measurements"][-1].get("value"):
                return dict(json.loads(metric["measurements"][-1]["value"]))
    return None


def run_phase(api: client.ApiClient, namespace: str) -> str:
    (run,) = client.CustomObjectsApi(api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "analysisruns")["items"]  # fmt: skip
    return str(run["status"]["phase"])
