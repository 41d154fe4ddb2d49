"""The judge on known samples: regressions caught with both sides' figures, ties, empty windows,
missing metrics, tolerance, direction, the weighted score and its thresholds."""

from __future__ import annotations

import dataclasses
import random

import pytest

from rollway.analysis import BUILTIN, AnalysisConfig, MetricSpec, compare, judge

ERRORS = BUILTIN["error-rate"]
P50 = BUILTIN["latency-p50"]
P99 = BUILTIN["latency-p99"]
CONFIG = AnalysisConfig()
CALM = [0.001, 0.002, 0.003, 0.002, 0.001, 0.002, 0.003, 0.002]
FAST = [0.0021, 0.0019, 0.0022, 0.0020, 0.0018, 0.0021, 0.0020, 0.0019]


def test_a_bad_error_rate_fails_with_both_figures_p_value_and_effect_size() -> None:
    canary = [0.19, 0.21, 0.20, 0.18, 0.22, 0.20, 0.19, 0.21]
    result = compare(ERRORS, canary, CALM, alpha=0.05)
    assert result.outcome == "fail"
    assert result.p_value is not None and result.p_value < 0.001
    assert result.effect_size == 1.0  # every canary sample above every baseline sample
    assert result.canary and result.baseline
    assert result.reason == "error-rate 20.0% (canary) vs 0.2% (baseline), p < 0.001"


def test_the_verdict_of_a_critical_failure_is_fail_whatever_the_score() -> None:
    canary = {"error-rate": [0.2] * 8, "latency-p50": FAST, "latency-p99": FAST}
    baseline = {"error-rate": CALM, "latency-p50": FAST, "latency-p99": FAST}
    verdict = judge(CONFIG, canary, baseline)
    assert verdict.verdict == "fail"
    assert verdict.score == 50  # the error rate weighs 2 of 4
    assert verdict.reason.startswith("analysis: error-rate 20.0% (canary) vs 0.2% (baseline)")
    assert [m.outcome for m in verdict.metrics] == ["fail", "pass", "pass"]


def test_all_ties_are_no_evidence_of_a_difference() -> None:
    result = compare(ERRORS, [0.0] * 8, [0.0] * 8, alpha=0.05)
    assert (result.outcome, result.p_value, result.effect_size) == ("pass", 1.0, 0.0)
    assert result.change is None  # relative to a baseline of 0: undefined, not infinite


def test_partial_ties_are_ranked_with_the_tie_correction() -> None:
    canary = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02, 0.0]
    result = compare(ERRORS, canary, [0.0] * 8, alpha=0.05)
    assert result.outcome == "pass"
    assert result.p_value is not None and 0.05 < result.p_value < 1


def test_an_empty_window_on_a_critical_metric_is_inconclusive_never_a_pass() -> None:
    canary = {"error-rate": [], "latency-p50": FAST, "latency-p99": FAST}
    baseline = {"error-rate": CALM, "latency-p50": FAST, "latency-p99": FAST}
    verdict = judge(CONFIG, canary, baseline)
    assert verdict.verdict == "inconclusive"
    assert verdict.metrics[0].outcome == "nodata"
    assert verdict.reason == "analysis inconclusive: error-rate: no samples for the canary"


def test_samples_that_are_not_numbers_are_left_out() -> None:
    nan = float("nan")
    result = compare(ERRORS, [nan, nan], [nan, 0.0], alpha=0.05)
    assert result.outcome == "nodata"
    assert result.reason == "error-rate: no samples for the canary"
    assert result.baseline and result.baseline.count == 1


def test_a_missing_metric_counts_as_nodata_and_the_rest_decide() -> None:
    canary = {"error-rate": CALM, "latency-p50": FAST}
    baseline = {"error-rate": CALM, "latency-p50": FAST}
    verdict = judge(CONFIG, canary, baseline)
    assert [m.outcome for m in verdict.metrics] == ["pass", "pass", "nodata"]
    assert (verdict.verdict, verdict.score) == ("pass", 100)


def test_nothing_measured_is_inconclusive() -> None:
    verdict = judge(CONFIG, {}, {})
    assert (verdict.verdict, verdict.score) == ("inconclusive", None)


def test_a_significant_degradation_within_tolerance_passes() -> None:
    slower = [x + 0.0003 for x in FAST]  # 15% slower: significant, under the 20% tolerance
    result = compare(P50, slower, FAST, alpha=0.05)
    assert result.p_value is not None and result.p_value < 0.05
    assert result.outcome == "pass"
    assert "within the tolerance" in result.reason


def test_lower_is_worse_fails_when_the_canary_drops() -> None:
    spec = MetricSpec(name="throughput", query="sum(rate(x{$selector}[1m]))",
                      direction="lower-is-worse", tolerance=0.1)  # fmt: skip
    base = [100.0, 102, 98, 101, 99, 100, 103, 97]
    assert compare(spec, [x / 2 for x in base], base, alpha=0.05).outcome == "fail"
    # Higher is better here: a canary serving more is no failure, however significant.
    assert compare(spec, [x * 2 for x in base], base, alpha=0.05).outcome == "pass"


@pytest.mark.parametrize(("slow_metrics", "expected"), [(["latency-p50"], "marginal"),
                                                        (["latency-p50", "latency-p99"], "fail")])  # fmt: skip
def test_the_weighted_score_decides_between_pass_marginal_and_fail(
    slow_metrics: list[str], expected: str
) -> None:
    baseline = {"error-rate": CALM, "latency-p50": FAST, "latency-p99": FAST}
    canary = {**baseline, **{name: [x * 10 for x in FAST] for name in slow_metrics}}
    verdict = judge(CONFIG, canary, baseline)
    assert verdict.verdict == expected
    assert verdict.score == {"marginal": 75, "fail": 50}[expected]
    assert "latency-p50 20.0 ms (canary) vs 2.0 ms (baseline)" in verdict.reason


def test_identical_versions_rarely_abort_a_false_abort_rate_over_200_comparisons() -> None:
    """Offline: both sides drawn from the same distributions, as two identical versions give."""
    rng = random.Random(13)
    config = dataclasses.replace(CONFIG, marginal_score=75)
    aborts = 0
    for _ in range(200):

        def side() -> dict[str, list[float]]:
            return {
                "error-rate": [max(0.0, rng.gauss(0.002, 0.002)) for _ in range(12)],
                "latency-p50": [rng.lognormvariate(-6.2, 0.3) for _ in range(12)],
                "latency-p99": [rng.lognormvariate(-4.6, 0.5) for _ in range(12)],
            }

        aborts += judge(config, side(), side()).verdict == "fail"
    # A one-sided 5% test per metric plus the tolerances: well under alpha in all.
    assert aborts / 200 <= 0.02
