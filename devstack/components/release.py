"""Rollway installed on the devstack by its own chart, the way an operator installs it.

`helm upgrade --install rollway charts/rollway` into the namespace `rollway`: the WorkflowTemplates
(running Rollway's own image, on the real node), the pipeline's ServiceAccount and RBAC, and the
API server pod with the Argo backend. The ConfigMap `rollway-platform` and the credentials'
Secrets come from the `rollway-platform` component (the chart's `platformConfig` and
`platformSecrets` are off), so their URLs are the ones pods reach on the node bridge.
"""

from __future__ import annotations

import hashlib
import json
import subprocess

from ..core import REPO, DevstackError, run
from ..stack import Component, Context
from .argo_workflows import SERVER_PORT
from .helm import helm_binary
from .images import RollwayImages
from .keycloak import Keycloak
from .kube import kubeconfig, kubectl
from .network import GATEWAY
from .node import REAL_NODE_LABEL, REAL_NODE_TAINT
from .platform import NAMESPACE
from .registry import Registry

RELEASE = "rollway"
CHART = REPO / "charts" / "rollway"
#: The API server's Service: the callback URL of the exit handler, and how the host reaches it.
API_SERVICE = "rollway-apiserver"


def on_real_node() -> dict[str, object]:
    key, _, value = REAL_NODE_LABEL.partition("=")
    taint_key, _, rest = REAL_NODE_TAINT.partition("=")
    return {
        "nodeSelector": {key: value},
        "tolerations": [{"key": taint_key, "operator": "Equal", "value": rest.split(":")[0],
                         "effect": rest.split(":")[1]}],
    }  # fmt: skip


def chart_digest() -> str:
    """Of every file of the chart (through its symlink to workflow-templates/): an edit reinstalls."""
    digest = hashlib.sha256()
    for path in sorted(p for p in CHART.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(CHART)).encode() + b"\0" + path.read_bytes())
    templates = CHART / "files" / "workflow-templates"
    for path in sorted(templates.resolve().glob("*.yaml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def applied(ctx: Context) -> str:
    """What an install applies: the values and the chart's digest."""
    return json.dumps({"values": values(ctx), "chart": chart_digest()}, sort_keys=True)


def values(ctx: Context) -> dict[str, object]:
    image = RollwayImages().exports(ctx)["ROLLWAY_STEP_IMAGE"]
    repository, _, digest = image.partition("@")
    keycloak = Keycloak().exports(ctx)
    registry = Registry().exports(ctx)
    placement = on_real_node()
    return {
        "image": {"repository": repository.rsplit(":", 1)[0], "digest": digest},
        "workflowTemplates": {"image": image, **placement},
        "apiserver": {
            "replicas": 1,
            **placement,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
            "extraConfig": {"ROLLWAY_SYNC_INTERVAL": "1"},
        },
        "argo": {"server": {"url": f"http://{GATEWAY}:{SERVER_PORT}", "token": {"source": "none"}}},
        "keycloak": {"url": keycloak["ROLLWAY_KEYCLOAK_URL"]},
        "registry": {"host": registry["ROLLWAY_REGISTRY"], "project": "apps",
                     "url": registry["ROLLWAY_REGISTRY_URL"]},
        "baseImage": registry["ROLLWAY_BASE_IMAGE"],
        "platformConfig": {"create": False},
        "platformSecrets": {"create": False},
        "rbac": {"clusterWide": True},
    }  # fmt: skip


class RollwayRelease(Component):
    name = "rollway-release"
    version = "chart"
    depends = ("rollway-platform", "rollway-images", "argo-workflows-crds", "helm",
               "local-path-provisioner", "kubelet")  # fmt: skip
    daemon = False

    def install(self, ctx: Context) -> None:
        given = ctx.paths.state("rollway-release", "values.json")
        given.write_text(json.dumps(values(ctx)))
        run(
            [helm_binary(ctx), "upgrade", "--install", RELEASE, CHART, "--namespace", NAMESPACE,
             "--kubeconfig", kubeconfig(ctx), "-f", given],
            log=ctx.paths.log(self.name),
        )  # fmt: skip
        ctx.paths.state("rollway-release", "applied.json").write_text(applied(ctx))

    def ready(self, ctx: Context) -> bool:
        """Deployed from today's chart and values (a new image digest upgrades it)."""
        done = ctx.paths.state("rollway-release", "applied.json")
        if not done.exists() or done.read_text() != applied(ctx):
            return False
        proc = subprocess.run(
            [helm_binary(ctx), "status", RELEASE, "--namespace", NAMESPACE, "--kubeconfig",
             kubeconfig(ctx), "-o", "json"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            return False
        try:
            out = kubectl(ctx, "-n", NAMESPACE, "get", "workflowtemplate", "-o", "name")
        except DevstackError:
            return False
        return json.loads(proc.stdout)["info"]["status"] == "deployed" and "rollway-deploy" in out

    def endpoint(self, ctx: Context) -> str:
        return f"helm release {RELEASE} in {NAMESPACE}"
