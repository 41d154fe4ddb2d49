"""What the benchmarks that drive the CLI share: a real `rollway-apiserver` on a free port."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(env: dict[str, str], state: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`rollway-apiserver` (embedded engine, SQLite in `state`), once it answers /readyz."""
    port = free_port()
    log = (state / "server.log").open("ab")
    server = subprocess.Popen(
        [str(BIN / "rollway-apiserver"), "--port", str(port), "--state-dir", str(state),
         "--engine", "embedded"],
        env=env, stdout=log, stderr=log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"rollway-apiserver exited; see {state / 'server.log'}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    sys.exit("rollway-apiserver did not become ready in 90 s")


def platform_settings(env: dict[str, str]) -> dict[str, str]:
    """The API server's settings for the devstack's platform registry (where build-image pushes
    and the node pulls from), as the `rollway-platform` ConfigMap of namespace rollway has them."""
    found = subprocess.run(
        ["kubectl", "-n", "rollway", "get", "configmap", "rollway-platform", "-o", "json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    platform = json.loads(found.stdout)["data"]
    return {"ROLLWAY_REGISTRY": platform["registry"],
            "ROLLWAY_REGISTRY_URL": platform["registry-url"],
            "ROLLWAY_BASE_IMAGE": platform["base-image"],
            "ROLLWAY_IMAGE_PROJECT": "bench"}  # fmt: skip
