"""A namespace whose workflows run in pods on the devstack's real node: an account the executor
may write task results with, and the spec fields that place pods there (label and taint
`rollway.io/node=real`)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

REAL = ("rollway.io/node", "real")
ACCOUNT = "workflow"


def real_node_ready(core: client.CoreV1Api) -> bool:
    for node in core.list_node(label_selector=f"{REAL[0]}={REAL[1]}").items:
        conditions = {c.type: c.status for c in (node.status.conditions or [])}
        if conditions.get("Ready") == "True":
            return True
    return False


@contextlib.contextmanager
def pod_namespace(api: client.ApiClient, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(namespace, spec fields for its WorkflowTemplates); skips without a Ready real node."""
    core = client.CoreV1Api(api)
    if not real_node_ready(core):
        pytest.skip("the devstack has no Ready node labelled rollway.io/node=real")
    namespace = f"{prefix}-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace}})
    try:
        core.create_namespaced_service_account(namespace, {"metadata": {"name": ACCOUNT}})
        rbac = client.RbacAuthorizationV1Api(api)
        rbac.create_namespaced_role(namespace, {
            "metadata": {"name": ACCOUNT},
            "rules": [{"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"],
                       "verbs": ["create", "patch"]}],
        })  # fmt: skip
        rbac.create_namespaced_role_binding(namespace, {
            "metadata": {"name": ACCOUNT},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ACCOUNT},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": namespace}],
        })  # fmt: skip
        yield namespace, {
            "serviceAccountName": ACCOUNT,
            "nodeSelector": {REAL[0]: REAL[1]},
            "tolerations": [{"key": REAL[0], "operator": "Equal", "value": REAL[1],
                             "effect": "NoSchedule"}],
        }  # fmt: skip
    finally:
        core.delete_namespace(namespace, propagation_policy="Background")
