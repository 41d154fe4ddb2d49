"""What a user sees of a Rollout, computed as `kubectl argo rollouts get rollout` computes it.

Follows `pkg/kubectl-argo-rollouts/info` (NewRolloutInfo, GetReplicaSetInfo, newPodInfo) on plain
dicts as the API returns them, so the CLI, the API server and the pipeline show the same thing and
none of them reimplements controller logic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .canary import canary_strategy, current_step, max_traffic_weight, set_weight
from .phase import Rollout, desired_replicas, rollout_phase

HASH_LABEL = "rollouts-pod-template-hash"
REVISION_ANNOTATION = "rollout.argoproj.io/revision"
SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"

Object = Mapping[str, Any]


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    image: str


@dataclass(frozen=True)
class ImageInfo:
    """An image running in some ReplicaSet, tagged with the stacks it serves."""

    image: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class PodInfo:
    name: str
    status: str  # "Running", "Pending", "Terminating", "Init:0/1", "CrashLoopBackOff", …
    ready: str  # "ready/total" containers
    restarts: int
    created: datetime | None


@dataclass(frozen=True)
class ReplicaSetInfo:
    """One revision of the Rollout: a ReplicaSet the Rollout owns."""

    name: str
    hash: str
    revision: int
    images: tuple[str, ...]
    health: str  # "Healthy", "Progressing", "ScaledDown" or "ReplicaFailure"
    tags: tuple[str, ...]  # of "canary", "stable", "active", "preview"
    desired: int
    replicas: int
    ready: int
    available: int
    created: datetime | None
    scale_down_deadline: str
    pods: tuple[PodInfo, ...]

    @property
    def status(self) -> str:
        """Its part in the release: its tags, else "scaled down" or "old"."""
        if self.tags:
            return ",".join(self.tags)
        return "scaled down" if self.health == "ScaledDown" else "old"


@dataclass(frozen=True)
class RolloutInfo:
    """The state of a Rollout as `kubectl argo rollouts get` presents it."""

    name: str
    namespace: str
    strategy: str  # "BlueGreen", "Canary" or "" (neither set)
    phase: str  # "Healthy", "Progressing", "Paused" or "Degraded"
    message: str
    revision: int | None
    containers: tuple[ContainerInfo, ...]
    images: tuple[ImageInfo, ...]
    desired: int
    current: int
    updated: int
    ready: int
    available: int
    step: int | None  # status.currentStepIndex, when the canary has steps
    steps: int
    set_weight: int | None  # canary only: the weight the current step asks for
    actual_weight: int | None  # canary only: the weight actually served
    current_hash: str
    stable_hash: str
    active_hash: str
    preview_hash: str
    canary_hash: str
    paused: bool  # spec.paused (`kubectl argo rollouts pause`)
    aborted: bool
    pause_reasons: tuple[str, ...]
    restarted_at: str | None
    replicasets: tuple[ReplicaSetInfo, ...]

    @property
    def revisions(self) -> tuple[int, ...]:
        """Revision numbers known from the ReplicaSets, newest first."""
        return tuple(sorted({rs.revision for rs in self.replicasets}, reverse=True))


def rollout_info(
    ro: Rollout, replicasets: Iterable[Object] = (), pods: Iterable[Object] = ()
) -> RolloutInfo:
    """Build the view of a Rollout from it, the ReplicaSets and the pods of its namespace.

    Objects the Rollout does not own are ignored, so whole namespace listings can be passed.
    """
    meta, spec, status = ro.get("metadata") or {}, ro.get("spec") or {}, ro.get("status") or {}
    rs_infos = replicaset_infos(ro, replicasets, pods)
    phase, message = rollout_phase(ro)
    canary = canary_strategy(ro)
    strategy = spec.get("strategy") or {}
    blue_green = status.get("blueGreen") or {}
    steps = len((canary or {}).get("steps") or ())
    stable, current = status.get("stableRS", ""), status.get("currentPodHash", "")
    return RolloutInfo(
        name=meta.get("name", ""),
        namespace=meta.get("namespace", ""),
        strategy="Canary" if canary is not None else "BlueGreen" if "blueGreen" in strategy else "",
        phase=str(phase),
        message=message,
        revision=_int_or_none((meta.get("annotations") or {}).get(REVISION_ANNOTATION)),
        containers=tuple(
            ContainerInfo(c.get("name", ""), c.get("image", "")) for c in _containers(spec)
        ),
        images=_images(rs_infos),
        desired=desired_replicas(ro),
        current=status.get("replicas", 0),
        updated=status.get("updatedReplicas", 0),
        ready=status.get("readyReplicas", 0),
        available=status.get("availableReplicas", 0),
        step=status.get("currentStepIndex") if steps else None,
        steps=steps,
        set_weight=set_weight(ro) if canary is not None else None,
        actual_weight=_actual_weight(ro, canary, rs_infos) if canary is not None else None,
        current_hash=current,
        stable_hash=stable,
        active_hash=blue_green.get("activeSelector", ""),
        preview_hash=blue_green.get("previewSelector", ""),
        canary_hash=current if canary is not None and current != stable else "",
        paused=bool(spec.get("paused")),
        aborted=bool(status.get("abort")),
        pause_reasons=tuple(p.get("reason", "") for p in status.get("pauseConditions") or ()),
        restarted_at=status.get("restartedAt"),
        replicasets=rs_infos,
    )


def replicaset_infos(
    ro: Rollout, replicasets: Iterable[Object], pods: Iterable[Object] = ()
) -> tuple[ReplicaSetInfo, ...]:
    """The Rollout's ReplicaSets, newest revision first (`GetReplicaSetInfo`)."""
    uid = (ro.get("metadata") or {}).get("uid")
    owned = [rs for rs in replicasets if _owned_by(rs, uid)]
    owned.sort(key=lambda rs: (-_revision(rs), rs["metadata"]["name"]))
    pods_by_owner: dict[str, list[Object]] = {rs["metadata"].get("uid", ""): [] for rs in owned}
    for pod in pods:
        for ref in (pod.get("metadata") or {}).get("ownerReferences") or ():
            if ref.get("uid") in pods_by_owner:
                pods_by_owner[ref["uid"]].append(pod)
                break
    return tuple(
        _replicaset_info(ro, rs, pods_by_owner[rs["metadata"].get("uid", "")]) for rs in owned
    )


