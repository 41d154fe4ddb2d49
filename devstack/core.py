"""Shared plumbing: where things live, how processes are started, stopped and probed."""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class DevstackError(RuntimeError):
    """A component could not be installed or started; the message names it and its log."""


@dataclasses.dataclass(frozen=True)
class Paths:
    """The git-ignored state dir in the repo and the version-keyed cache outside it."""

    work: Path
    cache: Path

    @classmethod
    def default(cls) -> Paths:
        work = Path(os.environ.get("ROLLWAY_DEVSTACK_DIR", REPO / ".devstack"))
        cache = Path(
            os.environ.get(
                "ROLLWAY_DEVSTACK_CACHE",
                Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rollway-devstack",
            )
        )
        return cls(work=work.resolve(), cache=cache.resolve())

    def state(self, *parts: str) -> Path:
        path = self.work.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def log(self, name: str) -> Path:
        return self.state("logs", f"{name}.log")

    def pidfile(self, name: str) -> Path:
        return self.state("pids", f"{name}.pid")

    @property
    def bin(self) -> Path:
        path = self.work / "bin"
        path.mkdir(parents=True, exist_ok=True)
        return path


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log: Path | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
) -> None:
    """Run a set-up command to completion; on failure raise with the tail of its output."""
    target = log.open("ab") if log else subprocess.PIPE
    try:
        proc = subprocess.run(
            [str(c) for c in cmd], stdout=target, stderr=subprocess.STDOUT, cwd=cwd, env=env
        )
    finally:
        if log:
            target.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        where = f"see {log}" if log else (proc.stdout or b"").decode(errors="replace")[-2000:]
        raise DevstackError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}: {where}"
        )


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock across threads and processes (parallel `up`s share state and cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- processes -------------------------------------------------------------------------------


def read_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _daemon_environ() -> dict[str, str]:
    """This process's environment without the argo CLI's client settings, which a shell that
    ran `eval "$(devstack env)"` has: with ARGO_SERVER set, `argo server` asks itself for its
    configuration instead of the kube-apiserver, and dies."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ARGO_")}


def spawn(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    pidfile: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start a daemon in its own session (so `down` can kill its whole group) and record its pid."""
    with log.open("ab") as out:
        out.write(f"\n=== {time.strftime('%F %T')} {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            [str(c) for c in cmd],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**_daemon_environ(), **(env or {})},
            cwd=cwd,
        )
    pidfile.write_text(str(proc.pid))
    return proc.pid


def stop(pidfile: Path, *, grace: float = 10.0) -> bool:
    """Stop the process group recorded in pidfile: SIGTERM, then SIGKILL after `grace` seconds."""
    pid = read_pid(pidfile)
    pidfile.unlink(missing_ok=True)
    if pid is None:
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return True
            time.sleep(0.1)
    return True


# --- probes ----------------------------------------------------------------------------------


def port_open(port: int, host: str = HOST) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port_or_fail(name: str, port: int) -> None:
    if port_open(port):
        raise DevstackError(f"{name}: port {HOST}:{port} is already taken by another process")


def http_status(
    url: str,
    *,
    headers: dict[str, str] | None = None,
    context: ssl.SSLContext | None = None,
    timeout: float = 2.0,
) -> int | None:
    """Status code of a GET, or None when nothing answers."""
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (urllib.error.URLError, OSError, TimeoutError):
        return None


def http_json(url: str, *, headers: dict[str, str] | None = None, timeout: float = 5.0) -> object:
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def wait_until(
    what: str, check: Callable[[], bool], *, timeout: float, alive: Callable[[], bool] | None = None
) -> None:
    """Poll a real condition until it holds; fail early if the process died meanwhile."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if check():
            return
        if alive is not None and not alive():
            raise DevstackError(f"{what}: process exited")
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)
    raise DevstackError(f"{what}: not ready after {timeout:.0f}s")


def which(name: str) -> str | None:
    return shutil.which(name)
