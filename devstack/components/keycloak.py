"""Keycloak: the real identity server, with realm `rollway` imported from the repo on first start.

The distribution is unpacked and pre-built (`kc.sh build`) once in the cache, which stays
read-only; `kc.home.dir` points at `.devstack/keycloak`, so the H2 database, the import dir and
Keycloak's temp files live there and `rm -rf .devstack` gives a fresh realm.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from ..core import HOST, REPO, DevstackError, http_status, run
from ..stack import Component, Context

VERSION = "26.7.3"
MAVEN = "https://repo1.maven.org/maven2/org/keycloak/keycloak-quarkus-dist"
DIST_URL = f"{MAVEN}/{VERSION}/keycloak-quarkus-dist-{VERSION}.zip"
#: OpenJDK releases Keycloak 26 supports (17 is deprecated); the newest one found is used.
SUPPORTED_JAVA = (25, 21)
JVM_ROOT = Path("/usr/lib/jvm")
#: Build-time options baked into the cached server so `start --optimized` skips re-augmentation.
BUILD_OPTIONS = ("--db=dev-file", "--health-enabled=true")
#: What `kc.home.dir` needs from the dist; Keycloak reads its pre-built config from `lib/`.
HOME_LINKS = ("lib", "conf", "providers", "themes")
REALM = "rollway"
REALM_FILE = REPO / "devstack" / "keycloak" / f"realm-{REALM}.json"
MANAGEMENT_PORT = 29000


class Keycloak(Component):
    name = "keycloak"
    version = VERSION
    port = 28080
    start_timeout = 240.0  # the first start creates the schema and imports the realm

    # -- install ------------------------------------------------------------------------------

    def home(self, ctx: Context) -> Path:
        return ctx.paths.cache / f"{self.name}-{self.version}"

    def install(self, ctx: Context) -> None:
        home = self.home(ctx)
        stamp = home / "devstack-build-options"
        if stamp.exists() and stamp.read_text() == " ".join(BUILD_OPTIONS):
            return
        java_home = find_java_home()
        with tempfile.TemporaryDirectory(dir=ctx.paths.cache, prefix=f".{self.name}-") as tmp:
            archive = Path(tmp) / "dist.zip"
            download_verified(DIST_URL, archive)
            unzip(archive, Path(tmp))
            built = Path(tmp) / f"keycloak-{self.version}"
            run(
                [built / "bin" / "kc.sh", "build", *BUILD_OPTIONS],
                log=ctx.paths.log(self.name),
                env={**os.environ, "JAVA_HOME": str(java_home)},
            )
            (built / stamp.name).write_text(" ".join(BUILD_OPTIONS))
            shutil.rmtree(home, ignore_errors=True)
            built.rename(home)

    # -- run ----------------------------------------------------------------------------------

    def state_dir(self, ctx: Context) -> Path:
        return ctx.paths.work / self.name

    def prepare(self, ctx: Context) -> None:
        """Make `.devstack/keycloak` a Keycloak home (links into the cache plus a writable
        `data/`) and stage the realm file for `--import-realm`. Keycloak only imports missing
        realms, so start from an empty database unless it was seeded from this very realm
        file and these credentials."""
        state = self.state_dir(ctx)
        for part in HOME_LINKS:
            link = ctx.paths.state(self.name, part)
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(self.home(ctx) / part)
        stamp = self.seed_stamp(ctx)
        if not stamp.exists() or stamp.read_text() != self.seed_digest(ctx):
            shutil.rmtree(state / "data", ignore_errors=True)
            stamp.unlink(missing_ok=True)
        shutil.copyfile(REALM_FILE, ctx.paths.state(self.name, "data", "import", REALM_FILE.name))

    def after_start(self, ctx: Context) -> None:
        """Record what the database was seeded from, once the import really happened (an
        interrupted first start leaves no stamp, so the next one starts afresh)."""
        stamp = self.seed_stamp(ctx)
        if not stamp.exists():
            stamp.write_text(self.seed_digest(ctx))
        self.add_new_clients(ctx)

    def add_new_clients(self, ctx: Context) -> None:
        """Create the realm file's clients a running realm lacks (one added to the file since
        the realm was seeded), so that `up` needs no re-seed that would invalidate every
        session and token of the shared devstack. Existing clients are left as they are."""
        base = f"{self.endpoint(ctx)}/admin/realms/{REALM}/clients"
        token = _admin_token(self.endpoint(ctx), ctx.secret("keycloak-admin-password"))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for client in json.loads(REALM_FILE.read_text())["clients"]:
            query = urllib.parse.urlencode({"clientId": client["clientId"]})
            with urllib.request.urlopen(
                urllib.request.Request(f"{base}?{query}", headers=headers), timeout=10
            ) as found:
                if json.load(found):
                    continue
            text = json.dumps(client)
            for name, value in self.realm_placeholders(ctx).items():
                text = text.replace("${" + name + "}", value)
            request = urllib.request.Request(base, text.encode(), headers=headers, method="POST")
            urllib.request.urlopen(request, timeout=10).close()

    def seed_stamp(self, ctx: Context) -> Path:
        return ctx.paths.state(self.name, "seed.sha256")

    def seed_digest(self, ctx: Context) -> str:
        digest = hashlib.sha256(REALM_FILE.read_bytes())
        seeded = [ctx.secret("keycloak-admin-password"), *self.realm_placeholders(ctx).values()]
        for value in seeded:
            digest.update(b"\0" + value.encode())
        return digest.hexdigest()

    def command(self, ctx: Context) -> list[str]:
        return [
            str(self.home(ctx) / "bin" / "kc.sh"),
            "start",
            "--optimized",
            "--import-realm",
            "--cache=local",
            "--http-enabled=true",
            f"--http-host={HOST}",
            f"--http-port={self.port}",
            f"--http-management-port={MANAGEMENT_PORT}",
            # A fixed issuer whatever Host header a client sends (localhost vs 127.0.0.1).
            f"--hostname={self.endpoint(ctx)}",
            # Pods reach Keycloak at the node bridge's address (through the relay): their
            # tokens keep the fixed issuer, and discovery names endpoints they can reach.
            "--hostname-backchannel-dynamic=true",
            "--log-console-color=false",
            # The readiness probe polls /health/ready; its DOWN reports would flood the log.
            "--log-level=INFO,io.smallrye.health:WARN",
            # Overrides the dist dir kc.sh sets: all mutable data goes under .devstack.
            f"-Dkc.home.dir={self.state_dir(ctx)}",
        ]

    def environ(self, ctx: Context) -> dict[str, str]:
        return {
            "JAVA_HOME": str(find_java_home()),
            "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m",
            # C1 only: less CPU spent compiling on a small shared machine, a faster start.
            "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1",
            "KC_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "KC_BOOTSTRAP_ADMIN_PASSWORD": ctx.secret("keycloak-admin-password"),
            **self.realm_placeholders(ctx),
        }

    def realm_placeholders(self, ctx: Context) -> dict[str, str]:
        """Values Keycloak substitutes for `${NAME}` in the realm file when importing it."""
        return {
            "ROLLWAY_CI_CLIENT_SECRET": ctx.secret("ci-client-secret"),
            "ROLLWAY_JUDGE_CLIENT_SECRET": ctx.secret("judge-client-secret"),
            "DEVSTACK_USER_PASSWORD": ctx.secret("user-password"),
        }

    def ready(self, ctx: Context) -> bool:
        return (
            http_status(f"http://{HOST}:{MANAGEMENT_PORT}/health/ready") == 200
            and http_status(f"{self.issuer(ctx)}/.well-known/openid-configuration") == 200
        )

    def rss_kib(self, ctx: Context) -> int | None:
        """kc.sh stays the parent of the JVM, so count every process of its group."""
        pid = self.pid(ctx)
        if pid is None:
            return None
        pages = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pid:  # fields from `state` on: [2] is pgrp, [21] rss in pages
                pages += int(fields[21])
        return pages * os.sysconf("SC_PAGE_SIZE") // 1024

    def issuer(self, ctx: Context) -> str:
        return f"{self.endpoint(ctx)}/realms/{REALM}"

    def exports(self, ctx: Context) -> dict[str, str]:
        return {
            "ROLLWAY_KEYCLOAK_URL": self.endpoint(ctx),
            "ROLLWAY_KEYCLOAK_REALM": REALM,
            "ROLLWAY_OIDC_ISSUER": self.issuer(ctx),
            "ROLLWAY_OIDC_AUDIENCE": "rollway-api",
            "ROLLWAY_CLI_CLIENT_ID": "rollway-cli",
            "ROLLWAY_CI_CLIENT_ID": "rollway-ci",
            "ROLLWAY_CI_CLIENT_SECRET": ctx.secret("ci-client-secret"),
            "ROLLWAY_JUDGE_CLIENT_ID": "rollway-judge",
            "ROLLWAY_JUDGE_CLIENT_SECRET": ctx.secret("judge-client-secret"),
            "DEVSTACK_USER_PASSWORD": ctx.secret("user-password"),
            "KEYCLOAK_ADMIN_PASSWORD": ctx.secret("keycloak-admin-password"),
        }


def _admin_token(endpoint: str, password: str) -> str:
    """An access token of the master realm's bootstrap admin (admin-cli, password grant)."""
    form = {"grant_type": "password", "client_id": "admin-cli", "username": "admin",
            "password": password}  # fmt: skip
    url = f"{endpoint}/realms/master/protocol/openid-connect/token"
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(urllib.request.Request(url, data), timeout=10) as answer:
        return str(json.load(answer)["access_token"])