def _replicaset_info(ro: Rollout, rs: Object, pods: list[Object]) -> ReplicaSetInfo:
    meta, spec, status = rs["metadata"], rs.get("spec") or {}, rs.get("status") or {}
    pod_hash = (meta.get("labels") or {}).get(HASH_LABEL, "")
    pods.sort(key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]))
    template_spec = (spec.get("template") or {}).get("spec") or {}
    return ReplicaSetInfo(
        name=meta["name"],
        hash=pod_hash,
        revision=_revision(rs),
        images=tuple(c.get("image", "") for c in template_spec.get("containers") or ()),
        health=replicaset_health(rs),
        tags=_tags(ro, pod_hash),
        desired=spec.get("replicas", 1),
        replicas=status.get("replicas", 0),
        ready=status.get("readyReplicas", 0),
        available=status.get("availableReplicas", 0),
        created=_time(meta.get("creationTimestamp")),
        scale_down_deadline=(meta.get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION, ""),
        pods=tuple(pod_info(p) for p in pods),
    )


def _tags(ro: Rollout, pod_hash: str) -> tuple[str, ...]:
    spec, status = ro.get("spec") or {}, ro.get("status") or {}
    strategy = spec.get("strategy") or {}
    tags: list[str] = []
    if strategy.get("canary") is not None:
        if status.get("stableRS", "") == pod_hash:
            tags.append("stable")
        elif status.get("currentPodHash", "") == pod_hash:
            tags.append("canary")
    if strategy.get("blueGreen") is not None:
        blue_green = status.get("blueGreen") or {}
        if status.get("stableRS", "") == pod_hash:
            tags.append("stable")
        if blue_green.get("activeSelector", "") == pod_hash:
            tags.append("active")
        elif blue_green.get("previewSelector", "") == pod_hash:
            tags.append("preview")
    return tuple(tags)


