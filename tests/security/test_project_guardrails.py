"""The attacks of issue 12 by a deployer of project hello, each refused with a problem naming the
guardrail and changing nothing: real tokens, the real server, the real engine behind it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.apiserver.conftest import Api, Tokens, serving

pytestmark = pytest.mark.integration


@pytest.fixture
def api(devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path) -> Iterator[Api]:
    """hello (prod requires approval) and payments registered by the admin."""
    with serving(devstack_env, tokens, tmp_path) as server:
        yield server


def refused(answer: Any, status: int, field: str, detail: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert (answer.json()["field"], answer.json()["detail"]) == (field, detail)


def spec_of(api: Api, app: str = "hello") -> dict[str, Any]:
    found = api.call("dave", "GET", f"/api/v1/apps/{app}").json()
    return {k: v for k, v in found.items() if k not in ("name", "createdBy", "createdAt",
                                                          "updatedAt")}  # fmt: skip


def test_a_deployer_cannot_register_into_kube_system_or_another_projects_namespace(
    api: Api,
) -> None:
    base = {"name": "sneaky", "chart": {"repo": spec_of(api)["chart"]["repo"]},
            "artifact": "com.example:hello", "project": "hello"}  # fmt: skip
    payments = spec_of(api, "payments")["environments"][0]["namespace"]

    system = api.call("alice", "POST", "/api/v1/apps", json={
        **base, "environments": [{"name": "dev", "namespace": "kube-system"}]})  # fmt: skip
    theirs = api.call("alice", "POST", "/api/v1/apps", json={
        **base, "environments": [{"name": "dev", "namespace": payments}]})  # fmt: skip

    refused(system, 403, "body.environments[0].namespace",
            "namespace kube-system is not among project hello's namespaces"
            f" ({', '.join(sorted(api_namespaces(api)))})")  # fmt: skip
    refused(theirs, 403, "body.environments[0].namespace",
            f"namespace {payments} belongs to project payments")  # fmt: skip
    assert api.call("dave", "GET", "/api/v1/apps/sneaky").status_code == 404


def api_namespaces(api: Api) -> list[str]:
    return list(
        api.call("dave", "GET", "/api/v1/projects/hello").json()["guardrails"]["namespaces"]
    )


def test_a_deployer_cannot_turn_off_the_approval_an_admin_required(api: Api) -> None:
    spec = spec_of(api)
    for env in spec["environments"]:
        env["policy"]["approvalRequired"] = False

    answer = api.call("alice", "PUT", "/api/v1/apps/hello", json=spec)

    refused(answer, 403, "body.environments",
            "the policy of environment prod is changed only by project admins of hello or"
            " platform admins")  # fmt: skip
    prod = [e for e in spec_of(api)["environments"] if e["name"] == "prod"][0]
    assert prod["policy"]["approvalRequired"] is True


def prod_of(api: Api, app: str) -> dict[str, Any]:
    return next(e for e in spec_of(api, app)["environments"] if e["name"] == "prod")


def test_a_second_app_in_prods_namespace_takes_its_approval(api: Api) -> None:
    """Registering another app into the namespace of an approval-required environment is no way
    around the approval: named no policy, it takes the namespace's; named a weaker one, refused."""
    prod = prod_of(api, "hello")
    base = {"chart": {"repo": spec_of(api)["chart"]["repo"]}, "artifact": "com.example:hello",
            "project": "hello"}  # fmt: skip

    weaker = api.call("alice", "POST", "/api/v1/apps", json={
        **base, "name": "sidecar", "environments": [{
            "name": "live", "namespace": prod["namespace"], "policy": {"approvalRequired": False}}],
    })  # fmt: skip
    silent = api.call("alice", "POST", "/api/v1/apps", json={
        **base, "name": "twin", "environments": [{"name": "prod", "namespace": prod["namespace"]}],
    })  # fmt: skip

    refused(weaker, 403, "body.environments",
            "the policy of environment live is changed only by project admins of hello or"
            " platform admins")  # fmt: skip
    assert api.call("dave", "GET", "/api/v1/apps/sidecar").status_code == 404
    assert silent.status_code == 201, silent.text
    assert prod_of(api, "twin")["policy"] == prod["policy"]
    assert prod["policy"]["approvalRequired"] is True
    plan = api.call("alice", "POST", "/api/v1/apps/twin/deployments", params={"dryRun": "true"},
                    json={"env": "prod", "version": "1.0.0"})  # fmt: skip
    assert plan.status_code == 200, plan.text
    assert plan.json()["approvalRequired"] is True


