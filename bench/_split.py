"""Where an upgrade's time went, read back from the cluster after the fact.

From the Argo Workflow's nodes (startedAt/finishedAt), its step pods (creation, the scheduler's
`Scheduled` event, the kubelet's `Pulled` events, the containers' start and end), its workspace
volume's provisioning events and the app's new pods: scheduling, the volume, image pulls, the
steps' own work, and the controller's gaps between steps.
Kubernetes and Argo stamp most of these to the second; the scheduler's event and the kubelet's
pull durations are finer.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from collections.abc import Iterable
from typing import Any

#: A Go duration as the kubelet prints a pull's ("2.2s", "512ms", "1m3.5s").
DURATION = re.compile(r"([0-9.]+)(h|ms|µs|us|m|s)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6}
PULLED = re.compile(r'Successfully pulled image "[^"]+" in (\S+) ')
#: The columns of a step's split, in the order they happen.
STEP_COLUMNS = ("start", "gap", "sched", "pulls", "to main", "main", "to done")


def seconds(go: str) -> float:
    return sum(float(n) * UNITS[u] for n, u in DURATION.findall(go))


def stamp(value: str | None) -> float | None:
    """An RFC 3339 time as seconds since the epoch (None stays None)."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def kubectl_json(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(["kubectl", *args, "-o", "json"], env=env, capture_output=True,
                          text=True, check=False, timeout=60)  # fmt: skip
    return json.loads(done.stdout) if done.returncode == 0 else {"items": []}


class Pods:
    """The pods of a namespace and what the scheduler and the kubelet said about them."""

    def __init__(self, env: dict[str, str], namespace: str, selector: str | None = None) -> None:
        args = ["-n", namespace, "get", "pods"] + (["-l", selector] if selector else [])
        self.items: list[dict[str, Any]] = kubectl_json(env, *args)["items"]
        self.events: dict[str, list[dict[str, Any]]] = {}
        for event in kubectl_json(env, "-n", namespace, "get", "events")["items"]:
            self.events.setdefault(event["involvedObject"]["name"], []).append(event)

    def scheduled(self, pod: dict[str, Any]) -> float | None:
        for event in self.events.get(pod["metadata"]["name"], []):
            if event["reason"] == "Scheduled":
                return stamp(event.get("eventTime") or event.get("firstTimestamp"))
        return condition(pod, "PodScheduled")

    def pulls(self, pod: dict[str, Any]) -> float:
        """Seconds the kubelet spent pulling this pod's images (0 when all were present)."""
        found = (PULLED.search(e["message"]) for e in self.events.get(pod["metadata"]["name"], [])
                 if e["reason"] == "Pulled")  # fmt: skip
        return sum(seconds(m.group(1)) for m in found if m)


def condition(pod: dict[str, Any], kind: str) -> float | None:
    for cond in pod["status"].get("conditions", []):
        if cond["type"] == kind and cond["status"] == "True":
            return stamp(cond["lastTransitionTime"])
    return None


def container(pod: dict[str, Any], name: str) -> dict[str, Any]:
    for status in pod["status"].get("containerStatuses", []):
        if status["name"] == name:
            state = status.get("state", {})
            return dict(state.get("terminated") or state.get("running") or {})
    return {}


def argo_steps(
    env: dict[str, str], namespace: str, workflow: str, since: float, until: float
) -> dict[str, dict[str, float]]:
    """Each step pod the workflow started before `until` (the preview answered), as seconds:
    start (after the command, `since`), gap (since the last earlier step ended: the controller),
    sched, pulls, to main (scheduled → main container running), main (its run), to done (main
    ended → the controller marks the step done)."""
    wf = kubectl_json(env, "-n", namespace, "get", "workflow", workflow)
    if "status" not in wf:
        return {}
    pods = Pods(env, namespace, f"workflows.argoproj.io/workflow={workflow}")
    by_node = {p["metadata"]["annotations"].get("workflows.argoproj.io/node-id"): p
               for p in pods.items}  # fmt: skip
    nodes = sorted((n for n in wf["status"]["nodes"].values() if n["type"] == "Pod"
                    and (stamp(n.get("startedAt")) or until) < until),
                   key=lambda n: n["startedAt"])  # fmt: skip
    split: dict[str, dict[str, float]] = {"submit": {"start": wf_created(wf) - since}}
    ended = [stamp(n.get("finishedAt")) for n in nodes]
    for node in nodes:
        started = stamp(node["startedAt"]) or since
        before = [e for e in ended if e is not None and e <= started]
        row = {"start": started - since, "gap": started - max(before, default=wf_created(wf))}
        pod = by_node.get(node["id"])
        if pod is not None:
            row.update(pod_split(pods, pod, "main"))
            main_end = stamp(container(pod, "main").get("finishedAt"))
            if main_end is not None and (done := stamp(node.get("finishedAt"))) is not None:
                row["to done"] = done - main_end
        split[node["displayName"].removesuffix("(0)")] = row
    if volume := workspace(pods, workflow, since):
        split["workspace"] = volume
    return split


def workspace(pods: Pods, workflow: str, since: float) -> dict[str, float]:
    """The workflow's shared volume (Argo's `<workflow>-workspace` PVC), as seconds after the
    command: when the provisioner was asked (WaitForFirstConsumer: once the scheduler picked a
    node for the first step pod) and when the volume was ready for it to bind. Second stamps."""
    at = {e["reason"]: stamp(e.get("eventTime") or e.get("firstTimestamp"))
          for e in pods.events.get(f"{workflow}-workspace", [])}  # fmt: skip
    asked, ready = at.get("Provisioning"), at.get("ProvisioningSucceeded")
    if asked is None or ready is None:
        return {}
    return {"asked": asked - since, "ready": ready - since}


def wf_created(wf: dict[str, Any]) -> float:
    return stamp(wf["metadata"]["creationTimestamp"]) or 0.0


def pod_split(pods: Pods, pod: dict[str, Any], main: str) -> dict[str, float]:
    created = stamp(pod["metadata"]["creationTimestamp"]) or 0.0
    row = {"pulls": pods.pulls(pod)}
    if (scheduled := pods.scheduled(pod)) is not None:
        row["sched"] = max(0.0, scheduled - created)
        if (running := stamp(container(pod, main).get("startedAt"))) is not None:
            row["to main"] = max(0.0, running - scheduled)
            if (ended := stamp(container(pod, main).get("finishedAt"))) is not None:
                row["main"] = ended - running
    return row


def app_pods(env: dict[str, str], namespace: str, since: float) -> dict[str, float]:
    """The first of the new version's pods to be Ready: when it was created (after the command),
    its scheduling and pulls, and created → Ready."""
    pods = Pods(env, namespace)
    fresh = [p for p in pods.items if (stamp(p["metadata"]["creationTimestamp"]) or 0) >= since - 1
             and condition(p, "Ready") is not None]  # fmt: skip
    if not fresh:
        return {}
    first = min(fresh, key=lambda p: condition(p, "Ready") or 0.0)
    created = stamp(first["metadata"]["creationTimestamp"]) or since
    row = pod_split(pods, first, str(first["spec"]["containers"][0]["name"]))
    row.pop("main", None)
    return {
        "created": created - since,
        **row,
        "to ready": (condition(first, "Ready") or 0) - created,
    }


def totals(steps: dict[str, dict[str, float]], names: Iterable[str]) -> dict[str, float]:
    """Sums over the step pods of each column (steps run in parallel count twice)."""
    return {n: sum(r.get(n, 0.0) for k, r in steps.items() if k != "submit") for n in names}
