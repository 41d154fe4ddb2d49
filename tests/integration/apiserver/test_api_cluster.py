"""Routes that reach the devstack's services: rollout status, history and rollback on a real
Argo Rollouts controller, and the dry run (Maven metadata, registry HEAD, chart render + diff)."""

from __future__ import annotations

import sys
import uuid
from typing import Any

import pytest

from devstack.stack import Context, up
from tests.integration.apiserver.conftest import HELLO, Api
from tests.support.helpers import wait_for
from tests.support.loopback import Receiver
from tests.support.projects import admitted

pytestmark = pytest.mark.integration

CLUSTER = ["argo-rollouts", "kwok", "helm", "git", "maven", "registry", "keycloak"]


@pytest.fixture(scope="module")
def cluster(devstack: Context) -> Context:
    up(devstack, CLUSTER, echo=lambda line: print(line, file=sys.stderr))
    return devstack


CANARY = [{"setWeight": 50}, {"pause": {}}, {"setWeight": 75}, {"pause": {}}]


def test_rollout_status_promotion_history_and_rollback(
    api: Api, cluster: Context, receiver: Receiver
) -> None:
    """A canary app deployed and updated by real pipelines: the gate, then a later pause of the
    rollout promoted through the API, history, and a rollback to the first revision, which the
    app's webhook hears about."""
    api.register(name="rolly", strategy="canary", environments=[{"name": "dev"}],
                 notifications=[{"url": receiver.url, "events": ["rolledBack"]}])  # fmt: skip
    path = "/api/v1/apps/rolly/environments/dev/rollout"

    def rollout(**wanted: Any) -> dict[str, Any] | None:
        answer = api.call("carol", "GET", path)
        assert answer.status_code == 200, answer.text
        found = answer.json()
        return found if all(found.get(k) == v for k, v in wanted.items()) else None

    first = api.deployed("rolly", version="1.0.0")
    healthy = wait_for("the rollout to be Healthy", lambda: rollout(phase="Healthy"))
    assert (healthy["name"], healthy["namespace"], healthy["strategy"]) == (
        "rolly", f"{api.prefix}-rolly-dev", "Canary",
    )  # fmt: skip
    image_1 = api.get(first)["provenance"]["image"]
    assert healthy["images"] == [image_1] and healthy["revision"] == 1

    update = api.deploy("alice", app="rolly", version="1.1.0", overrides={"canarySteps": CANARY})
    assert update.status_code == 201, update.text
    deployment = api.reaches(update.json()["id"], "waiting")["id"]
    paused = rollout(phase="Paused")
    assert paused and paused["revision"] == 2 and paused["setWeight"] == 50, paused

    busy = api.call("alice", "POST", f"{path}/rollback", json={"revision": 1})
    assert busy.status_code == 409 and busy.json()["deploymentId"] == deployment
    # At the gate, promoting resumes the workflow, whose promote step moves the canary on.
    assert api.call("carol", "POST", f"/api/v1/deployments/{deployment}/promote").status_code == 403
    through = api.call("alice", "POST", f"/api/v1/deployments/{deployment}/promote")
    assert through.status_code == 200, through.text
    wait_for("the canary's second pause", lambda: rollout(phase="Paused", setWeight=75))
    # Past the gate, the workflow waits for Healthy: promoting goes to the Rollout itself.
    promoted = api.call("alice", "POST", f"/api/v1/deployments/{deployment}/promote",
                        json={"full": True})  # fmt: skip
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["detail"].startswith("rollout rolly promoted fully")
    image_2 = api.reaches(deployment, "succeeded")["provenance"]["image"]
    done = wait_for("the promoted rollout to be Healthy", lambda: rollout(phase="Healthy"))
    assert done["images"] == [image_2] != [image_1]

    history = api.call("carol", "GET", f"{path}/history").json()["items"]
    assert [(r["revision"], r["images"]) for r in history] == [(2, [image_2]), (1, [image_1])]

    assert api.call("carol", "POST", f"{path}/rollback", json={"revision": 1}).status_code == 403
    assert api.call("erin", "GET", path).status_code == 404
    rolled = api.call("alice", "POST", f"{path}/rollback", json={"revision": 1})
    assert rolled.status_code == 200, rolled.text
    assert rolled.json()["restoredRevision"] == 1

    back = wait_for("the rollback to make revision 3", lambda: rollout(revision=3))
    # Revision 3 carries revision 1's pod template (then goes through the canary steps).
    assert back["revisions"][0]["images"] == [image_1]
    events = api.call("dave", "GET", "/api/v1/audit", params={"app": "rolly"}).json()["items"]
    assert ("alice", "rollback", 200, "rolled back to revision 1") in [
        (e["actor"], e["action"], e["status"], e["detail"]) for e in events
    ]
    wait_for("the rolledBack notification", lambda: receiver.received)
    [(headers, body)] = receiver.received
    assert headers["x-rollway-event"] == body["event"] == "rolledBack"
    assert body["rollback"] | {"href": None} == {
        "app": "rolly", "env": "dev", "revision": 1, "deploymentId": first, "by": "alice",
        "href": None,
    }  # fmt: skip


def test_unknown_environment_or_missing_rollout_is_404(api: Api, cluster: Context) -> None:
    spec = {**HELLO, "name": "ghost",
            "environments": [{"name": "dev", "namespace": f"none-{uuid.uuid4().hex[:8]}"}]}  # fmt: skip
    spec = admitted(api.call, spec)
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
    assert plan["dryRun"] is True and plan["namespace"] == f"{api.prefix}-hello-prod"
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
    # hello was never deployed to prod: a first release is approved before anything is applied.
    assert plan["strategy"]["steps"][0] == (
        "wait for the approvers of the plan before anything is applied (a first release)"
    )
    assert manifests["noPause"] is None  # blue-green waits for promotion
    assert plan["window"] == {"open": True, "nextOpening": None}
    assert plan["parameters"]["coordinates"] == "com.example:hello:RELEASE"
    # Nothing was recorded or submitted.
    assert api.call("dave", "GET", "/api/v1/deployments").json()["items"] == []
    assert api.workflows() == []


@pytest.mark.usefixtures("platform_env")
def test_dry_run_reports_what_cannot_be_resolved(api: Api) -> None:
    answer = api.call("alice", "POST", "/api/v1/apps/hello/deployments",
                      params={"dryRun": "true"}, json={"env": "dev", "version": "9.9.9"})  # fmt: skip

    assert answer.status_code == 200, answer.text
    plan = answer.json()
    assert "9.9.9" in plan["artifact"]["error"]
    assert plan["image"]["action"] == "unknown"
    assert plan["blockedBy"] is None
