"""Components of the stack, their context, and `up` / `down` / `status` over all of them."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import secrets
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from .core import (
    HOST,
    DevstackError,
    Paths,
    free_port_or_fail,
    locked,
    read_pid,
    spawn,
    stop,
    wait_until,
)


@dataclasses.dataclass
class Context:
    """What every component may look at: paths, ports, generated credentials."""

    paths: Paths
    secrets: dict[str, str]

    @classmethod
    def load(cls, paths: Paths | None = None) -> Context:
        paths = paths or Paths.default()
        paths.work.mkdir(parents=True, exist_ok=True)
        paths.cache.mkdir(parents=True, exist_ok=True)
        store = paths.work / "secrets.json"
        values = json.loads(store.read_text()) if store.exists() else {}
        ctx = cls(paths=paths, secrets=values)
        for key in SECRET_NAMES:
            ctx.secret(key)
        store.write_text(json.dumps(ctx.secrets, indent=2))
        store.chmod(0o600)
        return ctx

    def secret(self, key: str) -> str:
        """A random credential generated on the first `up` and kept in `.devstack/secrets.json`."""
        if key not in self.secrets:
            self.secrets[key] = secrets.token_urlsafe(18)
        return self.secrets[key]


SECRET_NAMES = (
    "registry-password",
    "maven-password",
    "git-password",
    "git-token",
    "keycloak-admin-password",
    "user-password",
    "ci-client-secret",
    "judge-client-secret",
    "kube-admin-token",
    "postgres-password",
)


class Component:
    """One part of the platform. Subclasses say how to install, start and probe it."""

    name: ClassVar[str]
    version: ClassVar[str]
    depends: ClassVar[tuple[str, ...]] = ()
    port: ClassVar[int | None] = None
    #: False for parts that are installed or applied but have no daemon (helm, CRDs).
    daemon: ClassVar[bool] = True
    start_timeout: ClassVar[float] = 60.0

    def install(self, ctx: Context) -> None:
        """Build or download what is needed into the cache; fast when already there."""

    def command(self, ctx: Context) -> list[str]:
        raise NotImplementedError

    def environ(self, ctx: Context) -> dict[str, str]:
        return {}

    def prepare(self, ctx: Context) -> None:
        """Write config files and state before the first start."""

    def ready(self, ctx: Context) -> bool:
        raise NotImplementedError

    def after_start(self, ctx: Context) -> None:
        """Idempotent seeding once ready (create users, push images, apply CRDs…)."""

    def endpoint(self, ctx: Context) -> str:
        return f"http://{HOST}:{self.port}" if self.port else ""

    def exports(self, ctx: Context) -> dict[str, str]:
        """Shell variables that `devstack env` prints for this component."""
        return {}

    # -- lifecycle, shared by all components ------------------------------------------------

    def pid(self, ctx: Context) -> int | None:
        return read_pid(ctx.paths.pidfile(self.name)) if self.daemon else None

    def up(self, ctx: Context) -> str:
        """Start the component unless it already runs; returns what was done.

        Holds a per-component lock so that concurrent `up`s (two test sessions, a developer and
        CI) never see a starting daemon as dead and start a second one.
        """
        with locked(ctx.paths.state("locks", self.name)):
            return self._up(ctx)

    def _up(self, ctx: Context) -> str:
        if (self.pid(ctx) or not self.daemon) and self.ready(ctx):
            self.after_start(ctx)
            return "running" if self.daemon else "ready"
        log = ctx.paths.log(self.name)
        try:
            self.install(ctx)
            if self.daemon:
                stop(ctx.paths.pidfile(self.name))
                if self.port:
                    free_port_or_fail(self.name, self.port)
                self.prepare(ctx)
                spawn(
                    self.command(ctx),
                    log=log,
                    pidfile=ctx.paths.pidfile(self.name),
                    env=self.environ(ctx),
                    cwd=ctx.paths.work,
                )
                wait_until(
                    self.name,
                    lambda: self.ready(ctx),
                    timeout=self.start_timeout,
                    alive=lambda: self.pid(ctx) is not None,
                )
            self.after_start(ctx)
        except DevstackError as err:
            raise DevstackError(f"{self.name} failed to start: {err} (log: {log})") from err
        except Exception as err:  # a bug in set-up still names the component and its log
            raise DevstackError(f"{self.name} failed to start: {err!r} (log: {log})") from err
        return "started"

    def down(self, ctx: Context) -> bool:
        return stop(ctx.paths.pidfile(self.name)) if self.daemon else False

    def rss_kib(self, ctx: Context) -> int | None:
        pid = self.pid(ctx)
        if pid is None:
            return None
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def status(self, ctx: Context) -> dict[str, object]:
        try:
            ok = bool(self.ready(ctx)) and (not self.daemon or self.pid(ctx) is not None)
        except Exception:  # a probe must never break `status`
            ok = False
        return {
            "name": self.name,
            "version": self.version,
            "endpoint": self.endpoint(ctx),
            "ready": ok,
            "pid": self.pid(ctx),
            "rss_kib": self.rss_kib(ctx),
            "log": str(ctx.paths.log(self.name)),
        }


def components() -> list[Component]:
    """Every component in dependency order."""
    from .components import ALL

    return [cls() for cls in ALL]


def up(ctx: Context, only: Iterable[str] = (), *, echo=print) -> None:  # type: ignore[no-untyped-def]
    """Start everything (or `only` and what it depends on), independent parts in parallel."""
    comps = {c.name: c for c in components()}
    wanted = _closure(comps, only or comps)
    done: dict[str, threading.Event] = {n: threading.Event() for n in wanted}
    failed: dict[str, str] = {}

    def bring_up(name: str) -> None:
        comp = comps[name]
        for dep in comp.depends:
            if dep in done:
                done[dep].wait()
                if dep in failed:
                    failed[name] = f"{name} not started: {dep} failed"
                    done[name].set()
                    return
        started = time.monotonic()
        try:
            what = comp.up(ctx)
            echo(f"  {name:<24} {what} ({time.monotonic() - started:.1f}s)")
        except DevstackError as err:
            failed[name] = str(err)
        finally:
            done[name].set()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(wanted)) as pool:
        list(pool.map(bring_up, wanted))
    if failed:
        root = [msg for msg in failed.values() if "not started:" not in msg]
        raise DevstackError("\n".join(root or failed.values()))


def down(ctx: Context, *, echo=print) -> None:  # type: ignore[no-untyped-def]
    for comp in reversed(components()):
        if comp.down(ctx):
            echo(f"  {comp.name:<24} stopped")


def _closure(comps: dict[str, Component], names: Iterable[str]) -> list[str]:
    seen: list[str] = []

    def visit(name: str) -> None:
        if name not in comps:
            raise DevstackError(f"unknown component {name!r}; known: {', '.join(comps)}")
        for dep in comps[name].depends:
            visit(dep)
        if name not in seen:
            seen.append(name)

    for name in names:
        visit(name)
    return seen
