"""Roles at work with real Keycloak tokens and real deployments: each user's role in project
hello comes from their groups (viewer, deployer, approver; admins everywhere); other projects'
applications answer 404. The full role × route matrix is tests/security/test_route_matrix.py."""

from __future__ import annotations

import pytest

from tests.integration.apiserver.conftest import CI, Api
from tests.support.helpers import wait_for
from tests.support.projects import allow, namespaces

pytestmark = pytest.mark.integration


def waiting_deployment(api: Api, user: str = "alice") -> str:
    """A hello/prod update by `user` waiting at its approval gate (its preview is up)."""
    return api.at_gate(user, env="prod")


@pytest.mark.parametrize(
    ("user", "status"),
    [("alice", 200), ("bob", 200), ("carol", 200), ("dave", 200), ("erin", 404), (CI, 200)],
)
def test_reading_an_app_needs_a_role_in_its_team(api: Api, user: str, status: int) -> None:
    answer = api.call(user, "GET", "/api/v1/apps/hello")

    assert answer.status_code == status, answer.text
    if status == 404:
        assert answer.headers["content-type"] == "application/problem+json"
        assert "hello" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("user", "apps"),
    [("carol", ["hello"]), ("erin", ["payments"]), ("dave", ["hello", "payments"])],
)
def test_listings_show_only_the_callers_apps(api: Api, user: str, apps: list[str]) -> None:
    answer = api.call(user, "GET", "/api/v1/apps")

    assert [a["name"] for a in answer.json()["items"]] == apps


@pytest.mark.parametrize(
    ("user", "app", "status"),
    [
        ("alice", "hello", 201),
        ("demo", "hello", 201),
        (CI, "hello", 201),
        ("dave", "hello", 201),
        ("dave", "payments", 201),
        ("erin", "payments", 201),
        ("bob", "hello", 403),
        ("carol", "hello", 403),
        ("erin", "hello", 404),
        ("alice", "payments", 404),
    ],
)
def test_deploying_needs_the_deployer_role_on_an_owned_app(
    api: Api, user: str, app: str, status: int
) -> None:
    answer = api.deploy(user, app=app)

    assert answer.status_code == status, answer.text
    listed = api.call("dave", "GET", "/api/v1/deployments").json()["items"]
    assert len(listed) == (1 if status == 201 else 0)


def test_service_account_deployments_are_attributed_to_the_ci_client(api: Api) -> None:
    answer = api.deploy(CI)

    assert answer.json()["createdBy"] == "rollway-ci"
    assert answer.json()["provenance"]["createdBy"] == "rollway-ci"


@pytest.mark.parametrize(
    ("approver", "status"),
    [("bob", 200), ("dave", 200), ("demo", 200), ("carol", 403), ("alice", 403), ("erin", 404)],
)
def test_approving_needs_the_approver_role(api: Api, approver: str, status: int) -> None:
    deployment = waiting_deployment(api, "alice")

    answer = api.call(approver, "POST", f"/api/v1/deployments/{deployment}/approve",
                      json={"comment": "looks good"})  # fmt: skip

    assert answer.status_code == status, answer.text
    if status == 200:
        api.reaches(deployment, "succeeded")
    else:
        assert api.get(deployment)["state"] == "waiting"


def test_an_approver_may_not_approve_their_own_deployment(api: Api) -> None:
    deployment = waiting_deployment(api, "demo")  # demo is deployer and approver

    answer = api.call("demo", "POST", f"/api/v1/deployments/{deployment}/approve", json={})

    assert answer.status_code == 403
    assert "someone else" in answer.json()["detail"]
    approved = api.call("bob", "POST", f"/api/v1/deployments/{deployment}/approve",
                        json={"comment": "second pair of eyes"})  # fmt: skip
    assert approved.status_code == 200
    decision = approved.json()["deployment"]["decision"]
    assert (decision["decision"], decision["by"], decision["comment"]) == (
        "approved", "bob", "second pair of eyes",
    )  # fmt: skip


def test_an_admin_may_not_approve_their_own_deployment_either(api: Api) -> None:
    deployment = waiting_deployment(api, "dave")

    answer = api.call("dave", "POST", f"/api/v1/deployments/{deployment}/approve", json={})

    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"].startswith("you started this deployment")


def test_promoting_through_the_approval_gate_is_an_approval(api: Api) -> None:
    deployment = waiting_deployment(api, "alice")

    by_deployer = api.call("alice", "POST", f"/api/v1/deployments/{deployment}/promote")
    by_approver = api.call("bob", "POST", f"/api/v1/deployments/{deployment}/promote")

    assert by_deployer.status_code == 403
    assert by_approver.status_code == 200, by_approver.text
    decision = by_approver.json()["deployment"]["decision"]
    assert (decision["decision"], decision["by"]) == ("approved", "bob")
    done = api.reaches(deployment, "succeeded")
    assert {s["name"]: s["phase"] for s in done["steps"]}["approval"] == "Succeeded"


def test_without_required_approval_the_gate_is_the_deployers_to_pass(api: Api) -> None:
    deployment = api.at_gate("alice")  # dev: no approval required

    by_approver = api.call("bob", "POST", f"/api/v1/deployments/{deployment}/promote")
    by_deployer = api.call("alice", "POST", f"/api/v1/deployments/{deployment}/promote")

    assert by_approver.status_code == 403
    assert by_deployer.status_code == 200, by_deployer.text
    done = api.reaches(deployment, "succeeded")
    assert done["decision"] is None
    assert {s["name"]: s["phase"] for s in done["steps"]}["promote"] == "Succeeded"


