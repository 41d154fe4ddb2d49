"""Every way around an environment's approval, tried and refused (docs/security.md, Approvals).

Each test registers, as the admin, a project (hello's groups: alice deploys, bob approves, demo
does both) and an application whose `prod` requires approval, on a fresh in-process API server
whose real embedded engine runs the whole pipeline on the devstack. alice starts the releases.
Each bypass must answer 403/409/422 problem+json naming the reason, and what serves users (the
active Service's pods, the Rollout's stable ReplicaSet and its pod template) must not move.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.flow import Kube
from tests.integration.apiserver.conftest import ENDED, Api, Tokens
from tests.security.conftest import bare
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


class Prod:
    """One application's `prod` (approval required) and the calls the tests make on it."""

    def __init__(self, server: Api, kube: Kube, env: dict[str, str], name: str) -> None:
        self.server, self.kube, self.env, self.name = server, kube, env, name
        self.namespace = f"{server.prefix}-{name}-prod"

    def register(self, strategy: str, policy: dict[str, Any], **parameters: Any) -> None:
        """A project of hello's groups allowing just this app, and the app in it (as dave)."""
        project = f"{self.server.prefix}-p"
        answer = self.server.call("dave", "POST", "/api/v1/projects", json={
            "name": project,
            "members": {"viewer": ["team-hello"], "deployer": ["hello-deployers"],
                        "approver": ["hello-approvers"]},
            "guardrails": {"namespaces": [self.namespace],
                           "chartRepositories": [self.env["ROLLWAY_CHART_REPO"]],
                           "mavenGroups": ["com.example"]},
        })  # fmt: skip
        assert answer.status_code == 201, answer.text
        answer = self.server.call("dave", "POST", "/api/v1/apps", json={
            "name": self.name,
            "project": project,
            "environments": [{"name": "prod", "namespace": self.namespace,
                              "policy": {"approvalRequired": True, **policy}}],
            "chart": {"repo": self.env["ROLLWAY_CHART_REPO"], "path": "charts/app",
                      "ref": "main"},
            "artifact": "com.example:hello",
            "strategy": strategy,
            "parameters": parameters,
        })  # fmt: skip
        assert answer.status_code == 201, answer.text

    # -- deployments ----------------------------------------------------------------------------

    def start(self, user: str, version: str, kind: str = "upgrade", **body: Any) -> str:
        answer = self.server.call(user, "POST", f"/api/v1/apps/{self.name}/deployments",
                                  json={"env": "prod", "kind": kind, "version": version,
                                        **body})  # fmt: skip
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def get(self, deployment: str) -> dict[str, Any]:
        return self.server.get(deployment)

    def waits(self, deployment: str, gate: str) -> dict[str, Any]:
        """The deployment waits at `gate` (`plan-approval` or `approval`)."""

        def check() -> dict[str, Any] | None:
            found = self.get(deployment)
            assert found["state"] not in ENDED, (found["state"], found["message"], found["steps"])
            phases = {s["name"]: s["phase"] for s in found["steps"]}
            return found if found["state"] == "waiting" and phases.get(gate) == "Running" else None

        return wait_for(f"{deployment} to wait at {gate}", check, timeout=240)

    def act(self, user: str, deployment: str, action: str, **body: Any) -> httpx.Response:
        return self.server.call(user, "POST", f"/api/v1/deployments/{deployment}/{action}",
                                json=body)  # fmt: skip

    def approved(self, deployment: str, *approvers: str) -> dict[str, Any]:
        for approver in approvers:
            answer = self.act(approver, deployment, "approve")
            assert answer.status_code == 200, answer.text
        return self.server.reaches(deployment, "succeeded")

    def live(self, version: str = "1.0.0", approvers: tuple[str, ...] = ("bob",)) -> str:
        """A first release, approved before anything was applied (no Rollout existed yet)."""
        first = self.start("alice", version, kind="deploy")
        self.waits(first, "plan-approval")
        assert self.kube.rollouts(self.namespace) == []
        self.approved(first, *approvers)
        return first

    # -- what serves users -----------------------------------------------------------------------

    def serving(self) -> dict[str, str]:
        """What users get: the Rollout's stable ReplicaSet and the pods its Service selects."""
        rollout = self.kube.rollout(self.namespace, self.name)
        return {
            "stable": (rollout.get("status") or {}).get("stableRS", ""),
            "active": self.kube.selector_hash(self.namespace, self.name),
        }

    def applied(self) -> str:
        """The deployment whose pod template the Rollout holds (a preview's, at a pause)."""
        rollout = self.kube.rollout(self.namespace, self.name)
        return str(rollout["spec"]["template"]["metadata"]["labels"]["rollway.io/deployment-id"])


