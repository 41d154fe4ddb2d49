"""`app status --watch` in a real terminal (tmux): the live view redrawn in place as the
blue-green upgrade pauses, is promoted and finishes."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import APP, Cli
from tests.support.helpers import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux (scripts/apt-packages.txt)"),
]


class Terminal:
    """A detached tmux session on its own server socket, 200×80."""

    def __init__(self) -> None:
        self.socket = f"rollway-test-{uuid.uuid4().hex[:8]}"

    def start(self, script: Path) -> None:
        self._tmux("new-session", "-d", "-s", "main", "-x", "200", "-y", "80", f"bash {script}")

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "main").stdout

    def close(self) -> None:
        self._tmux("kill-server", check=False)

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=check)  # fmt: skip


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    yield term
    term.close()


def showing(terminal: Terminal, *texts: str) -> str:
    last = [""]

    def check() -> str | None:
        last[0] = terminal.screen()
        return last[0] if all(t in last[0] for t in texts) else None

    try:
        return wait_for(f"the terminal to show {texts}", check, timeout=180, interval=0.5)
    except AssertionError as err:
        raise AssertionError(f"{err}\nthe screen:\n{last[0]}") from None


def test_status_watch_redraws_the_live_view_until_the_upgrade_succeeds(
    cli: Cli, app_name: str, devstack_env: dict[str, str], terminal: Terminal, tmp_path: Path
) -> None:
    cli.login("alice")
    chart = f"{devstack_env['ROLLWAY_CHART_REPO']}//charts/app@main"
    cli.ok("deploy", app_name, "--env", "dev", "--artifact", "com.example:hello:1.0.0",
           "--chart", chart, "--wait")  # fmt: skip
    cli.ok("upgrade", app_name, "--version", "1.1.0", "--strategy", "bluegreen")
    env = {k: v for k, v in cli.env.items() if k.startswith(("ROLLWAY_", "PATH", "HOME"))}
    script = tmp_path / "watch.sh"
    script.write_text(
        "unset COLUMNS LINES\n"  # rich would believe them over the terminal's real size
        + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
        + f"{APP} status {app_name} --watch\necho EXIT=$?\nsleep 600\n"
    )

    terminal.start(script)

    paused = showing(terminal, "॥ Paused", "preview", "॥ approval")
    for shown in ("State:           ॥ waiting", "॥ approval", "STEP", "✔ build-image",
                  f"⟳ {app_name}", "stable,active", "□ "):  # fmt: skip
        assert shown in paused, paused
    assert "EXIT=" not in paused  # still watching, in place
    demo = Cli({**cli.env, "ROLLWAY_CONFIG": str(tmp_path / "demo.yaml")}, tmp_path / "demo.yaml",
               cli.password)  # fmt: skip
    demo.login("demo")
    demo.ok("promote", app_name)
    final = showing(terminal, "EXIT=")
    assert "EXIT=0" in final, final
    assert "State:           ✔ succeeded" in final and "Status:          ✔ Healthy" in final
    assert final.count("Deployment:") == 1  # redrawn in place, not appended
