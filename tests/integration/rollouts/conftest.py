"""Fixtures for driving Rollouts on the devstack cluster with the real Argo Rollouts controller."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from rollway.kube.client import load_api
from rollway.rollouts import RolloutsClient
from tests.helpers import wait_for


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
    name = f"ro-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for("default service account", lambda: core.list_namespaced_service_account(name).items)
    yield name
    core.delete_namespace(name)
