"""kill -9 of the real `rollway-apiserver` mid-deployment, then a restart: nothing is lost.

The server runs the embedded engine against the devstack (Maven, registry, git, Kubernetes with
Argo Rollouts), so the deployment is a real one. It is killed while the upgrade waits for its
rollout (or at the approval gate right after); the restarted server reconciles the record from
the engine, which re-runs an interrupted step and stops at the gate, and an approver's approval
carries it to the end. A `pending` record left without a workflow (a crash between recording and
submitting) is submitted on restart.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.stack import Context
from rollway.apiserver.db import Database
from rollway.apiserver.models import Deployment
from tests.integration.apiserver.conftest import Tokens, delete_namespaces
from tests.support.cli import ApiServer
from tests.support.helpers import free_port, wait_for
from tests.support.projects import admitted, caller

pytestmark = pytest.mark.integration


@pytest.fixture
def prefix(devstack_env: dict[str, str]) -> Iterator[str]:
    """The test's namespaces are `<prefix>-<env>`, removed once the server has stopped."""
    name = f"k9-{uuid.uuid4().hex[:6]}"
    yield name
    delete_namespaces(devstack_env, name)


@pytest.fixture
def server(
    platform: Context, devstack_env: dict[str, str], tmp_path: Path, prefix: str
) -> Iterator[ApiServer]:
    process = ApiServer(devstack_env, tmp_path / "state", free_port())
    yield process
    process.stop()


def get(server: ApiServer, tokens: Tokens, deployment: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/api/v1/deployments/{deployment}",
                       headers=tokens.headers("alice"), timeout=10)  # fmt: skip
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def reaches(server: ApiServer, tokens: Tokens, deployment: str, state: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = get(server, tokens, deployment)
        steps = [(s["name"], s["phase"], s["message"]) for s in found["steps"]]
        assert found["state"] not in {"failed", "aborted", "rejected"} - {state}, (
            found["message"], steps, server.log.read_text()[-3000:],
        )  # fmt: skip
        return found if found["state"] == state else None

    return wait_for(f"deployment {deployment} to be {state}", check, timeout=240, interval=0.5)


def test_kill_9_mid_deployment_then_restart_loses_nothing(
    server: ApiServer, tokens: Tokens, devstack_env: dict[str, str], prefix: str
) -> None:
    spec = {
        "name": "hello",
        "environments": [
            {"name": "prod", "namespace": f"{prefix}-prod", "policy": {"approvalRequired": True}},
            {"name": "dev", "namespace": f"{prefix}-dev"},
        ],
        "chart": {"repo": devstack_env["ROLLWAY_CHART_REPO"]},
        "artifact": "com.example:hello",
    }
    server.start()
    spec = admitted(caller(server.url, devstack_env), spec)
    registered = httpx.post(f"{server.url}/api/v1/apps", json=spec, headers=tokens.headers("dave"))
    assert registered.status_code == 201, registered.text

    def deploy(version: str, kind: str) -> str:
        answer = httpx.post(f"{server.url}/api/v1/apps/hello/deployments",
                            json={"env": "prod", "version": version, "kind": kind},
                            headers=tokens.headers("alice"), timeout=30)  # fmt: skip
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    # A first release where approval is required is approved before anything is applied.
    first = deploy("1.0.0", "deploy")
    reaches(server, tokens, first, "waiting")
    approved = httpx.post(f"{server.url}/api/v1/deployments/{first}/approve", json={},
                          headers=tokens.headers("bob"), timeout=30)  # fmt: skip
    assert approved.status_code == 200, approved.text
    reaches(server, tokens, first, "succeeded")
    upgrade = deploy("1.1.0", "upgrade")
    # Killed once the rollout is being watched: that step, if still running, is run again by
    # the restarted engine; if it is done, the workflow waits at the approval gate meanwhile.
    wait_for("the upgrade to reach its rollout",
             lambda: "wait-rollout" in [s["name"] for s in get(server, tokens, upgrade)["steps"]])  # fmt: skip
    server.kill9()
    # A crash between recording and submitting leaves a pending record without a workflow.
    orphan = f"hello-dev-{uuid.uuid4().hex[:8]}"
    db = Database(f"sqlite:///{server.state / 'rollway.db'}")
    with db.write() as session:
        session.add(Deployment(
            id=orphan, app="hello", env="dev", namespace=f"{prefix}-dev", kind="deploy",
            state="pending", version="1.0.0", strategy="bluegreen", request={},
            parameters={**get_parameters(db, upgrade), "deployment-id": orphan, "env": "dev",
                        "namespace": f"{prefix}-dev", "approval-required": "false",
                        "coordinates": "com.example:hello:1.0.0"},
            request_hash="-", created_by="alice-subject", created_by_name="alice",
            steps=[], provenance={},
        ))  # fmt: skip
    db.dispose()
    server.start()

    waiting = reaches(server, tokens, upgrade, "waiting")
    assert {s["name"]: s["phase"] for s in waiting["steps"]}["approval"] == "Running"
    approved = httpx.post(f"{server.url}/api/v1/deployments/{upgrade}/approve",
                          json={"comment": "after the crash"}, headers=tokens.headers("bob"),
                          timeout=30)  # fmt: skip
    assert approved.status_code == 200, approved.text
    done = reaches(server, tokens, upgrade, "succeeded")
    assert done["provenance"]["resolvedVersion"] == "1.1.0"
    assert done["provenance"]["imageDigest"].startswith("sha256:")
    assert done["provenance"]["rolloutRevision"] == "2"
    assert done["decision"]["by"] == "bob"

    submitted = reaches(server, tokens, orphan, "succeeded")
    assert submitted["workflow"] == orphan


def get_parameters(db: Database, deployment_id: str) -> dict[str, str]:
    with db.read() as session:
        record = session.query(Deployment).filter_by(id=deployment_id).one()
        return dict(record.parameters)
