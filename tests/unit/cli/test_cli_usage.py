"""What `app` says before any request: help, version, completion, and usage errors (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rollway.cli import cli
from rollway.cli.main import COMMANDS

APP = Path(sys.executable).with_name("app")


def run(*args: str, tmp: Path | None = None) -> tuple[int, str, str]:
    env = {"ROLLWAY_CONFIG": str(tmp / "config.yaml")} if tmp else {}
    result = CliRunner(env=env).invoke(cli, list(args), prog_name="app")
    return result.exit_code, result.stdout, result.stderr


def test_help_lists_every_command_in_sections_and_the_exit_codes() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for section in ("Deploy Commands:", "Inspect Commands:", "Settings Commands:"):
        assert section in out
    for name in COMMANDS:
        assert f"\n  {name} " in out
    for exit_code in ("0    success", "1    deployment failed or degraded", "2    usage error",
                      "3    authentication or permission error", "4    not found",
                      "5    conflict", "130  interrupted"):  # fmt: skip
        assert exit_code in out
    assert run("-h")[1] == out
    assert run("--version")[1] == "app 0.1.0\n"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help(command: str) -> None:
    code, out, _ = run(command, "--help")
    assert code == 0 and out.startswith(f"Usage: app {command}")


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_help_lists_each_commands_own_first_sentence(command: str) -> None:
    """`app --help` prints the sentences main.py keeps, without importing the commands."""
    loaded = cli.get_command(click.Context(cli), command)
    assert loaded is not None and not loaded.hidden
    sentence = COMMANDS[command][1]
    for limit in (30, 60, 200):
        assert click.Command(None, help=sentence).get_short_help_str(limit) == (
            loaded.get_short_help_str(limit)
        )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["deploy", "Bad_Name", "--artifact", "a:b"], "NAME: must be a DNS-1123 label"),
        (["deploy", "hello", "--artifact", "com.example"], "is not GROUP:ARTIFACT"),
        (["deploy", "hello"], "Missing option '--artifact'"),
        (["deploy", "hello", "--artifact", "a:b", "--set", "novalue"], "is not KEY=VALUE"),
        (["deploy", "hello", "--artifact", "a:b", "--set", "tolerations[0.key=x"],
         "Invalid value for --set: 'tolerations[0.key=x': the key has unbalanced brackets"),
        (["deploy", "hello", "--artifact", "a:b", "--strategy", "red"], "'red' is not one of"),
        (["deploy", "hello", "--artifact", "a:b", "--replicas", "-1"], "--replicas"),
        (["upgrade", "hello"], "Missing option '--version'"),
        (["upgrade", "hello", "--version", "1 0"], "must be a Maven version"),
        (["upgrade", "hello", "--version", "1", "--strategy", "bluegreen", "--canary-steps", "20"],
         "applies to the canary strategy"),
        (["upgrade", "hello", "--version", "1", "--strategy", "canary", "--auto-promote"],
         "applies to blue-green"),
        (["status", "hello", "--watch", "-o", "json"], "--watch draws the live view"),
        (["status", "hello", "-o", "xml"], "'xml' is not one of"),
        (["-n", "Bad", "status", "hello"], "must be a DNS-1123 label"),
        (["approve", "Not/An/Id"], "DEPLOYMENT_ID: must be a DNS-1123 label"),
        (["rollback", "hello", "--to-revision", "0"], "--to-revision"),
        (["logs", "hello", "--step", "Build_Image"], "--step: must be a DNS-1123 label"),
        (["nosuch"], "No such command 'nosuch'"),
        (["completion", "tcsh"], "'tcsh' is not one of"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_before_any_request(args: list[str], says: str, tmp_path: Path) -> None:
    code, _, err = run(*args, tmp=tmp_path)
    assert code == 2, err
    assert says in err
    assert "Traceback" not in err
    assert not (tmp_path / "config.yaml").exists()


def test_commands_that_need_a_login_say_so(tmp_path: Path) -> None:
    code, _, err = run("list", tmp=tmp_path)
    assert (code, err) == (3, "error: not logged in (context 'default')\nhint: run: app login\n")


def test_contexts_can_be_edited_offline(tmp_path: Path) -> None:
    assert run("context", "set", "prod", "--server", "https://api", "--keycloak-url",
               "https://kc", "--env", "prod", "--use", tmp=tmp_path)[0] == 0  # fmt: skip
    code, out, _ = run("context", "list", tmp=tmp_path)
    assert code == 0 and out.splitlines()[1].split()[:3] == ["*", "prod", "https://api"]
    assert run("context", "set", "x", "--server", "ftp://a", tmp=tmp_path)[0] == 2
    assert run("context", "use", "nope", tmp=tmp_path)[0] == 2


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts(shell: str) -> None:
    code, out, _ = run("completion", shell)
    assert code == 0 and "_APP_COMPLETE" in out


def test_completion_completes_command_names() -> None:
    env = {
        **os.environ,
        "_APP_COMPLETE": "bash_complete",
        "COMP_WORDS": "app st",
        "COMP_CWORD": "1",
    }
    done = subprocess.run([str(APP)], env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0
    assert "plain,status" in done.stdout.split()


def test_help_imports_neither_httpx_nor_rich_nor_yaml() -> None:
    code = ("import sys; from rollway.cli import main; sys.argv = ['app', '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'rich', "
            "'yaml', 'keycloak', 'pydantic') or m.startswith('rollway.cli.commands.')), "
            "file=sys.stderr)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr.strip() == "[]"


def test_the_json_path_of_status_imports_no_rich() -> None:
    code = ("import sys, rollway.cli.commands.status, rollway.cli.api, rollway.cli.lookup\n"
            "print(sorted(m for m in ('rich', 'keycloak', 'pydantic', 'httpx._main') "
            "if sys.modules.get(m)))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_login_names_a_keycloak_it_cannot_reach_or_does_not_know(tmp_path: Path) -> None:
    config = {"ROLLWAY_CONFIG": str(tmp_path / "config.yaml")}
    runner = CliRunner(env={**config, "ROLLWAY_KEYCLOAK_URL": None})
    unknown = runner.invoke(cli, ["login", "-u", "alice", "--password-stdin"], input="pw")
    assert unknown.exit_code == 2
    assert unknown.stderr.startswith("error: --keycloak-url: context 'default' has no Keycloak URL")
    down = runner.invoke(cli, ["login", "-u", "alice", "--password-stdin", "--keycloak-url",
                               "http://127.0.0.1:9"], input="pw")  # fmt: skip
    assert down.exit_code == 1
    assert down.stderr.splitlines()[0] == (
        "error: cannot reach Keycloak at http://127.0.0.1:9: connection refused"
    )
    assert "Traceback" not in down.stderr and not (tmp_path / "config.yaml").exists()
