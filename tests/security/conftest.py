"""Fixtures of the security suite: real tokens of the realm, and the API server in-process on a
fresh database with the real embedded engine (tests/integration/apiserver/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rollway.apiserver import create_app
from tests.integration.apiserver.conftest import (
    Api,
    Tokens,
    cleanup,
    database,
    database_kind,  # noqa: F401 (a fixture)
    engine,
    settings,
    tokens,  # noqa: F401 (a fixture)
    unique_prefix,
)


@contextmanager
def bare(
    env: dict[str, str],
    users: Tokens,
    state: Path,
    keycloak_url: str | None = None,
    **overrides: Any,
) -> Iterator[Api]:
    """A server with no apps registered (what token and surface checks need); `keycloak_url`
    is where it fetches the realm's keys, `overrides` are Settings."""
    backend, prefix = engine(env, state / "engine"), unique_prefix()
    with database(state) as url, cleanup(backend, env, prefix):
        configured = settings(env, url, **overrides)
        if keycloak_url:
            configured = configured.model_copy(update={"keycloak_url": keycloak_url})
        app = create_app(configured, backend=backend)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Api(client, backend, users, prefix)


@pytest.fixture
def api(
    devstack_env: dict[str, str],
    tokens: Tokens,  # noqa: F811
    tmp_path: Path,
    database_kind: str,  # noqa: F811
) -> Iterator[Api]:
    with bare(devstack_env, tokens, tmp_path) as server:
        yield server
