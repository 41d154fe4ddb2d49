"""Fixtures for API server tests: real Keycloak tokens per user, the app in-process on a fresh
SQLite database, and the two applications of the realm's teams (hello, payments)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from keycloak import KeycloakOpenID
from sqlalchemy import create_engine

from rollway.apiserver import Settings, create_app
from tests.helpers import free_port, wait_for
from tests.integration.apiserver.engine import ScriptedBackend

#: The realm's users (realm-rollway.json) and the CI service account.
USERS = ("alice", "bob", "carol", "dave", "erin", "demo")
CI = "ci"

HELLO: dict[str, Any] = {
    "name": "hello",
    "environments": [
        {"name": "dev"},
        {"name": "prod", "policy": {"approvalRequired": True}},
    ],
    "chart": {
        "repo": "http://127.0.0.1:23000/rollway/charts.git",
        "path": "charts/app",
        "ref": "main",
    },
    "artifact": "com.example:hello",
    "owningGroups": ["team-hello"],
}
PAYMENTS: dict[str, Any] = {
    **HELLO,
    "name": "payments",
    "artifact": "com.example:hello-fat",
    "owningGroups": ["team-payments"],
}


class Tokens:
    """Access tokens from the realm's token endpoint, reused until a minute before expiry."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        url, realm = env["ROLLWAY_KEYCLOAK_URL"], env["ROLLWAY_KEYCLOAK_REALM"]
        self.cli = KeycloakOpenID(
            server_url=url, realm_name=realm, client_id=env["ROLLWAY_CLI_CLIENT_ID"]
        )
        self.ci = KeycloakOpenID(
            server_url=url,
            realm_name=realm,
            client_id=env["ROLLWAY_CI_CLIENT_ID"],
            client_secret_key=env["ROLLWAY_CI_CLIENT_SECRET"],
        )
        self._cache: dict[str, tuple[str, float]] = {}

    def __call__(self, user: str) -> str:
        token, expires = self._cache.get(user, ("", 0.0))
        if time.monotonic() > expires - 60:
            if user == CI:
                answer = self.ci.token(grant_type="client_credentials")
            else:
                answer = self.cli.token(user, self.env["DEVSTACK_USER_PASSWORD"])
            token, expires = answer["access_token"], time.monotonic() + answer["expires_in"]
            self._cache[user] = (token, expires)
        return token

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self(user)}"}


@pytest.fixture(scope="session")
def tokens(devstack_env: dict[str, str]) -> Tokens:
    return Tokens(devstack_env)


@contextmanager
def database(tmp_path: Path) -> Iterator[str]:
    """SQLite in `tmp_path`; or, when ROLLWAY_TEST_POSTGRES names a PostgreSQL server
    (`postgresql+psycopg://user@host:port`), a database of its own there, dropped afterwards."""
    server = os.environ.get("ROLLWAY_TEST_POSTGRES")
    if not server:
        yield f"sqlite:///{tmp_path / 'rollway.db'}"
        return
    name = f"rollway_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        admin.dispose()


def settings(env: dict[str, str], database_url: str, **overrides: Any) -> Settings:
    return Settings(
        database_url=database_url,
        keycloak_url=env["ROLLWAY_KEYCLOAK_URL"],
        keycloak_realm=env["ROLLWAY_KEYCLOAK_REALM"],
        oidc_issuer=env["ROLLWAY_OIDC_ISSUER"],
        oidc_audience=env["ROLLWAY_OIDC_AUDIENCE"],
        registry=env.get("ROLLWAY_REGISTRY", "harbor.local"),
        kubeconfig=env.get("KUBECONFIG"),
        sync_interval=0.2,
        oidc_jwks_refresh_interval=0,  # a test rotates a realm key and expects it at once
        **overrides,
    )


class Api:
    """The in-process server, called as one of the realm's users."""

    def __init__(self, client: TestClient, backend: ScriptedBackend, tokens: Tokens) -> None:
        self.client, self.backend, self.tokens = client, backend, tokens

    def call(self, user: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **(self.tokens.headers(user) if user else {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def deploy(
        self, user: str, app: str = "hello", env: str = "dev", **body: Any
    ) -> httpx.Response:
        payload = {"env": env, "version": "1.0.0", **body}
        return self.call(user, "POST", f"/api/v1/apps/{app}/deployments", json=payload)


@pytest.fixture
def api(devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path) -> Iterator[Api]:
    """A fresh server with hello and payments registered (by the admin)."""
    backend = ScriptedBackend()
    with (
        database(tmp_path) as url,
        TestClient(
            create_app(settings(devstack_env, url), backend=backend), raise_server_exceptions=False
        ) as client,
    ):
        server = Api(client, backend, tokens)
        for spec in (HELLO, PAYMENTS):
            answer = server.call("dave", "POST", "/api/v1/apps", json=spec)
            assert answer.status_code == 201, answer.text
        yield server


class LiveServer:
    """The app behind a real uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, env: dict[str, str], database_url: str, backend: ScriptedBackend) -> None:
        self.backend = backend
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(settings(env, database_url), backend=backend)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_for("the API server to listen", lambda: self.server.started, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path) -> Iterator[LiveServer]:
    """A live server with hello and payments registered."""
    with database(tmp_path) as url, LiveServer(devstack_env, url, ScriptedBackend()) as server:
        for spec in (HELLO, PAYMENTS):
            answer = httpx.post(
                f"{server.url}/api/v1/apps", json=spec, headers=tokens.headers("dave")
            )
            assert answer.status_code == 201, answer.text
        yield server
