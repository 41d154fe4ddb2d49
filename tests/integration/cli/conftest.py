"""Fixtures for CLI tests: one real API server per session (embedded engine on the devstack),
a fresh `app` config per test, and unique application names so tests never share a Rollout."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.stack import Context
from tests.support.cli import ApiServer, Cli, environ_without_rollway
from tests.support.helpers import free_port
from tests.support.projects import allow, caller

#: Namespaces the tests' applications were deployed to, removed at the end of the session.
NAMESPACES: list[str] = []


@pytest.fixture(scope="session")
def apiserver(
    platform: Context, devstack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    server = ApiServer(devstack_env, tmp_path_factory.mktemp("apiserver"), free_port()).start()
    yield server
    server.stop()
    if NAMESPACES:  # best effort: the cluster outlives the session
        subprocess.run(["kubectl", "delete", "namespace", "--wait=false", *NAMESPACES],
                       env=devstack_env, capture_output=True, check=False)  # fmt: skip


@pytest.fixture
def cli(apiserver: ApiServer, devstack_env: dict[str, str], tmp_path: Path) -> Cli:
    """`app` logged in as nobody yet, with its config in the test's tmp dir."""
    config = tmp_path / "rollway" / "config.yaml"
    env = {
        **environ_without_rollway(devstack_env),
        "ROLLWAY_CONFIG": str(config),
        "ROLLWAY_SERVER": apiserver.url,
        "NO_COLOR": "1",
    }
    return Cli(env, config, devstack_env["DEVSTACK_USER_PASSWORD"])


@pytest.fixture
def app_name(apiserver: ApiServer, devstack_env: dict[str, str]) -> str:
    """An application name no other test (or earlier session) used: its namespaces are new,
    and project hello's (the admin adds them), where alice registers it."""
    name = f"hello-{uuid.uuid4().hex[:6]}"
    namespaces = [f"{name}-{env}" for env in ("dev", "prod")]
    allow(caller(apiserver.url, devstack_env), "hello", namespaces=namespaces)
    NAMESPACES.extend(namespaces)
    return name
