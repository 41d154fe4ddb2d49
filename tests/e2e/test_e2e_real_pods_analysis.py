"""Canary analysis configured with the app, on the production path: Rollway installed by its chart,
the real Argo Workflows controller running `rollway-deploy` in pods, the render step placing
Rollway's judge in the app chart's Rollout, and the real Argo Rollouts controller asking the
in-cluster API server's judge (as the platform's judge client) while Rollway's own traffic Job
sends requests to both sides. The sides are an experiment's fresh pods of both versions, started
together. A bad release is aborted with no human action, the deployment fails with the judge's
one line, and the stable version answers throughout; a good release, judged the same way, passes
and is promoted with no human."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from devstack.hello_pods import SCRAPED
from tests.e2e.flow import HELLO, Engine, Kube, error_line, reaches, settled
from tests.e2e.traffic import ON_REAL_NODE, service_url
from tests.support.cli import Cli
from tests.support.load import Load

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

WINDOW = 90  # with the default warm-up (30 s) and step (10 s), as the judge's own tests
ANALYSIS = {"windowSeconds": WINDOW, "traffic": {"requestsPerSecond": 10}}


def judge_secret(kube: Kube, namespace: str, devstack_env: dict[str, str]) -> None:
    """The judge client's secret in the app's namespace, as an admin provisions it with the
    namespace (the chart's namespaces.create does it for the namespaces it makes)."""
    secret = devstack_env["ROLLWAY_JUDGE_CLIENT_SECRET"].encode()
    kube.core.create_namespaced_secret(namespace, {
        "metadata": {"name": "rollway-judge"},
        "data": {"client-secret": base64.b64encode(secret).decode()},
    })  # fmt: skip


def test_a_bad_canary_is_aborted_by_the_apps_own_judge_and_the_deployment_says_why(
    argo: Engine, kube: Kube, app_name: str, devstack_env: dict[str, str]
) -> None:
    ns = f"{app_name}-dev"
    judge_secret(kube, ns, devstack_env)
    values: dict[str, Any] = {**ON_REAL_NODE, "podAnnotations": SCRAPED}
    argo.api.register("alice", {
        "name": app_name,
        "environments": [{"name": "dev"}],
        "chart": {"repo": argo.chart_repo, "path": "charts/app"},
        "artifact": HELLO,
        "strategy": "canary",
        "parameters": {"values": values, "replicas": 2, "canarySteps": [{"setWeight": 50}],
                       "analysis": ANALYSIS},
    })  # fmt: skip
    alice: Cli = argo.login("alice")
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    plan = alice.json("upgrade", app_name, "--version", "1.0.1", "--dry-run")
    assert plan["analysis"]["windowSeconds"] == WINDOW
    assert [m["name"] for m in plan["analysis"]["metrics"]] == [
        "error-rate", "latency-p50", "latency-p99"]  # fmt: skip
    assert any("Rollway's judge starts one pod of each version" in step
               for step in plan["strategy"]["steps"])  # fmt: skip
    assert plan["analysis"]["baseline"] == "fresh"

    # The test only watches the stable side, gently: the judge's samples come from Rollway's Job.
    stable_url = service_url(kube, ns, f"{app_name}-stable")
    with Load([stable_url], per_second=2, limit=WINDOW + 300) as load:
        upgrade = alice.run("upgrade", app_name, "--version", "1.0.1", "--wait")
    assert upgrade.returncode != 0
    line = error_line(upgrade.stderr)
    assert "analysis: error-rate " in line and "(baseline), p < 0.001" in line, upgrade.stderr

    done = reaches(alice, app_name, settled("failed", "Degraded"), "aborted by the judge")
    assert "analysis: error-rate " in (done["deployment"].get("message") or ""), done
    shown = alice.run("status", app_name)  # exits 1: the deployment failed
    assert "Analysis:" in shown.stdout and "error-rate" in shown.stdout, shown.stdout
    assert "  Verdict:       fail" in shown.stdout
    template = kube.custom.get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", ns, "analysistemplates", f"{app_name}-rollway-judge"
    )
    web = template["spec"]["metrics"][0]["provider"]["web"]
    assert web["authentication"]["oauth2"]["clientId"] == "rollway-judge"
    stable = load.of(stable_url)
    assert stable and {(a.status, a.body) for a in stable} == {(200, "hello 1.0.0")}
    traffic = template["spec"]["metrics"][1]["provider"]["job"]["spec"]["template"]["spec"]
    assert traffic["containers"][0]["args"][:4] == [
        "--url", "http://{{args.baseline-service}}:8080/",
        "--url", "http://{{args.canary-service}}:8080/",
    ]  # fmt: skip
    # The judge compared the experiment's two pods, started together: neither side is the
    # Rollout's own stable ReplicaSet.
    (experiment,) = kube.custom.list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", ns, "experiments")["items"]  # fmt: skip
    assert experiment["status"]["phase"] == "Failed", experiment["status"]
    rollout = kube.custom.get_namespaced_custom_object(
        "argoproj.io", "v1alpha1", ns, "rollouts", app_name)  # fmt: skip
    image = {t["name"]: t["template"]["spec"]["containers"][0]["image"]
             for t in experiment["spec"]["templates"]}  # fmt: skip
    assert image["canary"] == rollout["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image["baseline"] != image["canary"]  # the stable version's pod, started anew
    (run,) = [r for r in kube.custom.list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", ns, "analysisruns")["items"]
        if r["metadata"]["labels"].get("rollway.io/rollout") == app_name]  # fmt: skip
    hashes = {a["name"]: a.get("value") for a in run["spec"]["args"]}
    assert hashes["baseline-hash"] not in ("", rollout["status"]["stableRS"])
    assert hashes["baseline-service"].startswith(experiment["metadata"]["name"])
    # The test sent nothing to the canary: the 500s the judge counted came from Rollway's Job.

    # A good release against fresh pods of the stable version, both cold: no false abort, and
    # the canary goes on to 100% by itself.
    good = alice.run("upgrade", app_name, "--version", "1.1.0", "--wait")
    assert good.returncode == 0, good.stderr
    promoted = reaches(alice, app_name, settled("succeeded", "Healthy"), "promoted by the judge")
    judged = promoted["rollout"]["analysis"]
    assert judged["phase"] == "Successful" and judged["judgement"]["verdict"] == "pass", judged
