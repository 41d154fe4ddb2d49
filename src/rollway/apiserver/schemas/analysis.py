"""A canary judgement: what the Argo Rollouts `web` metric provider sends, and the verdict with
each metric's figures that it records as the measurement."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from .common import Model

PodTemplateHash = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]{1,32}$")]


class JudgementRequest(Model):
    """Which revisions to compare over the last `windowSeconds`, and how (the app's analysis
    configuration; the defaults for HTTP error rate and latency when absent)."""

    canary_hash: PodTemplateHash
    baseline_hash: PodTemplateHash
    window_seconds: int = Field(ge=1, le=86400)
    analysis: dict[str, Any] | None = None


class SideFigures(Model):
    count: int
    mean: float
    median: float


class MetricJudgement(Model):
    name: str
    outcome: Literal["pass", "fail", "nodata"]
    critical: bool
    weight: float
    unit: str
    canary: SideFigures | None
    baseline: SideFigures | None
    p_value: float | None
    effect_size: float | None
    change: float | None
    reason: str


class Judgement(Model):
    """`verdict` is what the AnalysisTemplate's conditions read: pass promotes the step, fail
    aborts the rollout, marginal and inconclusive match neither and pause it for a human."""

    verdict: Literal["pass", "marginal", "fail", "inconclusive"]
    score: float | None
    reason: str
    metrics: list[MetricJudgement]


class AnalysisStatus(Model):
    """The newest analysis of the environment's rollout: its phase as the controller says it,
    and the judge's verdict so far (None until it has measured)."""

    name: str
    phase: str
    message: str
    judgement: Judgement | None
