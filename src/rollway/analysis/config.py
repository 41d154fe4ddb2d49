"""What an app's canary analysis measures and how its verdict is scored, validated field by field.

An analysis is a list of metrics (built-in ones by name, or the team's own PromQL), each with a
direction, a tolerance, a weight and a critical flag, plus the score thresholds and the test's
significance level. Every error names the field, as the API's 422 and the CLI's one line do.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from ..errors import InvalidInput
from ..validation import dns_label, no_template
from .promql import check_scoped

Direction = Literal["higher-is-worse", "lower-is-worse"]
#: What the canary is compared with: `fresh`, pods of the stable version started with the
#: canary's own (an Argo Rollouts experiment, so both are equally cold); `stable`, the stable
#: version's running pods (what blue-green, which has no experiment step, always compares with).
Baseline = Literal["fresh", "stable"]
BASELINES: tuple[Baseline, ...] = ("fresh", "stable")
Unit = Literal["ratio", "seconds", ""]
DIRECTIONS: tuple[Direction, ...] = ("higher-is-worse", "lower-is-worse")
UNITS: tuple[Unit, ...] = ("ratio", "seconds", "")
#: Where a query says "the pods of one side": replaced by label matchers on namespace and the
#: Argo Rollouts revision hash (canary or baseline). Not `{{…}}`: Argo would expand that.
SELECTOR = "$selector"
MAX_QUERY = 2000


@dataclasses.dataclass(frozen=True)
class MetricSpec:
    """One metric: a PromQL query evaluated per side over the window, and how to judge it.

    `tolerance` is the relative degradation allowed (0.1: the canary may be 10% worse than the
    baseline) and `absolute_tolerance` the degradation always allowed, whatever the baseline
    (an error rate of 0 against 0.1% is not a regression worth an abort).
    """

    name: str
    query: str
    direction: Direction = "higher-is-worse"
    tolerance: float = 0.1
    absolute_tolerance: float = 0.0
    critical: bool = False
    weight: float = 1.0
    unit: Unit = ""


#: Metrics every app exposing `http_server_requests_total` and the request-duration histogram
#: (the sample app, Micrometer with Prometheus naming) gets by name.
BUILTIN: dict[str, MetricSpec] = {
    spec.name: spec
    for spec in (
        MetricSpec(
            name="error-rate",
            query=(
                '(sum(rate(http_server_requests_total{code=~"5..",$selector}[20s])) or vector(0))'
                " / sum(rate(http_server_requests_total{$selector}[20s]))"
            ),
            tolerance=0.1,
            absolute_tolerance=0.01,
            critical=True,
            weight=2.0,
            unit="ratio",
        ),
        MetricSpec(
            name="latency-p50",
            query=(
                "histogram_quantile(0.5, sum by (le) "
                "(rate(http_server_request_duration_seconds_bucket{$selector}[20s])))"
            ),
            tolerance=0.2,
            absolute_tolerance=0.005,
            unit="seconds",
        ),
        MetricSpec(
            name="latency-p99",
            query=(
                "histogram_quantile(0.99, sum by (le) "
                "(rate(http_server_request_duration_seconds_bucket{$selector}[20s])))"
            ),
            tolerance=0.2,
            absolute_tolerance=0.01,
            unit="seconds",
        ),
    )
}
DEFAULT_METRICS = ("error-rate", "latency-p50", "latency-p99")


@dataclasses.dataclass(frozen=True)
class Traffic:
    """Synthetic requests Rollway sends to both sides while the judge measures, for an app
    whose own traffic is too thin to judge: bounded in rate, and in time by the window."""

    requests_per_second: float = 5.0
    path: str = "/"


MAX_RATE = 50.0
PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,199}$")


@dataclasses.dataclass(frozen=True)
class AnalysisConfig:
    """The whole analysis: metrics, score thresholds (0-100), significance, sampling."""

    metrics: tuple[MetricSpec, ...] = tuple(BUILTIN[n] for n in DEFAULT_METRICS)
    pass_score: float = 95.0
    marginal_score: float = 75.0
    alpha: float = 0.05
    #: Seconds at the start of the window left out: a cold JVM against a warm one is the
    #: classic false abort.
    warmup_seconds: int = 30
    #: Seconds between two samples of a metric (the query_range step).
    step_seconds: int = 10
    #: Seconds each analysis of a release measures, warm-up included.
    window_seconds: int = 90
    #: None: the judge measures the traffic the app gets.
    traffic: Traffic | None = None
    #: None: `fresh` for a canary, `stable` for blue-green.
    baseline: Baseline | None = None


FIELDS = {
    "metrics", "passScore", "marginalScore", "alpha", "warmupSeconds", "stepSeconds",
    "windowSeconds", "traffic", "baseline",
}  # fmt: skip
TRAFFIC_FIELDS = {"requestsPerSecond", "path"}
METRIC_FIELDS = {
    "name", "query", "direction", "tolerance", "absoluteTolerance", "critical", "weight", "unit",
}  # fmt: skip


def baseline_of(config: AnalysisConfig, *, canary: bool) -> Baseline:
    """What a release of this strategy is compared with: a canary's default is `fresh`,
    blue-green's is always `stable` (check_judgeable refuses an explicit `fresh`)."""
    if config.baseline is not None:
        return config.baseline
    return "fresh" if canary else "stable"


