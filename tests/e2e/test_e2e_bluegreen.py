"""Blue-green through `app` and the API server on the devstack: an upgrade that is promoted moves
the active Service to the new pods, which trace back to the exact jar and image; an upgrade that
is aborted at its gate never moves it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.flow import (
    HELLO,
    Api,
    Kube,
    ServiceWatch,
    jar_sha256,
    manifest_digest,
    reaches,
    settled,
)
from tests.support.cli import Cli, chart, status
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration


def test_upgrade_then_promote_switches_the_active_service_to_pods_traced_to_the_jar(
    login: Callable[[str], Cli],
    app_name: str,
    api: Api,
    kube: Kube,
    devstack_env: dict[str, str],
) -> None:
    alice, ns = login("alice"), f"{app_name}-dev"
    api.admit(app_name, "dev")  # the platform admin opens project hello to its namespace
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev",
             "--strategy", "bluegreen", "--chart", chart(devstack_env), "--wait")  # fmt: skip
    old = kube.selector_hash(ns, app_name)
    assert old and kube.rollout(ns, app_name)["status"]["stableRS"] == old

    with ServiceWatch(devstack_env, ns) as watch:
        watch.wait_until("the active Service", lambda: watch.observations(app_name) > 0)
        upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--strategy", "bluegreen",
                            "--wait")  # fmt: skip
        assert upgrade.returncode == 0, upgrade.stderr
        assert "awaits promotion" in upgrade.stdout

        paused = status(alice, app_name)
        assert (paused["deployment"]["state"], paused["rollout"]["phase"]) == ("waiting", "Paused")
        new = kube.selector_hash(ns, f"{app_name}-preview")
        assert new not in ("", old)
        assert kube.selector_hash(ns, app_name) == old  # preview up, traffic not switched yet
        assert len(kube.ready_pods(ns, new)) == 2

        promoted = alice.run("promote", app_name)
        assert promoted.returncode == 0, promoted.stderr
        done = reaches(alice, app_name, settled("succeeded", "Healthy"), "promoted and Healthy")
        watch.wait_until(f"the active Service on {new}", lambda: watch.hashes(app_name)[-1] == new)

    assert watch.hashes(app_name) == [old, new]  # one switch, old to new, never back
    rollout = kube.rollout(ns, app_name)["status"]
    assert rollout["stableRS"] == rollout["blueGreen"]["activeSelector"] == new
    assert kube.selector_hash(ns, app_name) == new

    # Provenance: the deployment's record, the running pods and the stores agree.
    provenance = done["deployment"]["provenance"]
    assert provenance["coordinates"] == f"{HELLO}:1.1.0"
    assert provenance["jarSha256"] == jar_sha256(devstack_env, f"{HELLO}:1.1.0")
    image, digest = provenance["image"], provenance["imageDigest"]
    assert image.endswith(f"@{digest}")
    assert manifest_digest(devstack_env, image) == digest
    pods = kube.ready_pods(ns, new)
    assert len(pods) == 2
    for pod in pods:
        annotations = pod["metadata"]["annotations"]
        assert annotations["rollway.io/jar-sha256"] == provenance["jarSha256"], pod["metadata"]
        assert annotations["rollway.io/image-digest"] == digest
        assert annotations["rollway.io/artifact"] == f"{HELLO}:1.1.0"
        assert pod["metadata"]["labels"]["rollway.io/deployment-id"] == done["deployment"]["id"]
        assert [c["image"] for c in pod["spec"]["containers"]] == [image]
        assert [c["image"] for c in pod["status"]["containerStatuses"]] == [image]
    running = {
        i for r in done["rollout"]["revisions"] if "active" in r["status"] for i in r["images"]
    }
    assert running == {image}


def test_abort_at_the_gate_never_moves_the_active_service(
    login: Callable[[str], Cli],
    app_name: str,
    api: Api,
    kube: Kube,
    devstack_env: dict[str, str],
) -> None:
    alice, ns = login("alice"), f"{app_name}-dev"
    api.admit(app_name, "dev")  # the platform admin opens project hello to its namespace
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev",
             "--strategy", "bluegreen", "--chart", chart(devstack_env), "--wait")  # fmt: skip
    old = kube.selector_hash(ns, app_name)
    old_image = status(alice, app_name)["deployment"]["provenance"]["image"]

    with ServiceWatch(devstack_env, ns) as watch:
        watch.wait_until("both Services", lambda: watch.hashes(f"{app_name}-preview") == [old])
        upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--wait")
        assert upgrade.returncode == 0, upgrade.stderr
        gate = status(alice, app_name)
        assert (gate["deployment"]["state"], gate["rollout"]["phase"]) == ("waiting", "Paused")
        assert "approval" in {s["name"] for s in gate["deployment"]["steps"]
                              if s["phase"] == "Running"}  # fmt: skip
        new = kube.rollout(ns, app_name)["status"]["currentPodHash"]
        assert new != old
        preview = f"{app_name}-preview"
        watch.wait_until("the preview on the new pods", lambda: watch.hashes(preview)[-1] == new)

        aborted = alice.run("abort", app_name)
        assert aborted.returncode == 0, aborted.stderr
        assert "rollout aborted back to the stable version" in aborted.stdout
        final = reaches(alice, app_name, lambda s: s["deployment"]["state"] == "aborted", "aborted")
        rollout = wait_for("the Rollout to be aborted", lambda: _aborted(kube, ns, app_name))
        # The watch saw every change of the Services until here: the preview moved, the
        # active Service never did.
        assert watch.hashes(f"{app_name}-preview") == [old, new]

    assert watch.hashes(app_name) == [old], watch.events
    assert watch.observations(app_name) >= 2  # the initial state and the upgrade's apply
    assert kube.selector_hash(ns, app_name) == old
    assert rollout["status"]["stableRS"] == rollout["status"]["blueGreen"]["activeSelector"] == old
    assert final["rollout"]["aborted"] is True
    assert final["rollout"]["phase"] == "Degraded"  # as `kubectl argo rollouts` shows an abort
    # Back on the stable version: its pods all serve, the new ones are scheduled to go.
    assert kube.replicas(ns, old) == (2, 2)
    assert all(p["spec"]["containers"][0]["image"] == old_image for p in kube.ready_pods(ns, old))
    doomed = kube.replicasets(ns)[new]["metadata"]["annotations"]
    assert "scale-down-deadline" in doomed
    steps = {s["name"]: s["phase"] for s in final["deployment"]["steps"]}
    assert steps.get("promote") != "Succeeded" and steps.get("wait-healthy") != "Succeeded"


def _aborted(kube: Kube, namespace: str, name: str) -> dict[str, Any]:
    rollout = kube.rollout(namespace, name)
    return rollout if rollout["status"].get("abort") else {}
