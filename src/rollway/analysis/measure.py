"""One measurement of a running analysis: the window checked, both sides sampled from
Prometheus over the same window (its warm-up left out), then judged. Prometheus failing is an
inconclusive verdict that names why: the rollout pauses for a human, it never passes silently."""

from __future__ import annotations

import time

import httpx

from .config import AnalysisConfig
from .judge import Verdict, judge
from .plan import check_window
from .prometheus import MetricsUnavailable, selector, side_samples


def measure(
    prometheus_url: str | None,
    config: AnalysisConfig,
    *,
    namespace: str,
    canary_hash: str,
    baseline_hash: str,
    window_seconds: int,
    now: float | None = None,
) -> Verdict:
    """Judge the canary revision against the baseline revision over the last `window_seconds`.

    Raises InvalidInput (field `windowSeconds`) when the window could never fail a canary."""
    check_window(config, window_seconds, field="windowSeconds")
    if not prometheus_url:
        return Verdict("inconclusive", None, (), "analysis inconclusive: no Prometheus configured")
    end = time.time() if now is None else now
    start = end - window_seconds + config.warmup_seconds
    try:
        with httpx.Client(base_url=prometheus_url, timeout=10) as client:
            canary = side_samples(client, config, selector(namespace, canary_hash), start, end)
            baseline = side_samples(client, config, selector(namespace, baseline_hash), start, end)
    except MetricsUnavailable as err:
        return Verdict("inconclusive", None, (), f"analysis inconclusive: {err.message}")
    return judge(config, canary, baseline)
