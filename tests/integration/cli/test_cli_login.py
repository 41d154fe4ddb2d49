"""`app login/logout/whoami/context` against the devstack's real Keycloak and a real API server."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakPostError

from tests.support.cli import (
    Browser,
    Cli,
    environ_without_rollway,
    mode,
    one_error_line,
)

pytestmark = pytest.mark.integration


def credentials(cli: Cli, context: str = "default") -> dict[str, Any]:
    return dict(yaml.safe_load(cli.config.read_text())["contexts"][context]["credentials"])


def edit_credentials(cli: Cli, **changes: Any) -> None:
    data = yaml.safe_load(cli.config.read_text())
    data["contexts"]["default"]["credentials"].update(changes)
    cli.config.write_text(yaml.safe_dump(data))


def test_password_login_keeps_tokens_in_a_0600_file_and_whoami_reads_them(cli: Cli) -> None:
    out = cli.ok("login", "--username", "alice", "--password-stdin", input=cli.password)

    assert out.startswith("Logged in as alice to http://127.0.0.1:")
    assert mode(cli.config) == 0o600 and mode(cli.config.parent) == 0o700
    assert sorted(p.name for p in cli.config.parent.iterdir()) == ["config.yaml"]  # no temp file
    creds = credentials(cli)
    assert creds["grant"] == "password" and creds["refresh-token"] and creds["access-token"]
    who = cli.json("whoami")
    assert (who["user"], who["roles"], who["groups"]) == (
        "alice", [], ["hello-deployers", "team-hello"])  # fmt: skip
    assert who["serviceAccount"] is False and 200 < who["expiresIn"] <= 300
    table = cli.ok("whoami")
    assert re.search(r"^User:\s+alice$", table, re.M) and re.search(r"^Groups:\s+hello-deployers, team-hello$",
                                                                     table, re.M)  # fmt: skip


def test_wrong_password_is_one_line_and_exit_3(cli: Cli) -> None:
    done = cli.run("login", "-u", "alice", "--password-stdin", input="not-the-password")

    assert done.returncode == 3
    assert (
        one_error_line(done.stderr) == "error: Keycloak refused the login: Invalid user credentials"
    )
    assert not cli.config.exists()


def test_password_without_a_terminal_or_stdin_flag_is_a_usage_error(cli: Cli) -> None:
    done = cli.run("login", "-u", "alice", input="")

    assert done.returncode == 2
    assert "--password-stdin" in one_error_line(done.stderr)
    assert cli.run("login", "--password-stdin", input="x").returncode == 2  # needs --username


def test_client_credentials_from_the_environment_log_in_the_ci_service_account(
    cli: Cli, devstack_env: dict[str, str]
) -> None:
    done = cli.run("login", "--client-credentials", "--client-id", "rollway-ci",
                   ROLLWAY_CLIENT_SECRET=devstack_env["ROLLWAY_CI_CLIENT_SECRET"])  # fmt: skip

    assert done.returncode == 0, done.stderr
    who = cli.json("whoami")
    assert (who["user"], who["serviceAccount"], who["groups"]) == (
        "rollway-ci", True, ["hello-deployers", "team-hello"])  # fmt: skip
    assert credentials(cli)["grant"] == "client_credentials"


def test_client_credentials_secret_on_stdin_through_clirunner(
    cli: Cli, devstack_env: dict[str, str]
) -> None:
    secret = devstack_env["ROLLWAY_CI_CLIENT_SECRET"]
    result = cli.invoke(
        "login", "--client-credentials", input=secret, ROLLWAY_CLIENT_ID="rollway-ci"
    )

    assert result.exit_code == 0, result.output
    assert "Logged in as rollway-ci" in result.stdout
    wrong = cli.invoke(
        "login", "--client-credentials", input="wrong", ROLLWAY_CLIENT_ID="rollway-ci"
    )
    assert wrong.exit_code == 3
    assert "Keycloak refused the login" in wrong.stderr
    missing = cli.invoke("login", "--client-credentials", input="x")
    assert missing.exit_code == 2
    assert "error: --client-id: is required with --client-credentials" in missing.stderr


def test_device_grant_confirmed_in_keycloaks_own_pages(cli: Cli) -> None:
    process = cli.popen("login", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    url = ""
    shown = []
    while not url:
        line = process.stderr.readline()
        assert line, f"login ended before showing a URL: {shown}"
        shown.append(line)
        url = line.strip() if line.strip().startswith("http") else ""
    code = re.search(r"user_code=([A-Z]{4}-[A-Z]{4})", url)
    assert code and any(code[1] in line for line in shown)

    page = Browser().confirm_device(url, "bob", cli.password)

    assert "Device Login Successful" in page or "successful" in page.lower()
    assert process.wait(timeout=60) == 0, process.stderr.read()
    assert process.stdout is not None and "Logged in as bob" in process.stdout.read()
    who = cli.json("whoami")
    assert (who["user"], who["groups"], who["login"]) == (
        "bob", ["hello-approvers", "team-hello"], "device")  # fmt: skip


def test_device_grant_refused_in_the_browser_is_exit_3(cli: Cli) -> None:
    process = cli.popen("login", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    line = ""
    while not line.strip().startswith("http"):
        line = process.stderr.readline()
        assert line, "login ended before showing a URL"

    Browser().confirm_device(line.strip(), "carol", cli.password, grant=False)

    assert process.wait(timeout=60) == 3
    rest = process.stderr.read()
    assert "error: Keycloak refused the login" in rest and "Traceback" not in rest
    assert not cli.config.exists()


def test_an_expired_access_token_is_refreshed_and_saved(cli: Cli) -> None:
    cli.login("alice")
    before = credentials(cli)
    edit_credentials(cli, **{"expires-at": time.time() - 5})

    cli.ok("list")  # an API call: the server accepts the refreshed token

    after = credentials(cli)
    assert after["access-token"] != before["access-token"]
    assert after["expires-at"] > time.time() + 200
    assert mode(cli.config) == 0o600


def test_a_token_the_server_refuses_is_renewed_once_and_the_call_retried(cli: Cli) -> None:
    cli.login("alice")
    before = credentials(cli)
    header, payload, signature = before["access-token"].split(".")
    edit_credentials(cli, **{"access-token": f"{header}.{payload}.{signature[::-1]}"})

    assert cli.run("list").returncode == 0  # 401, refresh, retry

    assert credentials(cli)["access-token"] not in (before["access-token"], "")


def test_an_expired_session_asks_to_log_in_again(cli: Cli) -> None:
    cli.login("alice")
    edit_credentials(cli, **{"expires-at": time.time() - 5, "refresh-expires-at": time.time() - 5})

    done = cli.run("list")

    assert done.returncode == 3
    assert one_error_line(done.stderr) == "error: the session of context 'default' expired"
    assert "hint: run: app login" in done.stderr


def test_client_credentials_log_in_again_when_the_token_expired(
    cli: Cli, devstack_env: dict[str, str]
) -> None:
    secret = devstack_env["ROLLWAY_CI_CLIENT_SECRET"]
    cli.ok("login", "--client-credentials", "--client-id", "rollway-ci", input=secret)
    before = credentials(cli)
    edit_credentials(cli, **{"expires-at": time.time() - 5})

    assert cli.run("list").returncode == 0

    assert credentials(cli)["access-token"] != before["access-token"]


def test_logout_ends_the_keycloak_session_and_forgets_the_tokens(
    cli: Cli, devstack_env: dict[str, str]
) -> None:
    cli.login("alice")
    refresh = credentials(cli)["refresh-token"]

    assert cli.ok("logout") == "Logged out (context default).\n"

    assert "credentials" not in yaml.safe_load(cli.config.read_text())["contexts"]["default"]
    done = cli.run("list")
    assert done.returncode == 3
    assert one_error_line(done.stderr) == "error: not logged in (context 'default')"
    assert "hint: run: app login" in done.stderr
    keycloak = KeycloakOpenID(server_url=devstack_env["ROLLWAY_KEYCLOAK_URL"],
                              realm_name="rollway", client_id="rollway-cli")  # fmt: skip
    with pytest.raises(KeycloakPostError, match="invalid_grant"):
        keycloak.refresh_token(refresh)
    assert cli.ok("logout") == "Not logged in (context default).\n"


def test_contexts_set_use_list_and_delete(cli: Cli, devstack_env: dict[str, str]) -> None:
    cli.login("alice")
    keycloak = devstack_env["ROLLWAY_KEYCLOAK_URL"]
    created = cli.ok("context", "set", "staging", "--server", "http://127.0.0.1:9",
                     "--keycloak-url", keycloak, "--env", "dev", "-n", "hello-dev")  # fmt: skip
    assert created == "Context staging created.\n"

    listed = cli.json("context", "list")
    assert [(c["name"], c["current"], c["user"]) for c in listed] == [
        ("default", True, "alice"), ("staging", False, None)]  # fmt: skip
    assert listed[1]["env"] == "dev" and listed[1]["namespace"] == "hello-dev"
    assert "token" not in cli.ok("context", "list", "-o", "yaml")

    assert cli.ok("context", "use", "staging") == "Switched to context staging.\n"
    assert cli.json("--context", "default", "whoami")["user"] == "alice"
    logged_out = cli.run("list")
    assert logged_out.returncode == 3
    assert one_error_line(logged_out.stderr) == "error: not logged in (context 'staging')"

    unknown = cli.run("context", "use", "nope")
    assert unknown.returncode == 2
    assert one_error_line(unknown.stderr) == (
        "error: --context: no context named 'nope' (known: default, staging)")  # fmt: skip
    assert cli.ok("context", "delete", "staging") == "Context staging deleted.\n"
    assert [c["name"] for c in cli.json("context", "list")] == ["default"]


def test_an_unreachable_server_is_named_without_a_traceback(cli: Cli) -> None:
    cli.login("alice")

    done = cli.run("--server", "http://127.0.0.1:9", "list")

    assert done.returncode == 1
    assert one_error_line(done.stderr) == (
        "error: cannot reach the Rollway API server at http://127.0.0.1:9: connection refused"
    )
    assert "hint: check --server" in done.stderr


def test_the_config_follows_xdg_config_home(
    cli: Cli, devstack_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**environ_without_rollway(cli.env), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    xdg = Cli(env, tmp_path / "xdg" / "rollway" / "config.yaml", cli.password)

    xdg.login("carol")

    assert mode(xdg.config) == 0o600
    assert xdg.json("whoami")["user"] == "carol"
