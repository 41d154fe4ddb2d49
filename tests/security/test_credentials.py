"""Each credential reaches only the host configured for it (rollway.destinations), whatever an
app, a registry's challenge or a redirect names: the real `rollway-step` commands, with the
devstack's real credentials, pointed at listeners that record what reaches them.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.listeners import ATTACKER, TRUSTED, Listener, listening, redirect_to

pytestmark = pytest.mark.integration

STEP = str(Path(sys.executable).parent / "rollway-step")
ROBOT = {"ROLLWAY_REGISTRY_USERNAME": "robot$rollway", "ROLLWAY_REGISTRY_PASSWORD": "robot-pass"}


def step(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`rollway-step ARGS…` with only `env` (as a pod gets it), outputs in tmp_path."""
    pod_env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
               "ROLLWAY_OUTPUTS_DIR": str(tmp_path / "out"), **env}  # fmt: skip
    return subprocess.run([STEP, *args], env=pod_env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@pytest.fixture
def attacker() -> Iterator[Listener]:
    with listening(ATTACKER, lambda seen, url: (401, {"WWW-Authenticate": 'Basic realm="x"'})) as s:
        yield s


def secrets_of(env: dict[str, str]) -> list[str]:
    return [v for k, v in env.items() if k.endswith(("_PASSWORD", "_TOKEN")) and v]


# -- the registry --------------------------------------------------------------------------------


def test_a_bearer_realm_on_another_host_gets_no_credentials(
    attacker: Listener, tmp_path: Path
) -> None:
    """The platform registry itself (a listener here) names the attacker as its token service:
    the robot's credentials go to neither, and the step says why."""
    challenge = f'Bearer realm="{attacker.url}/token",service="registry"'
    with listening(TRUSTED, lambda seen, url: (401, {"WWW-Authenticate": challenge})) as home:
        jar = tmp_path / "app.jar"
        jar.write_bytes(b"PK\x05\x06" + bytes(18))
        env = {"ROLLWAY_REGISTRY": home.address, "ROLLWAY_REGISTRY_URL": home.url, **ROBOT}
        done = step(env, tmp_path, "build-image", "--jar", str(jar),
                    "--base", f"{home.address}/base:1", "--target", f"{home.address}/apps/x")  # fmt: skip
    assert done.returncode != 0
    assert "sends its token requests to another host (127.0.0.7)" in done.stderr, done.stderr
    assert attacker.seen == [], "the token service off the registry's host was contacted"
    assert home.seen and home.credentials == [], "the registry got credentials unasked"
    assert "robot-pass" not in done.stderr + done.stdout


def test_an_image_repository_on_another_host_gets_nothing(
    attacker: Listener, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"PK\x05\x06" + bytes(18))
    env = {"ROLLWAY_REGISTRY": devstack_env["ROLLWAY_REGISTRY"], **ROBOT}
    done = step(env, tmp_path, "build-image", "--jar", str(jar),
                "--base", f"{attacker.address}/base:1", "--target", f"{attacker.address}/a/b")  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"is not the platform registry {devstack_env['ROLLWAY_REGISTRY']}" in done.stderr
    assert attacker.seen == []


# -- Maven ---------------------------------------------------------------------------------------


def maven_env(devstack_env: dict[str, str]) -> dict[str, str]:
    keys = ("ROLLWAY_MAVEN_URL", "ROLLWAY_MAVEN_USERNAME", "ROLLWAY_MAVEN_PASSWORD")
    return {k: devstack_env[k] for k in keys}


def test_maven_credentials_never_reach_another_repository(
    attacker: Listener, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    env = maven_env(devstack_env)
    done = step(env, tmp_path, "resolve-artifact", "--coordinates", "com.example:hello:1.0.0",
                "--repository", f"{attacker.url}/repository/maven-releases",
                "--download-dir", str(tmp_path / "jar"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "is not one of the configured Maven repositories" in done.stderr
    assert attacker.seen == []
    assert not any(secret in done.stderr for secret in secrets_of(env))


def test_a_maven_redirect_to_another_host_is_not_followed(
    attacker: Listener, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    with listening(TRUSTED, redirect_to(attacker)) as home:
        env = {**maven_env(devstack_env), "ROLLWAY_MAVEN_URL": f"{home.url}/repository/releases"}
        done = step(env, tmp_path, "resolve-artifact", "--coordinates", "com.example:hello:1.0.0",
                    "--download-dir", str(tmp_path / "jar"))  # fmt: skip
    assert done.returncode != 0
    assert "redirected to another host (127.0.0.7)" in done.stderr, done.stderr
    assert home.seen, "the configured repository was not asked"
    assert attacker.seen == []


# -- git -----------------------------------------------------------------------------------------


def git_env(devstack_env: dict[str, str], git_url: str) -> dict[str, str]:
    return {"ROLLWAY_GIT_TOKEN": devstack_env["ROLLWAY_GIT_TOKEN"], "ROLLWAY_GIT_URL": git_url}


def test_the_git_token_never_reaches_a_repository_elsewhere(
    attacker: Listener, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    env = git_env(devstack_env, devstack_env["ROLLWAY_GIT_URL"])
    done = step(env, tmp_path, "fetch-chart", "--repo", f"{attacker.url}/team/charts.git",
                "--ref", "main", "--dest", str(tmp_path / "chart"))  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert f"must be on the git server {devstack_env['ROLLWAY_GIT_URL']}" in done.stderr
    assert attacker.seen == []
    assert devstack_env["ROLLWAY_GIT_TOKEN"] not in done.stderr


def test_a_git_redirect_to_another_host_is_not_followed(
    attacker: Listener, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    with listening(TRUSTED, redirect_to(attacker)) as home:
        env = git_env(devstack_env, home.url)
        done = step(env, tmp_path, "fetch-chart", "--repo", f"{home.url}/team/charts.git",
                    "--ref", "main", "--dest", str(tmp_path / "chart"))  # fmt: skip
    assert done.returncode != 0
    assert home.seen, "the configured git server was not asked"
    assert attacker.seen == []
