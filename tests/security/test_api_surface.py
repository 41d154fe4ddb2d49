"""The API surface under abuse, on the real realm and the real engine: the body limit and
authentication come before any parsing, the realm's JWKS is fetched at most once per interval
however many unknown key ids arrive (counted by a recording proxy in front of the real
Keycloak), and streams are capped per caller and in all without starving other requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from jwcrypto import jwk, jwt

from tests.integration.apiserver.conftest import Api, Tokens, serving
from tests.security.conftest import bare
from tests.security.server_counts import audit_rows, unauthenticated
from tests.support.helpers import free_port, wait_for

pytestmark = pytest.mark.integration

DEPLOYMENTS = "/api/v1/apps/hello/deployments"
LIMIT = 4096


# --- body limit and authentication before parsing ---------------------------------------------


def test_an_anonymous_body_is_not_parsed(api: Api) -> None:
    """Malformed JSON without a token: 401, not the parser's 422 — the body was never read."""
    rows = audit_rows(api)
    answer = api.call(None, "POST", DEPLOYMENTS, content=b"{not json",
                      headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert audit_rows(api) == rows


@pytest.fixture
def small(devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path) -> Iterator[Api]:
    with bare(devstack_env, tokens, tmp_path, max_request_body=LIMIT) as server:
        yield server


def too_large(answer: httpx.Response) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert f"larger than {LIMIT} bytes" in answer.json()["detail"]


def padded(size: int) -> bytes:
    return json.dumps({"env": "dev", "version": "1.0.0", "note": "x" * size}).encode()


@pytest.mark.parametrize("user", ["alice", None])
def test_a_declared_body_over_the_limit_is_refused_unread(small: Api, user: str | None) -> None:
    answer = small.call(user, "POST", DEPLOYMENTS, content=padded(LIMIT),
                        headers={"Content-Type": "application/json"})  # fmt: skip
    too_large(answer)
    assert small.workflows() == []


def test_a_chunked_body_is_cut_off_at_the_limit(small: Api) -> None:
    """No Content-Length: the body is counted as it arrives and refused once past the limit."""
    body = padded(4 * LIMIT)
    chunks = (body[i : i + 1024] for i in range(0, len(body), 1024))
    answer = small.call("alice", "POST", DEPLOYMENTS, content=chunks,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    too_large(answer)
    assert small.workflows() == []


def test_a_body_under_the_limit_reaches_the_route(small: Api) -> None:
    """Read, parsed and handled: the route answers that this server has no app hello."""
    answer = small.call("alice", "POST", f"{DEPLOYMENTS}?dryRun=true",
                        json={"env": "dev", "version": "1.0.0"})  # fmt: skip
    assert answer.status_code == 404, answer.text
    assert "hello" in answer.json()["detail"]


# --- JWKS downloads ---------------------------------------------------------------------------


class KeycloakProxy(ThreadingHTTPServer):
    """Loopback proxy to the real Keycloak that records each JWKS request; `down` answers 503
    instead of forwarding (Keycloak unreachable)."""

    def __init__(self, upstream: str, down: bool = False) -> None:
        self.jwks_requests = 0
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                if self.path.endswith("/protocol/openid-connect/certs"):
                    proxy.jwks_requests += 1
                if down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                answer = httpx.get(upstream.rstrip("/") + self.path)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def behind_proxy(
    env: dict[str, str], tokens: Tokens, state: Path, down: bool = False
) -> Iterator[tuple[Api, KeycloakProxy]]:
    """A server that reaches Keycloak through a recording proxy, one JWKS download per hour."""
    proxy = KeycloakProxy(env["ROLLWAY_KEYCLOAK_URL"], down=down)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        with bare(env, tokens, state, proxy.url, oidc_jwks_refresh_interval=3600) as api:
            yield api, proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


def unknown_kid_token(claims: dict[str, Any], n: int) -> str:
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    token = jwt.JWT(header={"alg": "ES256", "kid": f"made-up-{n}"}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def test_unknown_key_ids_cause_at_most_one_jwks_download_per_interval(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path
) -> None:
    with behind_proxy(devstack_env, tokens, tmp_path) as (api, proxy):
        claims = jwt.JWT(jwt=tokens("alice")).token.objects["payload"]
        forged = [unknown_kid_token(json.loads(claims), n) for n in range(40)]

        def attempt(token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return api.call(None, "GET", "/api/v1/apps", headers=headers).status_code

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(attempt, [tokens("alice"), *forged, tokens("carol")]))

        assert answers[0] == answers[-1] == 200
        assert set(answers[1:-1]) == {401}
        assert proxy.jwks_requests == 1
        assert unauthenticated(api, "invalid") == len(forged)


def test_a_failed_jwks_download_is_not_retried_within_the_interval(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path
) -> None:
    with behind_proxy(devstack_env, tokens, tmp_path, down=True) as (api, proxy):
        for user in ("alice", "carol", "dave", "alice", "bob"):
            answer = api.call(user, "GET", "/api/v1/apps")
            assert answer.status_code == 502, answer.text
            assert answer.headers["content-type"] == "application/problem+json"
            assert "signing keys" in answer.json()["detail"]
        assert proxy.jwks_requests == 1


# --- streams ----------------------------------------------------------------------------------

PER_USER, TOTAL = 44, 50  # more than the 40 default worker threads, all open at once


@contextmanager
def live(api: Api) -> Iterator[str]:
    """The same app (its lifespan already running in the test client) behind a real uvicorn:
    streams need a server that answers while earlier responses are still open."""
    port = free_port()
    config = uvicorn.Config(api.client.app, host="127.0.0.1", port=port, lifespan="off",
                            log_level="warning")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for("uvicorn to listen", lambda: server.started, timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_streams_are_capped_per_caller_and_in_all_while_other_requests_answer(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path
) -> None:
    overrides = {"streams_per_user": PER_USER, "streams_total": TOTAL}
    with serving(devstack_env, tokens, tmp_path, **overrides) as api, live(api) as url:
        deployment = api.at_gate("alice")  # waiting at its gate: its event stream stays open
        events = f"{url}/api/v1/deployments/{deployment}/events"
        limits = httpx.Limits(max_connections=TOTAL + 10)
        with httpx.Client(limits=limits, timeout=60) as client, ExitStack() as streams:

            def open_stream(user: str) -> httpx.Response:
                answer = streams.enter_context(
                    client.stream("GET", events, headers=tokens.headers(user))
                )
                if answer.status_code != 200:
                    answer.read()
                return answer

            for _ in range(PER_USER):
                assert open_stream("alice").status_code == 200
            over = open_stream("alice")
            assert over.status_code == 429
            assert over.headers["content-type"] == "application/problem+json"
            assert over.json()["field"] == "streams_per_user"

            # 44 streams hold more threads than the default pool has: sync routes still answer.
            assert (
                client.get(f"{url}/api/v1/apps", headers=tokens.headers("carol")).status_code == 200
            )
            assert client.get(f"{url}/readyz").status_code == 200

            for _ in range(TOTAL - PER_USER):
                assert open_stream("dave").status_code == 200
            full = open_stream("dave")
            assert full.status_code == 429
            assert full.json()["field"] == "streams_total"
            logs = client.get(f"{url}/api/v1/deployments/{deployment}/logs",
                              headers=tokens.headers("bob"))  # fmt: skip
            assert logs.status_code == 429
            assert client.get(f"{url}/api/v1/deployments/{deployment}",
                              headers=tokens.headers("bob")).status_code == 200  # fmt: skip


def test_a_stream_whose_client_left_frees_its_slot(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path
) -> None:
    """A client that goes away from a followed log or an event stream of a deployment waiting
    at its gate (nothing will change for hours) gets its slot back, not at the workflow's end."""
    with (
        serving(devstack_env, tokens, tmp_path, streams_per_user=2, streams_total=10) as api,
        live(api) as url,
    ):
        deployment = api.at_gate("alice")
        base = f"{url}/api/v1/deployments/{deployment}"
        headers = tokens.headers("alice")

        def opened(path: str) -> int:
            with httpx.Client(timeout=60) as client, client.stream(
                "GET", f"{base}{path}", headers=headers
            ) as answer:  # fmt: skip
                return answer.status_code  # and the client leaves

        with httpx.Client(timeout=60) as held, ExitStack() as streams:
            for path in ("/logs?follow=true", "/events"):
                answer = streams.enter_context(held.stream("GET", f"{base}{path}", headers=headers))
                assert answer.status_code == 200
            assert opened("/events") == 429
        # Both clients left: their slots come back while the deployment still waits.
        wait_for("the slots of the clients that left",
                 lambda: opened("/logs?follow=true") == 200, timeout=30, interval=0.5)  # fmt: skip
        assert api.get(deployment)["state"] == "waiting"
