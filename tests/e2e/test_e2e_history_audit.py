"""History and audit of one application's life: deploy, upgrade, promote, rollback, abort in dev;
deploy, a refused approval, a rejection and an approval in prod. `app history` lists every
deployment with its state and who started it; `GET /api/v1/audit` every mutating call, in order,
with the actor, the outcome and the address it came from."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.flow import HELLO, Api, Kube, deployment_id, reaches, settled, settles
from tests.support.cli import Cli
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

DEV, PROD = ("--env", "dev"), ("--env", "prod")


def test_history_and_audit_record_every_deployment_and_every_call(
    login: Callable[[str], Cli], app_name: str, api: Api, kube: Kube, devstack_env: dict[str, str]
) -> None:
    api.register("dave", {
        "name": app_name,
        "environments": [{"name": "dev"}, {"name": "prod", "policy": {"approvalRequired": True}}],
        "chart": {"repo": devstack_env["ROLLWAY_CHART_REPO"]},
        "artifact": HELLO,
    })  # fmt: skip
    alice, bob = login("alice"), login("bob")
    #: (actor, action, deployment or environment, outcome), oldest first.
    calls: list[tuple[str, str, str | None, str]] = [("dave", "register_app", None, "success")]

    # dev: deploy, upgrade + promote, rollback, then an upgrade aborted at its gate.
    alice.ok("deploy", app_name, *DEV, "--artifact", f"{HELLO}:1.0.0", "--wait")
    d1 = deployment_id(alice, app_name, *DEV)
    alice.ok("upgrade", app_name, *DEV, "--version", "1.1.0", "--wait")
    d2 = deployment_id(alice, app_name, *DEV)
    alice.ok("promote", app_name, *DEV)
    reaches(alice, app_name, settled("succeeded", "Healthy"), "1.1.0 promoted", *DEV)
    alice.ok("rollback", app_name, *DEV)
    calls += [("alice", "create_deployment", d1, "success"),
              ("alice", "create_deployment", d2, "success"), ("alice", "promote", d2, "success"),
              ("alice", "rollback", "dev", "success")]  # fmt: skip
    if settles(kube, f"{app_name}-dev", app_name) == "Paused":  # not fast-tracked: promote it
        alice.ok("promote", app_name, *DEV)
        calls.append(("alice", "promote", d2, "success"))
        wait_for("the rollback to be promoted",
                 lambda: settles(kube, f"{app_name}-dev", app_name) == "Healthy")  # fmt: skip
    alice.ok("upgrade", app_name, *DEV, "--version", "1.1.0", "--wait")
    d3 = deployment_id(alice, app_name, *DEV)
    alice.ok("abort", app_name, *DEV)
    reaches(alice, app_name, lambda s: s["deployment"]["state"] == "aborted", "aborted", *DEV)
    calls += [("alice", "create_deployment", d3, "success"), ("alice", "abort", d3, "success")]

    # prod: a first deploy bob approves before it is applied, an upgrade alice may not approve
    # and bob rejects, one bob approves.
    alice.ok("deploy", app_name, *PROD, "--artifact", f"{HELLO}:1.0.0", "--wait")
    d4 = deployment_id(alice, app_name, *PROD)
    bob.ok("approve", d4)
    reaches(alice, app_name, settled("succeeded", "Healthy"), "first release approved", *PROD)
    alice.ok("upgrade", app_name, *PROD, "--version", "1.1.0", "--wait")
    d5 = deployment_id(alice, app_name, *PROD)
    assert alice.run("approve", d5).returncode == 3
    bob.ok("reject", d5, "--comment", "not during the freeze")
    reaches(alice, app_name, lambda s: s["deployment"]["state"] == "rejected", "rejected", *PROD)
    alice.ok("upgrade", app_name, *PROD, "--version", "1.1.0", "--wait")
    d6 = deployment_id(alice, app_name, *PROD)
    bob.ok("approve", d6)
    reaches(alice, app_name, settled("succeeded", "Healthy"), "approved", *PROD)
    calls += [("alice", "create_deployment", d4, "success"), ("bob", "approve", d4, "success"),
              ("alice", "create_deployment", d5, "success"), ("alice", "approve", d5, "denied"),
              ("bob", "reject", d5, "success"), ("alice", "create_deployment", d6, "success"),
              ("bob", "approve", d6, "success")]  # fmt: skip

    # History: every deployment, newest first, with its kind, version, state and who.
    dev = alice.json("history", app_name, *DEV)["deployments"]
    assert [(d["id"], d["kind"], d["version"], d["state"], d["createdBy"]) for d in dev] == [
        (d3, "upgrade", "1.1.0", "aborted", "alice"),
        (d2, "upgrade", "1.1.0", "succeeded", "alice"),
        (d1, "deploy", "1.0.0", "succeeded", "alice"),
    ]
    prod = alice.json("history", app_name, *PROD)
    assert [(d["id"], d["kind"], d["state"], d["createdBy"]) for d in prod["deployments"]] == [
        (d6, "upgrade", "succeeded", "alice"),
        (d5, "upgrade", "rejected", "alice"),
        (d4, "deploy", "succeeded", "alice"),
    ]
    by_revision = {r["revision"]: r["deploymentId"] for r in prod["revisions"]}
    # Each revision traced to the deployment that made it; the rejected one's revision (its
    # preview) is kept by the controller but no succeeded deployment runs it.
    assert by_revision == {3: d6, 2: None, 1: d4}
    decisions = {d: _decision(api, d) for d in (d5, d6)}
    assert decisions == {
        d5: ("rejected", "bob", "not during the freeze"),
        d6: ("approved", "bob", ""),
    }

    # Audit: exactly these calls, newest first, each with who, outcome and source address.
    events = _audit(api, app_name)
    assert [(e["actor"], e["action"], e["target"] or e["env"], e["outcome"]) for e in events] == [
        *reversed(calls)
    ]
    assert {e["source"] for e in events} == {"127.0.0.1"}
    assert {e["method"] for e in events} <= {"POST", "PUT", "PATCH", "DELETE"}
    assert [e["at"] for e in events] == sorted((e["at"] for e in events), reverse=True)
    denied = next(e for e in events if e["outcome"] == "denied")
    assert (denied["status"], denied["path"]) == (403, f"/api/v1/deployments/{d5}/approve")
    assert "is needed to approve or reject" in denied["detail"]
    rollback = next(e for e in events if e["action"] == "rollback")
    assert (rollback["app"], rollback["env"], rollback["status"]) == (app_name, "dev", 200)
    assert rollback["detail"] == "rolled back to revision 1"
    created = [e for e in events if e["action"] == "create_deployment"]
    assert {(e["status"], e["app"]) for e in created} == {(201, app_name)}
    assert {e["env"] for e in created if e["target"] in (d1, d2, d3)} == {"dev"}
    # The audit is the admin's to read across teams; a viewer of the team sees the same events.
    assert _audit(api, app_name, "carol") == events
    # Filtered by action on the server, the same events of that action, newest first.
    assert _audit(api, app_name, action="create_deployment") == created
    bad = api.call("dave", "GET", "/audit", params={"action": "Approve It"})
    assert bad.status_code == 422 and "query.action" in bad.text


def _decision(api: Api, deployment: str) -> tuple[str, str, str]:
    found = api.call("alice", "GET", f"/deployments/{deployment}").json()["decision"]
    return found["decision"], found["by"], found["comment"]


def _audit(api: Api, app: str, user: str = "dave", **filters: str) -> list[dict[str, Any]]:
    answer = api.call(user, "GET", "/audit", params={"app": app, "limit": 500, **filters})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["nextCursor"] is None
    return list(page["items"])
