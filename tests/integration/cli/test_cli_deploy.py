"""deploy, upgrade, promote, abort, retry, rollback, status, history, logs, list: the real
pipeline (embedded engine) on the devstack, driven through `app` as a user would."""

from __future__ import annotations

import signal
import subprocess
from typing import Any

import httpx
import pytest
from keycloak import KeycloakOpenID

from tests.support.cli import ApiServer, Cli, chart, one_error_line, status
from tests.support.helpers import wait_for
from tests.support.projects import caller

pytestmark = pytest.mark.integration

ARTIFACT = "com.example:hello"


def reaches(cli: Cli, app: str, check: Any, what: str, *args: str) -> dict[str, Any]:
    def seen() -> dict[str, Any] | None:
        found = status(cli, app, *args)
        return found if check(found) else None

    return wait_for(f"{app}: {what}", seen, timeout=300, interval=1)


def tags(found: dict[str, Any]) -> set[str]:
    return {t for rs in found["rollout"]["revisions"] for t in rs["status"].split(",")}


def register(server: ApiServer, env: dict[str, str], spec: dict[str, Any]) -> None:
    """As the admin, through the API: the CLI has no flags for environment policies."""
    keycloak = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"], realm_name="rollway",
                              client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip
    token = keycloak.token("dave", env["DEVSTACK_USER_PASSWORD"])["access_token"]
    answer = httpx.post(f"{server.url}/api/v1/apps", json=spec,
                        headers={"Authorization": f"Bearer {token}"}, timeout=30)  # fmt: skip
    assert answer.status_code == 201, answer.text


