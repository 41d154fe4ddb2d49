"""KWOK fake nodes: pods scheduled onto them become Running and Ready without containers."""

from __future__ import annotations

from ..core import HOST, http_status
from ..gobuild import KWOK_VERSION, go_install, module_dir
from ..stack import Component, Context
from .kube import kubeconfig, kubectl

NODES = ("kwok-node-0", "kwok-node-1")
#: Upstream stage definitions, read from the downloaded kwok module (never committed).
STAGES = (
    "node/fast/node-initialize.yaml",
    "node/heartbeat/node-heartbeat.yaml",
    "pod/fast/pod-ready.yaml",
    "pod/fast/pod-complete.yaml",
    "pod/fast/pod-delete.yaml",
)
MANAGED = "kwok.x-k8s.io/node=fake"


def node_manifest(name: str) -> str:
    return f"""apiVersion: v1
kind: Node
metadata:
  name: {name}
  annotations: {{kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: "0"}}
  labels:
    kubernetes.io/hostname: {name}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
status:
  allocatable: {{cpu: "32", memory: 256Gi, pods: "110"}}
  capacity: {{cpu: "32", memory: 256Gi, pods: "110"}}
  nodeInfo: {{architecture: amd64, operatingSystem: linux, kubeletVersion: fake, kubeProxyVersion: fake}}
"""


class Kwok(Component):
    name = "kwok"
    version = KWOK_VERSION
    #: Pods reach KWOK's nodes only once the scheduler binds them there: `up kwok` (what the
    #: CLI tests and benchmarks ask for) must bring it too.
    depends = ("kube-apiserver", "kube-scheduler")
    port = 26247

    def binary(self, ctx: Context) -> str:
        return str(go_install(ctx.paths.cache, ctx.paths.log("build-kwok"), "sigs.k8s.io/kwok/cmd/kwok",
                              KWOK_VERSION, "kwok"))  # fmt: skip

    def install(self, ctx: Context) -> None:
        self.binary(ctx)

    def prepare(self, ctx: Context) -> None:
        source = module_dir("sigs.k8s.io/kwok", KWOK_VERSION, ctx.paths.log(self.name))
        docs = [(source / "kustomize" / "stage" / rel).read_text() for rel in STAGES]
        ctx.paths.state("kwok", "stages.yaml").write_text("\n---\n".join(docs))

    def command(self, ctx: Context) -> list[str]:
        return [
            self.binary(ctx),
            f"--kubeconfig={kubeconfig(ctx)}",
            f"--config={ctx.paths.state('kwok', 'stages.yaml')}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={MANAGED}",
            "--cidr=10.244.0.1/16",
            f"--node-ip={HOST}",
            f"--server-address={HOST}:{self.port}",
        ]

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{self.port}/healthz") == 200

    def after_start(self, ctx: Context) -> None:
        kubectl(ctx, "apply", "-f", "-", stdin="\n---\n".join(node_manifest(n) for n in NODES))
        kubectl(
            ctx, "wait", "--for=condition=Ready", "--timeout=60s", *(f"node/{n}" for n in NODES)
        )
