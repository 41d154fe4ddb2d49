"""The Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from pathlib import Path

from ..core import HOST, DevstackError, http_status, run
from ..gobuild import ETCD_VERSION, KUBERNETES_VERSION, kube_binaries
from ..stack import Component, Context

APISERVER_PORT = 26443
ETCD_PORT = 23790
ADMIN_USER = "devstack-admin"


def pki(ctx: Context) -> Path:
    return ctx.paths.work / "pki"


def kubeconfig(ctx: Context) -> Path:
    return ctx.paths.work / "kubeconfig"


def kube_bin(ctx: Context, name: str) -> Path:
    return kube_binaries(ctx.paths.cache, ctx.paths.log("build-kubernetes")) / name


def ensure_pki(ctx: Context) -> None:
    """A CA, the apiserver's serving cert for 127.0.0.1, and the service-account signing key."""
    d = pki(ctx)
    if (d / "complete").exists():
        return
    if shutil.which("openssl") is None:
        raise DevstackError("openssl is not installed")
    d.mkdir(parents=True, exist_ok=True)
    log = ctx.paths.log("pki")
    ssl_run = lambda *args: run(["openssl", *args], log=log, cwd=d)  # noqa: E731
    ssl_run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-subj",
        "/CN=devstack-ca",
    )
    ssl_run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "apiserver.key",
        "-out",
        "apiserver.csr",
        "-subj",
        "/CN=kube-apiserver",
    )
    (d / "apiserver.ext").write_text(
        "subjectAltName=IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
        "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n"
        "extendedKeyUsage=serverAuth\n"
    )
    ssl_run(
        "x509",
        "-req",
        "-in",
        "apiserver.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3650",
        "-out",
        "apiserver.crt",
        "-extfile",
        "apiserver.ext",
    )
    ssl_run("genrsa", "-out", "sa.key", "2048")
    ssl_run("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")  # fmt: skip
    for key in d.glob("*.key"):
        key.chmod(0o600)
    (d / "complete").touch()


