"""The registry robot credentials reach only the platform registry, whatever an app's image
repository names: build-image run as a pod runs it, and the whole `rollway-build` pipeline.

A listener on 127.0.0.1 plays the foreign registry (answering 401 with a Basic challenge, so a
client holding credentials would send them) and records every request it gets.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest

from devstack.stack import Context
from rollway.workflows.backends.embedded import EmbeddedBackend
from tests.support.helpers import wait_for
from tests.support.platform import platform_registry

pytestmark = pytest.mark.integration

STEP = str(Path(sys.executable).parent / "rollway-step")
ROBOT = {"ROLLWAY_REGISTRY_USERNAME": "robot$rollway", "ROLLWAY_REGISTRY_PASSWORD": "robot-pass"}


class ForeignRegistry(ThreadingHTTPServer):
    """Records (method, path, Authorization) of every request; challenges each one."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str | None]] = []
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                seen.append((self.command, self.path, self.headers.get("Authorization")))
                self.send_response(401)
                self.send_header("WWW-Authenticate", 'Basic realm="foreign"')
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def foreign() -> Iterator[ForeignRegistry]:
    server = ForeignRegistry()
    Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def build_image(
    env: dict[str, str], tmp_path: Path, target: str
) -> subprocess.CompletedProcess[str]:
    """`rollway-step build-image` with exactly the env a pod of the template gets."""
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"PK\x05\x06" + bytes(18))  # an empty zip: the step must not get far
    pod_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
               "ROLLWAY_OUTPUTS_DIR": str(tmp_path / "out"), **env}  # fmt: skip
    return subprocess.run(
        [STEP, "build-image", "--jar", str(jar), "--base", f"{target.split('/')[0]}/base:1",
         "--target", target],
        env=pod_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_the_listener_does_see_credentials_sent_to_the_platform_registry(
    foreign: ForeignRegistry, tmp_path: Path
) -> None:
    """The control: were the listener the platform registry, it would receive them."""
    step = build_image({"ROLLWAY_REGISTRY": foreign.address, **ROBOT}, tmp_path,
                       f"{foreign.address}/apps/hello:1")  # fmt: skip
    assert step.returncode != 0
    assert basic("robot$rollway", "robot-pass") in [auth for _, _, auth in foreign.requests]


def test_a_push_to_another_host_is_refused_before_any_connection(
    foreign: ForeignRegistry, tmp_path: Path
) -> None:
    step = build_image({"ROLLWAY_REGISTRY": "127.0.0.1:25000", **ROBOT}, tmp_path,
                       f"{foreign.address}/apps/hello:1")  # fmt: skip
    assert step.returncode == 2, step.stderr
    assert (
        f"target: {foreign.address} is not the platform registry 127.0.0.1:25000 "
        "(ROLLWAY_REGISTRY); images are pushed only there"
    ) in step.stderr
    assert "robot-pass" not in step.stdout + step.stderr
    assert "Traceback" not in step.stderr
    assert foreign.requests == []


def test_credentials_without_a_platform_registry_go_nowhere(
    foreign: ForeignRegistry, tmp_path: Path
) -> None:
    """In a pod without ROLLWAY_REGISTRY the push target used to count as home."""
    step = build_image(ROBOT, tmp_path, f"{foreign.address}/apps/hello:1")
    assert step.returncode == 2, step.stderr
    assert "ROLLWAY_REGISTRY: is not set" in step.stderr
    assert foreign.requests == []


def test_the_pipeline_never_offers_the_credentials_to_an_apps_repository(
    devstack: Context, devstack_env: dict[str, str], foreign: ForeignRegistry, tmp_path: Path
) -> None:
    """`rollway-build` on the embedded engine, ROLLWAY_REGISTRY from the rollway-platform
    ConfigMap, the robot account from its Secret, and an image repository on another host."""
    backend = EmbeddedBackend(
        tmp_path / "engine",
        kubeconfig=devstack_env["KUBECONFIG"],
        image_env={"PATH": devstack_env["PATH"], "HOME": str(tmp_path), "LANG": "C.UTF-8"},
    )
    name = f"creds-{uuid.uuid4().hex[:6]}"
    backend.submit(
        "rollway-build",
        {"deployment-id": uuid.uuid4().hex[:12], "app": "hello",
         "coordinates": "com.example:hello:1.0.0",
         "image-repository": f"{foreign.address}/apps/hello",
         "base-image": devstack_env["ROLLWAY_BASE_IMAGE"]},
        labels={}, name=name,
    )  # fmt: skip
    wf = wait_for(f"{name} to finish", lambda: (w := backend.get(name)).finished and w, timeout=180)
    build = wf.node("build-image")
    assert wf.node("resolve-artifact") is not None
    assert wf.node("resolve-artifact").phase == "Succeeded"  # type: ignore[union-attr]
    assert build is not None and build.phase == "Failed", wf
    assert "is not the platform registry" in build.message
    # The platform registry it names came from the ConfigMap.
    assert platform_registry(devstack_env)["ROLLWAY_REGISTRY"] in build.message
    assert foreign.requests == []
