"""Analysis configuration: defaults for the sample app, and bad input named by its field."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.analysis import DEFAULT_METRICS, parse_config
from rollway.errors import InvalidInput


def test_no_config_gives_the_http_defaults() -> None:
    config = parse_config(None)
    assert tuple(m.name for m in config.metrics) == DEFAULT_METRICS
    assert [m.critical for m in config.metrics] == [True, False, False]
    assert (config.pass_score, config.marginal_score, config.alpha) == (95, 75, 0.05)
    assert config.baseline is None  # fresh for a canary, the running stable pods for blue-green
    assert parse_config({"baseline": "stable"}).baseline == "stable"


def test_a_builtin_metric_can_be_tuned_and_a_custom_one_added() -> None:
    config = parse_config({
        "metrics": [
            {"name": "error-rate", "tolerance": 0.5},
            {"name": "orders-failed", "query": 'sum(rate(orders_failed_total{$selector}[1m]))',
             "critical": True, "weight": 3},
        ],
        "passScore": 90, "marginalScore": 60,
    })  # fmt: skip
    errors, orders = config.metrics
    assert (errors.tolerance, errors.critical, errors.unit) == (0.5, True, "ratio")
    assert (orders.direction, orders.critical, orders.weight) == ("higher-is-worse", True, 3)
    assert (config.pass_score, config.marginal_score) == (90, 60)


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ({"metrics": [{"name": "saturation"}]}, "analysis.metrics[0].name", "unknown metric"),
        ({"metrics": [{"name": "x", "query": "sum(rate(x[1m]))"}]}, "analysis.metrics[0].query",
         "$selector"),
        ({"metrics": [{"name": "x", "query": "sum(rate(x{$selector}[1m])"}]},
         "analysis.metrics[0].query", "never closed"),
        ({"metrics": [{"name": "x", "query": "sum(x{$selector}))"}]},
         "analysis.metrics[0].query", "unbalanced"),
        ({"metrics": [{"name": "x", "query": 'x{$selector,a="b}'}]},
         "analysis.metrics[0].query", "never closed"),
        ({"metrics": [{"name": "x", "query": "x{$selector} {{workflow.name}}"}]},
         "analysis.metrics[0].query", "'{{'"),
        ({"metrics": [{"name": "Bad_Name", "query": "x{$selector}"}]},
         "analysis.metrics[0].name", "DNS-1123"),
        ({"metrics": [{"name": "error-rate"}, {"name": "error-rate"}]},
         "analysis.metrics[1].name", "twice"),
        ({"metrics": []}, "analysis.metrics", "non-empty"),
        ({"metrics": [{"name": "error-rate", "direction": "up"}]},
         "analysis.metrics[0].direction", "higher-is-worse"),
        ({"metrics": [{"name": "error-rate", "tolerance": -1}]},
         "analysis.metrics[0].tolerance", "at least 0"),
        ({"metrics": [{"name": "error-rate", "weight": 0}]}, "analysis.metrics[0].weight",
         "above 0"),
        ({"metrics": [{"name": "error-rate", "critical": "yes"}]},
         "analysis.metrics[0].critical", "true or false"),
        ({"passScore": 120}, "analysis.passScore", "at most 100"),
        ({"passScore": 0}, "analysis.passScore", "above 0"),
        ({"marginalScore": 99}, "analysis.marginalScore", "not be above passScore"),
        ({"alpha": 0}, "analysis.alpha", "above 0"),
        ({"alpha": "0.05"}, "analysis.alpha", "number"),
        ({"metrics": [{"name": "error-rate", "absoluteTolerance": 10**400}]},
         "analysis.metrics[0].absoluteTolerance", "finite"),
        ({"warmupSeconds": 1.5}, "analysis.warmupSeconds", "whole number"),
        ({"stepSeconds": 0}, "analysis.stepSeconds", "between 1 and 600"),
        ({"threshold": 1}, "analysis.threshold", "unknown field"),
        ({"windowSeconds": 0}, "analysis.windowSeconds", "between 1 and 86400"),
        ({"traffic": 5}, "analysis.traffic", "object"),
        ({"traffic": {"requestsPerSecond": 500}}, "analysis.traffic.requestsPerSecond",
         "at most 50"),
        ({"traffic": {"requestsPerSecond": 0}}, "analysis.traffic.requestsPerSecond", "above 0"),
        ({"traffic": {"path": "http://evil.test/"}}, "analysis.traffic.path", "starting with /"),
        ({"traffic": {"path": "/a b"}}, "analysis.traffic.path", "no spaces"),
        ({"traffic": {"rps": 1}}, "analysis.traffic.rps", "unknown field"),
        ({"baseline": "warm"}, "analysis.baseline", '"fresh"'),
    ],
)  # fmt: skip
def test_bad_input_names_the_field(raw: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_config(raw)
    assert caught.value.field == field
    assert words in caught.value.message


def test_an_apps_window_too_short_to_ever_fail_a_canary_is_refused_naming_it() -> None:
    from rollway.analysis.plan import validated

    with pytest.raises(InvalidInput, match="could never fail a canary") as caught:
        validated({"windowSeconds": 40}, field="body.parameters.analysis")
    assert caught.value.field == "body.parameters.analysis.windowSeconds"
    config = validated({"windowSeconds": 120, "traffic": {}}, field="analysis")
    assert config.window_seconds == 120 and config.traffic is not None
    assert (config.traffic.requests_per_second, config.traffic.path) == (5.0, "/")
