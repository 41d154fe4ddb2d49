"""Routes that reach the devstack's services: rollout status, history and rollback on a real
Argo Rollouts controller, and the dry run (Maven metadata, registry HEAD, chart render + diff)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.stack import Context, up
from rollway.rollouts import load_api
from tests.helpers import wait_for
from tests.integration.apiserver.conftest import HELLO, Api

pytestmark = pytest.mark.integration

CLUSTER = ["argo-rollouts", "kwok", "helm", "git", "maven", "registry", "keycloak"]


@pytest.fixture(scope="module")
def cluster(devstack: Context) -> Context:
    up(devstack, CLUSTER, echo=lambda line: print(line, file=sys.stderr))
    return devstack


@pytest.fixture
def namespace(cluster: Context, devstack_env: dict[str, str]) -> Iterator[str]:
    from kubernetes import client

    core = client.CoreV1Api(load_api(devstack_env["KUBECONFIG"]))
    name = f"api-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    core.delete_namespace(name)


def rollout(namespace: str, image: str) -> dict[str, Any]:
    labels = {"app": "rolly"}
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "rolly", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}},
        },
    }


def test_rollout_status_history_and_rollback(
    api: Api, namespace: str, devstack_env: dict[str, str]
) -> None:
    from kubernetes import client

    custom = client.CustomObjectsApi(load_api(devstack_env["KUBECONFIG"]))
    args = ("argoproj.io", "v1alpha1", namespace, "rollouts")
    custom.create_namespaced_custom_object(*args, rollout(namespace, "example.com/rolly:1"))
    spec = {**HELLO, "name": "rolly",
            "environments": [{"name": "dev", "namespace": namespace}]}  # fmt: skip
    assert api.call("dave", "POST", "/api/v1/apps", json=spec).status_code == 201
    path = "/api/v1/apps/rolly/environments/dev/rollout"

    def phase(wanted: str) -> dict[str, Any] | None:
        answer = api.call("carol", "GET", path)
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["phase"] == wanted else None

    healthy = wait_for("the rollout to be Healthy", lambda: phase("Healthy"))
    assert (healthy["name"], healthy["namespace"], healthy["strategy"]) == (
        "rolly", namespace, "Canary",
    )  # fmt: skip
    assert healthy["images"] == ["example.com/rolly:1"]

    custom.patch_namespaced_custom_object(
        *args, "rolly", {"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "example.com/rolly:2"}]}}}},
    )  # fmt: skip
    paused = wait_for("the update to pause at its canary step", lambda: phase("Paused"))
    assert paused["revision"] == 2 and paused["setWeight"] == 50

    # A deployment whose workflow is past its approval gate: promote goes to the Rollout.
    deployment = api.deploy("alice", app="rolly").json()["id"]
    assert api.call("carol", "POST", f"/api/v1/deployments/{deployment}/promote").status_code == 403
    promoted = api.call("alice", "POST", f"/api/v1/deployments/{deployment}/promote",
                        json={"full": True})  # fmt: skip
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["detail"].startswith("rollout rolly promoted fully")
    done = wait_for("the promoted rollout to be Healthy", lambda: phase("Healthy"))
    assert done["images"] == ["example.com/rolly:2"]

    history = api.call("carol", "GET", f"{path}/history").json()["items"]
    assert [(r["revision"], r["images"]) for r in history] == [
        (2, ["example.com/rolly:2"]), (1, ["example.com/rolly:1"]),
    ]  # fmt: skip

    busy = api.call("alice", "POST", f"{path}/rollback", json={"revision": 1})
    assert busy.status_code == 409 and busy.json()["deploymentId"] == deployment
    api.backend.finish(deployment)
    wait_for("the deployment to be recorded as finished",
             lambda: api.call("alice", "GET", f"/api/v1/deployments/{deployment}").json()["state"]
             == "succeeded")  # fmt: skip

    assert api.call("carol", "POST", f"{path}/rollback", json={"revision": 1}).status_code == 403
    assert api.call("erin", "GET", path).status_code == 404
    rolled = api.call("alice", "POST", f"{path}/rollback", json={"revision": 1})
    assert rolled.status_code == 200, rolled.text

    def rolled_back() -> dict[str, Any] | None:
        found = api.call("carol", "GET", path).json()
        return found if found["revision"] == 3 else None

    back = wait_for("the rollback to make revision 3", rolled_back)
    # Revision 3 carries revision 1's pod template (then goes through the canary steps).
    assert back["revisions"][0]["images"] == ["example.com/rolly:1"]
    events = api.call("dave", "GET", "/api/v1/audit", params={"app": "rolly"}).json()["items"]
    assert ("alice", "rollback", 200) in [(e["actor"], e["action"], e["status"]) for e in events]


def test_unknown_environment_or_missing_rollout_is_404(api: Api, cluster: Context) -> None:
    spec = {**HELLO, "name": "ghost",
            "environments": [{"name": "dev", "namespace": f"none-{uuid.uuid4().hex[:8]}"}]}  # fmt: skip
    assert api.call("dave", "POST", "/api/v1/apps", json=spec).status_code == 201

    unknown = api.call("carol", "GET", "/api/v1/apps/ghost/environments/qa/rollout")
    missing = api.call("carol", "GET", "/api/v1/apps/ghost/environments/dev/rollout")

    assert (unknown.status_code, missing.status_code) == (404, 404), missing.text
    assert unknown.json()["field"] == "path.env"
    assert missing.headers["content-type"] == "application/problem+json"


@pytest.fixture
def platform_env(
    cluster: Context, devstack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server process's environment: Maven, registry and git credentials, helm, kubeconfig."""
    for key, value in devstack_env.items():
        if key.startswith(("ROLLWAY_", "HELM_")) or key in ("KUBECONFIG", "PATH"):
            monkeypatch.setenv(key, value)


