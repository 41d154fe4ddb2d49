"""An environment whose policy requires approval (`prod`), registered by the admin through the
API: upgrades stop at the gate with the new version up as the preview; only an approver other
than the one who started it lets it go on, and a deployer's `app promote` is no way around it.

The realm's approver bob has no deployer role, so he cannot start a deployment of his own; the
"approver approving their own deployment" case is played by demo, who is deployer and approver.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.flow import HELLO, PROD, Api, Kube, at_gate, deployment_id, reaches, settled
from tests.support.cli import Cli, one_error_line, status

pytestmark = pytest.mark.integration


def test_prod_needs_an_approver_who_did_not_start_the_deployment(
    login: Callable[[str], Cli], app_name: str, api: Api, kube: Kube, devstack_env: dict[str, str]
) -> None:
    spec = api.register_gated(app_name, devstack_env["ROLLWAY_CHART_REPO"])
    assert [e["policy"]["approvalRequired"] for e in spec["environments"]] == [False, True]
    alice, bob, demo, dave = (login(u) for u in ("alice", "bob", "demo", "dave"))
    ns = f"{app_name}-prod"
    # A first release reaches traffic at once: its plan is approved before anything is applied.
    first_release = alice.ok("deploy", app_name, *PROD, "--artifact", f"{HELLO}:1.0.0", "--wait")
    assert "waits for approval" in first_release and kube.rollouts(ns) == []
    # bob reviews what it would apply: its chart at the commit it fetched with the image it
    # built, the very bytes its render step rendered, all of it new to the cluster.
    release = deployment_id(alice, app_name, *PROD)
    review = api.call("bob", "GET", f"/deployments/{release}/plan")
    assert review.status_code == 200, review.text
    reviewed = review.json()
    provenance = status(alice, app_name, *PROD)["deployment"]["provenance"]
    assert reviewed["chartCommit"] == provenance["chartCommit"]
    assert reviewed["matchesRendered"] is True, reviewed
    assert provenance["imageDigest"] in reviewed["manifests"]["diff"]
    assert f"Rollout/{app_name}" in reviewed["manifests"]["changes"]["created"]
    viewer = api.call("carol", "GET", f"/deployments/{release}/plan")
    assert viewer.status_code == 403 and "review" in viewer.json()["detail"]
    bob.ok("approve", release)
    reaches(alice, app_name, settled("succeeded", "Healthy"), "first release approved", *PROD)
    active = kube.selector_hash(ns, app_name)

    # alice (deployer) upgrades: it waits at the gate, the preview up beside the active version.
    waiting = alice.run("upgrade", app_name, *PROD, "--version", "1.1.0", "--wait")
    assert waiting.returncode == 0, waiting.stderr
    assert "waits for approval" in waiting.stdout
    first = at_gate(alice, app_name, *PROD)
    assert f"hint: an approver runs: app approve {first}" in waiting.stderr

    refused = alice.run("approve", first)
    assert refused.returncode == 3
    assert "is needed to approve or reject" in one_error_line(refused.stderr)
    bypass = alice.run("promote", app_name, *PROD)
    assert bypass.returncode == 3, bypass.stderr
    assert "is needed to approve or reject" in one_error_line(bypass.stderr)
    assert at_gate(alice, app_name, *PROD) == first
    assert kube.selector_hash(ns, app_name) == active  # nothing moved

    # At the pause the release is applied already: the same bytes, nothing left to change (the
    # preview is what to look at).
    paused = api.call("bob", "GET", f"/deployments/{first}/plan").json()
    assert paused["matchesRendered"] is True and paused["manifests"]["diff"] == "", paused

    # bob approves the plan he reviewed; a digest that is not the deployment's plan is refused.
    stale = bob.run("approve", first, "--plan", "0" * 64)
    assert stale.returncode == 5
    assert "--plan: the plan changed since you reviewed it" in one_error_line(stale.stderr)
    plan = status(alice, app_name, *PROD)["deployment"]["provenance"]["plan"]
    approved = bob.run("approve", first, "--plan", plan, "--comment", "release notes checked")
    assert approved.returncode == 0, approved.stderr
    done = reaches(alice, app_name, settled("succeeded", "Healthy"), "approved", *PROD)
    decision = done["deployment"]["decision"]
    assert (decision["decision"], decision["by"]) == ("approved", "bob")
    assert decision["comment"] == "release notes checked"
    new = kube.selector_hash(ns, app_name)
    assert new != active and _images(kube, ns, new) == {done["deployment"]["provenance"]["image"]}

    # An approver may not approve what they started: bob cannot start one at all (approver
    # only), demo (deployer and approver) can, and demo's approval is refused.
    cannot = bob.run("upgrade", app_name, *PROD, "--version", "1.0.0")
    assert cannot.returncode == 3
    assert "is needed to deploy or operate" in one_error_line(cannot.stderr)
    demo.ok("upgrade", app_name, *PROD, "--version", "1.0.0", "--wait")
    second = at_gate(demo, app_name, *PROD)
    own = demo.run("approve", second)
    assert own.returncode == 3
    assert one_error_line(own.stderr) == (
        "error: you started this deployment: someone else must approve or reject it"
    )
    assert demo.run("promote", app_name, *PROD).returncode == 3  # not by promoting either
    assert at_gate(demo, app_name, *PROD) == second

    admin = dave.run("approve", second, "-m", "rolling back to 1.0.0")
    assert admin.returncode == 0, admin.stderr
    final = reaches(demo, app_name, settled("succeeded", "Healthy"), "approved by the admin", *PROD)
    assert final["deployment"]["decision"]["by"] == "dave"
    assert _images(kube, ns, kube.selector_hash(ns, app_name)) == {
        final["deployment"]["provenance"]["image"]
    }


def _images(kube: Kube, namespace: str, pod_hash: str) -> set[str]:
    return {
        c["image"] for p in kube.ready_pods(namespace, pod_hash) for c in p["spec"]["containers"]
    }
