"""Fixtures for API server tests: real Keycloak tokens per user, the app in-process on a fresh
SQLite database with the real embedded engine running its pipelines on the devstack, and the
two applications of the realm's teams (hello, payments) in namespaces of the test's own."""

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

from devstack.components.postgres import Postgres
from devstack.projects import demo_projects
from devstack.stack import up
from rollway.apiserver import Settings, create_app
from rollway.kube.client import load_api
from rollway.workflows.backends import WorkflowStatus
from rollway.workflows.backends.embedded import EmbeddedBackend
from tests.support.helpers import free_port, wait_for
from tests.support.platform import platform_registry
from tests.support.projects import Call, admitted

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
    "project": "hello",
}
PAYMENTS: dict[str, Any] = {
    **HELLO,
    "name": "payments",
    "artifact": "com.example:hello-fat",
    "project": "payments",
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
    platform = platform_registry(env)  # the registry the pipeline's steps push to
    # The in-process server finds where that registry answers in its own environment.
    os.environ["ROLLWAY_REGISTRY_URL"] = platform["ROLLWAY_REGISTRY_URL"]
    return Settings(
        database_url=database_url,
        keycloak_url=env["ROLLWAY_KEYCLOAK_URL"],
        keycloak_realm=env["ROLLWAY_KEYCLOAK_REALM"],
        oidc_issuer=env["ROLLWAY_OIDC_ISSUER"],
        oidc_audience=env["ROLLWAY_OIDC_AUDIENCE"],
        registry=platform["ROLLWAY_REGISTRY"],
        base_image=platform["ROLLWAY_BASE_IMAGE"],
        kubeconfig=env.get("KUBECONFIG"),
        bootstrap_projects=demo_projects(env["ROLLWAY_CHART_REPO"]),
        **{
            "sync_interval": 0.2,
            "git_url": env["ROLLWAY_GIT_URL"],  # the git server chart repositories must be on
            "notification_hosts": ["127.0.0.1"],  # where the tests' webhook receivers listen
            "oidc_jwks_refresh_interval": 0,  # a test rotates a realm key, wants it at once
            **overrides,
        },
    )


class Api:
    """The in-process server, called as one of the realm's users.

    Its engine is the real embedded one: a deployment runs the whole pipeline (Maven, registry,
    git, helm, Kubernetes with Argo Rollouts) into namespaces prefixed with `prefix`.
    """

    def __init__(
        self, client: TestClient, backend: EmbeddedBackend, tokens: Tokens, prefix: str
    ) -> None:
        self.client, self.backend, self.tokens, self.prefix = client, backend, tokens, prefix

    def call(self, user: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**kwargs.pop("headers", {}), **(self.tokens.headers(user) if user else {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def spec(self, template: dict[str, Any] = HELLO, **fields: Any) -> dict[str, Any]:
        """An application spec whose environments deploy to namespaces of this test's own."""
        return in_namespaces({**template, **fields}, self.prefix)

    def register(self, template: dict[str, Any] = HELLO, **fields: Any) -> dict[str, Any]:
        """Registered by the admin, in its project, whose guardrails now take its namespaces."""
        spec = self.spec(template, **fields)
        spec = admitted(self.call, spec, spec.get("project", "hello"))
        answer = self.call("dave", "POST", "/api/v1/apps", json=spec)
        assert answer.status_code == 201, answer.text
        return spec

    def deploy(
        self, user: str, app: str = "hello", env: str = "dev", **body: Any
    ) -> httpx.Response:
        payload = {"env": env, "version": "1.0.0", **body}
        return self.call(user, "POST", f"/api/v1/apps/{app}/deployments", json=payload)

    def get(self, deployment: str) -> dict[str, Any]:
        answer = self.call("dave", "GET", f"/api/v1/deployments/{deployment}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def reaches(self, deployment: str, state: str, timeout: float = 240) -> dict[str, Any]:
        """Wait for the record to reach `state`; fail at once naming the step if it ends
        anywhere else."""

        def check() -> dict[str, Any] | None:
            found = self.get(deployment)
            if found["state"] != state and found["state"] in ENDED:
                steps = [(s["name"], s["phase"], s["message"]) for s in found["steps"]]
                raise AssertionError(f"{deployment} is {found['state']}, not {state}: {steps}")
            return found if found["state"] == state else None

        return wait_for(f"deployment {deployment} to be {state}", check, timeout=timeout)

    def deployed(self, app: str = "hello", env: str = "dev", version: str = "1.0.0") -> str:
        """A finished first deployment (by the admin), so that the next one is an update; where
        approval is required, a first release waits for it before apply: bob gives it."""
        deployment = str(self.deploy("dave", app=app, env=env, version=version).json()["id"])
        if self.settles(deployment) == "waiting":
            approved = self.call("bob", "POST", f"/api/v1/deployments/{deployment}/approve")
            assert approved.status_code == 200, approved.text
        self.reaches(deployment, "succeeded")
        return deployment

    def settles(self, deployment: str) -> str:
        """The first state the deployment rests in: waiting (for approval) or an end."""

        def rest() -> str | None:
            state = str(self.get(deployment)["state"])
            return state if state == "waiting" or state in ENDED else None

        return wait_for(f"deployment {deployment} to wait or end", rest, timeout=240)

    def at_gate(self, user: str, app: str = "hello", env: str = "dev") -> str:
        """An update of a deployed app waiting at its gate: the blue-green preview is up."""
        self.deployed(app, env)
        answer = self.deploy(user, app=app, env=env, version="1.1.0")
        assert answer.status_code == 201, answer.text
        return str(self.reaches(answer.json()["id"], "waiting")["id"])

    def workflows(self) -> list[WorkflowStatus]:
        """Every workflow this server's engine was handed."""
        return self.backend.list({})


#: Where a deployment record ends.
ENDED = {"succeeded", "failed", "aborted", "rejected"}


def engine(env: dict[str, str], state: Path) -> EmbeddedBackend:
    """The embedded engine; its steps find the devstack's tools (helm) on PATH."""
    return EmbeddedBackend(state, kubeconfig=env["KUBECONFIG"], image_env={"PATH": env["PATH"]})


@contextmanager
def cleanup(backend: EmbeddedBackend, env: dict[str, str], prefix: str) -> Iterator[None]:
    """End what a test left running, and remove the namespaces its deployments created."""
    try:
        yield
    finally:
        for workflow in backend.list({}):
            if not workflow.finished:
                backend.terminate(workflow.name)
        delete_namespaces(env, prefix)


def delete_namespaces(env: dict[str, str], prefix: str) -> None:
    """Remove the namespaces named `<prefix>-…` (without waiting for them to go)."""
    from kubernetes import client

    core = client.CoreV1Api(load_api(env["KUBECONFIG"]))
    for namespace in core.list_namespace().items:
        if namespace.metadata.name.startswith(f"{prefix}-"):
            core.delete_namespace(namespace.metadata.name)


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:6]}"


def in_namespaces(spec: dict[str, Any], prefix: str) -> dict[str, Any]:
    """`spec` with every environment lacking a namespace given `<prefix>-<app>-<env>`."""
    environments = [{"namespace": f"{prefix}-{spec['name']}-{env['name']}", **env}
                    for env in spec["environments"]]  # fmt: skip
    return {**spec, "environments": environments}


@contextmanager
def serving(env: dict[str, str], tokens: Tokens, state: Path, **overrides: Any) -> Iterator[Api]:
    """A fresh server with hello and payments registered (by the admin); `overrides` are
    Settings."""
    backend, prefix = engine(env, state / "engine"), unique_prefix()
    with (
        database(state) as url,
        cleanup(backend, env, prefix),
        TestClient(
            create_app(settings(env, url, **overrides), backend=backend),
            raise_server_exceptions=False,
        ) as client,
    ):
        server = Api(client, backend, tokens, prefix)
        for spec in (HELLO, PAYMENTS):
            server.register(spec)
        yield server


@pytest.fixture
def database_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Where the test's API server keeps its records: SQLite, or the devstack's PostgreSQL
    (tests/conftest.py runs each test that asks on both)."""
    kind = str(getattr(request, "param", "sqlite"))
    if kind == "postgresql":
        ctx = request.getfixturevalue("devstack")
        up(ctx, ["postgres"], echo=lambda line: None)
        monkeypatch.setenv(
            "ROLLWAY_TEST_POSTGRES", Postgres().exports(ctx)["ROLLWAY_DEVSTACK_POSTGRES"]
        )
    else:
        monkeypatch.delenv("ROLLWAY_TEST_POSTGRES", raising=False)
    return kind


@pytest.fixture
def api(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path, database_kind: str
) -> Iterator[Api]:
    with serving(devstack_env, tokens, tmp_path) as server:
        yield server


class LiveServer:
    """The app behind a real uvicorn on a loopback port, in a thread of the test process."""

    def __init__(self, env: dict[str, str], database_url: str, backend: EmbeddedBackend) -> None:
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

    def caller(self, tokens: Tokens) -> Call:
        """`call(user, method, path, **kwargs)` on this server with the user's token."""

        def call(user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
            headers = {**kwargs.pop("headers", {}), **tokens.headers(user)}
            return httpx.request(method, f"{self.url}{path}", headers=headers, **kwargs)

        return call

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture
def live(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path, database_kind: str
) -> Iterator[LiveServer]:
    """A live server with hello and payments registered."""
    backend, prefix = engine(devstack_env, tmp_path / "engine"), unique_prefix()
    with (
        database(tmp_path) as url,
        cleanup(backend, devstack_env, prefix),
        LiveServer(devstack_env, url, backend) as server,
    ):
        for spec in (HELLO, PAYMENTS):
            call = server.caller(tokens)
            spec = admitted(call, in_namespaces(spec, prefix), spec["project"])
            answer = call("dave", "POST", "/api/v1/apps", json=spec)
            assert answer.status_code == 201, answer.text
        yield server
