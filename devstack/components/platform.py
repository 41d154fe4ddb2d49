"""Rollway's own configuration in the cluster, as `charts/rollway` installs it in production.

The namespace `rollway` with the Secrets and ConfigMap that the workflow templates reference
(secretKeyRef / configMapKeyRef), filled from the devstack's registry, Maven and git servers, and
Keycloak's `rollway-ci` client for the exit handler's callback. Its URLs name the node bridge's
address (10.245.0.1), where the relay makes those servers reachable from pods; host processes
(the embedded engine's steps) reach the same address, since it is one of this machine's own. No `callback-url`: the API server
runs on a different port in each test and demo (and reconciles from the engine anyway), so the
report step skips the callback here. Keycloak's URL and secrets are known before it runs, so
this component does not wait for it.
"""

from __future__ import annotations

import base64
import json

from ..core import HOST
from ..stack import Component, Context
from .git import GitServer
from .keycloak import Keycloak
from .kube import kubectl
from .maven import MavenRepository
from .network import GATEWAY
from .registry import Registry

NAMESPACE = "rollway"
SECRETS = ("rollway-maven", "rollway-registry", "rollway-git", "rollway-callback")


def for_pods(address: str) -> str:
    """The same server as seen from a pod: the bridge address instead of the host's loopback."""
    return address.replace(HOST, GATEWAY, 1)


def _secret(name: str, data: dict[str, str]) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


class RollwayPlatform(Component):
    name = "rollway-platform"
    version = "1"
    depends = ("kube-apiserver", "registry", "maven", "git", "node-relay")
    daemon = False

    def manifests(self, ctx: Context) -> list[dict[str, object]]:
        maven = MavenRepository().exports(ctx)
        registry = Registry().exports(ctx)
        git = GitServer().exports(ctx)
        keycloak = Keycloak().exports(ctx)
        return [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
            _secret("rollway-maven", {"username": maven["ROLLWAY_MAVEN_USERNAME"],
                                      "password": maven["ROLLWAY_MAVEN_PASSWORD"]}),
            _secret("rollway-registry", {"username": registry["ROLLWAY_REGISTRY_USERNAME"],
                                         "password": registry["ROLLWAY_REGISTRY_PASSWORD"]}),
            _secret("rollway-git", {"token": git["ROLLWAY_GIT_TOKEN"]}),
            _secret("rollway-callback", {"client-id": keycloak["ROLLWAY_CI_CLIENT_ID"],
                                         "client-secret": keycloak["ROLLWAY_CI_CLIENT_SECRET"]}),
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "rollway-platform", "namespace": NAMESPACE},
                "data": {
                    "maven-url": for_pods(maven["ROLLWAY_MAVEN_URL"]),
                    "maven-snapshots-url": for_pods(maven["ROLLWAY_MAVEN_SNAPSHOTS_URL"]),
                    "registry": for_pods(registry["ROLLWAY_REGISTRY"]),
                    "registry-url": for_pods(registry["ROLLWAY_REGISTRY_URL"]),
                    "base-image": for_pods(registry["ROLLWAY_BASE_IMAGE"]),
                    "chart-repo": for_pods(git["ROLLWAY_CHART_REPO"]),
                    # The one git server by both its names: pods reach it on the bridge, the
                    # embedded engine's steps (host processes) at the loopback URLs apps name.
                    "git-url": f"{for_pods(git['ROLLWAY_GIT_URL'])},{git['ROLLWAY_GIT_URL']}",
                    "keycloak-url": for_pods(keycloak["ROLLWAY_KEYCLOAK_URL"]),
                    "keycloak-realm": keycloak["ROLLWAY_KEYCLOAK_REALM"],
                },
            },
        ]  # fmt: skip

    def install(self, ctx: Context) -> None:
        docs = {"apiVersion": "v1", "kind": "List", "items": self.manifests(ctx)}
        kubectl(ctx, "apply", "--server-side", "--field-manager=devstack", "-f", "-",
                stdin=json.dumps(docs))  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        """The Secrets exist and the ConfigMap holds today's settings (an `up` after a change
        of addresses applies them again)."""
        try:
            out = kubectl(ctx, "-n", NAMESPACE, "get", "secret,configmap", "-o", "name")
            data = kubectl(ctx, "-n", NAMESPACE, "get", "configmap", "rollway-platform",
                           "-o", "jsonpath={.data}")  # fmt: skip
        except Exception:
            return False
        wanted = next(m for m in self.manifests(ctx) if m["kind"] == "ConfigMap")["data"]
        assert isinstance(wanted, dict)
        have = json.loads(data or "{}")
        return all(f"secret/{n}" in out for n in SECRETS) and all(
            have.get(key) == value for key, value in wanted.items()
        )

    def endpoint(self, ctx: Context) -> str:
        return f"namespace {NAMESPACE}"

    def exports(self, ctx: Context) -> dict[str, str]:
        return {"ROLLWAY_NAMESPACE": NAMESPACE}
