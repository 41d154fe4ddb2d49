"""How long an analysis must run: a window too short to ever fail a canary is refused, and the
time to detect a stated rise of the error rate shrinks with the traffic."""

from __future__ import annotations

import dataclasses

import pytest

from rollway.analysis import AnalysisConfig, check_window, error_rate_detection, minimum_samples
from rollway.errors import InvalidInput


def test_the_fewest_samples_that_can_reach_significance() -> None:
    assert minimum_samples(0.05) == 4  # 1/C(8,4) = 1/70; with 3 a side the best is 1/20
    assert minimum_samples(0.01) == 5


def test_a_window_too_short_is_refused_naming_the_field_and_the_shortest_that_works() -> None:
    config = AnalysisConfig()  # 30 s warm-up, a sample every 10 s
    with pytest.raises(InvalidInput) as caught:
        check_window(config, 40, field="analysis.windowSeconds")
    assert caught.value.field == "analysis.windowSeconds"
    assert "gives 2 samples a side" in caught.value.message
    assert "at least 60s" in caught.value.message
    assert check_window(config, 60, field="analysis.windowSeconds") == 4
    shorter_warmup = dataclasses.replace(config, warmup_seconds=0)
    assert check_window(shorter_warmup, 40, field="analysis.windowSeconds") == 5


def test_time_to_detect_a_rise_of_the_error_rate_falls_with_traffic() -> None:
    slow = error_rate_detection(0.002, 0.05, 2.0)
    fast = error_rate_detection(0.002, 0.05, 20.0)
    assert slow.requests_per_side == fast.requests_per_side > 0
    assert slow.seconds == pytest.approx(10 * fast.seconds)
    # A smaller rise needs many more requests.
    assert error_rate_detection(0.002, 0.01, 20.0).requests_per_side > 5 * fast.requests_per_side


def test_a_rise_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        error_rate_detection(0.05, 0.01, 10.0)
    assert caught.value.field == "degradedRate"
