"""Rollback through `app`: to the previous revision, then to a revision by number; each time the
image of that revision is what the active Service's pods run again.

Argo Rollouts switches a blue-green rollback at once only when it is fast-tracked: back to an
older ReplicaSet still within its scale-down delay (30 s in the chart). Otherwise the revision
comes up as the preview and waits for promotion, as after `kubectl argo rollouts undo`, and
`app promote` switches to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.flow import HELLO, Api, Kube, reaches, settled, settles
from tests.support.cli import Cli, chart, status
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration


def test_rollback_to_previous_then_to_a_numbered_revision(
    login: Callable[[str], Cli],
    app_name: str,
    api: Api,
    kube: Kube,
    devstack_env: dict[str, str],
) -> None:
    alice, ns = login("alice"), f"{app_name}-dev"
    api.admit(app_name, "dev")  # the platform admin opens project hello to its namespace
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev",
             "--chart", chart(devstack_env), "--wait")  # fmt: skip
    v1 = status(alice, app_name)["deployment"]["provenance"]["image"]
    alice.ok("upgrade", app_name, "--version", "1.1.0", "--wait")
    alice.ok("promote", app_name)
    v2 = reaches(alice, app_name, settled("succeeded", "Healthy"), "1.1.0 promoted")
    v2_image = v2["deployment"]["provenance"]["image"]
    assert v2_image != v1 and _live(kube, ns, app_name) == {v2_image}
    revisions = {r["revision"]: r["images"] for r in alice.json("history", app_name)["revisions"]}
    assert revisions == {2: [v2_image], 1: [v1]}

    back = alice.run("rollback", app_name)

    assert back.returncode == 0, back.stderr
    assert f"rollout {app_name} ({app_name}/dev) rolled back to revision 1;" in back.stdout
    if settles(kube, ns, app_name) == "Paused":  # the old pods outlived their 30 s delay
        assert alice.run("promote", app_name).returncode == 0
    _serves(kube, ns, app_name, v1)
    history = alice.json("history", app_name)
    assert _tagged(history, "stable,active") == (3, [v1])  # revision 1's template, renumbered

    forward = alice.run("rollback", app_name, "--to-revision", "2")

    # Revision 2's ReplicaSet is newer than the stable one: not a rollback to the controller,
    # so it comes up as the preview and waits, with the active Service still on 1.0.0.
    assert forward.returncode == 0, forward.stderr
    assert settles(kube, ns, app_name) == "Paused"
    assert _live(kube, ns, app_name) == {v1}
    preview = kube.selector_hash(ns, f"{app_name}-preview")
    assert _images(kube, ns, preview) == {v2_image}
    promoted = alice.run("promote", app_name)
    assert promoted.returncode == 0, promoted.stderr
    assert f"rollout {app_name} promoted" in promoted.stdout
    _serves(kube, ns, app_name, v2_image)
    assert _tagged(alice.json("history", app_name), "stable,active") == (4, [v2_image])
    view = status(alice, app_name)["rollout"]
    active = [
        i for r in view["revisions"] if "active" in r["status"].split(",") for i in r["images"]
    ]
    assert (view["phase"], active) == ("Healthy", [v2_image])
    # Rollbacks act on the Rollout; the deployments stay as they were recorded.
    assert [d["version"] for d in history["deployments"]] == ["1.1.0", "1.0.0"]


def _images(kube: Kube, namespace: str, pod_hash: str) -> set[str]:
    """Images of the ready pods of a pod-template hash."""
    return {
        c["image"] for p in kube.ready_pods(namespace, pod_hash) for c in p["spec"]["containers"]
    }


def _live(kube: Kube, namespace: str, name: str) -> set[str]:
    """Images of the ready pods behind the active Service."""
    return _images(kube, namespace, kube.selector_hash(namespace, name))


def _serves(kube: Kube, namespace: str, name: str, image: str) -> None:
    """The Rollout is Healthy again with the active Service on pods running `image` only."""

    def done() -> bool:
        status = kube.rollout(namespace, name)["status"]
        active = kube.selector_hash(namespace, name)
        switched = status["stableRS"] == status["blueGreen"].get("activeSelector") == active
        return (
            status.get("phase") == "Healthy"
            and switched
            and len(kube.ready_pods(namespace, active)) == 2
            and _images(kube, namespace, active) == {image}
        )

    wait_for(f"{name} to serve {image} again", done, timeout=120)


def _tagged(history: dict[str, Any], tags: str) -> tuple[int, list[str]]:
    found = [r for r in history["revisions"] if r["status"] == tags]
    assert len(found) == 1, history["revisions"]
    return found[0]["revision"], found[0]["images"]
