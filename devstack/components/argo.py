"""Argo Rollouts (the real controller and its CRDs) and Argo Workflows' full-schema CRDs."""

from __future__ import annotations

from pathlib import Path

from ..core import HOST, http_status, wait_until
from ..gobuild import (
    ROLLOUTS_VERSION,
    WORKFLOWS_VERSION,
    module_dir,
    rollouts_controller,
    rollouts_crds,
)
from ..stack import Component, Context
from .kube import kubeconfig, kubectl

ROLLOUTS_CRDS = (
    "rollouts.argoproj.io",
    "analysisruns.argoproj.io",
    "analysistemplates.argoproj.io",
    "clusteranalysistemplates.argoproj.io",
    "experiments.argoproj.io",
)


def apply_crds(ctx: Context, files: list[Path], names: tuple[str, ...]) -> None:
    """Server-side apply (the full schemas are too large for the last-applied annotation)."""
    args = ["apply", "--server-side", "--force-conflicts", "--field-manager=devstack"]
    for path in files:
        args += ["-f", str(path)]
    kubectl(ctx, *args)
    # `kubectl wait` errors out while a fresh CRD has no conditions yet, so poll ourselves.
    wait_until("CRDs established", lambda: crds_established(ctx, names), timeout=60)


def crds_established(ctx: Context, names: tuple[str, ...]) -> bool:
    try:
        out = kubectl(ctx, "get", "crd", *names, "-o",
                      "jsonpath={range .items[*]}{.status.conditions[?(@.type=='Established')].status}{'\\n'}{end}")  # fmt: skip
    except Exception:
        return False
    return out.split() == ["True"] * len(names)


class ArgoRolloutsController(Component):
    name = "argo-rollouts"
    version = ROLLOUTS_VERSION
    depends = ("kube-apiserver", "kube-controller-manager")
    port = 26280

    def binary(self, ctx: Context) -> Path:
        return rollouts_controller(ctx.paths.cache, ctx.paths.log("build-argo-rollouts"))

    def install(self, ctx: Context) -> None:
        self.binary(ctx)

    def prepare(self, ctx: Context) -> None:
        crds = sorted(rollouts_crds(ctx.paths.cache, ctx.paths.log(self.name)).glob("*-crd.yaml"))
        apply_crds(ctx, crds, ROLLOUTS_CRDS)

    def command(self, ctx: Context) -> list[str]:
        return [
            str(self.binary(ctx)),
            f"--kubeconfig={kubeconfig(ctx)}",
            f"--healthzPort={self.port}",
            f"--metricsPort={self.port + 10}",
            "--leader-elect=false",
            "--loglevel=info",
        ]

    def ready(self, ctx: Context) -> bool:
        return http_status(f"http://{HOST}:{self.port}/healthz") == 200


class ArgoWorkflowsCRDs(Component):
    """Only the CRDs (full schemas, so Workflow objects are validated server-side) and the
    JSON schema used to lint rendered templates; no workflow controller runs here."""

    name = "argo-workflows-crds"
    version = WORKFLOWS_VERSION
    depends = ("kube-apiserver",)
    daemon = False
    NAMES = ("workflows.argoproj.io", "workflowtemplates.argoproj.io",
             "clusterworkflowtemplates.argoproj.io", "cronworkflows.argoproj.io")  # fmt: skip

    def source(self, ctx: Context) -> Path:
        return module_dir(
            "github.com/argoproj/argo-workflows/v3", WORKFLOWS_VERSION, ctx.paths.log(self.name)
        )

    def install(self, ctx: Context) -> None:
        if not crds_established(ctx, self.NAMES):
            full = self.source(ctx) / "manifests" / "base" / "crds" / "full"
            apply_crds(ctx, sorted(full.glob("argoproj.io_*.yaml")), self.NAMES)

    def ready(self, ctx: Context) -> bool:
        return crds_established(ctx, self.NAMES)

    def endpoint(self, ctx: Context) -> str:
        return "CRDs in kube-apiserver"

    def exports(self, ctx: Context) -> dict[str, str]:
        return {
            "ARGO_WORKFLOWS_JSONSCHEMA": str(
                self.source(ctx) / "api" / "jsonschema" / "schema.json"
            )
        }
