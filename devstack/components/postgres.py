"""PostgreSQL, the API server's production database, so its test suites run on it as on SQLite.

Debian's server binaries run a cluster of the devstack's own on 127.0.0.1 only. PostgreSQL
refuses to run as root, so it runs as the package's `postgres` account, with its data in a
directory that account can reach whatever the checkout's permissions are (`/var/tmp`, keyed by
the checkout). Durability is traded for speed (no fsync): it holds test data only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from ..core import HOST, DevstackError, read_pid, run
from ..stack import Component, Context

ACCOUNT = "postgres"
USER = "rollway"
#: Settings for a throwaway cluster: loopback only, no durability, room for parallel tests.
SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
}


def binaries() -> Path | None:
    """The newest installed server's bin directory (`/usr/lib/postgresql/<major>/bin`)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)  # fmt: skip
    return found[-1].parent if found else None


class Postgres(Component):
    name = "postgres"
    version = "15"  # Debian 12's; whichever major is installed runs
    port = 25432
    start_timeout = 60.0

    def root(self, ctx: Context) -> Path:
        key = hashlib.sha256(str(ctx.paths.work.resolve()).encode()).hexdigest()[:12]
        return Path("/var/tmp") / f"rollway-devstack-{key}" / "postgres"

    def bin(self) -> Path:
        found = binaries()
        if found is None:
            raise DevstackError(
                "postgres: Debian's `postgresql` package is not installed (make setup installs it)"
            )
        return found

    def install(self, ctx: Context) -> None:
        self.bin()
        try:
            pwd.getpwnam(ACCOUNT)
        except KeyError:
            raise DevstackError(f"postgres: the `{ACCOUNT}` account is missing") from None

    def prepare(self, ctx: Context) -> None:
        """A cluster with the `rollway` superuser, once per password: a checkout cloned again
        at the same path has a new one, and a cluster left by the old clone would refuse it."""
        root = self.root(ctx)
        data = root / "data"
        made_for = root / "password.sha256"
        password = hashlib.sha256(ctx.secret("postgres-password").encode()).hexdigest()
        made = made_for.read_text() if made_for.exists() else ""
        if (data / "PG_VERSION").exists() and made == password:
            return
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        account = pwd.getpwnam(ACCOUNT)
        secret = root / "password"
        secret.write_text(ctx.secret("postgres-password"))
        for path in (root.parent, root, secret):
            os.chown(path, account.pw_uid, account.pw_gid)
        root.parent.chmod(0o711)
        root.chmod(0o700)
        try:
            run([*self._as_account(), self.bin() / "initdb", "-D", data, "-U", USER,
                 "--pwfile", secret, "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync"],
                log=ctx.paths.log(self.name))  # fmt: skip
        finally:
            secret.unlink(missing_ok=True)
        made_for.write_text(password)

    def command(self, ctx: Context) -> list[str]:
        options = [f"-c{key}={value}" for key, value in SETTINGS.items()]
        return [*self._as_account(), str(self.bin() / "postgres"), "-D", str(self.root(ctx) / "data"),
                "-p", str(self.port), f"-cunix_socket_directories={self.root(ctx)}", *options]  # fmt: skip

    def ready(self, ctx: Context) -> bool:
        probe = [str(self.bin() / "pg_isready"), "-q", "-h", HOST, "-p", str(self.port)]
        return subprocess.run(probe, check=False).returncode == 0

    def endpoint(self, ctx: Context) -> str:
        return f"postgresql://{HOST}:{self.port}"

    def exports(self, ctx: Context) -> dict[str, str]:
        """A server URL without a database: tests create one each."""
        password = ctx.secret("postgres-password")
        return {
            "ROLLWAY_DEVSTACK_POSTGRES": f"postgresql+psycopg://{USER}:{password}@{HOST}:{self.port}"
        }

    def down(self, ctx: Context) -> bool:
        """A fast shutdown (SIGINT) first: the default SIGTERM waits for clients to leave."""
        pid = read_pid(ctx.paths.pidfile(self.name))
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        return super().down(ctx)

    def _as_account(self) -> list[str]:
        """Run as `postgres` by exec (no child left behind, so the pid is the server's)."""
        return ["setpriv", f"--reuid={ACCOUNT}", f"--regid={ACCOUNT}", "--init-groups", "--"]
