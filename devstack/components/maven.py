"""The Maven repository standing in for Nexus: maven-releases and maven-snapshots over HTTP."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import tempfile
import urllib.request
from pathlib import Path

from ..core import HOST, REPO
from ..sample_jars import JarBuilder, publish_samples
from ..servers.maven_server import PASSWORD_ENV
from ..stack import Component, Context

USER = "deployer"
PROBE = "/repository/maven-releases/com/example/hello/maven-metadata.xml"


class MavenRepository(Component):
    """A stdlib HTTP server in Nexus' layout, filled with the sample app as `mvn deploy` would.

    `version` keys the cache of built artifacts: bump it whenever the generator changes.
    """

    name = "maven"
    version = "2"
    port = 28081
    start_timeout = 30.0

    def install(self, ctx: Context) -> None:
        """Build every sample artifact once into the cache, renamed into place when complete."""
        done = self._artifacts(ctx)
        if done.exists():
            return
        scratch = Path(tempfile.mkdtemp(prefix=f"{done.name}.partial-", dir=ctx.paths.cache))
        try:
            builder = JarBuilder(
                scratch / "build", ctx.paths.cache / "maven-central", ctx.paths.log(self.name)
            )
            publish_samples(scratch / "repository", builder)
            try:
                (scratch / "repository").rename(done)
            except OSError:
                if not done.exists():  # else a concurrent `up` finished first: same content
                    raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def prepare(self, ctx: Context) -> None:
        self._seed(ctx)

    def command(self, ctx: Context) -> list[str]:
        return [
            sys.executable, "-m", "devstack.servers.maven_server", "--root", str(self.root(ctx)),
            "--host", HOST, "--port", str(self.port), "--user", USER,
        ]  # fmt: skip

    def environ(self, ctx: Context) -> dict[str, str]:
        return {"PYTHONPATH": str(REPO), PASSWORD_ENV: ctx.secret("maven-password")}

    def ready(self, ctx: Context) -> bool:
        req = urllib.request.Request(
            self.endpoint(ctx) + PROBE, method="HEAD", headers=self._auth(ctx)
        )
        try:
            with urllib.request.urlopen(req, timeout=2.0) as resp:
                return bool(resp.status == 200)
        except OSError:  # refused, timed out, or an HTTP error status
            return False

    def after_start(self, ctx: Context) -> None:
        """Keep a running server's repository in step with the generator (fast when it is)."""
        self.install(ctx)
        self._seed(ctx)

    def exports(self, ctx: Context) -> dict[str, str]:
        base = f"{self.endpoint(ctx)}/repository"
        return {
            "ROLLWAY_MAVEN_URL": f"{base}/maven-releases",
            "ROLLWAY_MAVEN_SNAPSHOTS_URL": f"{base}/maven-snapshots",
            "ROLLWAY_MAVEN_USERNAME": USER,
            "ROLLWAY_MAVEN_PASSWORD": ctx.secret("maven-password"),
        }

    # -- helpers ----------------------------------------------------------------------------

    def _artifacts(self, ctx: Context) -> Path:
        return ctx.paths.cache / f"maven-artifacts-{self.version}"

    @staticmethod
    def root(ctx: Context) -> Path:
        """Where the hosted repositories live (tests remove what they published)."""
        return ctx.paths.work / "maven"

    def _auth(self, ctx: Context) -> dict[str, str]:
        token = base64.b64encode(f"{USER}:{ctx.secret('maven-password')}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def _seed(self, ctx: Context) -> None:
        """Link the built artifacts into the served directory.

        Files already there are kept (they may be newer deploys, e.g. updated metadata) unless
        the generator version changed since the last seeding.
        """
        source, root = self._artifacts(ctx), self.root(ctx)
        marker = root / ".seeded"
        fresh = marker.exists() and marker.read_text() == source.name
        for path in sorted(source.rglob("*")):
            dest = root / path.relative_to(source)
            if path.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
            elif not (fresh and dest.exists()):
                _place(path, dest)
        marker.write_text(source.name)


def _place(source: Path, dest: Path) -> None:
    """Hardlink (or copy across file systems) under a temp name, then rename over `dest`."""
    tmp = dest.with_name(f".{dest.name}.seed")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    tmp.replace(dest)
