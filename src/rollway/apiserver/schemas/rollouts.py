"""What `kubectl argo rollouts get` shows, as JSON (from rollway.rollouts' RolloutInfo)."""

from __future__ import annotations

from datetime import datetime

from .analysis import AnalysisStatus
from .common import Model


class Pod(Model):
    name: str
    status: str
    ready: str
    restarts: int
    created: datetime | None


class Revision(Model):
    """One ReplicaSet of the Rollout, with the deployment that made it when Rollway knows it."""

    name: str
    hash: str
    revision: int
    images: list[str]
    health: str
    status: str
    desired: int
    ready: int
    available: int
    created: datetime | None
    pods: list[Pod]
    deployment_id: str | None = None


class Rollout(Model):
    name: str
    namespace: str
    strategy: str
    phase: str
    message: str
    revision: int | None
    images: list[str]
    desired: int
    current: int
    updated: int
    ready: int
    available: int
    step: int | None
    steps: int
    set_weight: int | None
    actual_weight: int | None
    paused: bool
    aborted: bool
    pause_reasons: list[str]
    revisions: list[Revision]
    #: The newest analysis of the rollout and the judge's verdict so far (None: it never ran
    #: one).
    analysis: AnalysisStatus | None = None


class RolledBack(Rollout):
    """The Rollout right after a rollback, which the controller has yet to act on."""

    #: The revision whose pod template the Rollout runs again (filed as a new revision).
    restored_revision: int


class History(Model):
    items: list[Revision]
