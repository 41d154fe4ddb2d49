"""The canary judge: each metric's canary samples against the baseline's, measured over the same
window, with a Mann-Whitney U rank test; the results weighted into a score and a verdict.

As Kayenta does, a metric fails only when the canary is worse with statistical significance
(one-sided test at `alpha`) *and* by more than its tolerance; a failed critical metric fails the
whole analysis. What cannot be measured is never a pass: a metric with no samples on a side is
`nodata`, and without data for a critical metric (or for any metric) the verdict is
`inconclusive`, which pauses the rollout for a human.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Literal

from .config import AnalysisConfig, MetricSpec

Outcome = Literal["pass", "fail", "nodata"]
VerdictName = Literal["pass", "marginal", "fail", "inconclusive"]


@dataclasses.dataclass(frozen=True)
class Side:
    """What one side's samples say: how many, their mean and median."""

    count: int
    mean: float
    median: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Side:
        ordered = sorted(samples)
        n = len(ordered)
        mid = n // 2
        median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        return cls(count=n, mean=math.fsum(ordered) / n, median=median)


@dataclasses.dataclass(frozen=True)
class MetricResult:
    """One metric's comparison, with everything a human needs to check it.

    `effect_size` is the rank-biserial correlation in the bad direction (from -1, canary always
    better, to 1, canary always worse); `change` is the canary's mean relative to the baseline's
    (0.25: 25% higher), None when the baseline's mean is 0.
    """

    name: str
    outcome: Outcome
    critical: bool
    weight: float
    unit: str
    canary: Side | None
    baseline: Side | None
    p_value: float | None
    effect_size: float | None
    change: float | None
    reason: str


@dataclasses.dataclass(frozen=True)
class Verdict:
    verdict: VerdictName
    score: float | None
    metrics: tuple[MetricResult, ...]
    #: One line for `app status`, the deployment's failure reason, notifications and the audit.
    reason: str


def compare(
    spec: MetricSpec, canary: Sequence[float], baseline: Sequence[float], alpha: float
) -> MetricResult:
    """Judge one metric from its two sides' samples (NaN samples, a rate over no requests, are
    left out)."""
    from scipy.stats import mannwhitneyu  # heavy: imported when a judgement is made

    c = [x for x in canary if math.isfinite(x)]
    b = [x for x in baseline if math.isfinite(x)]
    if not c or not b:
        empty = " and ".join(n for n, s in (("canary", c), ("baseline", b)) if not s)
        return _result(spec, "nodata", Side.of(c) if c else None, Side.of(b) if b else None,
                       None, None, f"{spec.name}: no samples for the {empty}")  # fmt: skip
    worse = "greater" if spec.direction == "higher-is-worse" else "less"
    test = mannwhitneyu(c, b, alternative=worse, method="auto")
    p_value = float(test.pvalue)
    if math.isnan(p_value):  # every sample equal on both sides: no evidence of a difference
        p_value = 1.0
    u = float(test.statistic)
    rank_biserial = 2 * u / (len(c) * len(b)) - 1
    effect = rank_biserial if worse == "greater" else -rank_biserial
    cs, bs = Side.of(c), Side.of(b)
    sign = 1 if worse == "greater" else -1
    degradation = (cs.mean - bs.mean) * sign
    allowed = max(spec.tolerance * abs(bs.mean), spec.absolute_tolerance)
    figures = f"{show(cs.mean, spec.unit)} (canary) vs {show(bs.mean, spec.unit)} (baseline)"
    failed = p_value < alpha and degradation > allowed
    if failed:
        reason = f"{spec.name} {figures}, {show_p(p_value)}"
    elif p_value < alpha:
        reason = f"{spec.name} {figures}: worse, within the tolerance of {show(allowed, spec.unit)}"
    else:
        reason = f"{spec.name} {figures}: no significant degradation ({show_p(p_value)})"
    return _result(spec, "fail" if failed else "pass", cs, bs, p_value, effect, reason)


def _result(
    spec: MetricSpec, outcome: Outcome, canary: Side | None, baseline: Side | None,
    p_value: float | None, effect: float | None, reason: str,
) -> MetricResult:  # fmt: skip
    change = None
    if canary and baseline and baseline.mean:
        change = (canary.mean - baseline.mean) / abs(baseline.mean)
    return MetricResult(
        name=spec.name, outcome=outcome, critical=spec.critical, weight=spec.weight,
        unit=spec.unit, canary=canary, baseline=baseline, p_value=p_value, effect_size=effect,
        change=change, reason=reason,
    )  # fmt: skip


def judge(
    config: AnalysisConfig,
    canary: Mapping[str, Sequence[float]],
    baseline: Mapping[str, Sequence[float]],
) -> Verdict:
    """Every configured metric compared, weighted into a score out of 100 and a verdict.

    The score is the weight of the passing metrics over the weight of the metrics that had data.
    A metric missing from the samples counts as `nodata`.
    """
    results = tuple(
        compare(m, canary.get(m.name, ()), baseline.get(m.name, ()), config.alpha)
        for m in config.metrics
    )
    failed = [r for r in results if r.outcome == "fail"]
    measured = [r for r in results if r.outcome != "nodata"]
    blind = [r for r in results if r.outcome == "nodata" and r.critical]
    total = math.fsum(r.weight for r in measured)
    score = (
        100 * math.fsum(r.weight for r in measured if r.outcome == "pass") / total
        if total
        else None
    )
    critical_failures = [r for r in failed if r.critical]
    if critical_failures:
        return Verdict(
            "fail", score, results, "analysis: " + "; ".join(r.reason for r in critical_failures)
        )
    if not measured or blind:
        missing = blind or [r for r in results if r.outcome == "nodata"]
        return Verdict("inconclusive", score, results,
                       "analysis inconclusive: " + "; ".join(r.reason for r in missing))  # fmt: skip
    assert score is not None
    summary = f"score {score:.0f}/100"
    if score >= config.pass_score:
        return Verdict("pass", score, results, f"analysis passed: {summary}")
    why = "; ".join(r.reason for r in failed)
    if score >= config.marginal_score:
        return Verdict("marginal", score, results,
                       f"analysis marginal ({summary}, pass at {config.pass_score:g}): {why}")  # fmt: skip
    return Verdict("fail", score, results,
                   f"analysis: {why} ({summary}, marginal at {config.marginal_score:g})")  # fmt: skip


def show(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "seconds":
        return f"{value * 1000:.1f} ms"
    return f"{value:.3g}"


def show_p(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"
