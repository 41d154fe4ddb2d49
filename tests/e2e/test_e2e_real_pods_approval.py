"""The approval gate on the Argo engine, every step in a pod on the real node and the app's pods
answering HTTP: an upgrade of `prod` (approval required) suspends at the gate with the new
version answering on the preview Service; a rejection stops it, an approval lets it through, and
until then the active Service never answered the new version. Each workflow's exit handler
reports its end back to the in-cluster API server."""

from __future__ import annotations

import pytest

from devstack.components.release import NAMESPACE as RELEASE_NAMESPACE
from tests.e2e.flow import (
    HELLO,
    PROD,
    Engine,
    Kube,
    at_gate,
    deployment_id,
    reaches,
    reported_back,
    settled,
)
from tests.e2e.traffic import ON_REAL_NODE, Answers, answer, answers_with, service_url
from tests.support.helpers import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]


def test_gate_on_argo_holds_the_preview_a_rejection_stops_it_and_an_approval_releases_it(
    argo: Engine, app_name: str, kube: Kube
) -> None:
    argo.api.register_gated(app_name, argo.chart_repo, ON_REAL_NODE)
    alice, bob = argo.login("alice"), argo.login("bob")
    ns = f"{app_name}-prod"
    # A first release reaches traffic at once: its plan is approved before anything is applied.
    first = alice.ok("deploy", app_name, *PROD, "--artifact", f"{HELLO}:1.0.0", "--wait")
    assert "waits for approval" in first
    bob.ok("approve", deployment_id(alice, app_name, *PROD))
    reaches(alice, app_name, settled("succeeded", "Healthy"), "first release approved", *PROD)
    active = service_url(kube, ns, app_name)
    wait_for("the active Service answers 1.0.0", answers_with(active, "hello 1.0.0"), timeout=60)

    with Answers(active) as watched:
        waiting = alice.run("upgrade", app_name, *PROD, "--version", "1.1.0", "--wait")
        assert waiting.returncode == 0, waiting.stderr
        assert "waits for approval" in waiting.stdout
        rejected = at_gate(alice, app_name, *PROD)
        preview = service_url(kube, ns, f"{app_name}-preview")
        assert answer(preview) == "hello 1.1.0"
        bob.ok("reject", rejected, "--comment", "not during the freeze")
        stopped = reaches(alice, app_name, lambda s: s["deployment"]["state"] == "rejected",
                          "rejected", *PROD)  # fmt: skip
        steps = {s["name"]: s["phase"] for s in stopped["deployment"]["steps"]}
        assert steps.get("promote") != "Succeeded" and steps.get("wait-healthy") != "Succeeded"
        # A stopped workflow still runs its exit handler, which reports the stop.
        reported_back(kube, argo.api, RELEASE_NAMESPACE, rejected, "Failed")

        alice.ok("upgrade", app_name, *PROD, "--version", "1.1.0", "--wait")
        approved = at_gate(alice, app_name, *PROD)
        assert answer(active) == "hello 1.0.0"
        before = len(watched.seen)
        bob.ok("approve", approved, "--comment", "release notes checked")
        done = reaches(alice, app_name, settled("succeeded", "Healthy"), "approved", *PROD)
        wait_for("the active Service answers 1.1.0", answers_with(active, "hello 1.1.0"),
                 timeout=60)  # fmt: skip

    assert before and set(watched.seen[:before]) == {"hello 1.0.0"}, set(watched.seen[:before])
    assert (done["deployment"]["decision"]["decision"], done["deployment"]["decision"]["by"]) == (
        "approved", "bob",
    )  # fmt: skip
    reported_back(kube, argo.api, RELEASE_NAMESPACE, approved, "Succeeded")