def write_kubeconfig(ctx: Context) -> None:
    token = ctx.secret("kube-admin-token")
    ca = pki(ctx) / "ca.crt"
    tokens = pki(ctx) / "tokens.csv"
    tokens.write_text(f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n')
    tokens.chmod(0o600)
    path = kubeconfig(ctx)
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: devstack
  cluster:
    server: https://{HOST}:{APISERVER_PORT}
    certificate-authority: {ca}
users:
- name: {ADMIN_USER}
  user:
    token: {token}
contexts:
- name: devstack
  context: {{cluster: devstack, user: {ADMIN_USER}, namespace: default}}
current-context: devstack
"""
    )
    path.chmod(0o600)


def kubectl(ctx: Context, *args: str, stdin: str | None = None) -> str:
    """Run the devstack's own kubectl against its apiserver; raise with its stderr on failure."""
    proc = subprocess.run(
        [str(kube_bin(ctx, "kubectl")), "--kubeconfig", str(kubeconfig(ctx)), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise DevstackError(f"kubectl {' '.join(args[:3])}: {proc.stderr.strip()[-1500:]}")
    return proc.stdout


def https_ok(url: str, *, verify: Path | None = None, token: str | None = None) -> bool:
    context = (
        ssl.create_default_context(cafile=str(verify))
        if verify
        else ssl._create_unverified_context()
    )
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return http_status(url, headers=headers, context=context) == 200


class Etcd(Component):
    """etcd at the version kubernetes pins, built from the same module graph as the apiserver."""

    name = "etcd"
    version = ETCD_VERSION
    port = ETCD_PORT

    def install(self, ctx: Context) -> None:
        kube_bin(ctx, "etcd")

    def prepare(self, ctx: Context) -> None:
        data = ctx.paths.work / "etcd"
        marker = data / "devstack-etcd-version"
        if data.exists() and (not marker.exists() or marker.read_text() != ETCD_VERSION):
            shutil.rmtree(data)  # another etcd's data dir; the devstack's state is disposable
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        marker.write_text(ETCD_VERSION)

    def command(self, ctx: Context) -> list[str]:
        peer = f"http://{HOST}:{ETCD_PORT + 10}"
        client = f"http://{HOST}:{ETCD_PORT}"
        return [
            str(kube_bin(ctx, "etcd")), "--name", "devstack",
            "--data-dir", str(ctx.paths.work / "etcd" / "member-data"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"devstack={peer}", "--logger", "zap", "--log-level", "warn",
            "--quota-backend-bytes", str(4 << 30),
        ]  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{ETCD_PORT}/health") == 200


class KubeApiserver(Component):
    name = "kube-apiserver"
    version = KUBERNETES_VERSION
    depends = ("etcd",)
    port = APISERVER_PORT
    start_timeout = 120.0

    def install(self, ctx: Context) -> None:
        kube_bin(ctx, "kube-apiserver")
        link = ctx.paths.bin / "kubectl"
        link.unlink(missing_ok=True)
        link.symlink_to(kube_bin(ctx, "kubectl"))

    def prepare(self, ctx: Context) -> None:
        ensure_pki(ctx)
        write_kubeconfig(ctx)

    def command(self, ctx: Context) -> list[str]:
        d = pki(ctx)
        return [
            str(kube_bin(ctx, "kube-apiserver")),
            f"--etcd-servers=http://{HOST}:{ETCD_PORT}",
            f"--bind-address={HOST}", f"--advertise-address={HOST}", f"--secure-port={APISERVER_PORT}",
            f"--tls-cert-file={d / 'apiserver.crt'}", f"--tls-private-key-file={d / 'apiserver.key'}",
            f"--client-ca-file={d / 'ca.crt'}", f"--token-auth-file={d / 'tokens.csv'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-cluster-ip-range=10.96.0.0/16",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            # Loopback addresses are invalid Endpoints, so the `kubernetes` Service has none.
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ]  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        return https_ok(
            f"https://{HOST}:{APISERVER_PORT}/readyz",
            verify=pki(ctx) / "ca.crt",
            token=ctx.secret("kube-admin-token"),
        )

    def endpoint(self, ctx: Context) -> str:
        return f"https://{HOST}:{APISERVER_PORT}"

    def exports(self, ctx: Context) -> dict[str, str]:
        return {"KUBECONFIG": str(kubeconfig(ctx))}


class ControllerManager(Component):
    name = "kube-controller-manager"
    version = KUBERNETES_VERSION
    depends = ("kube-apiserver",)
    port = 26257

    def command(self, ctx: Context) -> list[str]:
        d, kc = pki(ctx), kubeconfig(ctx)
        return [
            str(kube_bin(ctx, "kube-controller-manager")),
            f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            f"--bind-address={HOST}", f"--secure-port={self.port}",
            f"--service-account-private-key-file={d / 'sa.key'}", f"--root-ca-file={d / 'ca.crt'}",
            "--use-service-account-credentials=false",
            "--leader-elect=false",
            "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
            "--v=1",
        ]  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        return https_ok(f"https://{HOST}:{self.port}/healthz")

    def endpoint(self, ctx: Context) -> str:
        return f"https://{HOST}:{self.port}"


class Scheduler(Component):
    name = "kube-scheduler"
    version = KUBERNETES_VERSION
    depends = ("kube-apiserver",)
    port = 26259

    def command(self, ctx: Context) -> list[str]:
        kc = kubeconfig(ctx)
        return [
            str(kube_bin(ctx, "kube-scheduler")),
            f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}", f"--authorization-kubeconfig={kc}",
            f"--bind-address={HOST}", f"--secure-port={self.port}",
            "--leader-elect=false", "--v=1",
        ]  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        return https_ok(f"https://{HOST}:{self.port}/healthz")

    def endpoint(self, ctx: Context) -> str:
        return f"https://{HOST}:{self.port}"