def find_java_home() -> Path:
    """The newest JDK under /usr/lib/jvm whose major version Keycloak supports."""
    found: dict[int, Path] = {}
    for release in sorted(JVM_ROOT.glob("*/release")):
        match = re.search(r'^JAVA_VERSION="(\d+)', release.read_text(), re.MULTILINE)
        java = release.parent / "bin" / "java"
        if match and int(match[1]) in SUPPORTED_JAVA and os.access(java, os.X_OK):
            found.setdefault(int(match[1]), release.parent)
    if not found:
        wanted = " or ".join(map(str, SUPPORTED_JAVA))
        raise DevstackError(f"keycloak {VERSION} needs OpenJDK {wanted}; none found in {JVM_ROOT}")
    return found[max(found)]


def download_verified(url: str, dest: Path) -> None:
    """Download `url` to `dest`, checking the SHA-1 Maven Central publishes beside it."""
    try:
        with urllib.request.urlopen(f"{url}.sha1", timeout=30) as resp:
            expected = resp.read().decode().split()[0].lower()
        sha1 = hashlib.sha1()
        with urllib.request.urlopen(url, timeout=60) as resp, dest.open("wb") as out:
            while chunk := resp.read(1 << 20):
                sha1.update(chunk)
                out.write(chunk)
    except OSError as err:
        raise DevstackError(f"keycloak: cannot download {url}: {err}") from err
    if sha1.hexdigest() != expected:
        raise DevstackError(f"keycloak: {url} has SHA-1 {sha1.hexdigest()}, expected {expected}")


def unzip(archive: Path, dest: Path) -> None:
    """Extract keeping the Unix modes (zipfile drops them, and kc.sh must stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, dest))
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                path.chmod(mode)