def test_bluegreen_deploy_upgrade_promote_rollback(
    cli: Cli, app_name: str, devstack_env: dict[str, str]
) -> None:
    cli.login("alice")
    first = cli.run("deploy", app_name, "--artifact", f"{ARTIFACT}:1.0.0", "--env", "dev",
                    "--chart", chart(devstack_env), "--wait")  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert f"application {app_name} registered in project hello" in first.stderr
    assert f"succeeded: {app_name} 1.0.0 runs in dev" in first.stdout
    assert "✔ resolve-artifact: Succeeded" in first.stderr  # progress lines, not a terminal

    found = status(cli, app_name)
    assert found["deployment"]["state"] == "succeeded"
    assert found["rollout"]["phase"] == "Healthy" and found["rollout"]["strategy"] == "BlueGreen"
    assert {"stable", "active"} <= tags(found)
    imported = cli.run("status", app_name, "-o", "json", PYTHONPROFILEIMPORTTIME="1").stderr
    modules = {line.split("|")[-1].strip() for line in imported.splitlines()}
    assert "rollway.transport" in modules
    assert not {"rich", "keycloak", "pydantic", "httpx", "http.client"} & modules
    table = cli.ok("status", app_name)
    for shown in (
        "State:           ✔ succeeded",
        "✔ build-image",
        "Status:          ✔ Healthy",
        "Strategy:        BlueGreen",
        "⟳ " + app_name,
        "# revision:",
        "stable,active",
    ):
        assert shown in table, table  # fmt: skip

    upgrade = cli.run(
        "upgrade", app_name, "--version", "1.1.0", "--strategy", "bluegreen", "--wait"
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "awaits promotion" in upgrade.stdout and "the preview runs beside" in upgrade.stdout
    assert f"hint: promote it: app promote {app_name}" in upgrade.stderr
    paused = status(cli, app_name)
    assert paused["deployment"]["state"] == "waiting"
    assert paused["rollout"]["phase"] == "Paused" and {"preview", "active"} <= tags(paused)
    assert "॥ approval" in cli.ok("status", app_name)

    # Someone else promotes while a watcher follows: the watch ends with the outcome.
    watcher = cli.popen("status", app_name, "--watch", stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE)  # fmt: skip
    helper = Cli(dict(cli.env), cli.config.with_name("demo.yaml"), cli.password)
    helper.env["ROLLWAY_CONFIG"] = str(helper.config)
    helper.login("demo")
    promoted = helper.run("promote", app_name)
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stdout.startswith(f"deployment {paused['deployment']['id']} ({app_name}/dev): ")
    out, err = watcher.communicate(timeout=300)
    assert watcher.returncode == 0, err
    assert "✔ deployment" in out and ": succeeded" in out

    history = cli.json("history", app_name)
    assert [d["version"] for d in history["deployments"]] == ["1.1.0", "1.0.0"]
    old = min(r["revision"] for r in history["revisions"])
    rolled = cli.run("rollback", app_name, "--to-revision", str(old))
    assert rolled.returncode == 0, rolled.stderr
    assert f"({app_name}/dev) rolled back to revision {old};" in rolled.stdout
    missing = cli.run("rollback", app_name, "--to-revision", "999")
    assert missing.returncode == 4 and "999" in one_error_line(missing.stderr)

    logs = cli.ok("logs", app_name, "--step", "resolve-artifact")
    assert logs and all(line.startswith("resolve-artifact: ") for line in logs.splitlines())
    followed = cli.run("logs", app_name, "-f", "--step", "apply")  # ends with the workflow
    assert followed.returncode == 0 and followed.stdout.startswith("apply: ")
    unknown = cli.run("logs", app_name, "--deployment", "no-such-deployment")
    assert unknown.returncode == 4
    assert one_error_line(unknown.stderr) == "error: deployment 'no-such-deployment' not found"
    completed = cli.run(COMP_WORDS=f"app status {app_name[:7]}", COMP_CWORD="2",
                        _APP_COMPLETE="bash_complete")  # fmt: skip
    assert f"plain,{app_name}" in completed.stdout.split()
    listed = cli.json("list")
    assert {(a["name"], a["env"], a["latestDeployment"]["state"]) for a in listed} >= {
        (app_name, "dev", "succeeded")}  # fmt: skip


def test_canary_upgrade_pauses_at_its_step_then_abort_and_retry(
    cli: Cli, app_name: str, devstack_env: dict[str, str]
) -> None:
    cli.login("alice")
    cli.ok("deploy", app_name, "--artifact", f"{ARTIFACT}:1.0.0", "--env", "dev", "--strategy",
           "canary", "--chart", chart(devstack_env), "--wait")  # fmt: skip

    upgrade = cli.run("upgrade", app_name, "--version", "1.1.0", "--canary-steps", "25,50,100",
                      "--wait")  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    assert "canary at step" in upgrade.stdout
    found = status(cli, app_name)
    rollout = found["rollout"]
    assert (rollout["strategy"], rollout["phase"], rollout["steps"]) == ("Canary", "Paused", 5)
    assert rollout["setWeight"] == 25 and rollout["step"] == 1
    table = cli.ok("status", app_name)
    assert "  Step:          1/5" in table and "  SetWeight:     25" in table, table
    assert "canary" in tags(found) and "stable" in tags(found)

    aborted = cli.run("abort", app_name)
    assert aborted.returncode == 0, aborted.stderr
    assert "rollout aborted back to the stable version" in aborted.stdout
    after = reaches(cli, app_name, lambda s: s["deployment"]["state"] == "aborted", "aborted")
    done = cli.run("status", app_name)
    assert done.returncode == 1
    assert one_error_line(done.stderr).startswith(
        f"error: deployment {after['deployment']['id']} aborted"
    )

    nothing = cli.run("promote", app_name)
    assert nothing.returncode == 5
    assert "aborted: nothing to promote" in one_error_line(nothing.stderr)

    retried = cli.run("retry", app_name)
    assert retried.returncode == 0, retried.stderr
    assert "state" in retried.stdout
    again = reaches(cli, app_name, lambda s: s["deployment"]["state"] in ("running", "waiting"),
                    "running again")  # fmt: skip
    assert again["deployment"]["id"] == after["deployment"]["id"]
    assert cli.run("abort", app_name).returncode == 0


def test_approval_gate_rules_reject_approve_and_conflicts(
    cli: Cli, app_name: str, apiserver: ApiServer, devstack_env: dict[str, str]
) -> None:
    register(apiserver, devstack_env, {
        "name": app_name,
        "environments": [{"name": "dev"}, {"name": "prod", "policy": {"approvalRequired": True}}],
        "chart": {"repo": devstack_env["ROLLWAY_CHART_REPO"]},
        "artifact": ARTIFACT,
        "project": "hello",
    })  # fmt: skip
    cli.login("alice")
    never = cli.run("upgrade", app_name, "--env", "prod", "--version", "1.1.0")
    assert never.returncode == 5
    assert one_error_line(never.stderr) == (
        f"error: the command: nothing to upgrade: '{app_name}' was never deployed to 'prod'"
    )
    assert "hint: use kind deploy for a first deployment" in never.stderr
    nothing = cli.run("status", app_name, "--env", "dev")
    assert nothing.returncode == 4
    assert f"hint: deploy it first: app deploy {app_name} --env dev" in nothing.stderr
    which = cli.run("status", app_name)
    assert which.returncode == 2
    assert (
        one_error_line(which.stderr)
        == f"error: --env: '{app_name}' has environments dev, prod: say which"
    )

    bob = Cli({**cli.env, "ROLLWAY_CONFIG": str(cli.config.with_name("bob.yaml"))},
              cli.config.with_name("bob.yaml"), cli.password)  # fmt: skip
    bob.login("bob")
    # A first release reaches traffic at once: its plan is approved before anything is applied.
    first = cli.ok("deploy", app_name, "--env", "prod", "--artifact", f"{ARTIFACT}:1.0.0",
                   "--wait")  # fmt: skip
    assert "waits for approval" in first
    bob.ok("approve", status(cli, app_name, "--env", "prod")["deployment"]["id"])
    reaches(cli, app_name, lambda s: s["deployment"]["state"] == "succeeded", "approved",
            "--env", "prod")  # fmt: skip
    waiting = cli.run("upgrade", app_name, "--env", "prod", "--version", "1.1.0", "--wait")
    assert waiting.returncode == 0, waiting.stderr
    assert "waits for approval" in waiting.stdout
    ident = status(cli, app_name, "--env", "prod")["deployment"]["id"]
    assert status(cli, app_name, "-n", f"{app_name}-prod")["deployment"]["id"] == ident
    elsewhere = cli.run("status", app_name, "-n", "elsewhere")
    assert elsewhere.returncode == 4
    assert "no environment of" in one_error_line(elsewhere.stderr)
    assert f"hint: an approver runs: app approve {ident}" in waiting.stderr

    busy = cli.run("upgrade", app_name, "--env", "prod", "--version", "1.1.0")
    assert busy.returncode == 5
    assert f"deployment {ident} is already in flight" in one_error_line(busy.stderr)
    assert "hint: wait for it to finish, or abort it" in busy.stderr
    own = cli.run("approve", ident)
    assert own.returncode == 3 and "is needed to approve" in one_error_line(own.stderr)

    rejected = bob.run("reject", ident, "--comment", "not on a Friday")
    assert rejected.returncode == 0, rejected.stderr
    assert "rejected: the workflow is stopped" in rejected.stdout
    final = reaches(cli, app_name, lambda s: s["deployment"]["state"] == "rejected", "rejected",
                    "--env", "prod")  # fmt: skip
    assert final["deployment"]["decision"]["comment"] == "not on a Friday"

    cli.ok("upgrade", app_name, "--env", "prod", "--version", "1.1.0", "--wait")
    second = status(cli, app_name, "--env", "prod")["deployment"]["id"]
    approved = bob.run("approve", second, "-m", "ok")
    assert approved.returncode == 0, approved.stderr
    watched = cli.run("status", app_name, "--env", "prod", "--watch")
    assert watched.returncode == 0, watched.stderr
    assert f"✔ deployment {second}: succeeded" in watched.stdout

    carol = Cli({**cli.env, "ROLLWAY_CONFIG": str(cli.config.with_name("carol.yaml"))},
                cli.config.with_name("carol.yaml"), cli.password)  # fmt: skip
    carol.login("carol")
    refused = carol.run("deploy", app_name, "--env", "dev", "--artifact", f"{ARTIFACT}:1.0.0")
    assert refused.returncode == 3
    assert "is needed to deploy or operate" in one_error_line(refused.stderr)
    erin = Cli({**cli.env, "ROLLWAY_CONFIG": str(cli.config.with_name("erin.yaml"))},
               cli.config.with_name("erin.yaml"), cli.password)  # fmt: skip
    erin.login("erin")
    hidden = erin.run("status", app_name, "--env", "prod")
    assert hidden.returncode == 4
    assert one_error_line(hidden.stderr) == f"error: application '{app_name}' not found"


def test_dry_runs_print_the_plan_and_change_nothing(
    cli: Cli, app_name: str, devstack_env: dict[str, str]
) -> None:
    cli.login("alice")
    unregistered = cli.run("deploy", app_name, "--env", "dev", "--artifact", f"{ARTIFACT}:1.0.0",
                           "--chart", chart(devstack_env), "--dry-run")  # fmt: skip
    assert unregistered.returncode == 0, unregistered.stderr
    assert unregistered.stdout.startswith(f"would register application {app_name}:")
    assert cli.run("status", app_name, "--env", "dev").returncode == 4  # still unknown

    cli.ok("deploy", app_name, "--env", "dev", "--artifact", f"{ARTIFACT}:1.0.0",
           "--chart", chart(devstack_env), "--wait")  # fmt: skip
    plan = cli.run("upgrade", app_name, "--version", "1.1.0", "--dry-run")
    assert plan.returncode == 0, plan.stderr
    assert f"Plan (dry run): upgrade {app_name} to dev" in plan.stdout
    assert "Artifact:    com.example:hello:1.1.0 → 1.1.0" in plan.stdout
    assert "-      - image: " in plan.stdout and "+      - image: " in plan.stdout  # the diff
    as_json = cli.json("upgrade", app_name, "--version", "1.1.0", "--dry-run")
    assert as_json["dryRun"] is True and as_json["manifests"]["changes"]["changed"]
    assert len(cli.json("history", app_name)["deployments"]) == 1


def test_two_first_deploys_at_once_register_through_the_api_and_keep_both_environments(
    cli: Cli, app_name: str, devstack_env: dict[str, str], apiserver: ApiServer
) -> None:
    """One registers the new application (PUT with If-None-Match: *), the other adds its
    environment to that registration (If-Match), whichever order they land in. Version 9.9.9
    is not in Maven: both deployments start, and end at resolve-artifact."""
    cli.login("alice")
    deploys = [cli.popen("deploy", app_name, "--artifact", f"{ARTIFACT}:9.9.9", "--env", env,
                         "--chart", chart(devstack_env), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE) for env in ("dev", "prod")]  # fmt: skip
    said = [deploy.communicate(timeout=120) for deploy in deploys]

    assert [deploy.returncode for deploy in deploys] == [0, 0], said
    stderr = "".join(err for _, err in said)
    assert stderr.count(f"application {app_name} registered in project hello") == 1, stderr
    assert stderr.count(f"application {app_name} updated: environment") == 1, stderr
    listed = {(a["name"], a["env"]) for a in cli.json("list")}
    assert {(app_name, "dev"), (app_name, "prod")} <= listed
    audit = caller(apiserver.url, devstack_env)("dave", "GET", f"/api/v1/audit?app={app_name}")
    writes = [(e["method"], e["action"], e["status"]) for e in audit.json()["items"]
              if e["action"] in ("register_app", "update_app")]  # fmt: skip
    assert ("PUT", "register_app", 201) in writes and ("PUT", "update_app", 200) in writes
    assert all(method == "PUT" for method, _, _ in writes), writes


def test_ctrl_c_while_waiting_leaves_the_upgrade_running(
    cli: Cli, app_name: str, devstack_env: dict[str, str]
) -> None:
    cli.login("alice")
    cli.ok("deploy", app_name, "--env", "dev", "--artifact", f"{ARTIFACT}:1.0.0",
           "--chart", chart(devstack_env), "--wait")  # fmt: skip
    waiting = cli.popen("upgrade", app_name, "--version", "1.1.0", "--wait",
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    assert waiting.stderr is not None
    line = ""
    while "deployment" not in line or ": running" not in line:
        line = waiting.stderr.readline()
        assert line, "the upgrade ended before it was followed"

    waiting.send_signal(signal.SIGINT)

    assert waiting.wait(timeout=60) == 130
    rest = waiting.stderr.read()
    assert (
        "it keeps running" in rest and f"hint: reattach with: app status {app_name} --watch" in rest
    )
    assert "Traceback" not in rest
    assert status(cli, app_name)["deployment"]["state"] in ("running", "waiting")
    assert cli.run("abort", app_name).returncode == 0
