"""What tests on the devstack's cluster share: a namespace of their own."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from kubernetes import client

from tests.support.helpers import wait_for


@contextmanager
def fresh_namespace(api: client.ApiClient, prefix: str) -> Iterator[str]:
    """`<prefix>-<8 random hex digits>`, given once its default service account exists (pods
    created before then are refused), deleted afterwards."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    core = client.CoreV1Api(api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for("default service account", lambda: core.list_namespaced_service_account(name).items)
    yield name
    core.delete_namespace(name)
