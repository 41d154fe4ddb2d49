"""The OCI registry standing in for Harbor, seeded with the Java base image the image builder uses.

CNCF distribution (Debian `docker-registry`) with htpasswd auth and deletes enabled. The base image
(`devstack.base_image`) is pushed as an image index (linux/amd64 + an arm64 fixture) and as the
plain amd64 manifest, unless the registry already holds those digests.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from ..base_image import AMD64_TAG, BASE_REPO, BASE_TAG, base_image_dir, build_base_image
from ..core import HOST, DevstackError, http_status, run, which
from ..oci_layout import OCI_INDEX, OCI_MANIFEST, refs
from ..stack import Component, Context

USERNAME = "robot$rollway"  # shaped like a Harbor robot account
ADDR = f"{HOST}:25000"


class Registry(Component):
    name = "registry"
    version = "2.8.2"
    port = 25000

    def install(self, ctx: Context) -> None:
        for tool, package in (
            ("docker-registry", "docker-registry"),
            ("skopeo", "skopeo"),
            ("htpasswd", "apache2-utils"),
            ("ldd", "libc-bin"),
        ):
            if not which(tool):
                raise DevstackError(f"registry: `{tool}` not found; install the {package} package")

    def prepare(self, ctx: Context) -> None:
        htpasswd = ctx.paths.state("registry", "htpasswd")
        htpasswd.write_text(_bcrypt_line(ctx.secret("registry-password")))
        htpasswd.chmod(0o600)
        data = ctx.paths.state("registry", "data")
        data.mkdir(exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(data)}, "delete": {"enabled": True}},
            "http": {"addr": ADDR},
            "auth": {"htpasswd": {"realm": "rollway-registry", "path": str(htpasswd)}},
        }
        # JSON is YAML: no YAML library is needed to write the config.
        ctx.paths.state("registry", "config.yml").write_text(json.dumps(config, indent=2) + "\n")

    def command(self, ctx: Context) -> list[str]:
        return ["docker-registry", "serve", str(ctx.paths.state("registry", "config.yml"))]

    def ready(self, ctx: Context) -> bool:
        return http_status(f"{self.endpoint(ctx)}/v2/") == 401

    def after_start(self, ctx: Context) -> None:
        layout = base_image_dir(ctx)
        build_base_image(layout)
        tagged = refs(layout)
        for tag, extra in ((BASE_TAG, ["--all"]), (AMD64_TAG, [])):
            if self._manifest_digest(ctx, tag) != tagged[tag]["digest"]:
                self._push(ctx, layout, tag, extra)

    def exports(self, ctx: Context) -> dict[str, str]:
        return {
            "ROLLWAY_REGISTRY": ADDR,
            "ROLLWAY_REGISTRY_URL": self.endpoint(ctx),
            "ROLLWAY_REGISTRY_USERNAME": USERNAME,
            "ROLLWAY_REGISTRY_PASSWORD": ctx.secret("registry-password"),
            "ROLLWAY_BASE_IMAGE": f"{ADDR}/{BASE_REPO}:{BASE_TAG}",
        }

    # -- seeding ------------------------------------------------------------------------------

    def _manifest_digest(self, ctx: Context, tag: str) -> str | None:
        """Digest the registry holds for the base image tag (a HEAD, so cheap), None if absent."""
        req = urllib.request.Request(
            f"{self.endpoint(ctx)}/v2/{BASE_REPO}/manifests/{tag}",
            method="HEAD",
            headers={
                "Authorization": f"Basic {basic_auth(ctx)}",
                "Accept": f"{OCI_INDEX}, {OCI_MANIFEST}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                digest: str | None = resp.headers.get("Docker-Content-Digest")
                return digest
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            hint = (
                " (password changed since the registry started? restart it)"
                if err.code == 401
                else ""
            )
            raise DevstackError(f"registry: HEAD {req.full_url} answered {err.code}{hint}") from err

    def _push(self, ctx: Context, layout: Path, tag: str, extra: list[str]) -> None:
        """skopeo copy from the OCI layout; credentials go in a private auth file, not on argv."""
        fd, authfile = tempfile.mkstemp(prefix="auth-", suffix=".json", dir=ctx.paths.work)
        try:
            with os.fdopen(fd, "w") as fh:  # mkstemp creates it 0600
                json.dump({"auths": {ADDR: {"auth": basic_auth(ctx)}}}, fh)
            run(
                [
                    "skopeo",
                    "copy",
                    *extra,
                    "--preserve-digests",
                    "--dest-authfile",
                    authfile,
                    "--dest-tls-verify=false",
                    f"oci:{layout}:{tag}",
                    f"docker://{ADDR}/{BASE_REPO}:{tag}",
                ],
                log=ctx.paths.log(self.name),
            )
        finally:
            os.unlink(authfile)


def basic_auth(ctx: Context) -> str:
    """The registry's credentials as HTTP Basic auth sends them."""
    return base64.b64encode(f"{USERNAME}:{ctx.secret('registry-password')}".encode()).decode()


def _bcrypt_line(password: str) -> str:
    """An htpasswd bcrypt entry; the password goes through stdin, never argv."""
    proc = subprocess.run(
        ["htpasswd", "-iBn", USERNAME], input=password.encode(), capture_output=True, check=False
    )
    line = proc.stdout.decode().strip()
    if proc.returncode != 0 or not line.startswith(f"{USERNAME}:"):
        raise DevstackError(f"registry: htpasswd failed: {proc.stderr.decode().strip()}")
    return line + "\n"