def replicaset_health(rs: Object) -> str:
    """`getReplicaSetHealth`: Progressing until observed and available, then ScaledDown/Healthy."""
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    replicas = spec.get("replicas")
    if (rs.get("metadata") or {}).get("generation", 0) > status.get("observedGeneration", 0):
        return "Progressing"
    for cond in status.get("conditions") or ():
        if cond.get("type") == "ReplicaFailure":
            if cond.get("status") == "True":
                return "ReplicaFailure"
            break
    if replicas is not None and status.get("availableReplicas", 0) < replicas:
        return "Progressing"
    return "ScaledDown" if replicas == 0 else "Healthy"


def _actual_weight(
    ro: Rollout, canary: Mapping[str, Any], rs_infos: tuple[ReplicaSetInfo, ...]
) -> int:
    """The weight actually served: from available pods without a traffic router."""
    step, _ = current_step(ro)
    max_weight = max_traffic_weight(ro)
    if step is None:
        return max_weight
    status = ro.get("status") or {}
    available = status.get("availableReplicas", 0)
    if available <= 0:
        return 0
    if canary.get("trafficRouting") is None:
        weight = 0
        for rs in rs_infos:
            if "canary" in rs.tags:
                weight = rs.available * max_weight // available
        return weight
    weights = (status.get("canary") or {}).get("weights")
    if weights is not None:
        return int((weights.get("canary") or {}).get("weight", 0))
    return set_weight(ro)


def _images(rs_infos: tuple[ReplicaSetInfo, ...]) -> tuple[ImageInfo, ...]:
    """Images of ReplicaSets with pods, tags merged per image (`info.Images`)."""
    images: dict[str, tuple[str, ...]] = {}
    for rs in rs_infos:
        if rs.replicas <= 0:
            continue
        for image in rs.images:
            if image in images:
                images[image] = tuple(sorted(set(images[image]) | set(rs.tags)))
            else:
                images[image] = rs.tags
    return tuple(ImageInfo(image, tags) for image, tags in sorted(images.items()))


def pod_info(pod: Object) -> PodInfo:
    """A pod's status as `kubectl get pods` words it (`newPodInfo`)."""
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    init_specs = spec.get("initContainers") or ()
    sidecars = {c.get("name"): c.get("restartPolicy") == "Always" for c in init_specs}
    reason = status.get("reason") or status.get("phase", "")
    restarts = ready = 0
    initializing = False
    for i, ctr in enumerate(status.get("initContainerStatuses") or ()):
        restarts += ctr.get("restartCount", 0)
        state = ctr.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if terminated is not None:
            reason = "Init:" + (terminated.get("reason") or _exit_reason(terminated))
            initializing = True
        elif sidecars.get(ctr.get("name")) and ctr.get("started"):
            if ctr.get("ready"):
                continue
        elif waiting is not None and waiting.get("reason", "") not in ("", "PodInitializing"):
            reason = "Init:" + waiting["reason"]
            initializing = True
        else:
            reason = f"Init:{i}/{len(init_specs)}"
            initializing = True
        break
    if not initializing:
        restarts = 0
        running = False
        for ctr in reversed(status.get("containerStatuses") or ()):
            restarts += ctr.get("restartCount", 0)
            state = ctr.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = terminated.get("reason") or _exit_reason(terminated)
            elif ctr.get("ready") and state.get("running") is not None:
                running = True
                ready += 1
        if reason == "Completed" and running:
            reason = "Running"
    if meta.get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return PodInfo(
        name=meta.get("name", ""),
        status=reason,
        ready=f"{ready}/{len(spec.get('containers') or ())}",
        restarts=restarts,
        created=_time(meta.get("creationTimestamp")),
    )


def _exit_reason(terminated: Mapping[str, Any]) -> str:
    if terminated.get("signal"):
        return f"Signal:{terminated['signal']}"
    return f"ExitCode:{terminated.get('exitCode', 0)}"


def _containers(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return ((spec.get("template") or {}).get("spec") or {}).get("containers") or []


def _owned_by(obj: Object, uid: str | None) -> bool:
    refs = (obj.get("metadata") or {}).get("ownerReferences") or ()
    return uid is not None and any(ref.get("uid") == uid for ref in refs)


def _revision(rs: Object) -> int:
    """The revision annotation; 0 when missing or not a number, as upstream parses it."""
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION_ANNOTATION)
    return _int_or_none(value) or 0


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
