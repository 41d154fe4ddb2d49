"""`--wait` rides out its API server going away: a user's `app deploy --wait` started before
the server restarts (an upgrade of Rollway itself) ends with the deployment's outcome, not with
"connection refused" — the deployment ran on meanwhile."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from devstack.stack import Context
from tests.integration.cli.conftest import NAMESPACES
from tests.support.cli import ApiServer, Cli, chart, environ_without_rollway
from tests.support.helpers import free_port, wait_for
from tests.support.projects import allow, caller

pytestmark = pytest.mark.integration


def test_deploy_wait_rides_out_an_api_server_restart(
    platform: Context, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    server = ApiServer(devstack_env, tmp_path / "server", free_port()).start()
    try:
        name = f"hello-{uuid.uuid4().hex[:6]}"
        allow(caller(server.url, devstack_env), "hello", namespaces=[f"{name}-dev"])
        NAMESPACES.append(f"{name}-dev")
        config = tmp_path / "rollway" / "config.yaml"
        env = {**environ_without_rollway(devstack_env), "ROLLWAY_CONFIG": str(config),
               "ROLLWAY_SERVER": server.url, "NO_COLOR": "1"}  # fmt: skip
        cli = Cli(env, config, devstack_env["DEVSTACK_USER_PASSWORD"])
        cli.login("alice")
        progress = tmp_path / "progress.txt"
        with progress.open("w") as err, (tmp_path / "out.txt").open("w+") as out:
            waiting = cli.popen("deploy", name, "--artifact", "com.example:hello:1.0.0",
                                "--env", "dev", "--chart", chart(devstack_env), "--wait",
                                stdout=out, stderr=err)  # fmt: skip
            wait_for("the deployment to run", lambda: _running(cli, name), timeout=120)

            server.stop()
            wait_for("the CLI to notice the server is gone",
                     lambda: "retrying for up to" in progress.read_text(), timeout=30)  # fmt: skip
            assert waiting.poll() is None, progress.read_text()
            server.start()

            assert waiting.wait(timeout=600) == 0, progress.read_text()
            out.seek(0)
            assert f"succeeded: {name} 1.0.0 runs in dev" in out.read()
        said = progress.read_text()
        assert said.count("retrying for up to") == 1, said
        assert said.count("the API server answers again: following on") == 1, said
        assert "Traceback" not in said
    finally:
        server.stop()


def _running(cli: Cli, name: str) -> bool:
    """The deployment runs (before the application is registered, status has nothing)."""
    done = cli.run("status", name, "-o", "json")
    return done.returncode == 0 and json.loads(done.stdout)["deployment"]["state"] == "running"