def parse_config(raw: Mapping[str, Any] | None, *, field: str = "analysis") -> AnalysisConfig:
    """An AnalysisConfig from its JSON form (camelCase, as the API and chart values spell it);
    absent fields take the defaults that suit the sample app."""
    if raw is None:
        return AnalysisConfig()
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be an object", field=field)
    _known(raw, FIELDS, field)
    defaults = AnalysisConfig()
    metrics = defaults.metrics
    if "metrics" in raw:
        items = raw["metrics"]
        if not isinstance(items, list) or not items:
            raise InvalidInput("must be a non-empty list", field=f"{field}.metrics")
        metrics = tuple(_metric(m, f"{field}.metrics[{i}]") for i, m in enumerate(items))
        seen: set[str] = set()
        for i, m in enumerate(metrics):
            if m.name in seen:
                raise InvalidInput(
                    f"{m.name!r} is listed twice", field=f"{field}.metrics[{i}].name"
                )
            seen.add(m.name)
    pass_score = _number(
        raw, "passScore", defaults.pass_score, field, low=0, high=100, low_open=True
    )
    marginal = _number(raw, "marginalScore", defaults.marginal_score, field, low=0, high=100)
    if marginal > pass_score:
        raise InvalidInput(
            f"must not be above passScore ({pass_score:g})", field=f"{field}.marginalScore"
        )
    alpha = _number(raw, "alpha", defaults.alpha, field, low=0, high=0.5, low_open=True)
    warmup = _integer(raw, "warmupSeconds", defaults.warmup_seconds, field, low=0, high=3600)
    step = _integer(raw, "stepSeconds", defaults.step_seconds, field, low=1, high=600)
    window = _integer(raw, "windowSeconds", defaults.window_seconds, field, low=1, high=86400)
    traffic = _traffic(raw["traffic"], f"{field}.traffic") if "traffic" in raw else None
    baseline = raw.get("baseline")
    if baseline is not None and baseline not in BASELINES:
        raise InvalidInput(
            'must be "fresh" (stable pods started with the canary) or "stable" (the running ones)',
            field=f"{field}.baseline",
        )
    return AnalysisConfig(
        metrics, pass_score, marginal, alpha, warmup, step, window, traffic, baseline
    )


def _traffic(raw: Any, field: str) -> Traffic:
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be an object", field=field)
    _known(raw, TRAFFIC_FIELDS, field)
    default = Traffic()
    rate = _number(raw, "requestsPerSecond", default.requests_per_second, field, low=0,
                   high=MAX_RATE, low_open=True)  # fmt: skip
    path = raw.get("path", default.path)
    if not isinstance(path, str) or not PATH.fullmatch(path):
        raise InvalidInput(
            "must be a URL path starting with / (at most 200 characters, no spaces)",
            field=f"{field}.path",
        )
    no_template(f"{field}.path", path)
    return Traffic(rate, path)