def test_rejecting_stops_the_workflow_and_takes_the_preview_down(api: Api) -> None:
    deployment = waiting_deployment(api, "alice")

    answer = api.call("bob", "POST", f"/api/v1/deployments/{deployment}/reject",
                      json={"comment": "not on a Friday"})  # fmt: skip

    assert answer.status_code == 200, answer.text
    assert "rollout aborted back to the stable version" in answer.json()["detail"]
    assert answer.json()["deployment"]["decision"]["comment"] == "not on a Friday"
    rejected = api.reaches(deployment, "rejected")
    steps = {s["name"]: s["phase"] for s in rejected["steps"]}
    assert (steps["approval"], steps["promote"]) == ("Failed", "Omitted"), steps
    path = "/api/v1/apps/hello/environments/prod/rollout"

    def aborted() -> dict | None:
        rollout = api.call("carol", "GET", path).json()
        return rollout if rollout["phase"] == "Degraded" and rollout["aborted"] else None

    assert "abort" in wait_for("the rollout to be aborted", aborted)["message"].lower()


@pytest.mark.parametrize(("user", "status"), [("carol", 403), ("erin", 404), ("alice", 200)])
def test_aborting_needs_the_deployer_role(api: Api, user: str, status: int) -> None:
    deployment = api.at_gate("alice")

    answer = api.call(user, "POST", f"/api/v1/deployments/{deployment}/abort")

    assert answer.status_code == status, answer.text
    if status == 200:
        api.reaches(deployment, "aborted")
    else:
        assert api.get(deployment)["state"] == "waiting"


@pytest.mark.parametrize(("user", "status"), [("carol", 200), ("erin", 404), ("dave", 200)])
def test_deployment_details_follow_the_app(api: Api, user: str, status: int) -> None:
    deployment = api.deploy("alice").json()["id"]

    assert api.call(user, "GET", f"/api/v1/deployments/{deployment}").status_code == status
    listed = api.call(user, "GET", "/api/v1/deployments").json()["items"]
    assert [d["id"] for d in listed] == ([deployment] if status == 200 else [])


@pytest.mark.parametrize(
    ("user", "project", "status"),
    [("alice", "hello", 201), ("alice", "payments", 404), ("carol", "hello", 403),
     ("dave", "payments", 201)],
)  # fmt: skip
def test_registering_an_app_in_a_project(api: Api, user: str, project: str, status: int) -> None:
    spec = api.spec(name="orders", environments=[{"name": "dev"}], project=project)
    allow(api.call, project, namespaces=namespaces(spec))

    answer = api.call(user, "POST", "/api/v1/apps", json=spec)

    assert answer.status_code == status, answer.text
    listed = api.call("dave", "GET", "/api/v1/apps").json()["items"]
    assert ("orders" in [a["name"] for a in listed]) is (status == 201)


@pytest.mark.parametrize(("user", "status"), [("alice", 200), ("carol", 403), ("erin", 404)])
def test_updating_an_app(api: Api, user: str, status: int) -> None:
    spec = {k: v for k, v in api.spec().items() if k != "name"} | {"strategy": "canary"}

    answer = api.call(user, "PUT", "/api/v1/apps/hello", json=spec)

    assert answer.status_code == status, answer.text
    strategy = api.call("dave", "GET", "/api/v1/apps/hello").json()["strategy"]
    assert strategy == ("canary" if status == 200 else "bluegreen")


def test_audit_log_records_who_did_what_including_denials(api: Api) -> None:
    deployment = api.deploy("alice").json()["id"]
    api.call("carol", "POST", f"/api/v1/deployments/{deployment}/abort")
    api.call(None, "POST", "/api/v1/apps/hello/deployments", json={})

    events = api.call("dave", "GET", "/api/v1/audit").json()["items"]
    seen = [(e["actor"], e["action"], e["status"], e["outcome"]) for e in events]

    assert ("alice", "create_deployment", 201, "success") in seen
    assert ("carol", "abort", 403, "denied") in seen
    assert not [e for e in events if e["status"] == 401]  # anonymous calls are only counted
    assert ("dave", "register_app", 201, "success") in seen
    created = next(e for e in events if e["action"] == "create_deployment" and e["status"] == 201)
    assert (created["app"], created["env"], created["target"]) == ("hello", "dev", deployment)
    assert created["source"]
    assert not any("Bearer" in e["detail"] or "eyJ" in e["detail"] for e in events)


@pytest.mark.parametrize(("user", "sees_hello"), [("carol", True), ("erin", False)])
def test_audit_log_is_scoped_to_the_callers_projects(api: Api, user: str, sees_hello: bool) -> None:
    api.deploy("alice")

    events = api.call(user, "GET", "/api/v1/audit").json()["items"]

    assert any(e["app"] == "hello" for e in events) is sees_hello
    assert all(e["app"] is not None for e in events)  # unattributed events are for admins
    filtered = api.call(user, "GET", "/api/v1/audit", params={"app": "hello", "actor": "alice"})
    assert filtered.status_code == (200 if sees_hello else 404)


def test_audit_log_filters_by_time(api: Api) -> None:
    api.deploy("alice")
    events = api.call("dave", "GET", "/api/v1/audit").json()["items"]
    newest = events[0]["at"]

    later = api.call("dave", "GET", "/api/v1/audit", params={"since": newest}).json()["items"]
    earlier = api.call("dave", "GET", "/api/v1/audit", params={"until": newest}).json()["items"]

    assert [e["at"] for e in later] == [newest]
    assert len(earlier) == len(events) - 1
