"""The answer to a dry run: what a deployment would resolve, build, change and wait for."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from .common import Model


class ArtifactPlan(Model):
    coordinates: str
    version: str | None = None
    url: str | None = None
    error: str | None = None


class ImagePlan(Model):
    repository: str
    tag: str | None = None
    #: reuse: the tag exists in the registry; build: it does not.
    action: Literal["build", "reuse", "unknown"]
    digest: str | None = None
    error: str | None = None


class ManifestPlan(Model):
    objects: list[str] = Field(default_factory=list)
    #: {"created": [...], "changed": [...], "unchanged": [...]}
    changes: dict[str, list[str]] | None = None
    #: Unified diff of the rendered objects against the cluster.
    diff: str | None = None
    #: Rendered with a placeholder digest, since the image is yet to be built.
    placeholder_digest: bool = False
    #: Why the release would not wait for promotion before switching traffic (where approval
    #: is required, its plan is then approved before apply); null: it would wait.
    no_pause: str | None = None
    #: sha256 of the rendered manifests as the render step writes them.
    sha256: str | None = None
    error: str | None = None


class StrategyPlan(Model):
    name: str
    steps: list[str]


class MetricPlan(Model):
    name: str
    direction: str
    tolerance: float
    critical: bool
    weight: float


class AnalysisPlan(Model):
    """Rollway's canary judge as the release would run it: at each analysis, the new revision
    against the stable one over `windowSeconds` (the warm-up left out)."""

    #: `fresh`: pods of both versions started together for each judgement; `stable`: the
    #: running stable pods.
    baseline: Literal["fresh", "stable"]
    window_seconds: int
    warmup_seconds: int
    samples_per_side: int
    pass_score: float
    marginal_score: float
    metrics: list[MetricPlan]


class WindowPlan(Model):
    open: bool
    next_opening: datetime | None = None


class Plan(Model):
    dry_run: Literal[True] = True
    app: str
    env: str
    namespace: str
    kind: str
    artifact: ArtifactPlan
    image: ImagePlan
    manifests: ManifestPlan
    strategy: StrategyPlan
    #: Null: the release is not judged.
    analysis: AnalysisPlan | None = None
    approval_required: bool
    window: WindowPlan
    #: The in-flight deployment a real request would collide with (409), if any.
    blocked_by: str | None
    parameters: dict[str, str]


class DeploymentPlan(Model):
    """What a started deployment applies, rendered again for the people who approve it: its
    chart at the commit it fetched, with the image it built, diffed against the cluster now."""

    deployment_id: str
    chart_commit: str | None
    image: str | None
    #: What the deployment's render step rendered (its output; approvals bind to it).
    rendered_sha256: str | None
    #: The manifests below are byte for byte those (None: either side is unknown).
    matches_rendered: bool | None
    manifests: ManifestPlan
