"""How long an analysis must run to detect anything, and to detect a stated degradation.

Two questions the fixed-threshold analyses of Argo Rollouts and Flagger never ask:
- can this plan detect anything at all? With n samples a side, the smallest one-sided p-value
  a rank test can reach is 1 / C(2n, n); a window giving fewer samples than that needs can never
  fail a canary, so it is refused rather than passed;
- how long must the canary run, at the traffic it gets, before a stated rise in its error rate
  (for example 1% → 5%) is seen with the wanted power? The normal approximation of the
  two-proportion test gives the requests each side needs; the traffic gives the time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInput
from .config import AnalysisConfig, parse_config


def minimum_samples(alpha: float) -> int:
    """The fewest samples a side for which a one-sided rank test can reach p < alpha."""
    n = 1
    while 1 / math.comb(2 * n, n) >= alpha:
        n += 1
    return n


def samples_per_side(config: AnalysisConfig, window_seconds: int) -> int:
    """Samples each side gives over a window, once the warm-up is left out."""
    measured = window_seconds - config.warmup_seconds
    return measured // config.step_seconds + 1 if measured >= 0 else 0


def check_window(config: AnalysisConfig, window_seconds: int, *, field: str) -> int:
    """The samples a side, or InvalidInput naming `field` when the window can detect nothing."""
    need = minimum_samples(config.alpha)
    have = samples_per_side(config, window_seconds)
    if have < need:
        shortest = config.warmup_seconds + (need - 1) * config.step_seconds
        raise InvalidInput(
            f"a window of {window_seconds}s gives {have} samples a side after the "
            f"{config.warmup_seconds}s warm-up; the rank test needs {need} to ever reach "
            f"p < {config.alpha:g}, so this analysis could never fail a canary: "
            f"make it at least {shortest}s",
            field=field,
        )
    return have


def validated(raw: Mapping[str, Any] | None, *, field: str) -> AnalysisConfig:
    """An app's analysis as configured: every field checked, and its window long enough to
    ever fail a canary (InvalidInput naming the field otherwise)."""
    config = parse_config(raw, field=field)
    check_window(config, config.window_seconds, field=f"{field}.windowSeconds")
    return config


@dataclasses.dataclass(frozen=True)
class Detection:
    """Requests a side, and seconds at the given traffic, to see the stated rise."""

    requests_per_side: int
    seconds: float


def error_rate_detection(
    baseline_rate: float,
    degraded_rate: float,
    requests_per_second: float,
    *,
    alpha: float = 0.05,
    power: float = 0.8,
) -> Detection:
    """How long a canary taking `requests_per_second` must run for a rise of its error rate
    from `baseline_rate` to `degraded_rate` to be detected (one-sided, at `alpha`, with
    `power`)."""
    from scipy.stats import norm

    if not 0 <= baseline_rate < degraded_rate <= 1:
        raise InvalidInput("must be above the baseline rate and at most 1", field="degradedRate")
    if requests_per_second <= 0:
        raise InvalidInput("must be above 0", field="requestsPerSecond")
    z = float(norm.ppf(1 - alpha) + norm.ppf(power))
    variance = baseline_rate * (1 - baseline_rate) + degraded_rate * (1 - degraded_rate)
    n = math.ceil(z * z * variance / (degraded_rate - baseline_rate) ** 2)
    return Detection(requests_per_side=n, seconds=n / requests_per_second)
