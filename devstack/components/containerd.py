"""containerd (Debian 1.6) with runc and the Debian CNI plugins: the real node's container runtime.

Everything of its own lives under `.devstack/node/containerd` — config, root (images), state
(shims' bundles, netns mounts), socket — never the machine's /etc/containerd or
/var/lib/containerd. Settings that matter here:
- `restrict_oom_score_adj`: this VM lacks CAP_SYS_RESOURCE, so runc cannot give a container a
  negative OOM score and every sandbox would fail with "can't get final child's PID from pipe";
- registry hosts under `config_path`: the devstack registry speaks plain HTTP, reached as
  127.0.0.1:25000 (containerd pulls in the host's network namespace) or as the bridge address;
- a proxy that does not exist for every other registry: an image from the internet fails at once
  ("proxyconnect ... connection refused") instead of resolving a name through the machine's DNS;
- the sandbox (pause) image is compiled here from the Kubernetes module's pause.c and imported.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from ..core import DevstackError, run, which
from ..gobuild import KUBERNETES_VERSION, module_dir
from ..machine import kill, pids_with_args, remove_cgroup, unmount_under
from ..oci_layout import Entry, write_layer
from ..stack import Component, Context
from .network import BRIDGE, GATEWAY, POD_CIDR
from .registry import ADDR as REGISTRY_ADDR
from .registry import USERNAME as REGISTRY_USERNAME

PAUSE_VERSION = "3.10.1"  # build/pause/Makefile of k8s.io/kubernetes v1.34.5
PAUSE_IMAGE = f"{REGISTRY_ADDR}/rollway-devstack/pause:{PAUSE_VERSION}"
#: kubelet's cgroupRoot: every pod cgroup lives below it, in every hierarchy.
CGROUP_ROOT = "rollway"
CNI_BIN = Path("/usr/lib/cni")
CNI_NETWORK = "rollway"
#: Registry hosts pods' images may name, served over plain HTTP.
REGISTRY_HOSTS = (REGISTRY_ADDR, f"{GATEWAY}:{REGISTRY_ADDR.rsplit(':', 1)[1]}")
#: Nothing listens on the discard port: pulls from any other registry are refused at once.
NO_PROXY_HERE = "http://127.0.0.1:9"


def node_dir(ctx: Context, *parts: str) -> Path:
    return ctx.paths.state("node", *parts)


def socket(ctx: Context) -> Path:
    return node_dir(ctx, "containerd", "containerd.sock")


def ctr(ctx: Context, *args: str, timeout: float = 60.0) -> str:
    proc = subprocess.run(
        ["ctr", "--address", str(socket(ctx)), "--namespace", "k8s.io", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise DevstackError(f"ctr {' '.join(args[:2])}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def config(ctx: Context) -> str:
    root, state = node_dir(ctx, "containerd", "root"), node_dir(ctx, "containerd", "state")
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{socket(ctx)}"

[debug]
  level = "warn"

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"

[{cri}]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[{cri}.containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  BinaryName = "runc"
  Root = "{state}/runc"
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "{CNI_BIN}"
  conf_dir = "{node_dir(ctx, "cni", "net.d")}"
  max_conf_num = 1

[{cri}.registry]
  config_path = "{node_dir(ctx, "containerd", "certs.d")}"
{registry_auth(ctx)}"""


def registry_auth(ctx: Context) -> str:
    """The node's own pull credentials for the platform registry (like a kubelet credential
    provider on EKS or GKE): app pods in any namespace pull without an imagePullSecret."""
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    username, password = REGISTRY_USERNAME, ctx.secret("registry-password")
    return "".join(
        f'\n[{cri}.registry.configs."{host}".auth]\n'
        f"  username = {json.dumps(username)}\n  password = {json.dumps(password)}\n"
        for host in REGISTRY_HOSTS
    )


def cni_config(ctx: Context) -> dict[str, object]:
    """One bridge network on rollway0 with hairpin (a pod reaching itself through a Service)."""
    return {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR, "gateway": GATEWAY}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node_dir(ctx, "cni", "ipam")),
                },
            }
        ],
    }


# -- the sandbox image ------------------------------------------------------------------------


