"""The hardened pipeline on the real controller with real pods: a deploy through Rollway's
in-cluster release succeeds with every step's pod locked down, in a namespace where Pod Security
`restricted` is enforced (so the kube-apiserver itself admitted each pod), into a target namespace
an admin created with the same level; only the steps that call the Kubernetes API hold a token.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.components.pod_security import LABELS, admin_namespace
from devstack.components.release import NAMESPACE as HOME
from devstack.stack import Context
from tests.e2e.flow import HELLO, Api
from tests.support.helpers import wait_for
from tests.support.platform import platform_config

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

#: Where a container finds its ServiceAccount token.
TOKEN_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
#: The steps that call the Kubernetes API (tests/security/test_cluster_pod_spec.py).
KUBE_API_STEPS = {"apply", "wait-rollout", "promote"}
ON_REAL_NODE = {
    "nodeSelector": {"rollway.io/node": "real"},
    "tolerations": [{"key": "rollway.io/node", "operator": "Exists", "effect": "NoSchedule"}],
    "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}},
}


def kubectl_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    found = subprocess.run(["kubectl", *args, "-o", "json"], env=env, capture_output=True,
                           text=True, check=True, timeout=60)  # fmt: skip
    return dict(json.loads(found.stdout))


@pytest.fixture(scope="module")
def deployed(
    release: str, platform: Context, devstack_env: dict[str, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """An app deployed (1.0.0, blue-green, on the real node) into an admin's namespace, in a
    project of its own whose guardrails hold just that namespace: its name and the finished
    deployment record."""
    name = f"sec-{uuid.uuid4().hex[:6]}"
    namespace = f"{name}-dev"
    admin_namespace(platform, namespace)
    try:
        api = Api(devstack_env, release)
        chart_repo = platform_config(devstack_env, HOME)["chart-repo"]
        project = api.call("dave", "POST", "/projects", json={  # dave: a platform admin
            "name": name,
            "members": {"deployer": ["hello-deployers"]},
            "guardrails": {"namespaces": [namespace], "chartRepositories": [chart_repo],
                           "mavenGroups": [HELLO.split(":")[0]]},
        })  # fmt: skip
        assert project.status_code == 201, project.text
        app = api.call("alice", "POST", "/apps", json={
            "name": name,
            "project": name,
            "environments": [{"name": "dev"}],
            "chart": {"repo": chart_repo, "path": "charts/app"},
            "artifact": HELLO,
            "strategy": "bluegreen",
            "parameters": {"values": ON_REAL_NODE, "replicas": 1},
        })  # fmt: skip
        assert app.status_code == 201, app.text
        answer = api.call("alice", "POST", f"/apps/{name}/deployments",
                          json={"env": "dev", "version": "1.0.0"})  # fmt: skip
        assert answer.is_success, answer.text
        ident = answer.json()["id"]

        def finished() -> dict[str, Any]:
            try:  # an upgrade of the release (another change's image) restarts the server
                record = dict(api.call("alice", "GET", f"/deployments/{ident}").json())
            except httpx.HTTPError:
                return {}
            return record if record["state"] in ("succeeded", "failed", "aborted") else {}

        yield name, wait_for(f"deployment {ident} to finish", finished, timeout=600, interval=2)
    finally:
        subprocess.run(["kubectl", "delete", "namespace", namespace, "--wait=false"],
                       env=devstack_env, capture_output=True, check=False)  # fmt: skip


def test_the_pipeline_succeeds_with_hardened_pods_under_pod_security_restricted(
    deployed: tuple[str, dict[str, Any]], devstack_env: dict[str, str]
) -> None:
    name, record = deployed
    assert record["state"] == "succeeded", record
    for namespace in (HOME, f"{name}-dev"):  # the pipeline's pods and the app's were admitted
        labels = kubectl_json(devstack_env, "get", "namespace", namespace)["metadata"]["labels"]
        assert LABELS.items() <= labels.items(), (namespace, labels)
    app_pods = kubectl_json(devstack_env, "-n", f"{name}-dev", "get", "pods")["items"]
    assert app_pods and {p["status"]["phase"] for p in app_pods} == {"Running"}


def step_pods(env: dict[str, str], workflow: str) -> list[tuple[str, dict[str, Any]]]:
    """The workflow's pods, each with the step it ran (`rollway-step <step>`, after Argo's
    emissary in the main container's command)."""
    found = kubectl_json(env, "-n", HOME, "get", "pods", "-l",
                         f"workflows.argoproj.io/workflow={workflow}")  # fmt: skip
    pods = []
    for pod in found["items"]:
        (main,) = [c for c in pod["spec"]["containers"] if c["name"] == "main"]
        argv = [*main.get("command", []), *main.get("args", [])]
        pods.append((argv[argv.index("rollway-step") + 1], pod))
    return pods


def mounts(container: dict[str, Any]) -> dict[str, str]:
    return {m["mountPath"]: m["name"] for m in container.get("volumeMounts") or []}


def test_only_the_steps_that_call_the_kubernetes_api_hold_a_token(
    deployed: tuple[str, dict[str, Any]], devstack_env: dict[str, str]
) -> None:
    _, record = deployed
    pods = step_pods(devstack_env, record["workflow"])
    assert {"resolve-artifact", "build-image", "fetch-chart", "render", "apply", "wait-rollout",
            "report"} <= {step for step, _ in pods}  # fmt: skip
    for step, pod in pods:
        spec = pod["spec"]
        containers = {c["name"]: c for c in spec["containers"] + spec.get("initContainers", [])}
        main = containers["main"]
        has_token = TOKEN_PATH in mounts(main)
        assert has_token is (step in KUBE_API_STEPS), (step, mounts(main))
        # Argo's own containers write the results with the executor's token, never the steps'.
        for executor in ("init", "wait"):
            assert mounts(containers[executor]).get(TOKEN_PATH) == "exec-sa-token", (step, executor)
        assert main["securityContext"] == {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }, step
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, step
