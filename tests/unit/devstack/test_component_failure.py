"""A part of the devstack that does not start names itself and its log, and `up` exits non-zero:
a part whose process exits at once, in a devstack directory of the test's own (the running
devstack is not touched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import cli
from devstack.core import DevstackError, Paths
from devstack.stack import Component, Context


class Broken(Component):
    """Like a real-node part (kubelet, containerd, kube-proxy): a daemon with a readiness probe."""

    name = "broken-part"
    version = "1"

    def command(self, ctx: Context) -> list[str]:
        return ["sh", "-c", "echo 'cannot open /dev/kmsg' >&2; exit 3"]

    def ready(self, ctx: Context) -> bool:
        return False


def test_a_part_that_exits_names_itself_and_its_log(tmp_path: Path) -> None:
    ctx = Context.load(Paths(work=tmp_path / "work", cache=tmp_path / "cache"))
    log = ctx.paths.log(Broken.name)

    with pytest.raises(DevstackError) as failed:
        Broken().up(ctx)

    assert (
        str(failed.value)
        == f"broken-part failed to start: broken-part: process exited (log: {log})"
    )
    assert "cannot open /dev/kmsg" in log.read_text()


def test_up_exits_non_zero_with_that_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROLLWAY_DEVSTACK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv("ROLLWAY_DEVSTACK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr("devstack.stack.components", lambda: [Broken()])

    assert cli.main(["up"]) == 1
    log = tmp_path / "work" / "logs" / "broken-part.log"
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert (
        last == f"devstack: broken-part failed to start: broken-part: process exited (log: {log})"
    )
