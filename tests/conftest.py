"""Session fixtures: the devstack platform, started on demand or reused when already up."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import httpx
import pytest

from devstack.cli import exports
from devstack.components.kube import kubectl
from devstack.components.release import API_SERVICE, api_url
from devstack.components.release import NAMESPACE as RELEASE_NAMESPACE
from devstack.stack import Context, up
from tests.support.cli import PLATFORM
from tests.support.helpers import wait_for
from tests.support.loopback import Receiver, running


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test whose API server asks for `database_kind` runs on SQLite and on PostgreSQL."""
    if "database_kind" in metafunc.fixturenames:
        metafunc.parametrize("database_kind", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture(scope="session")
def devstack() -> Iterator[Context]:
    """Bring the whole stack up once per session (a no-op for parts already running).

    `DEVSTACK_ONLY=registry,maven` limits it to some components while developing one of them.
    """
    ctx = Context.load()
    only = [n for n in os.environ.get("DEVSTACK_ONLY", "").split(",") if n]
    up(ctx, only, echo=lambda line: print(line, file=sys.stderr))
    yield ctx


@pytest.fixture(scope="session")
def platform(devstack: Context) -> Context:
    """What a real deployment needs: the cluster with Argo Rollouts, registry, Maven, git,
    helm and Keycloak (a no-op when the session started everything already)."""
    up(devstack, PLATFORM, echo=lambda line: print(line, file=sys.stderr))
    return devstack


@pytest.fixture(scope="session")
def devstack_env(devstack: Context) -> dict[str, str]:
    """The variables `scripts/devstack env` prints, merged over this process's environment."""
    return {**os.environ, **exports(devstack)}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook on loopback recording what it is sent."""
    with running(Receiver()) as server:
        yield server


@pytest.fixture(scope="session")
def release(platform: Context) -> str:
    """Rollway as its chart installs it (`rollway-release`): the API server pod with the Argo
    backend, reached at its Service's address; its workflows report back to it from the cluster."""
    up(platform, ["rollway-release", "argo-workflow-controller"])
    # An upgrade (a new image) recreates the pod: wait for it, not for the one on its way out.
    kubectl(platform, "-n", RELEASE_NAMESPACE, "rollout", "status", f"deployment/{API_SERVICE}",
            "--timeout=180s")  # fmt: skip
    url = api_url(platform)
    wait_for(f"the in-cluster API server at {url}", lambda: _ready(url), timeout=120)
    return url


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
