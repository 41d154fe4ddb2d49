"""The real node: kubelet and kube-proxy from the control plane's module graph, and what the
cluster needs to use it (RBAC for the node's parts, the `kubernetes` Service's endpoints).

The node `real-node-0` is labelled and tainted `rollway.io/node=real`: only pods that opt in
(a nodeSelector on the label and a toleration of the taint) land on it; KWOK's fake nodes keep
everything else. Its InternalIP is the bridge gateway, where the kubelet serves (TLS, webhook
authentication and authorization, so `kubectl logs/exec` work through the apiserver).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from ..core import HOST, DevstackError, http_status, port_open
from ..gobuild import KUBERNETES_VERSION
from ..machine import ensure_cgroup
from ..stack import Component, Context
from .containerd import CGROUP_ROOT, node_dir, socket
from .kube import APISERVER_PORT, component_token, issue_cert, kube_bin, kubectl, pki
from .network import GATEWAY, POD_CIDR, TABLE

NODE_NAME = "real-node-0"
LABEL = "rollway.io/node"
#: A word, not `true`: `--set nodeSelector.rollway\\.io/node=real` stays a string, as a
#: nodeSelector value must be (Helm types `true` as a boolean).
LABEL_VALUE = "real"
#: What a pod opts in with: a nodeSelector on the label and a toleration of the taint.
REAL_NODE_LABEL = f"{LABEL}={LABEL_VALUE}"
REAL_NODE_TAINT = f"{LABEL}={LABEL_VALUE}:NoSchedule"
NODE_USER = f"system:node:{NODE_NAME}"
PROXY_USER = "system:kube-proxy"
DNS_USER = "system:rollway-coredns"
KUBELET_PORT = 26250
KUBELET_HEALTHZ_PORT = 26248
PROXY_HEALTHZ_PORT = 26256
PROXY_METRICS_PORT = 26249
CLUSTER_DOMAIN = "cluster.local"
#: Nothing listens on the discard port: anything of the node that tried to reach the internet
#: through HTTP(S) would fail at once instead of resolving a name.
NO_PROXY_ENV = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": f"127.0.0.1,localhost,{GATEWAY}",
}


def component_kubeconfig(ctx: Context, user: str, path: Path) -> Path:
    """A kubeconfig for one of the node's parts, authenticating with its own token."""
    path.write_text(
        json.dumps({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "devstack", "cluster": {
                "server": f"https://{HOST}:{APISERVER_PORT}",
                "certificate-authority": str(pki(ctx) / "ca.crt")}}],
            "users": [{"name": user, "user": {"token": component_token(ctx, user)}}],
            "contexts": [{"name": "devstack", "context": {"cluster": "devstack", "user": user}}],
            "current-context": "devstack",
        }, indent=2)
    )  # fmt: skip
    path.chmod(0o600)
    return path


def _access_manifests() -> list[dict[str, object]]:
    def binding(name: str, role: str, user: str) -> dict[str, object]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }  # fmt: skip

    port = {"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}
    return [
        # The apiserver runs RBAC only (no Node authorizer): system:node is the kubelet's role.
        binding("rollway-devstack:real-node", "system:node", NODE_USER),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "rollway-devstack:coredns"},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["services", "endpoints", "pods", "namespaces"],
                    "verbs": ["get", "list", "watch"],
                },
                {
                    "apiGroups": ["discovery.k8s.io"],
                    "resources": ["endpointslices"],
                    "verbs": ["get", "list", "watch"],
                },
            ],
        },  # fmt: skip
        binding("rollway-devstack:coredns", "rollway-devstack:coredns", DNS_USER),
        # The `kubernetes` Service: the apiserver does not reconcile its endpoints here
        # (--endpoint-reconciler-type=none); pods reach it through the relay on the bridge.
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": [{"addresses": [{"ip": GATEWAY}], "ports": [port]}],
        },  # fmt: skip
        {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {
                    "kubernetes.io/service-name": "kubernetes",
                    "endpointslice.kubernetes.io/managed-by": "rollway-devstack",
                },
            },
            "addressType": "IPv4",
            "endpoints": [{"addresses": [GATEWAY], "conditions": {"ready": True}}],
            "ports": [port],
        },  # fmt: skip
    ]


class NodeAccess(Component):
    """RBAC for kubelet and CoreDNS (kube-proxy's binding is built in) and the endpoints of
    the `kubernetes` Service."""

    name = "node-access"
    version = "1"
    depends = ("kube-apiserver",)
    daemon = False

    def install(self, ctx: Context) -> None:
        docs = {"apiVersion": "v1", "kind": "List", "items": _access_manifests()}
        kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=devstack",
                "-f", "-", stdin=json.dumps(docs))  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        try:
            out = kubectl(ctx, "-n", "default", "get", "endpointslice", "kubernetes", "-o",
                          "jsonpath={.endpoints[0].addresses[0]}")  # fmt: skip
        except DevstackError:
            return False
        return out.strip() == GATEWAY

    def endpoint(self, ctx: Context) -> str:
        return f"endpoints of Service default/kubernetes: {GATEWAY}:{APISERVER_PORT}"