def refused(answer: httpx.Response, status: int, *words: str) -> dict[str, Any]:
    """A problem+json refusal with `status` whose detail names the reason (`words`)."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    problem = dict(answer.json())
    for word in words:
        assert word in problem["detail"], problem
    return problem


@pytest.fixture
def prod(devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path) -> Iterator[Prod]:
    with bare(devstack_env, tokens, tmp_path) as server:
        yield Prod(server, Kube(devstack_env["KUBECONFIG"]), devstack_env, "hello")


def test_a_rolling_update_is_approved_before_anything_is_applied(prod: Prod) -> None:
    prod.register("rolling", {})
    first = prod.live()
    before = prod.serving()
    waiting = prod.waits(prod.start("alice", "1.1.0"), "plan-approval")
    gate = {s["name"]: s["outputs"] for s in waiting["steps"]}["render"]
    assert gate["gate"] == "plan" and "rolling update" in gate["gate-reason"]

    refused(prod.act("alice", waiting["id"], "promote", full=True), 403, "approval")
    assert prod.serving() == before and prod.applied() == first  # nothing was applied
    prod.approved(waiting["id"], "bob")
    assert prod.applied() == waiting["id"]


def test_auto_promotion_by_a_set_value_is_approved_before_anything_is_applied(
    prod: Prod,
) -> None:
    prod.register("bluegreen", {})
    first = prod.live()
    before = prod.serving()
    sneaky = {"set": {"bluegreen.autoPromotionEnabled": True}}
    waiting = prod.waits(prod.start("alice", "1.1.0", overrides=sneaky), "plan-approval")
    gate = {s["name"]: s["outputs"] for s in waiting["steps"]}["render"]
    assert gate["gate"] == "plan" and "autoPromotionEnabled" in gate["gate-reason"]

    refused(prod.act("alice", waiting["id"], "promote"), 403, "approval")
    assert prod.serving() == before and prod.applied() == first  # not even a preview
    refused(prod.act("alice", waiting["id"], "reject"), 403, "approver")
    assert prod.act("bob", waiting["id"], "reject").status_code == 200


def test_a_canary_without_a_pause_is_approved_before_anything_is_applied(prod: Prod) -> None:
    prod.register("canary", {}, canarySteps=[{"setWeight": 50}, {"pause": {"duration": 5}}])
    first = prod.live()
    before = prod.serving()
    waiting = prod.waits(prod.start("alice", "1.1.0"), "plan-approval")
    gate = {s["name"]: s["outputs"] for s in waiting["steps"]}["render"]
    assert "no pause without a duration" in gate["gate-reason"]
    refused(prod.act("alice", waiting["id"], "promote", full=True), 403, "approval")
    assert prod.serving() == before and prod.applied() == first
    assert prod.act("alice", waiting["id"], "abort").status_code == 200


def test_promote_full_before_the_approvals_is_refused(prod: Prod) -> None:
    prod.register("bluegreen", {})
    prod.live()
    before = prod.serving()
    upgrade = prod.start("alice", "1.1.0")
    # At once, while the pipeline still builds: no gate reached, no approval.
    early = refused(prod.act("alice", upgrade, "promote", full=True), 403,
                    "needs 1 more approval(s) of its plan", "--full")  # fmt: skip
    assert early["field"] == "policy.approvalRequired"
    prod.waits(upgrade, "approval")
    refused(prod.act("alice", upgrade, "promote", full=True), 403, "approver role")
    assert prod.serving() == before  # the preview is up; the active Service did not move
    prod.approved(upgrade, "bob")
    assert prod.applied() == upgrade and prod.serving() != before


def test_a_rollback_to_a_rejected_revision_is_refused(prod: Prod) -> None:
    prod.register("bluegreen", {})
    first = prod.live()
    rejected = prod.start("alice", "1.1.0")
    prod.waits(rejected, "approval")
    assert prod.act("bob", rejected, "reject", comment="not this one").status_code == 200
    prod.server.reaches(rejected, "rejected")
    rollback = f"/api/v1/apps/{prod.name}/environments/prod/rollout/rollback"

    # Back to the approved revision first (the rejected template is still the Rollout's spec).
    back = prod.server.call("alice", "POST", rollback, json={"revision": 1})
    assert back.status_code == 200, back.text
    wait_for("the approved version to be applied again", lambda: prod.applied() == first)
    before = prod.serving()
    digest = prod.get(rejected)["provenance"]["imageDigest"]
    history = prod.server.call("alice", "GET", rollback.replace("/rollback", "/history"))
    assert history.status_code == 200, history.text
    revision = next(r["revision"] for r in history.json()["items"]
                    if any(digest in image for image in r["images"]))  # fmt: skip
    problem = refused(prod.server.call("alice", "POST", rollback, json={"revision": revision}),
                      403, f"revision {revision}", rejected, "was never approved")  # fmt: skip
    assert problem["field"] == "policy.approvalRequired"
    refused(prod.act("alice", first, "promote"), 409)  # nothing paused, nothing to promote
    assert prod.serving() == before


def test_nobody_approves_their_own_deployment_admins_neither(prod: Prod) -> None:
    prod.register("bluegreen", {})
    prod.live()
    before = prod.serving()
    own = prod.start("demo", "1.1.0")  # demo deploys and approves in hello
    prod.waits(own, "approval")
    refused(prod.act("demo", own, "approve"), 403, "you started this deployment")
    refused(prod.act("demo", own, "promote"), 403, "you started this deployment")
    assert prod.act("demo", own, "abort").status_code == 200
    prod.server.reaches(own, "aborted")

    admins = prod.start("dave", "1.1.0")
    prod.waits(admins, "approval")
    refused(prod.act("dave", admins, "approve"), 403, "you started this deployment")
    assert prod.serving() == before
    prod.approved(admins, "bob")


def test_a_second_approval_by_the_same_person_does_not_count(prod: Prod) -> None:
    prod.register("bluegreen", {"approvers": 2})
    prod.live(approvers=("bob", "demo"))
    before = prod.serving()
    upgrade = prod.start("alice", "1.1.0")
    prod.waits(upgrade, "approval")
    first = prod.act("bob", upgrade, "approve")
    assert first.status_code == 200 and "approval 1 of 2" in first.json()["detail"], first.text
    refused(prod.act("bob", upgrade, "approve"), 409, "bob approved this plan already")
    refused(prod.act("bob", upgrade, "promote"), 409, "bob approved this plan already")
    assert prod.waits(upgrade, "approval")["decision"] is None
    assert prod.serving() == before
    prod.approved(upgrade, "demo")
    assert [a["by"] for a in prod.get(upgrade)["approvals"]] == ["bob", "demo"]


def test_an_approval_of_another_plan_is_refused_and_does_not_count(prod: Prod) -> None:
    prod.register("bluegreen", {"approvers": 2})
    prod.live(approvers=("bob", "demo"))
    before = prod.serving()
    reviewed = prod.start("alice", "1.1.0")
    plan = prod.waits(reviewed, "approval")["provenance"]["plan"]
    assert prod.act("bob", reviewed, "approve", plan=plan).status_code == 200  # 1 of 2
    assert prod.act("alice", reviewed, "abort").status_code == 200
    prod.server.reaches(reviewed, "aborted")

    # Another plan (another parameter) for the same version: the review and bob's approval are
    # void.
    changed = prod.start("alice", "1.1.0", overrides={"replicas": 3})
    now = prod.waits(changed, "approval")["provenance"]["plan"]
    assert now != plan
    problem = refused(prod.act("demo", changed, "approve", plan=plan), 409,
                      "the plan changed since you reviewed it")  # fmt: skip
    assert problem["field"] == "body.plan" and problem["plan"] == now
    counted = prod.act("demo", changed, "approve", plan=now)
    assert counted.status_code == 200 and "approval 1 of 2" in counted.json()["detail"]
    assert prod.serving() == before


def test_an_expired_approval_no_longer_counts(prod: Prod) -> None:
    prod.register("bluegreen", {"approvers": 2, "approvalExpirySeconds": 2})
    prod.live(approvers=("bob", "demo"))
    before = prod.serving()
    upgrade = prod.start("alice", "1.1.0")
    prod.waits(upgrade, "approval")
    assert prod.act("bob", upgrade, "approve").status_code == 200
    expires = datetime.fromisoformat(prod.get(upgrade)["approvals"][0]["expiresAt"])
    wait_for("bob's approval to expire", lambda: time.time() > expires.timestamp() + 0.5,
             timeout=30)  # fmt: skip

    late = prod.act("demo", upgrade, "approve")
    assert late.status_code == 200 and "approval 1 of 2" in late.json()["detail"], late.text
    refused(prod.act("alice", upgrade, "promote"), 403, "1 more approval(s)", "approver role")
    assert prod.waits(upgrade, "approval")["decision"] is None
    assert prod.serving() == before
    assert prod.act("alice", upgrade, "abort").status_code == 200
