"""Fixtures for driving Rollouts on the devstack cluster with the real Argo Rollouts controller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from rollway.kube.client import load_api
from rollway.rollouts import RolloutsClient
from tests.support.cluster import fresh_namespace


@pytest.fixture(scope="module")
def api(devstack_env: dict[str, str]) -> client.ApiClient:
    """Loaded the way Rollway loads it: from the KUBECONFIG devstack exports."""
    return load_api(devstack_env["KUBECONFIG"])


@pytest.fixture
def rollouts(api: client.ApiClient) -> RolloutsClient:
    return RolloutsClient(api)


@pytest.fixture
def namespace(api: client.ApiClient) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards."""
    with fresh_namespace(api, "ro") as name:
        yield name
