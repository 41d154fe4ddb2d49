"""The real Argo Workflows controller, Argo Server and executor, built from the argo-workflows module.

Workflow pods that opt into the real node run for real, with an argoexec image built here (the
controller's executor image); pods on KWOK nodes never run containers, which the tests of the
controller's logic alone (suspend/resume/stop/terminate) use for speed.

The controller watches Workflows without a resourceVersion, which kube-apiserver 1.34 serves as a
watch-list stream; that needs etcd >= 3.4.31/3.5.13 (RequestWatchProgress). With Debian's etcd
3.4.23 the watch failed and the controller only reacted on back-off relists (tens of seconds);
the devstack's etcd 3.6 serves it, and every step here takes about a second.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..core import HOST, free_port_or_fail, http_status, locked, run
from ..gobuild import WORKFLOWS_VERSION, fill_local_proxy, go_env, module_info
from ..oci import binary_image, push_layout
from ..oci_layout import Entry
from ..stack import Component, Context
from .kube import kubeconfig, kubectl
from .registry import ADDR

MODULE = "github.com/argoproj/argo-workflows/v3"
COMMANDS = ("workflow-controller", "argo", "argoexec")
NAMESPACE = "argo"
CONFIGMAP = "workflow-controller-configmap"
SERVER_PORT = 26346
METRICS_PORT = 26390
#: Hard-coded in cmd/workflow-controller (`http.ListenAndServe(":6060", nil)`), all interfaces.
CONTROLLER_HEALTH_PORT = 6060
EXECUTOR_REPOSITORY = "argoproj/argoexec"
#: On the devstack registry, so that a miss never makes containerd look quay.io up.
EXECUTOR_IMAGE = f"{ADDR}/{EXECUTOR_REPOSITORY}:{WORKFLOWS_VERSION}"
#: How soon the controller looks at a workflow again after a change (upstream's default: 10s).
REQUEUE_TIME = "1s"
#: argoexec's own non-root user in upstream's image.
EXECUTOR_UID = 8737

# The UI bundle (ui/dist/app) is built with yarn and is not in the module zip; `//go:embed dist/app`
# only needs one file there (upstream's Makefile touches an empty index.html for non-UI builds).
UI_PLACEHOLDER = (
    '<!doctype html><html><head><base href="/"><title>Argo Server (devstack)</title></head>'
    "<body>The Argo UI is not built in devstack; the REST API is under /api/v1/.</body></html>\n"
)


def workflows_source(cache: Path, info: dict[str, str]) -> Path:
    """A writable copy of the module (go.mod has a replace directive, so no `go install @v`)."""
    src = cache / f"src-argo-workflows-{WORKFLOWS_VERSION}"
    if not (src / ".complete").exists():
        shutil.rmtree(src, ignore_errors=True)
        tmp = src.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(Path(str(info["Dir"])), tmp)
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
        (tmp / ".complete").touch()
        tmp.rename(src)
    # Upstream's signal_linux.go is a symlink to signal_darwin.go, and module zips drop symlinks
    # (argoexec then fails with `undefined: Setpgid`): put the file the symlink points to back.
    signals = src / "workflow" / "executor" / "osspecific"
    if not (signals / "signal_linux.go").exists():
        shutil.copyfile(signals / "signal_darwin.go", signals / "signal_linux.go")
    ui = src / "ui" / "dist" / "app"
    ui.mkdir(parents=True, exist_ok=True)
    (ui / "index.html").write_text(UI_PLACEHOLDER)
    return src


def workflows_binaries(cache: Path, log: Path) -> Path:
    """workflow-controller and argo (CLI + `argo server`) at WORKFLOWS_VERSION, built once."""
    bindir = cache / f"argo-workflows-{WORKFLOWS_VERSION}"
    # Its own lock: this build takes ~15 min and must not hold up `kubectl` (which takes go-build).
    with locked(cache / "locks" / "argo-workflows-build"):
        if all((bindir / c).exists() for c in COMMANDS):
            return bindir
        info = module_info(MODULE, WORKFLOWS_VERSION, log)
        src = workflows_source(cache, info)
        # The proxy's .info names the tag's commit and time: stamp them like a release build.
        meta = json.loads(Path(str(info["Info"])).read_text())
        commit = (meta.get("Origin") or {}).get("Hash", "")
        pkg = "github.com/argoproj/argo-workflows/v3"
        ldflags = (
            f"-s -w -X {pkg}.version={WORKFLOWS_VERSION} -X {pkg}.gitTag={WORKFLOWS_VERSION}"
            f" -X {pkg}.gitCommit={commit} -X {pkg}.gitTreeState=clean"
            f" -X {pkg}.buildDate={meta.get('Time', '1970-01-01T00:00:00Z')}"
        )
        tmp = bindir.with_name(bindir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        env = {**go_env(), "GOPROXY": fill_local_proxy(cache, src / "go.mod")}
        run(["go", "build", "-ldflags", ldflags, "-o", f"{tmp}/",
             *(f"./cmd/{c}" for c in COMMANDS)],
            log=log, cwd=src, env=env)  # fmt: skip
        shutil.rmtree(bindir, ignore_errors=True)
        tmp.rename(bindir)
    return bindir


def workflows_bin(ctx: Context, name: str) -> Path:
    return workflows_binaries(ctx.paths.cache, ctx.paths.log("build-argo-workflows")) / name


def push_executor_image(ctx: Context) -> None:
    """The argoexec image (init, wait and emissary of every workflow pod) into the registry."""
    layout = binary_image(
        ctx.paths.cache / f"argoexec-image-{WORKFLOWS_VERSION}",
        WORKFLOWS_VERSION,
        [
            Entry("bin/argoexec", 0o755, workflows_bin(ctx, "argoexec")),
            Entry(
                "etc/passwd",
                0o644,
                data=f"argo:x:{EXECUTOR_UID}:{EXECUTOR_UID}::/home/argo:/bin/argoexec\n".encode(),
            ),
            Entry("etc/group", 0o644, data=f"argo:x:{EXECUTOR_UID}:\n".encode()),
            Entry("home/argo", 0o755, owner=EXECUTOR_UID),
            Entry("tmp", 0o1777),
        ],
        {
            "Entrypoint": ["argoexec"],
            "Env": ["PATH=/bin"],
            "User": f"{EXECUTOR_UID}:{EXECUTOR_UID}",
        },
        f"argoexec {WORKFLOWS_VERSION} built from the argo-workflows module",
    )
    push_layout(
        ctx, layout, WORKFLOWS_VERSION, EXECUTOR_REPOSITORY, ctx.paths.log("argoexec-image")
    )


# workflowRestrictions: only Workflows that reference a WorkflowTemplate run, so whoever may
# create Workflows (Rollway's API server) runs nothing but the templates. Strict, not Secure:
# Secure fails a running workflow when its template changes, and an upgrade of Rollway would
# fail every deployment waiting at its approval gate; a running workflow keeps the spec it
# started with anyway (status.storedWorkflowSpec).
# executor: Argo's init and wait containers in every pod, non-root without privileges, as the
# Pod Security `restricted` level requires (their root filesystem stays writable: upstream
# leaves it so for them too).
CONTROLLER_CONFIG = f"""apiVersion: v1
kind: Namespace
metadata: {{name: {NAMESPACE}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {CONFIGMAP}, namespace: {NAMESPACE}}}
data:
  metricsConfig: |
    enabled: true
    port: {METRICS_PORT}
    secure: false
  workflowRestrictions: |
    templateReferencing: Strict
  executor: |
    securityContext:
      runAsNonRoot: true
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
"""


def apply_controller_config(ctx: Context) -> None:
    """Namespace `argo` and the ConfigMap both the controller and the Argo Server read (the
    controller reloads it when it changes)."""
    kubectl(ctx, "apply", "--server-side", "--field-manager=devstack", "-f", "-",
            stdin=CONTROLLER_CONFIG)  # fmt: skip


class ArgoWorkflowController(Component):
    """The real workflow-controller, cluster-wide, without leader election."""

    name = "argo-workflow-controller"
    version = WORKFLOWS_VERSION
    depends = ("kube-apiserver", "argo-workflows-crds", "registry")
    port = METRICS_PORT
    start_timeout = 90.0

    def install(self, ctx: Context) -> None:
        workflows_bin(ctx, "workflow-controller")

    def after_start(self, ctx: Context) -> None:
        apply_controller_config(ctx)  # a running controller picks up today's config
        push_executor_image(ctx)

    def prepare(self, ctx: Context) -> None:
        free_port_or_fail(self.name, CONTROLLER_HEALTH_PORT)
        apply_controller_config(ctx)

    def command(self, ctx: Context) -> list[str]:
        return [
            str(workflows_bin(ctx, "workflow-controller")),
            f"--kubeconfig={kubeconfig(ctx)}",
            f"--namespace={NAMESPACE}",
            f"--configmap={CONFIGMAP}",
            "--namespaced=false",
            f"--executor-image={EXECUTOR_IMAGE}",
            "--executor-image-pull-policy=IfNotPresent",
            "--workflow-workers=4",
            "--loglevel=info",
        ]

    def environ(self, ctx: Context) -> dict[str, str]:
        # A workflow is looked at again DEFAULT_REQUEUE_TIME after each change (10 s upstream):
        # Rollway's pipeline is a chain of short steps, each of which waited out most of it.
        # 1 s is the floor upstream recommends (informers must catch up); see docs/operations.md.
        return {"LEADER_ELECTION_DISABLE": "true", "DEFAULT_REQUEUE_TIME": REQUEUE_TIME}

    def ready(self, ctx: Context) -> bool:
        return (
            http_status(f"http://{HOST}:{CONTROLLER_HEALTH_PORT}/healthz") == 200
            and http_status(f"http://{HOST}:{METRICS_PORT}/metrics") == 200
        )

    def endpoint(self, ctx: Context) -> str:
        return f"http://{HOST}:{METRICS_PORT}/metrics"


class ArgoServer(Component):
    """`argo server` in auth-mode server (it acts with the devstack's admin kubeconfig), HTTP."""

    name = "argo-server"
    version = WORKFLOWS_VERSION
    depends = ("kube-apiserver", "argo-workflows-crds")
    port = SERVER_PORT
    start_timeout = 90.0

    def install(self, ctx: Context) -> None:
        link = ctx.paths.bin / "argo"
        target = workflows_bin(ctx, "argo")
        if not link.is_symlink() or link.readlink() != target:
            link.unlink(missing_ok=True)
            link.symlink_to(target)

    def prepare(self, ctx: Context) -> None:
        apply_controller_config(ctx)

    def command(self, ctx: Context) -> list[str]:
        # No bind-address flag exists: it listens on all interfaces (":<port>").
        return [
            str(workflows_bin(ctx, "argo")),
            "server",
            f"--kubeconfig={kubeconfig(ctx)}",
            f"--namespace={NAMESPACE}",
            f"--configmap={CONFIGMAP}",
            f"--port={SERVER_PORT}",
            "--auth-mode=server",
            "--secure=false",
            "--namespaced=false",
            "--browser=false",
            "--loglevel=info",
        ]

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{SERVER_PORT}/api/v1/version") == 200

    def exports(self, ctx: Context) -> dict[str, str]:
        return {
            "ARGO_SERVER": f"{HOST}:{SERVER_PORT}",
            "ARGO_HTTP1": "true",
            "ARGO_SECURE": "false",
            "ARGO_BASE_HREF": "",
            "ROLLWAY_ARGO_SERVER_URL": f"http://{HOST}:{SERVER_PORT}",
        }
