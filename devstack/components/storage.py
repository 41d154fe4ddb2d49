"""Dynamic volumes for the real node: Rancher's local-path-provisioner, the default StorageClass.

The pipeline's steps share a workspace through the PersistentVolumeClaim each workflow creates
(`volumeClaimTemplates`), as on any cluster with a default StorageClass. Here the real
local-path-provisioner (built from its Go module, vendored dependencies) makes each volume a
directory under the devstack's state dir on the node that first mounts it, through a helper pod
running busybox from Debian's `busybox-static`. The directories are 0777 so that non-root steps
can write; kube-controller-manager's own hostPath provisioner makes root-only 0750 ones.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..core import DevstackError
from ..gobuild import go_install
from ..oci import binary_image, push_layout
from ..oci_layout import Entry
from ..stack import Component, Context
from .kube import kubeconfig, kubectl
from .registry import ADDR

VERSION = "v0.0.30"
MODULE = "github.com/rancher/local-path-provisioner"
NAMESPACE = "local-path-storage"
PROVISIONER = "rancher.io/local-path"
STORAGE_CLASS = "local-path"
CONFIGMAP = "local-path-config"
SERVICE_ACCOUNT = "local-path-provisioner"
BUSYBOX = Path("/bin/busybox")
HELPER_REPOSITORY = "library/busybox"


def provisioner_binary(ctx: Context) -> Path:
    log = ctx.paths.log("build-local-path-provisioner")
    return go_install(ctx.paths.cache, log, MODULE, VERSION, "local-path-provisioner")


def busybox_version() -> str:
    """The version busybox prints in its banner, e.g. 1.35.0: the helper image's tag."""
    if not BUSYBOX.exists():
        raise DevstackError(f"{BUSYBOX} not found; install the busybox-static package")
    marker = b"BusyBox v"
    data = BUSYBOX.read_bytes()
    start = data.find(marker)
    return data[start + len(marker) : data.find(b" ", start + len(marker))].decode() or "unknown"


def helper_image(ctx: Context) -> str:
    """busybox (as /bin/sh too: it dispatches on argv[0]) for the provisioner's helper pods."""
    tag = busybox_version()
    layout = binary_image(
        ctx.paths.cache / f"busybox-image-{tag}",
        tag,
        [
            Entry("bin/busybox", 0o755, BUSYBOX),
            Entry("bin/sh", 0o755, BUSYBOX),
            Entry("tmp", 0o1777),
        ],
        {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        f"busybox {tag} from Debian's busybox-static",
    )
    return push_layout(ctx, layout, tag, HELPER_REPOSITORY, ctx.paths.log("busybox-image"))


def manifests(ctx: Context, volumes: Path, helper: str) -> list[dict[str, object]]:
    helper_pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "helper-pod"},
        "spec": {
            "automountServiceAccountToken": False,
            "containers": [{"name": "helper-pod", "image": helper,
                            "imagePullPolicy": "IfNotPresent"}],
        },
    }  # fmt: skip
    config = {"nodePathMap": [{"node": "DEFAULT_PATH_FOR_NON_LISTED_NODES",
                               "paths": [str(volumes)]}]}  # fmt: skip
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": SERVICE_ACCOUNT, "namespace": NAMESPACE},
         "automountServiceAccountToken": False},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
            "data": {
                "config.json": json.dumps(config),
                # busybox runs its applets itself: no other binary is in the image.
                "setup": '#!/bin/sh\nset -eu\nexec /bin/busybox mkdir -m 0777 -p "$VOL_DIR"\n',
                "teardown": '#!/bin/sh\nset -eu\nexec /bin/busybox rm -rf "$VOL_DIR"\n',
                "helperPod.yaml": json.dumps(helper_pod),
            },
        },
        {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": {
                "name": STORAGE_CLASS,
                "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            },
            "provisioner": PROVISIONER,
            "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": "Delete",
        },
    ]  # fmt: skip


class LocalPathProvisioner(Component):
    name = "local-path-provisioner"
    version = VERSION
    depends = ("kube-apiserver", "registry")
    start_timeout = 30.0

    def volumes(self, ctx: Context) -> Path:
        return ctx.paths.work / "volumes"

    def install(self, ctx: Context) -> None:
        if shutil.which("go") is None:
            raise DevstackError("the Go toolchain is not installed")
        provisioner_binary(ctx)

    def prepare(self, ctx: Context) -> None:
        self.volumes(ctx).mkdir(parents=True, exist_ok=True)
        docs = {"apiVersion": "v1", "kind": "List",
                "items": manifests(ctx, self.volumes(ctx), helper_image(ctx))}  # fmt: skip
        kubectl(ctx, "apply", "--server-side", "--force-conflicts", "--field-manager=devstack",
                "-f", "-", stdin=json.dumps(docs))  # fmt: skip

    def command(self, ctx: Context) -> list[str]:
        return [
            str(provisioner_binary(ctx)), "start",
            f"--kubeconfig={kubeconfig(ctx)}",
            f"--namespace={NAMESPACE}", f"--configmap-name={CONFIGMAP}",
            f"--provisioner-name={PROVISIONER}", f"--service-account-name={SERVICE_ACCOUNT}",
            # The helper pod's image comes from helperPod.yaml; the flag is required regardless.
            f"--helper-image={ADDR}/{HELPER_REPOSITORY}:{busybox_version()}",
        ]  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        """Running, and the default StorageClass it serves exists."""
        try:
            return PROVISIONER in kubectl(ctx, "get", "storageclass", STORAGE_CLASS, "-o",
                                          "jsonpath={.provisioner}")  # fmt: skip
        except DevstackError:
            return False

    def endpoint(self, ctx: Context) -> str:
        return f"storageclass {STORAGE_CLASS} → {self.volumes(ctx)}"
