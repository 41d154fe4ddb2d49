"""Namespaces as a cluster admin creates them for Rollway: Pod Security `restricted` enforced.

Rollway's pipeline may not create namespaces (its account has no such right); the namespaces apps
are released into, and Rollway's own, come from an admin. On the devstack that admin is this
module: the release's namespace, the demo's and the tests' target namespaces
(`scripts/devstack namespace NAME`).
"""

from __future__ import annotations

import json

from ..stack import Context
from .kube import kubectl

LEVEL = "restricted"
#: enforce refuses a pod that does not pass; warn and audit report it at the same level.
LABELS = {f"pod-security.kubernetes.io/{mode}": LEVEL for mode in ("enforce", "warn", "audit")}


def admin_namespace(ctx: Context, name: str) -> None:
    """Create `name` (or label it, when it exists) with the Pod Security labels."""
    namespace = {"apiVersion": "v1", "kind": "Namespace",
                 "metadata": {"name": name, "labels": LABELS}}  # fmt: skip
    kubectl(ctx, "apply", "--server-side", "--field-manager=devstack-admin", "-f", "-",
            stdin=json.dumps(namespace))  # fmt: skip
