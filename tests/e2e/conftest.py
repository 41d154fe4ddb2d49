"""Fixtures for the end-to-end tests: the devstack platform, one real `rollway-apiserver` for the
session (embedded engine, SQLite), Rollway as its chart installs it in the cluster (Argo engine,
steps in pods on the real node), `app` logged in as any realm user of either, the cluster's API,
and an application name of the test's own whose namespaces are deleted when the test ends."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devstack.components.pod_security import admin_namespace
from devstack.components.release import NAMESPACE as RELEASE_NAMESPACE
from devstack.stack import Context
from tests.e2e.flow import Api, Engine, Kube
from tests.support.cli import ApiServer, Cli, environ_without_rollway
from tests.support.helpers import free_port
from tests.support.platform import platform_config


@pytest.fixture(scope="session")
def apiserver(
    platform: Context, devstack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    server = ApiServer(devstack_env, tmp_path_factory.mktemp("e2e-apiserver"), free_port())
    yield server.start()
    server.stop()


@pytest.fixture(scope="session")
def api(apiserver: ApiServer, devstack_env: dict[str, str]) -> Api:
    return Api(devstack_env, apiserver.url)


@pytest.fixture(scope="session")
def kube(platform: Context, devstack_env: dict[str, str]) -> Kube:
    return Kube(devstack_env["KUBECONFIG"])


@pytest.fixture
def login(
    apiserver: ApiServer, devstack_env: dict[str, str], tmp_path: Path
) -> Callable[[str], Cli]:
    """`login("alice")`: `app` with a config file of its own, logged in as that user (password
    grant against the devstack's Keycloak)."""
    return logins(apiserver.url, devstack_env, tmp_path)


def logins(url: str, devstack_env: dict[str, str], tmp_path: Path) -> Callable[[str], Cli]:
    """`app` logged in as a user, against the API server at `url`, one config file per user."""
    made: dict[str, Cli] = {}

    def as_user(user: str) -> Cli:
        if user not in made:
            config = tmp_path / "rollway" / url.rsplit("/", 1)[-1] / f"{user}.yaml"  # per server
            env = {
                **environ_without_rollway(devstack_env),
                "ROLLWAY_CONFIG": str(config),
                "ROLLWAY_SERVER": url,
                "NO_COLOR": "1",
            }
            cli = Cli(env, config, devstack_env["DEVSTACK_USER_PASSWORD"])
            cli.login(user)
            made[user] = cli
        return made[user]

    return as_user


@pytest.fixture
def argo(release: str, devstack_env: dict[str, str], tmp_path: Path) -> Engine:
    """The in-cluster release: the real Argo controller runs each step in a pod on the real node."""
    chart_repo = platform_config(devstack_env, RELEASE_NAMESPACE)["chart-repo"]
    return Engine("argo", logins(release, devstack_env, tmp_path), Api(devstack_env, release),
                  chart_repo)  # fmt: skip


@pytest.fixture(params=["embedded", pytest.param("argo", marks=pytest.mark.real_pods)])
def engine(request: pytest.FixtureRequest, devstack_env: dict[str, str]) -> Engine:
    """The same flow on each engine: the session's host-side API server (embedded engine), then
    the in-cluster release (Argo engine, real pods). Only the one a test runs on is started."""
    if request.param == "argo":
        found: Engine = request.getfixturevalue("argo")
        return found
    return Engine("embedded", request.getfixturevalue("login"), request.getfixturevalue("api"),
                  devstack_env["ROLLWAY_CHART_REPO"])  # fmt: skip


@pytest.fixture
def app_name(devstack: Context, devstack_env: dict[str, str]) -> Iterator[str]:
    """A name no other test (or earlier session) used; its namespaces, created as an admin
    creates them (Rollway's pipeline may not), go when the test ends."""
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    namespaces = [f"{name}-{env}" for env in ("dev", "prod")]
    for namespace in namespaces:
        admin_namespace(devstack, namespace)
    yield name
    subprocess.run(["kubectl", "delete", "namespace", "--ignore-not-found", "--wait=false",
                    *namespaces], env=devstack_env, capture_output=True, check=False)  # fmt: skip