def test_a_project_admins_policy_holds_for_every_app_in_the_namespace(api: Api) -> None:
    prod = prod_of(api, "hello")
    twin = {"name": "twin", "chart": {"repo": spec_of(api)["chart"]["repo"]},
            "artifact": "com.example:hello", "project": "hello",
            "environments": [{"name": "prod", "namespace": prod["namespace"]}]}  # fmt: skip
    assert api.call("alice", "POST", "/api/v1/apps", json=twin).status_code == 201
    spec = spec_of(api)
    for env in spec["environments"]:
        if env["name"] == "prod":
            env["policy"]["approvers"] = 2

    answer = api.call("frank", "PUT", "/api/v1/apps/hello", json=spec)

    assert answer.status_code == 200, answer.text
    assert prod_of(api, "twin")["policy"]["approvers"] == 2
    moved = spec_of(api, "twin")
    moved["environments"][0]["policy"]["approvers"] = 1
    refused(api.call("alice", "PUT", "/api/v1/apps/twin", json=moved), 403, "body.environments",
            "the policy of environment prod is changed only by project admins of hello or"
            " platform admins")  # fmt: skip


def test_a_project_admin_changes_policy_and_the_audit_has_before_and_after(api: Api) -> None:
    spec = spec_of(api)
    for env in spec["environments"]:
        env["policy"]["approvalRequired"] = False

    answer = api.call("frank", "PUT", "/api/v1/apps/hello", json=spec)

    assert answer.status_code == 200, answer.text
    events = api.call("dave", "GET", "/api/v1/audit", params={"actor": "frank"}).json()["items"]
    change = next(e for e in events if e["action"] == "update_app")
    prod = json.loads(change["detail"])["policy"]["prod"]
    assert (prod["before"]["approvalRequired"], prod["after"]["approvalRequired"]) == (True, False)


def test_a_guardrail_narrowed_after_registration_stops_the_next_deployment(api: Api) -> None:
    project = api.call("dave", "GET", "/api/v1/projects/hello").json()
    dev = spec_of(api)["environments"][0]["namespace"]
    narrowed = {"description": project["description"], "members": project["members"],
                "guardrails": {**project["guardrails"], "namespaces": [
                    n for n in project["guardrails"]["namespaces"] if n != dev]}}  # fmt: skip
    assert api.call("frank", "PUT", "/api/v1/projects/hello", json=narrowed).status_code == 200

    deploy = api.deploy("alice", env="dev")
    plan = api.call("alice", "POST", "/api/v1/apps/hello/deployments",
                    params={"dryRun": "true"}, json={"env": "dev", "version": "1.0.0"})  # fmt: skip

    detail = f"namespace {dev} is not among project hello's namespaces"
    for answer in (deploy, plan):
        assert answer.status_code == 403, answer.text
        assert answer.json()["field"] == "app.environments[0].namespace"
        assert answer.json()["detail"].startswith(detail)
    assert api.call("dave", "GET", "/api/v1/deployments").json()["items"] == []
    widened = api.call("frank", "PUT", "/api/v1/projects/hello",
                       json={**narrowed, "guardrails": project["guardrails"]})  # fmt: skip
    refused(widened, 403, "body.guardrails.namespaces",
            f"only platform admins may widen a project's guardrails (namespaces: {dev});"
            " project admins may narrow them")  # fmt: skip
