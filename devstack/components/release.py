"""Rollway installed on the devstack by its own chart, the way an operator installs it.

`helm upgrade --install rollway charts/rollway` into its own namespace `rollway-system`: the
WorkflowTemplates (running Rollway's own image, on the real node), the pipeline's ServiceAccount
and RBAC, the ConfigMap `rollway-platform` and the credentials' Secrets (the URLs pods reach on the
node bridge), and the API server pod with the Argo backend, which the exit handler reports to
through its Service. The release's namespace is created first, as an admin would, with Pod Security
`restricted` enforced: every pod of the release and its pipeline must pass it. The namespace
`rollway` stays what the host-side API servers of the tests
and the demo use: their workflows never call this release back, nor the other way round.
"""

from __future__ import annotations

import hashlib
import json
import subprocess

from ..core import REPO, DevstackError, run
from ..projects import bootstrap_setting
from ..stack import Component, Context
from .argo_workflows import SERVER_PORT
from .git import GitServer
from .helm import helm_binary
from .images import RollwayImages
from .keycloak import Keycloak
from .kube import kubeconfig, kubectl
from .maven import MavenRepository
from .network import GATEWAY
from .node import REAL_NODE_LABEL, REAL_NODE_TAINT
from .platform import for_pods
from .pod_security import LABELS, admin_namespace
from .prometheus import Prometheus
from .registry import Registry

RELEASE = "rollway"
NAMESPACE = "rollway-system"
CHART = REPO / "charts" / "rollway"
#: The API server's Service: the callback URL of the exit handler, and how the host reaches it.
API_SERVICE = "rollway-apiserver"
#: The API Service's address, fixed: the Argo Rollouts controller (a host process, which
#: resolves no cluster name) reaches the canary judge there. In the Service range's low band,
#: which Kubernetes leaves to fixed addresses.
API_ADDRESS = "10.96.0.80"


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
    """A digest of what an install applies (the values, the chart): no credential on disk."""
    given = json.dumps({"values": values(ctx), "chart": chart_digest(), "namespace": LABELS},
                       sort_keys=True)  # fmt: skip
    return hashlib.sha256(given.encode()).hexdigest()


def values(ctx: Context) -> dict[str, object]:
    """Everything the install needs, credentials included: written to a 0600 file for helm."""
    image = RollwayImages().exports(ctx)["ROLLWAY_STEP_IMAGE"]
    repository, _, digest = image.partition("@")
    keycloak, registry = Keycloak().exports(ctx), Registry().exports(ctx)
    maven, git = MavenRepository().exports(ctx), GitServer().exports(ctx)
    placement = on_real_node()
    return {
        "image": {"repository": repository.rsplit(":", 1)[0], "digest": digest},
        "workflowTemplates": {"image": image, **placement},
        "apiserver": {
            "replicas": 1,
            **placement,
            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}},
            "extraConfig": {
                "ROLLWAY_SYNC_INTERVAL": "1",
                "ROLLWAY_BOOTSTRAP_PROJECTS": bootstrap_setting(for_pods(git["ROLLWAY_CHART_REPO"])),
                # The canary judge's Prometheus, on the bridge address pods reach.
                "ROLLWAY_PROMETHEUS_URL": Prometheus().endpoint(ctx),
            },
            # SQLite on a volume: an upgrade (a new image after a source change) keeps the records.
            "persistence": {"enabled": True},
        },
        "service": {"clusterIP": API_ADDRESS},
        "judge": {"url": f"http://{API_ADDRESS}"},
        "argo": {"server": {"url": f"http://{GATEWAY}:{SERVER_PORT}", "token": {"source": "none"}}},
        # Tokens carry the issuer users log in at (Keycloak's fixed hostname); keys are fetched
        # where the pod reaches Keycloak.
        "keycloak": {"url": for_pods(keycloak["ROLLWAY_KEYCLOAK_URL"]),
                     "issuer": keycloak["ROLLWAY_OIDC_ISSUER"]},
        "registry": {"host": for_pods(registry["ROLLWAY_REGISTRY"]), "project": "apps",
                     "url": for_pods(registry["ROLLWAY_REGISTRY_URL"])},
        "baseImage": for_pods(registry["ROLLWAY_BASE_IMAGE"]),
        "maven": {"url": for_pods(maven["ROLLWAY_MAVEN_URL"]),
                  "snapshotsUrl": for_pods(maven["ROLLWAY_MAVEN_SNAPSHOTS_URL"])},
        "chartDefaults": {"repo": for_pods(git["ROLLWAY_CHART_REPO"])},
        "platformSecrets": {
            "create": True,
            "maven": {"username": maven["ROLLWAY_MAVEN_USERNAME"],
                      "password": maven["ROLLWAY_MAVEN_PASSWORD"]},
            "registry": {"username": registry["ROLLWAY_REGISTRY_USERNAME"],
                         "password": registry["ROLLWAY_REGISTRY_PASSWORD"]},
            "git": {"token": git["ROLLWAY_GIT_TOKEN"]},
            "callback": {"clientId": keycloak["ROLLWAY_CI_CLIENT_ID"],
                         "clientSecret": keycloak["ROLLWAY_CI_CLIENT_SECRET"]},
            "judge": {"clientSecret": keycloak["ROLLWAY_JUDGE_CLIENT_SECRET"]},
        },
        "rbac": {"clusterWide": True},
    }  # fmt: skip


def api_url(ctx: Context) -> str:
    """The in-cluster API server as the host reaches it: its Service's address (routed to the
    bridge), never a name the host would have to resolve."""
    address = kubectl(ctx, "-n", NAMESPACE, "get", "service", API_SERVICE, "-o",
                      "jsonpath={.spec.clusterIP}:{.spec.ports[0].port}")  # fmt: skip
    return f"http://{address}"


def _free_api_address(ctx: Context) -> None:
    """An API Service an earlier install left on another address goes (a Service's address
    cannot change), so the upgrade makes it again on API_ADDRESS."""
    try:
        found = kubectl(ctx, "-n", NAMESPACE, "get", "service", API_SERVICE, "--ignore-not-found",
                        "-o", "jsonpath={.spec.clusterIP}")  # fmt: skip
    except DevstackError:
        return
    if found and found != API_ADDRESS:
        kubectl(ctx, "-n", NAMESPACE, "delete", "service", API_SERVICE, "--wait=true")


class RollwayRelease(Component):
    name = "rollway-release"
    version = "chart"
    depends = ("rollway-images", "argo-workflows-crds", "argo-server", "helm", "keycloak",
               "maven", "git", "node-relay", "local-path-provisioner", "kubelet")  # fmt: skip
    daemon = False

    def install(self, ctx: Context) -> None:
        given = ctx.paths.state("rollway-release", "values.json")
        given.touch(mode=0o600)
        given.chmod(0o600)  # credentials: before anything is written
        given.write_text(json.dumps(values(ctx)))
        admin_namespace(ctx, NAMESPACE)
        _free_api_address(ctx)
        run(
            [helm_binary(ctx), "upgrade", "--install", RELEASE, CHART, "--namespace", NAMESPACE,
             "--create-namespace", "--kubeconfig", kubeconfig(ctx), "-f", given],
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

    def exports(self, ctx: Context) -> dict[str, str]:
        return {"ROLLWAY_RELEASE_NAMESPACE": NAMESPACE}
