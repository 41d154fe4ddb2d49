"""Rollout, ReplicaSet and pod dicts shaped like the API server returns them."""

from __future__ import annotations

from typing import Any

ROLLOUT_UID = "0f0f0f0f-rollout"


def bluegreen(**status: Any) -> dict[str, Any]:
    strategy = {"blueGreen": {"activeService": "web-active", "previewService": "web-preview"}}
    return rollout(strategy, **status)


def canary(steps: list[dict[str, Any]] | None = None, **status: Any) -> dict[str, Any]:
    steps = (
        [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "10s"}}]
        if steps is None
        else steps
    )
    return rollout({"canary": {"steps": steps}}, **status)


def rollout(strategy: dict[str, Any], *, desired: int = 10, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": ROLLOUT_UID,
            "generation": 4,
            "annotations": {"rollout.argoproj.io/revision": "2"},
        },
        "spec": {
            "replicas": desired,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template("web:2"),
            "strategy": strategy,
        },
        "status": {"observedGeneration": "4", **status},
    }


def template(image: str, pod_hash: str | None = None) -> dict[str, Any]:
    labels = {"app": "web"}
    if pod_hash:
        labels["rollouts-pod-template-hash"] = pod_hash
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def replicaset(
    pod_hash: str,
    revision: int | None,
    image: str,
    *,
    replicas: int,
    available: int | None = None,
    owner: str = ROLLOUT_UID,
    created: str = "2026-01-01T00:00:00Z",
    **annotations: str,
) -> dict[str, Any]:
    available = replicas if available is None else available
    notes = dict(annotations)
    if revision is not None:
        notes["rollout.argoproj.io/revision"] = str(revision)
    server_template = template(image, pod_hash)
    # Defaults the API server fills in, which the Rollout's own template does not carry.
    server_template["spec"]["containers"][0].update(
        terminationMessagePath="/dev/termination-log", imagePullPolicy="IfNotPresent", resources={}
    )
    server_template["spec"].update(restartPolicy="Always", dnsPolicy="ClusterFirst")
    server_template["metadata"]["creationTimestamp"] = None
    status: dict[str, Any] = {"observedGeneration": 1, "replicas": replicas}
    if available:
        status.update(readyReplicas=available, availableReplicas=available)
    return {
        "metadata": {
            "name": f"web-{pod_hash}",
            "namespace": "shop",
            "uid": f"rs-{pod_hash}",
            "generation": 1,
            "creationTimestamp": created,
            "labels": {"app": "web", "rollouts-pod-template-hash": pod_hash},
            "annotations": notes,
            "ownerReferences": [
                {
                    "apiVersion": "argoproj.io/v1alpha1",
                    "kind": "Rollout",
                    "name": "web",
                    "uid": owner,
                    "controller": True,
                    "blockOwnerDeletion": True,
                },
            ],
        },  # fmt: skip
        "spec": {"replicas": replicas, "template": server_template},
        "status": status,
    }


def pod(
    name: str, rs_uid: str, *, container_state: dict[str, Any] | None = None, ready: bool = True
) -> dict[str, Any]:
    state = {"running": {"startedAt": "2026-01-01T00:00:05Z"}} if container_state is None else None
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": "2026-01-01T00:00:01Z",
            "ownerReferences": [{"kind": "ReplicaSet", "uid": rs_uid, "controller": True}],
        },
        "spec": {"containers": [{"name": "app", "image": "web:2"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": ready,
                    "restartCount": 0,
                    "state": container_state or state,
                }
            ],
        },
    }
