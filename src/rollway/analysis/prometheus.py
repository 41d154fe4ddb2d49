"""Samples of each side, read from Prometheus' range queries.

A side is the pods of one Argo Rollouts revision in one namespace: the query's `$selector`
becomes label matchers on `namespace` and `rollouts_pod_template_hash`, values checked first so
that nothing but a name and a hash ever reaches PromQL. Prometheus not answering, or answering
an error, is `MetricsUnavailable`: the caller makes that an inconclusive verdict, never a pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import httpx

from ..errors import UpstreamError
from .config import SELECTOR, AnalysisConfig

HASH = re.compile(r"^[a-z0-9]{1,32}$")


class MetricsUnavailable(UpstreamError):
    """Prometheus could not say: unreachable, timed out, or refused the query."""


def selector(namespace: str, pod_template_hash: str) -> str:
    if not HASH.match(pod_template_hash):
        raise ValueError(f"not a pod template hash: {pod_template_hash!r}")
    return f'namespace="{namespace}",rollouts_pod_template_hash="{pod_template_hash}"'


def side_samples(
    client: httpx.Client,
    config: AnalysisConfig,
    side_selector: str,
    start: float,
    end: float,
) -> dict[str, list[float]]:
    """Each metric's values over [start, end] (UNIX seconds) at the config's step."""
    samples: dict[str, list[float]] = {}
    for metric in config.metrics:
        query = metric.query.replace(SELECTOR, side_selector)
        samples[metric.name] = range_values(client, query, start, end, config.step_seconds)
    return samples


def range_values(
    client: httpx.Client, query: str, start: float, end: float, step: int
) -> list[float]:
    """The values of a query that yields one series (the side's aggregate), NaNs left out;
    several series are pooled, as the judge compares distributions."""
    params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": str(step)}
    try:
        resp = client.get("/api/v1/query_range", params=params)
    except httpx.HTTPError as err:
        raise MetricsUnavailable(f"Prometheus did not answer: {type(err).__name__}") from None
    if resp.status_code != 200:
        raise MetricsUnavailable(f"Prometheus refused a query ({resp.status_code}): {_error(resp)}")
    result: Sequence[dict[str, object]] = resp.json().get("data", {}).get("result", [])
    values: list[float] = []
    for series in result:
        points = series.get("values", [])
        assert isinstance(points, list)
        for _, value in points:
            number = float(value)
            if math.isfinite(number):
                values.append(number)
    return values


def _error(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("error", ""))[:300]
    except ValueError:
        return resp.text[:300]
