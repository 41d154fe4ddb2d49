"""Argo Rollouts client: what the user sees of a Rollout, waiting on it, and the plugin's actions.

`info`/`phase`/`canary` compute the view as `kubectl argo rollouts` does, from plain dicts;
`patches` decides what each action sends; `client` and `watch` talk to the cluster (importing
`kubernetes` only when used).
"""

from .client import RolloutsClient
from .info import ContainerInfo, ImageInfo, PodInfo, ReplicaSetInfo, RolloutInfo, rollout_info
from .patches import Promotion, promotion
from .phase import Phase, rollout_phase
from .watch import RolloutDegraded, RolloutTimeout, wait_for_phase

__all__ = [
    "ContainerInfo",
    "ImageInfo",
    "Phase",
    "PodInfo",
    "Promotion",
    "ReplicaSetInfo",
    "RolloutDegraded",
    "RolloutInfo",
    "RolloutTimeout",
    "RolloutsClient",
    "promotion",
    "rollout_info",
    "rollout_phase",
    "wait_for_phase",
]
