"""Rollway's own image in the devstack's registry, where the real node's pods pull it from.

`devstack/images.py` builds it with Rollway's builder, which needs the project's virtualenv, so it
runs there as a command; the registry's credentials reach it through the environment. A run with
nothing new only HEADs the registry. The pushed reference is kept in the state directory for
`exports()`: pods reach 127.0.0.1:25000 because containerd pulls in the host's network namespace.
"""

from __future__ import annotations

import os
import subprocess

from ..core import REPO, DevstackError
from ..stack import Component, Context
from .registry import ADDR, Registry

#: The repository prefix in the devstack's registry: the image is <PREFIX>/rollway.
PREFIX = f"{ADDR}/rollway"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"


class RollwayImages(Component):
    name = "rollway-images"
    version = "1"
    depends = ("registry", "helm")
    daemon = False
    start_timeout = 600.0

    def ready(self, ctx: Context) -> bool:
        return ctx.paths.state("images", "rollway.ref").exists()

    def after_start(self, ctx: Context) -> None:
        if not VENV_PYTHON.exists():
            raise DevstackError(f"{VENV_PYTHON} is missing: run `make setup` first")
        registry = Registry().exports(ctx)
        env = {
            **os.environ,
            "ROLLWAY_REGISTRY_USERNAME": registry["ROLLWAY_REGISTRY_USERNAME"],
            "ROLLWAY_REGISTRY_PASSWORD": registry["ROLLWAY_REGISTRY_PASSWORD"],
            "ROLLWAY_DEVSTACK_CACHE": str(ctx.paths.cache),
        }
        log = ctx.paths.log(self.name)
        with log.open("ab") as out:
            proc = subprocess.run(
                [str(VENV_PYTHON), "-m", "devstack.images", "--registry", PREFIX,
                 "--ref-file", str(ctx.paths.state("images", "rollway.ref"))],
                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=out, check=False,
            )  # fmt: skip
        if proc.returncode != 0:
            raise DevstackError(f"building or pushing Rollway's image failed (see {log})")

    def endpoint(self, ctx: Context) -> str:
        return self._reference(ctx)

    def exports(self, ctx: Context) -> dict[str, str]:
        reference = self._reference(ctx)
        if not reference:
            return {}
        return {"ROLLWAY_STEP_IMAGE": reference, "ROLLWAY_SERVER_IMAGE": reference}

    def _reference(self, ctx: Context) -> str:
        path = ctx.paths.work / "images" / "rollway.ref"
        return path.read_text().strip() if path.exists() else ""
