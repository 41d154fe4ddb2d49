"""Cluster DNS for the real node: CoreDNS built from its Go module, on the bridge address :53.

Built with only the plugins it uses (bind, errors, ready, kubernetes): a small main package added
to a writable copy of the module, so the build needs none of the cloud-provider dependencies.
It serves `cluster.local` (and reverse zones) from the devstack apiserver and forwards nothing:
any other name gets REFUSED, so no query from a pod ever reaches the machine's resolver.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ..core import HOST, http_status, locked, run
from ..gobuild import go_env, module_dir
from ..stack import Component, Context
from .containerd import node_dir
from .network import GATEWAY
from .node import CLUSTER_DOMAIN, DNS_USER, component_kubeconfig

VERSION = "v1.14.7"
MODULE = "github.com/coredns/coredns"
READY_PORT = 26281
PLUGINS = ("bind", "errors", "ready", "kubernetes")
MAIN = (
    "// Command rollway-coredns is CoreDNS with only the plugins the devstack uses.\n"
    "package main\n\nimport (\n"
    '\t"github.com/coredns/coredns/coremain"\n\n'
    + "".join(f'\t_ "github.com/coredns/coredns/plugin/{p}"\n' for p in PLUGINS)
    + ")\n\nfunc main() {\n\tcoremain.Run()\n}\n"
)


def coredns_binary(cache: Path, log: Path) -> Path:
    binary = cache / f"coredns-{VERSION}" / "coredns"
    with locked(cache / "locks" / "coredns-build"):
        if binary.exists():
            return binary
        src = cache / f"src-coredns-{VERSION}"
        shutil.rmtree(src, ignore_errors=True)
        shutil.copytree(module_dir(MODULE, VERSION, log), src)
        for path in [src, *src.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        main = src / "cmd" / "rollway-coredns" / "main.go"
        main.parent.mkdir(parents=True)
        main.write_text(MAIN)
        binary.parent.mkdir(parents=True, exist_ok=True)
        tmp = binary.with_suffix(".tmp")
        run(["go", "build", "-ldflags", "-s -w", "-o", tmp, "./cmd/rollway-coredns"],
            log=log, cwd=src, env=go_env())  # fmt: skip
        tmp.rename(binary)
        shutil.rmtree(src, ignore_errors=True)
    return binary


def corefile(kubeconfig: Path) -> str:
    zones = f"{CLUSTER_DOMAIN} in-addr.arpa ip6.arpa"
    return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {GATEWAY}
    errors
    ready {HOST}:{READY_PORT}
    kubernetes {zones} {{
        kubeconfig {kubeconfig} devstack
        pods insecure
        ttl 5
    }}
}}
"""


class CoreDNS(Component):
    name = "coredns"
    version = VERSION
    depends = ("node-network", "node-access")

    def binary(self, ctx: Context) -> Path:
        return coredns_binary(ctx.paths.cache, ctx.paths.log("build-coredns"))

    def install(self, ctx: Context) -> None:
        self.binary(ctx)

    def prepare(self, ctx: Context) -> None:
        kubeconfig = component_kubeconfig(ctx, DNS_USER, node_dir(ctx, "coredns", "kubeconfig"))
        node_dir(ctx, "coredns", "Corefile").write_text(corefile(kubeconfig))

    def command(self, ctx: Context) -> list[str]:
        return [str(self.binary(ctx)), "-conf", str(node_dir(ctx, "coredns", "Corefile"))]

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{READY_PORT}/ready") == 200

    def endpoint(self, ctx: Context) -> str:
        return f"dns://{GATEWAY}:53 ({CLUSTER_DOMAIN})"