def pause_image(ctx: Context) -> Path:
    """An OCI archive of the pause image: pause.c from the Kubernetes module, gcc -static."""
    archive = ctx.paths.cache / f"pause-{PAUSE_VERSION}-{KUBERNETES_VERSION}" / "image.tar"
    if archive.exists():
        return archive
    if not which("gcc"):
        raise DevstackError("gcc not found (it compiles the pause program); install gcc")
    log = ctx.paths.log("containerd")
    source = module_dir("k8s.io/kubernetes", KUBERNETES_VERSION, log) / "build/pause/linux/pause.c"
    work = archive.parent.with_name(archive.parent.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    blobs = work / "layout" / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    binary = work / "pause"
    run(["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{PAUSE_VERSION}-rollway",
         "-o", binary, source], log=log)  # fmt: skip
    run(["strip", binary], log=log)
    layer, diff_id = write_layer(blobs, [Entry("pause", 0o755, binary)])
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Entrypoint": ["/pause"], "User": "65535:65535"},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": _blob(blobs, "application/vnd.oci.image.config.v1+json", image_config),
        "layers": [layer],
    }
    descriptor = _blob(blobs, "application/vnd.oci.image.manifest.v1+json", manifest)
    descriptor["platform"] = {"architecture": "amd64", "os": "linux"}
    descriptor["annotations"] = {
        "io.containerd.image.name": PAUSE_IMAGE,
        "org.opencontainers.image.ref.name": PAUSE_VERSION,
    }
    layout = work / "layout"
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    with tarfile.open(work / "image.tar", "w") as tar:
        for path in sorted(layout.rglob("*")):
            tar.add(path, arcname=path.relative_to(layout).as_posix(), recursive=False)
    archive.parent.mkdir(parents=True, exist_ok=True)
    (work / "image.tar").rename(archive)
    shutil.rmtree(work, ignore_errors=True)
    return archive


def _blob(blobs: Path, media_type: str, doc: object) -> dict[str, object]:
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    (blobs / digest).write_bytes(raw)
    return {"mediaType": media_type, "digest": f"sha256:{digest}", "size": len(raw)}


class Containerd(Component):
    name = "containerd"
    version = "1.6"
    depends = ("node-network",)

    def install(self, ctx: Context) -> None:
        for tool, package in (("containerd", "containerd"), ("ctr", "containerd"),
                              ("runc", "runc")):  # fmt: skip
            if not which(tool):
                raise DevstackError(f"`{tool}` not found; install the {package} package")
        if not (CNI_BIN / "bridge").exists():
            raise DevstackError(f"no CNI plugins in {CNI_BIN}; install containernetworking-plugins")
        pause_image(ctx)

    def prepare(self, ctx: Context) -> None:
        settings = node_dir(ctx, "containerd", "config.toml")
        settings.touch(mode=0o600)
        settings.chmod(0o600)  # before writing: it holds the registry password
        settings.write_text(config(ctx))
        for host in REGISTRY_HOSTS:
            node_dir(ctx, "containerd", "certs.d", host, "hosts.toml").write_text(
                f'server = "http://{host}"\n\n[host."http://{host}"]\n'
                '  capabilities = ["pull", "resolve"]\n'
            )
        conf = node_dir(ctx, "cni", "net.d", f"10-{CNI_NETWORK}.conflist")
        conf.write_text(json.dumps(cni_config(ctx), indent=2))

    def command(self, ctx: Context) -> list[str]:
        return ["containerd", "--config", str(node_dir(ctx, "containerd", "config.toml"))]

    def environ(self, ctx: Context) -> dict[str, str]:
        return {
            "HTTP_PROXY": NO_PROXY_HERE,
            "HTTPS_PROXY": NO_PROXY_HERE,
            "NO_PROXY": ",".join(h.split(":")[0] for h in REGISTRY_HOSTS),
        }

    def ready(self, ctx: Context) -> bool:
        try:
            ctr(ctx, "version", timeout=5)
        except (DevstackError, subprocess.TimeoutExpired):
            return False
        return True

    def after_start(self, ctx: Context) -> None:
        if PAUSE_IMAGE not in ctr(ctx, "images", "list", "--quiet").split():
            ctr(ctx, "images", "import", str(pause_image(ctx)))

    def down(self, ctx: Context) -> bool:
        """Kill every container (their cgroups), containerd, its shims; unmount what they
        mounted (rootfs, netns, the kubelet's volumes) and drop the pod network's state."""
        remove_cgroup(CGROUP_ROOT)
        stopped = super().down(ctx)
        shims = pids_with_args("-address", str(socket(ctx)))
        kill(shims)
        unmount_under(ctx.paths.work / "node")
        for part in ("containerd/state", "cni/ipam"):
            shutil.rmtree(ctx.paths.work / "node" / part, ignore_errors=True)
        socket(ctx).unlink(missing_ok=True)
        return stopped or bool(shims)

    def endpoint(self, ctx: Context) -> str:
        return f"unix://{socket(ctx)}"