def _metric(raw: Any, field: str) -> MetricSpec:
    if not isinstance(raw, Mapping):
        raise InvalidInput("must be an object", field=field)
    _known(raw, METRIC_FIELDS, field)
    name = raw.get("name")
    if not isinstance(name, str):
        raise InvalidInput("must be a string", field=f"{field}.name")
    dns_label(f"{field}.name", name)
    base = BUILTIN.get(name)
    if "query" in raw:
        query = raw["query"]
        if not isinstance(query, str):
            raise InvalidInput("must be a string", field=f"{field}.query")
        validate_query(query, f"{field}.query")
    elif base is None:
        known = ", ".join(BUILTIN)
        raise InvalidInput(
            f"unknown metric {name!r}: name a built-in one ({known}) or give its query",
            field=f"{field}.name",
        )
    else:
        query = base.query
    base = base or MetricSpec(name=name, query=query)
    direction = raw.get("direction", base.direction)
    if direction not in DIRECTIONS:
        raise InvalidInput(f"must be one of {', '.join(DIRECTIONS)}", field=f"{field}.direction")
    unit = raw.get("unit", base.unit)
    if unit not in UNITS:
        raise InvalidInput('must be "ratio", "seconds" or ""', field=f"{field}.unit")
    critical = raw.get("critical", base.critical)
    if not isinstance(critical, bool):
        raise InvalidInput("must be true or false", field=f"{field}.critical")
    return MetricSpec(
        name=name,
        query=query,
        direction=direction,
        tolerance=_number(raw, "tolerance", base.tolerance, field, low=0, high=100),
        absolute_tolerance=_number(
            raw, "absoluteTolerance", base.absolute_tolerance, field, low=0, high=math.inf
        ),  # fmt: skip
        critical=critical,
        weight=_number(raw, "weight", base.weight, field, low=0, high=100, low_open=True),
        unit=unit,
    )


def validate_query(query: str, field: str) -> str:
    """A PromQL query the judge can run for either side: balanced brackets, closed string
    literals, no Argo template syntax, and every series it reads scoped by `$selector`
    (rollway.analysis.promql). Prometheus has the last word on the rest."""
    no_template(field, query)
    if not query.strip():
        raise InvalidInput("must not be empty", field=field)
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"must be at most {MAX_QUERY} characters", field=field)
    if SELECTOR not in query:
        raise InvalidInput(
            f"must select the pods of each side with {SELECTOR}, e.g. "
            f"sum(rate(my_total{{{SELECTOR}}}[20s]))",
            field=field,
        )
    closing = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    quote = ""
    escaped = False
    for ch in query:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in closing and (not stack or stack.pop() != closing[ch]):
            raise InvalidInput(f"unbalanced {ch!r}", field=field)
    if quote:
        raise InvalidInput(f"string literal opened with {quote} is never closed", field=field)
    if stack:
        raise InvalidInput(f"{stack[-1]!r} is never closed", field=field)
    check_scoped(query, field)
    return query


def _known(raw: Mapping[str, Any], fields: set[str], field: str) -> None:
    for key in raw:
        if key not in fields:
            raise InvalidInput(
                f"unknown field; expected one of {', '.join(sorted(fields))}",
                field=f"{field}.{key}",
            )


def _number(
    raw: Mapping[str, Any], key: str, default: float, field: str, *, low: float, high: float,
    low_open: bool = False,
) -> float:  # fmt: skip
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("must be a number", field=f"{field}.{key}")
    try:
        value = float(value)
    except OverflowError:  # an integer too large for a float
        value = math.inf
    if not math.isfinite(value):
        raise InvalidInput("must be a finite number", field=f"{field}.{key}")
    if value < low or (low_open and value == low) or value > high:
        low_text = f"above {low:g}" if low_open else f"at least {low:g}"
        high_text = f" and at most {high:g}" if math.isfinite(high) else ""
        raise InvalidInput(f"must be {low_text}{high_text}", field=f"{field}.{key}")
    return value


def _integer(
    raw: Mapping[str, Any], key: str, default: int, field: str, *, low: int, high: int
) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("must be a whole number of seconds", field=f"{field}.{key}")
    if not low <= value <= high:
        raise InvalidInput(f"must be between {low} and {high}", field=f"{field}.{key}")
    return value