@pytest.mark.usefixtures("platform_env")
def test_dry_run_plans_without_changing_anything(api: Api) -> None:
    answer = api.call("alice", "POST", "/api/v1/apps/hello/deployments",
                      params={"dryRun": "true"}, json={"env": "prod", "version": "RELEASE"})  # fmt: skip

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert plan["dryRun"] is True and plan["namespace"] == "hello-prod"
    assert plan["artifact"]["version"] == "1.1.0", plan["artifact"]
    assert plan["artifact"]["url"].endswith("/com/example/hello/1.1.0/hello-1.1.0.jar")
    image = plan["image"]
    assert image["error"] is None and image["tag"] == "1.1.0"
    assert image["action"] == ("reuse" if image["digest"] else "build")
    manifests = plan["manifests"]
    assert manifests["error"] is None, manifests
    assert "Rollout/hello" in manifests["objects"]
    assert manifests["changes"]["created"], manifests["changes"]  # hello-prod is not deployed
    assert "+kind: Rollout" in manifests["diff"]
    assert plan["approvalRequired"] is True
    assert any("approver" in step for step in plan["strategy"]["steps"])
    assert plan["window"] == {"open": True, "nextOpening": None}
    assert plan["parameters"]["coordinates"] == "com.example:hello:RELEASE"
    # Nothing was recorded or submitted.
    assert api.call("dave", "GET", "/api/v1/deployments").json()["items"] == []
    assert api.backend.calls == []


@pytest.mark.usefixtures("platform_env")
def test_dry_run_reports_what_cannot_be_resolved(api: Api) -> None:
    answer = api.call("alice", "POST", "/api/v1/apps/hello/deployments",
                      params={"dryRun": "true"}, json={"env": "dev", "version": "9.9.9"})  # fmt: skip

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert "9.9.9" in plan["artifact"]["error"]
    assert plan["image"]["action"] == "unknown"
    assert plan["blockedBy"] is None
