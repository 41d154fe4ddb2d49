"""Analysis on the real controller: a web-provider AnalysisTemplate against a local endpoint.

The endpoint is a stdlib HTTP server on 127.0.0.1 (the controller runs on this host) answering
`{"status": "ok"}` or `{"status": "failing"}`; the template succeeds on "ok".
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client

from rollway.rollouts import RolloutDegraded, RolloutsClient, wait_for_phase
from tests.integration.rollouts.manifests import (
    APP,
    bluegreen,
    canary,
    create,
    selector,
    service,
    set_image,
    web_analysis,
)
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

ANALYSIS = {"templates": [{"templateName": "health"}]}


class HealthEndpoint:
    """What the endpoint answers, and how often the controller asked."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.answer = "ok"
        self.hits = 0
        self.url = f"http://127.0.0.1:{server.server_port}/health"


@pytest.fixture
def endpoint() -> Iterator[HealthEndpoint]:
    state: list[HealthEndpoint] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state[0].hits += 1
            body = json.dumps({"status": state[0].answer}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.append(HealthEndpoint(server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state[0]
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.parametrize("answer", ["ok", "failing"])
def test_canary_analysis_step(
    api: client.ApiClient, namespace: str, endpoint: HealthEndpoint, answer: str
) -> None:
    steps: list[dict[str, Any]] = [{"setWeight": 50}, {"analysis": ANALYSIS}]
    create(api, namespace, web_analysis(endpoint.url), canary(steps, replicas=2))
    first = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    assert endpoint.hits == 0  # a first deploy runs no steps

    endpoint.answer = answer
    set_image(api, namespace, "web:2")
    if answer == "ok":
        done = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
        assert done.stable_hash == done.current_hash != first.stable_hash
        assert [c.image for c in done.containers] == ["web:2"]
    else:
        with pytest.raises(RolloutDegraded, match="RolloutAborted") as caught:
            wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
        assert caught.value.info.stable_hash == first.stable_hash
        assert "failed" in caught.value.info.message.lower()
    assert endpoint.hits >= 1


@pytest.mark.parametrize("answer", ["ok", "failing"])
def test_bluegreen_post_promotion_analysis(
    api: client.ApiClient,
    rollouts: RolloutsClient,
    namespace: str,
    endpoint: HealthEndpoint,
    answer: str,
) -> None:
    rollout = bluegreen(postPromotionAnalysis=ANALYSIS)
    create(api, namespace, web_analysis(endpoint.url), service(f"{APP}-active"),
           service(f"{APP}-preview"), rollout)  # fmt: skip
    first = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=120)
    set_image(api, namespace, "web:2")
    paused = wait_for_phase(api, namespace, APP, until={"Paused"}, timeout=120)
    assert endpoint.hits == 0  # post-promotion: not before the promotion

    endpoint.answer = answer
    rollouts.promote(namespace, APP)
    if answer == "ok":
        done = wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
        assert done.stable_hash == done.active_hash == paused.current_hash
        assert selector(api, namespace, f"{APP}-active") == paused.current_hash
    else:
        with pytest.raises(RolloutDegraded, match="RolloutAborted") as caught:
            wait_for_phase(api, namespace, APP, until={"Healthy"}, timeout=180)
        assert caught.value.info.stable_hash == first.stable_hash
        # The aborted rollout then sends traffic back to the stable revision (the Service's
        # selector first, the Rollout's status after it: both are waited for).
        wait_for(
            "active Service and the Rollout's status back on the stable hash",
            lambda: (
                selector(api, namespace, f"{APP}-active")
                == rollouts.get(namespace, APP).active_hash
                == first.stable_hash
            ),
        )
    assert endpoint.hits >= 1
