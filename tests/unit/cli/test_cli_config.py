"""The config file: where it lives, its format, atomic 0600 writes, and context selection."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rollway.cli.config import Config, Context, Credentials, config_path
from rollway.errors import InvalidInput


def test_path_follows_rollway_config_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROLLWAY_CONFIG", "/x/app.yaml")
    assert config_path() == Path("/x/app.yaml")
    monkeypatch.delenv("ROLLWAY_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/xdg")
    assert config_path() == Path("/xdg/rollway/config.yaml")
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", "/home/u")
    assert config_path() == Path("/home/u/.config/rollway/config.yaml")


def test_round_trip_is_0600_atomic_and_keeps_tokens(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "config.yaml"
    config = Config(path)
    creds = Credentials("password", "rollway-cli", "AT", 123.0, "RT", 456.0)
    config.store(Context("dev", server="http://api", keycloak_url="http://kc", env="dev",
                         credentials=creds))  # fmt: skip

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert os.listdir(path.parent) == ["config.yaml"]
    loaded = Config.load(path)
    assert loaded.current == "dev"
    assert loaded.contexts["dev"] == config.contexts["dev"]


def test_a_missing_file_is_an_empty_config_with_a_context_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROLLWAY_SERVER", "http://api:1")
    monkeypatch.setenv("ROLLWAY_KEYCLOAK_URL", "http://kc:2")
    ctx = Config.load(tmp_path / "none.yaml").context()
    assert (ctx.name, ctx.server, ctx.keycloak_url) == ("default", "http://api:1", "http://kc:2")
    assert ctx.realm == "rollway"


def test_unknown_context_names_the_known_ones(tmp_path: Path) -> None:
    config = Config(tmp_path / "c.yaml")
    config.store(Context("a"))
    with pytest.raises(InvalidInput, match=r"no context named 'b' \(known: a\)"):
        config.context("b")
    assert config.context("b", create=True).name == "b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("contexts: [1, 2]", "expected a mapping"),
        ("contexts:\n  a:\n    sever: x\n", "unknown keys: sever"),
        ("contexts: {a: [", "not valid YAML"),
    ],
)
def test_a_broken_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=message):
        Config.load(path)


def test_the_file_is_written_as_json_and_read_back_without_a_yaml_parser(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    Config(path).store(Context("dev", server="http://api", env="dev"))
    assert yaml.safe_load(path.read_text()) == json.loads(path.read_text())  # YAML, too
    code = ("import sys; from pathlib import Path; from rollway.cli.config import Config\n"
            f"assert Config.load(Path({str(path)!r})).contexts['dev'].env == 'dev'\n"
            "print('yaml' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_file_in_block_yaml_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("current-context: dev\ncontexts:\n  dev:\n    server: http://api\n")
    loaded = Config.load(path)
    assert (loaded.current, loaded.contexts["dev"].server) == ("dev", "http://api")
