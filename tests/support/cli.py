"""The real pieces the CLI tests drive: a `rollway-apiserver` process, the `app` command (as a
subprocess and through click's CliRunner), and a browser-like client for Keycloak's device page.
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from devstack.projects import bootstrap_setting
from rollway.cli import cli
from tests.support.helpers import wait_for
from tests.support.platform import platform_registry

BIN = Path(sys.executable).parent
APP = BIN / "app"
SERVER = BIN / "rollway-apiserver"
#: What a real deployment needs besides Keycloak (as the API server's own tests list it).
PLATFORM = ["rollway-platform", "argo-rollouts", "kwok", "helm", "keycloak"]


class ApiServer:
    """`rollway-apiserver` on a free loopback port with SQLite in `state`: the embedded engine,
    or `engine=("argo", {"url": …, "namespace": …})` for the Argo backend."""

    def __init__(
        self,
        env: dict[str, str],
        state: Path,
        port: int,
        engine: tuple[str, dict[str, str]] = ("embedded", {}),
    ) -> None:
        self.env, self.state, self.port, self.engine = env, state, port, engine
        self.url = f"http://127.0.0.1:{port}"
        self.log = state / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ApiServer:
        self.state.mkdir(parents=True, exist_ok=True)
        kind, options = self.engine
        args = [str(SERVER), "--port", str(self.port), "--state-dir", str(self.state),
                "--engine", kind,
                *(f"--engine-option={k}={v}" for k, v in options.items())]  # fmt: skip
        # The registry the pipeline's steps push to (its credentials go nowhere else).
        env = {
            **self.env,
            **platform_registry(self.env),
            "ROLLWAY_SYNC_INTERVAL": "0.5",
            "ROLLWAY_BOOTSTRAP_PROJECTS": bootstrap_setting(self.env["ROLLWAY_CHART_REPO"]),
        }
        if kind == "embedded":
            env.update(platform_registry(self.env))
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, env=env, stdout=log, stderr=log)
        wait_for("the API server to be ready", self._ready, timeout=90)
        return self

    def kill9(self) -> None:
        """Die as a crash would: no shutdown, whatever was in flight left behind."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        assert self.process.wait(timeout=30) == -signal.SIGKILL

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the API server exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False


@dataclasses.dataclass
class Cli:
    """`app` with its own config file, pointed at the test's API server."""

    env: dict[str, str]
    config: Path
    password: str

    def run(self, *args: str, input: str | None = None, timeout: float = 600,
            **env: str) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """The installed console script in a real process."""
        return subprocess.run(
            [str(APP), *args], input=input, env={**self.env, **env},
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def invoke(self, *args: str, input: str | None = None, **env: str) -> Result:
        """The same command in-process, through click's CliRunner."""
        runner = CliRunner(env={**self.env, **env})
        return runner.invoke(cli, list(args), input=input, prog_name="app")

    def popen(self, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
        """Started as from a terminal: a test run in the background (`make test &`, a CI
        runner) inherits SIGINT ignored, and Python would then never see a Ctrl-C."""
        return subprocess.Popen([str(APP), *args], env=self.env, text=True,
                                preexec_fn=_interruptible, **kwargs)  # fmt: skip

    def login(self, user: str) -> None:
        done = self.run("login", "--username", user, "--password-stdin", input=self.password)
        assert done.returncode == 0, done.stderr

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run, expect exit 0, return stdout."""
        done = self.run(*args, input=input)
        assert done.returncode == 0, f"app {shlex.join(args)} → {done.returncode}\n{done.stderr}"
        return done.stdout

    def json(self, *args: str) -> Any:
        import json

        return json.loads(self.ok(*args, "-o", "json"))


def chart(env: dict[str, str]) -> str:
    """The devstack's chart repository as `app deploy --chart` takes it."""
    return f"{env['ROLLWAY_CHART_REPO']}//charts/app@main"


def status(cli: Cli, app: str, *args: str) -> dict[str, Any]:
    """`app status -o json`, whatever its exit code (1 means failed, aborted or degraded)."""
    done = cli.run("status", app, "-o", "json", *args)
    assert done.returncode in (0, 1), done.stderr
    return dict(json.loads(done.stdout))


def one_error_line(stderr: str) -> str:
    """The `error:` line; the output has no traceback and at most a hint besides."""
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert all(line.startswith(("error: ", "hint: ")) for line in lines), stderr
    return errors[0]


class Browser:
    """What a person's browser does on Keycloak's device page: follow redirects, keep cookies
    (Keycloak marks them Secure; browsers send those to loopback over http, httpx does not),
    fill the login form and confirm the grant."""

    def __init__(self) -> None:
        self.http = httpx.Client(timeout=30)
        self.cookies: dict[str, str] = {}

    def confirm_device(self, url: str, user: str, password: str, *, grant: bool = True) -> str:
        """Log in on the verification page, then grant (or refuse) the CLI's access."""
        page = self._go("GET", url)
        page = self._submit(page, {"username": user, "password": password})
        if 'name="accept"' in page.text:
            page = self._submit(page, {"accept": "Yes"} if grant else {"cancel": "No"})
        return page.text

    def _submit(self, page: httpx.Response, fields: dict[str, str]) -> httpx.Response:
        action = re.search(r'<form[^>]*action="([^"]*)"', page.text)
        assert action, f"no form on {page.url}: {page.text[-500:]}"
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page.text))
        target = page.url.join(html.unescape(action[1]))
        return self._go("POST", str(target), data={**hidden, **fields})

    def _go(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for _ in range(10):
            cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            response = self.http.request(method, url, headers={"Cookie": cookie}, **kwargs)
            for header in response.headers.get_list("set-cookie"):
                parsed: SimpleCookie = SimpleCookie()
                parsed.load(header)
                self.cookies.update({k: m.value for k, m in parsed.items()})
            if response.status_code not in (302, 303):
                return response
            url, method, kwargs = str(response.url.join(response.headers["location"])), "GET", {}
        raise AssertionError(f"too many redirects from {url}")


def environ_without_rollway(env: dict[str, str]) -> dict[str, str]:
    """The environment minus what would point the CLI elsewhere than the test says."""
    return {k: v for k, v in env.items() if k not in ("ROLLWAY_CONFIG", "ROLLWAY_CONTEXT")}


def config_text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def mode(path: Path) -> int:
    return os.stat(path).st_mode & 0o777


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