def kubelet_config(ctx: Context) -> dict[str, object]:
    d = pki(ctx)
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": GATEWAY,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": HOST,
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "tlsCertFile": str(d / "kubelet.crt"),
        "tlsPrivateKeyFile": str(d / "kubelet.key"),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(d / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{socket(ctx)}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "failSwapOn": False,
        "enforceNodeAllocatable": [],
        "evictionHard": {"memory.available": "50Mi", "nodefs.available": "1%",
                         "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 99,
        "imageGCLowThresholdPercent": 98,
        "serializeImagePulls": False,
        "resolvConf": str(node_dir(ctx, "resolv.conf")),
        "clusterDNS": [GATEWAY],
        "clusterDomain": CLUSTER_DOMAIN,
        "podCIDR": POD_CIDR,
        "podLogsDir": str(node_dir(ctx, "pod-logs")),
        "volumePluginDir": str(node_dir(ctx, "kubelet", "volume-plugins")),
        "makeIPTablesUtilChains": False,
        "registerWithTaints": [{"key": LABEL, "value": LABEL_VALUE, "effect": "NoSchedule"}],
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "nodeStatusReportFrequency": "1m",
    }  # fmt: skip


class Kubelet(Component):
    name = "kubelet"
    version = KUBERNETES_VERSION
    depends = ("containerd", "node-access", "node-relay", "coredns")
    start_timeout = 90.0

    def _up(self, ctx: Context) -> str:
        """containerd answers `ctr version` a moment before its CRI service is initialized, and a
        kubelet started in that moment exits ("server is not initialized yet"): try once more."""
        try:
            return super()._up(ctx)
        except DevstackError:
            time.sleep(3)
            return super()._up(ctx)

    def install(self, ctx: Context) -> None:
        kube_bin(ctx, "kubelet")

    def prepare(self, ctx: Context) -> None:
        for port, host in ((KUBELET_PORT, GATEWAY), (KUBELET_HEALTHZ_PORT, HOST)):
            if port_open(port, host):
                raise DevstackError(f"kubelet: port {host}:{port} is already taken")
        ensure_cgroup(CGROUP_ROOT)
        issue_cert(ctx, "kubelet", f"/CN={NODE_USER}",
                   f"subjectAltName=IP:{GATEWAY}\nextendedKeyUsage=serverAuth\n")  # fmt: skip
        # Pods get the cluster DNS and nothing of the machine's resolver.
        node_dir(ctx, "resolv.conf").write_text(f"nameserver {GATEWAY}\n")
        node_dir(ctx, "kubelet", "config.json").write_text(
            json.dumps(kubelet_config(ctx), indent=2)
        )
        component_kubeconfig(ctx, NODE_USER, node_dir(ctx, "kubelet", "kubeconfig"))

    def command(self, ctx: Context) -> list[str]:
        return [
            str(kube_bin(ctx, "kubelet")),
            f"--config={node_dir(ctx, 'kubelet', 'config.json')}",
            f"--kubeconfig={node_dir(ctx, 'kubelet', 'kubeconfig')}",
            f"--root-dir={node_dir(ctx, 'kubelet', 'root')}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={GATEWAY}",
            f"--node-labels={REAL_NODE_LABEL}",
            "--v=1",
        ]

    def environ(self, ctx: Context) -> dict[str, str]:
        return NO_PROXY_ENV

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{KUBELET_HEALTHZ_PORT}/healthz") == 200

    def after_start(self, ctx: Context) -> None:
        kubectl(ctx, "wait", "--for=condition=Ready", "--timeout=60s", f"node/{NODE_NAME}")

    def endpoint(self, ctx: Context) -> str:
        return f"https://{GATEWAY}:{KUBELET_PORT} (node {NODE_NAME})"


class KubeProxy(Component):
    """Services for the real node's pods (nftables mode: its own tables, NodePorts only on
    the bridge address, no route_localnet, conntrack sysctls left alone)."""

    name = "kube-proxy"
    version = KUBERNETES_VERSION
    depends = ("node-network", "node-access", "kubelet")

    def install(self, ctx: Context) -> None:
        kube_bin(ctx, "kube-proxy")

    def prepare(self, ctx: Context) -> None:
        kubeconfig = component_kubeconfig(
            ctx, PROXY_USER, node_dir(ctx, "kube-proxy", "kubeconfig")
        )
        zero = "0s"
        conf = {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(kubeconfig)},
            "hostnameOverride": NODE_NAME,
            "bindAddress": GATEWAY,
            "healthzBindAddress": f"{HOST}:{PROXY_HEALTHZ_PORT}",
            "metricsBindAddress": f"{HOST}:{PROXY_METRICS_PORT}",
            "mode": "nftables",
            "clusterCIDR": POD_CIDR,
            "nodePortAddresses": [f"{GATEWAY}/32"],
            # Masquerade everything: a pod reaching a Service whose endpoint sits on the same
            # bridge gets its answer back through the host.
            "nftables": {"masqueradeAll": True},
            "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": zero,
                          "tcpCloseWaitTimeout": zero},
        }  # fmt: skip
        node_dir(ctx, "kube-proxy", "config.json").write_text(json.dumps(conf, indent=2))

    def command(self, ctx: Context) -> list[str]:
        return [
            str(kube_bin(ctx, "kube-proxy")),
            f"--config={node_dir(ctx, 'kube-proxy', 'config.json')}",
            "--v=1",
        ]

    def environ(self, ctx: Context) -> dict[str, str]:
        return NO_PROXY_ENV

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{PROXY_HEALTHZ_PORT}/healthz") == 200

    def down(self, ctx: Context) -> bool:
        stopped = super().down(ctx)
        for family in ("ip", "ip6"):  # kube-proxy's own tables: it never removes them itself
            subprocess.run(["nft", "delete", "table", family, "kube-proxy"],
                           capture_output=True, check=False)  # fmt: skip
        return stopped

    def endpoint(self, ctx: Context) -> str:
        return f"nftables table ip kube-proxy (fence: inet {TABLE})"
