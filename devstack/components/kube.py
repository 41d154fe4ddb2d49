"""The Kubernetes control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler."""

from __future__ import annotations

import hashlib
import hmac
import shutil
import ssl
import subprocess
import time
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


#: Where pods reach the apiserver (the node bridge's gateway, relayed to 127.0.0.1).
BRIDGE_IP = "10.245.0.1"
APISERVER_SANS = (
    f"IP:127.0.0.1,IP:10.96.0.1,IP:{BRIDGE_IP},DNS:localhost,DNS:kubernetes,"
    "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
)
#: The apiserver's client certificate for kubelets (`kubectl logs/exec`): a cluster admin.
KUBELET_CLIENT_SUBJECT = "/O=system:masters/CN=kube-apiserver-kubelet-client"


def ensure_pki(ctx: Context) -> None:
    """A CA, the service-account signing key, the apiserver's serving certificate (loopback,
    the `kubernetes` Service and the bridge address) and its client certificate for kubelets."""
    if shutil.which("openssl") is None:
        raise DevstackError("openssl is not installed")
    d = pki(ctx)
    d.mkdir(parents=True, exist_ok=True)
    log = ctx.paths.log("pki")

    def ssl_run(*args: str) -> None:
        run(["openssl", *args], log=log, cwd=d)

    if not (d / "complete").exists():
        ssl_run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=devstack-ca")  # fmt: skip
        ssl_run("genrsa", "-out", "sa.key", "2048")
        ssl_run("rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub")  # fmt: skip
        (d / "ca.key").chmod(0o600)
        (d / "sa.key").chmod(0o600)
        for stale in ("apiserver.crt", "apiserver-kubelet-client.crt"):
            (d / stale).unlink(missing_ok=True)
        (d / "complete").touch()
    issue_cert(ctx, "apiserver", "/CN=kube-apiserver",
               f"subjectAltName={APISERVER_SANS}\nextendedKeyUsage=serverAuth\n")  # fmt: skip
    issue_cert(ctx, "apiserver-kubelet-client", KUBELET_CLIENT_SUBJECT,
               "extendedKeyUsage=clientAuth\n")  # fmt: skip


def issue_cert(ctx: Context, name: str, subject: str, extensions: str) -> None:
    """`name`.crt/.key signed by the devstack CA; issued again when subject or extensions
    change (the CA stays, so kubeconfigs and clients keep trusting it)."""
    d = pki(ctx)
    wanted = f"{subject}\n{extensions}"
    ext = d / f"{name}.ext"
    if (d / f"{name}.crt").exists() and ext.exists() and ext.read_text() == wanted:
        return
    log = ctx.paths.log("pki")

    def ssl_run(*args: str) -> None:
        run(["openssl", *args], log=log, cwd=d)

    ssl_run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", subject)  # fmt: skip
    (d / f"{name}.key").chmod(0o600)
    (d / f"{name}.extfile").write_text(extensions)
    ssl_run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "3650", "-out", f"{name}.crt",
            "-extfile", f"{name}.extfile")  # fmt: skip
    ext.write_text(wanted)


def component_token(ctx: Context, user: str) -> str:
    """A bearer token for one of the node's parts, derived from the admin token so that it is
    stable across `up`s and never stored twice."""
    key = ctx.secret("kube-admin-token").encode()
    return hmac.new(key, user.encode(), hashlib.sha256).hexdigest()


#: Users of the real node's parts, with their groups (bound to roles by the node component).
COMPONENT_USERS = {
    "system:node:real-node-0": "system:nodes",
    "system:kube-proxy": "",
    "system:rollway-coredns": "",
}


def write_kubeconfig(ctx: Context) -> None:
    token = ctx.secret("kube-admin-token")
    ca = pki(ctx) / "ca.crt"
    tokens = pki(ctx) / "tokens.csv"
    lines = [f'{token},{ADMIN_USER},{ADMIN_USER},"system:masters"']
    for user, groups in COMPONENT_USERS.items():
        lines.append(
            f"{component_token(ctx, user)},{user},{user}" + (f',"{groups}"' if groups else "")
        )
    tokens.write_text("\n".join(lines) + "\n")
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


# etcd's answers to a write it could not commit in time; every devstack kubectl call is
# idempotent (apply, get, wait), so these are tried again rather than failing `up`.
TRANSIENT_ERRORS = ("etcdserver: request timed out", "etcdserver: leader changed")
KUBECTL_TRIES = 3


def kubectl(ctx: Context, *args: str, stdin: str | None = None) -> str:
    """Run the devstack's own kubectl against its apiserver; raise with its stderr on failure."""
    for attempt in range(1, KUBECTL_TRIES + 1):
        proc = subprocess.run(
            [str(kube_bin(ctx, "kubectl")), "--kubeconfig", str(kubeconfig(ctx)), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            return proc.stdout
        if attempt == KUBECTL_TRIES or not any(e in proc.stderr for e in TRANSIENT_ERRORS):
            break
        time.sleep(attempt)
    raise DevstackError(f"kubectl {' '.join(args[:3])}: {proc.stderr.strip()[-1500:]}")


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
            # The devstack's state is disposable; without fsync a busy disk (image builds,
            # Keycloak's start) no longer stalls commits past etcd's request timeout.
            "--unsafe-no-fsync",
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
            # Loopback addresses are invalid Endpoints: the real node's `node-access` part
            # gives the `kubernetes` Service the bridge address instead (see network.py).
            "--endpoint-reconciler-type=none",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            # `kubectl logs/exec`: reach kubelets at their InternalIP, never by resolving a
            # node name (that would ask the machine's DNS), with a verified TLS connection.
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={d / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={d / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={d / 'ca.crt'}",
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
            # Not the default /usr/libexec/kubernetes/…: it would create that dir on the machine.
            f"--flex-volume-plugin-dir={ctx.paths.work / 'flexvolume'}",
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
