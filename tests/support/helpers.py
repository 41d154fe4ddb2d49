"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from devstack.core import REPO

T = TypeVar("T")


def run_devstack(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `scripts/devstack` the way a user does."""
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "devstack"), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def wait_for(what: str, check: Callable[[], T], timeout: float = 90.0, interval: float = 0.25) -> T:
    """Poll a real condition until it is truthy; fail naming it and the last value seen."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f}s waiting for {what}; last: {last!r}"
            )
        time.sleep(interval)
        last = check()
    return last


def kubectl(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """`kubectl` as a user runs it (the devstack's, on PATH in `env`); its output, or a failure
    naming the command and its stderr."""
    proc = subprocess.run(["kubectl", *args], input=stdin, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def free_port() -> int:
    """A loopback port nobody listens on right now (for servers a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
