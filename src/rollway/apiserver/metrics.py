"""Prometheus metrics: requests by route template (bounded labels) and deployment admissions.

A registry per server rather than the global one, so several apps in one process (tests) do
not collide.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rollway_http_requests_total",
            "HTTP requests answered",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "rollway_http_request_duration_seconds",
            "Time to answer an HTTP request (streams: until the headers)",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.unauthenticated = Counter(
            "rollway_unauthenticated_requests_total",
            "Requests refused for a missing or invalid token (never written to the audit trail)",
            ("reason",),
            registry=self.registry,
        )
        self.admissions = Counter(
            "rollway_deployments_admitted_total",
            "Deployment requests by outcome",
            ("outcome",),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request, labelled by the matched route's template."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = _route(scope)
                self.metrics.latency.labels(scope["method"], route).observe(
                    time.perf_counter() - started
                )
                self.metrics.requests.labels(scope["method"], route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, send_status)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"
