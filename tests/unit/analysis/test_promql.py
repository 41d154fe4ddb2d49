"""A team's query reads only the side's pods: every vector selector carries $selector, so no
judgement can carry another project's figures."""

from __future__ import annotations

import pytest

from rollway.analysis import BUILTIN
from rollway.analysis.config import validate_query
from rollway.errors import InvalidInput


@pytest.mark.parametrize(
    "query",
    [
        *(spec.query for spec in BUILTIN.values()),
        "sum(rate(orders_failed_total{$selector}[1m]))",
        'histogram_quantile(0.9, sum by (le) (rate(x_bucket{$selector, code=~"5.."}[30s])))',
        "sum(rate(x{$selector}[1m])) / sum(rate(y{$selector}[1m])) > bool 0.5",
        "sum without (pod) (x{$selector}) offset 1m",
        "1 - sum(rate(x{$selector}[5m:30s]))",
        '{__name__="x", $selector}',
        "max(x{$selector}) * on (namespace) group_left (app) y{$selector}",
    ],
)
def test_scoped_queries_pass(query: str) -> None:
    assert validate_query(query, "q") == query


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("up{$selector} + up", "metric 'up' must select the side's pods: write up{$selector}"),
        ("sum(rate(x{$selector}[1m])) / sum(rate(y[1m]))", "metric 'y'"),
        ('x{namespace="payments"} + 0 * up{$selector}', 'found {namespace="payments"}'),
        ("sum(x{$selector}) + sum by (le) (y)", "metric 'y'"),
        ("x{$selector} + y offset 1m", "metric 'y'"),
    ],
)
def test_a_query_reading_other_series_is_refused(query: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_query(query, "analysis.metrics[0].query")
    assert caught.value.field == "analysis.metrics[0].query"
    assert words in caught.value.message
