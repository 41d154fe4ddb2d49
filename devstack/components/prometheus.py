"""Prometheus for canary analysis: Debian's `prometheus` scraping the real node's pods, found
through the devstack apiserver.

Debian builds Prometheus without Kubernetes service discovery, so `prometheus-discovery`
(devstack/servers/pod_discovery.py) lists the node's pods with a token that may only read pods
and serves them to Prometheus' HTTP service discovery: pods that ask with the annotation
`prometheus.io/scrape: "true"` (port and path from `prometheus.io/port` and
`prometheus.io/path`), at their address in the real node's pod range. KWOK's fake pods have
addresses in another range and are never scraped, so every scrape stays on the bridge.

Prometheus listens on the bridge address only (10.245.0.1), which both the host (the judge in a
local API server, tests) and pods (the API server installed in the cluster) may reach.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time

from ..core import HOST, REPO, DevstackError, http_status, which
from ..stack import Component, Context
from .kube import APISERVER_PORT, kubectl, pki
from .network import GATEWAY, POD_CIDR
from .node import NODE_NAME

PORT = 29090
DISCOVERY_PORT = 29091
NAMESPACE = "kube-system"
ACCOUNT = "rollway-prometheus"
#: Seconds between scrapes: short, because an analysis window is minutes, not hours.
SCRAPE_INTERVAL = 5


def access_manifests() -> list[dict[str, object]]:
    """The account discovery uses: read pods, nothing else; and its long-lived token Secret."""
    meta = {"name": ACCOUNT, "namespace": NAMESPACE}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {**meta, "annotations": {"kubernetes.io/service-account.name": ACCOUNT}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": ACCOUNT},
         "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": ACCOUNT},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": ACCOUNT},
         "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": NAMESPACE}]},
    ]  # fmt: skip


def config(discovery: str) -> dict[str, object]:
    """The scrape configuration (Prometheus reads YAML, of which JSON is a subset)."""
    return {
        "global": {"scrape_interval": f"{SCRAPE_INTERVAL}s", "scrape_timeout": "3s"},
        "scrape_configs": [{
            "job_name": "real-node-pods",
            "http_sd_configs": [{"url": discovery, "refresh_interval": f"{SCRAPE_INTERVAL}s"}],
            # Defence in depth: whatever discovery answers, only the bridge's pod range.
            "relabel_configs": [{"source_labels": ["__address__"], "regex": r"10\.245\.0\.\d+:\d+",
                                 "action": "keep"}],
        }],
    }  # fmt: skip


class PrometheusDiscovery(Component):
    """The pods of the real node, listed from the apiserver, as Prometheus targets."""

    name = "prometheus-discovery"
    version = "1"
    depends = ("kube-apiserver",)
    port = DISCOVERY_PORT

    def prepare(self, ctx: Context) -> None:
        items = access_manifests()
        kubectl(ctx, "apply", "-f", "-",
                stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))  # fmt: skip
        token_file = ctx.paths.state("prometheus", "token")
        token_file.write_text(_token(ctx))
        token_file.chmod(0o600)

    def command(self, ctx: Context) -> list[str]:
        return [
            sys.executable, "-m", "devstack.servers.pod_discovery",
            "--listen", HOST, "--port", str(self.port),
            "--apiserver", f"https://{HOST}:{APISERVER_PORT}",
            "--ca", str(pki(ctx) / "ca.crt"),
            "--token-file", str(ctx.paths.state("prometheus", "token")),
            "--node", NODE_NAME, "--pod-range", POD_CIDR,
        ]  # fmt: skip

    def environ(self, ctx: Context) -> dict[str, str]:
        return {"PYTHONPATH": str(REPO)}

    def ready(self, ctx: Context) -> bool:
        return http_status(f"{self.endpoint(ctx)}/targets") == 200


class Prometheus(Component):
    name = "prometheus"
    version = "2.42"
    depends = ("prometheus-discovery", "node-network")
    start_timeout = 60.0

    def install(self, ctx: Context) -> None:
        if not which("prometheus"):
            raise DevstackError(
                "`prometheus` not found; run scripts/install-system-packages (Debian package)"
            )

    def prepare(self, ctx: Context) -> None:
        discovery = f"http://{HOST}:{DISCOVERY_PORT}/targets"
        ctx.paths.state("prometheus", "prometheus.yml").write_text(
            json.dumps(config(discovery), indent=2)
        )
        if http_status(self.endpoint(ctx) + "/-/ready") is not None:
            raise DevstackError(f"{self.name}: {GATEWAY}:{PORT} is already taken")

    def command(self, ctx: Context) -> list[str]:
        return [
            "prometheus",
            f"--config.file={ctx.paths.state('prometheus', 'prometheus.yml')}",
            f"--storage.tsdb.path={ctx.paths.state('prometheus', 'data', 'x').parent}",
            "--storage.tsdb.retention.time=1d",
            f"--web.listen-address={GATEWAY}:{PORT}",
        ]

    def ready(self, ctx: Context) -> bool:
        return http_status(self.endpoint(ctx) + "/-/ready") == 200

    def endpoint(self, ctx: Context) -> str:
        return f"http://{GATEWAY}:{PORT}"

    def exports(self, ctx: Context) -> dict[str, str]:
        return {"ROLLWAY_PROMETHEUS_URL": self.endpoint(ctx)}


def _token(ctx: Context) -> str:
    """The discovery account's token, once the token controller has filled its Secret."""
    deadline = time.monotonic() + 30
    while True:
        try:
            out = kubectl(ctx, "get", "secret", ACCOUNT, "-n", NAMESPACE,
                          "-o", "jsonpath={.data.token}")  # fmt: skip
        except (DevstackError, subprocess.SubprocessError):
            out = ""
        if out:
            return base64.b64decode(out).decode()
        if time.monotonic() > deadline:
            raise DevstackError(f"secret {NAMESPACE}/{ACCOUNT} got no token in 30s")
        time.sleep(0.5)
