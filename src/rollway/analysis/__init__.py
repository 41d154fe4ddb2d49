"""Canary analysis: the configuration of what is measured, the statistical judge, and how long
an analysis must run (see docs/architecture.md, "Canary analysis")."""

from .config import (
    BUILTIN,
    DEFAULT_METRICS,
    AnalysisConfig,
    MetricSpec,
    baseline_of,
    parse_config,
)
from .judge import MetricResult, Side, Verdict, compare, judge
from .measure import measure
from .plan import Detection, check_window, error_rate_detection, minimum_samples

__all__ = [
    "BUILTIN",
    "DEFAULT_METRICS",
    "AnalysisConfig",
    "Detection",
    "MetricResult",
    "MetricSpec",
    "Side",
    "Verdict",
    "baseline_of",
    "check_window",
    "compare",
    "error_rate_detection",
    "judge",
    "measure",
    "minimum_samples",
    "parse_config",
]
