"""`rollway-step report` against the real Keycloak and a real `rollway-apiserver` (embedded engine
on the devstack): the exit handler gets a client-credentials token for the realm's `rollway-ci`
client and posts the outcome, which the server accepts. A wrong client secret, an unknown
deployment and an unreachable server (tried again first) are warnings naming the reason, never
the secret or the token, and the step still succeeds: an exit handler that failed would turn the
deployment's workflow Failed whatever its rollout did.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from keycloak import KeycloakOpenID

from devstack.stack import Context, up
from rollway.apiserver.models import IN_FLIGHT
from tests.support.cli import ApiServer
from tests.support.helpers import free_port, wait_for
from tests.support.loopback import Receiver, running
from tests.support.projects import admitted
from tests.support.step_runner import Quiet, StepRun, run

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(
    devstack: Context, devstack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    up(devstack, ["keycloak", "rollway-platform"], echo=lambda line: print(line, file=sys.stderr))
    api = ApiServer(devstack_env, tmp_path_factory.mktemp("apiserver"), free_port()).start()
    yield api
    api.stop()


def call(env: dict[str, str], server: ApiServer, user: str, method: str, path: str,
         **kwargs: Any) -> httpx.Response:  # fmt: skip
    """The API as one of the realm's users (password grant of the CLI's public client)."""
    keycloak = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"],
                              realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
                              client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip
    token = keycloak.token(user, env["DEVSTACK_USER_PASSWORD"])["access_token"]
    return httpx.request(method, f"{server.url}{path}", timeout=30,
                         headers={"Authorization": f"Bearer {token}"}, **kwargs)  # fmt: skip


@pytest.fixture(scope="module")
def deployment(server: ApiServer, devstack_env: dict[str, str]) -> str:
    """A finished deployment of an app of project hello (where rollway-ci deploys). Its jar
    does not exist, so the pipeline fails in its first step and touches nothing in the cluster."""
    name = f"report-{uuid.uuid4().hex[:6]}"
    spec = {
        "name": name,
        "environments": [{"name": "dev"}],
        "chart": {"repo": devstack_env["ROLLWAY_CHART_REPO"], "path": "charts/app", "ref": "main"},
        "artifact": f"com.example:{name}",
    }
    spec = admitted(lambda *a, **k: call(devstack_env, server, *a, **k), spec)
    registered = call(devstack_env, server, "dave", "POST", "/api/v1/apps", json=spec)
    assert registered.status_code == 201, registered.text
    deployed = call(devstack_env, server, "alice", "POST", f"/api/v1/apps/{name}/deployments",
                    json={"env": "dev", "version": "1.0.0"})  # fmt: skip
    assert deployed.status_code in (201, 202), deployed.text
    found = deployed.json()["id"]

    def final() -> str | None:
        answer = call(devstack_env, server, "alice", "GET", f"/api/v1/deployments/{found}")
        state = str(answer.json()["state"])
        return state if state not in IN_FLIGHT else None

    assert wait_for(f"deployment {found} to end", final, timeout=120, interval=0.5) == "failed"
    return str(found)


@pytest.fixture
def step_env(server: ApiServer, devstack_env: dict[str, str]) -> Quiet:
    """What the exit handler's pod gets from rollway-platform and rollway-callback."""
    env = {k: v for k, v in devstack_env.items() if not k.startswith("ROLLWAY_NOTIFY")}
    return Quiet(
        env,
        ROLLWAY_CALLBACK_URL=server.url,
        ROLLWAY_CALLBACK_CLIENT_ID=devstack_env["ROLLWAY_CI_CLIENT_ID"],
        ROLLWAY_CALLBACK_CLIENT_SECRET=devstack_env["ROLLWAY_CI_CLIENT_SECRET"],
    )


def report(env: dict[str, str], outputs: Path, deployment_id: str) -> StepRun:
    return run(env, outputs, "report", "--deployment-id", deployment_id, "--status", "Failed",
               timeout=120)  # fmt: skip


def one_warning(done: StepRun, env: dict[str, str]) -> str:
    """The single warning of a run that could not deliver to the API server; the step succeeds,
    with neither the client secret nor a bearer token anywhere in the output."""
    assert done.exit_code == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.outputs == {"delivered": "", "status": "Failed", "undelivered": "api"}
    secret = env.get("ROLLWAY_CALLBACK_CLIENT_SECRET") or env["ROLLWAY_CI_CLIENT_SECRET"]
    for text in (done.stdout, done.stderr):
        assert secret not in text and "Bearer" not in text and "eyJ" not in text
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("rollway-step: ")]
    return line.removeprefix("rollway-step: warning: ")


@pytest.mark.parametrize("source", ["env", "file"])
def test_the_outcome_is_delivered_with_a_client_credentials_token(
    step_env: Quiet, deployment: str, tmp_path: Path, source: str
) -> None:
    env = Quiet(step_env)
    if source == "file":  # a mounted Secret: ROLLWAY_CALLBACK_CLIENT_SECRET_FILE
        path = tmp_path / "client-secret"
        path.write_text(env.pop("ROLLWAY_CALLBACK_CLIENT_SECRET") + "\n")
        env["ROLLWAY_CALLBACK_CLIENT_SECRET_FILE"] = str(path)
    done = report(env, tmp_path / "outputs", deployment)
    assert done.exit_code == 0, done.stderr
    expected = {"delivered": "api", "status": "Failed", "undelivered": ""}
    assert json.loads(done.stdout) == done.outputs == expected


def test_a_wrong_client_secret_is_refused_by_keycloak_without_showing_it(
    step_env: Quiet, deployment: str, tmp_path: Path
) -> None:
    wrong = Quiet(step_env, ROLLWAY_CALLBACK_CLIENT_SECRET=f"wrong-{uuid.uuid4().hex}")
    line = one_warning(report(wrong, tmp_path / "outputs", deployment), wrong)
    assert line.startswith("Keycloak refused a token to client 'rollway-ci' of "
                           "realm 'rollway' (HTTP 401: unauthorized_client"), line  # fmt: skip


def test_an_unknown_deployment_is_a_404_not_a_delivery(
    step_env: Quiet, server: ApiServer, tmp_path: Path
) -> None:
    unknown = f"nothing-dev-{uuid.uuid4().hex[:8]}"
    line = one_warning(report(step_env, tmp_path / "outputs", unknown), step_env)
    assert line.startswith(f"the API server at {server.url} answered HTTP 404: "), line


def test_an_unreachable_api_server_is_tried_again_then_reported(
    step_env: Quiet, deployment: str, tmp_path: Path
) -> None:
    gone = Quiet(step_env, ROLLWAY_CALLBACK_URL=f"http://127.0.0.1:{free_port()}")
    line = one_warning(report(gone, tmp_path / "outputs", deployment), gone)
    assert line.endswith("the outcome was not delivered (ConnectError)"), line


@pytest.fixture
def flaky() -> Iterator[Receiver]:
    """A webhook answering 503 once before it takes a message."""
    with running(Receiver(failures=1)) as hook:
        yield hook


def test_webhooks_are_tried_again_and_a_broken_one_is_only_a_warning(
    devstack_env: dict[str, str], flaky: Receiver, receiver: Receiver, tmp_path: Path
) -> None:
    receiver.failures = 100  # down for good
    malformed = "http://[::1/hook?token=s3cr3t"
    hooks = ",".join([flaky.url, receiver.url + "?token=s3cr3t", malformed])
    env = {k: v for k, v in devstack_env.items() if not k.startswith("ROLLWAY_CALLBACK")}

    done = run({**env, "ROLLWAY_NOTIFY_WEBHOOKS": hooks}, tmp_path / "outputs", "report",
               "--deployment-id", "hello-dev-abc", "--status", "Succeeded", timeout=120)  # fmt: skip

    assert done.exit_code == 0, done.stderr
    assert done.outputs == {"delivered": "webhook", "status": "Succeeded",
                            "undelivered": "webhook,webhook"}  # fmt: skip
    [(_, body)] = flaky.received
    assert body["text"] == "Rollway deployment hello-dev-abc: Succeeded"
    assert flaky.failures == 0 and receiver.received == []  # tried again, in vain for one
    assert len(receiver.requests) > 1
    warnings = [x for x in done.stderr.splitlines() if x.startswith("rollway-step: warning: ")]
    assert sorted(warnings) == [  # delivered at once: the broken one's warning comes last
        "rollway-step: warning: webhook 2 of ROLLWAY_NOTIFY_WEBHOOKS answered HTTP 503: "
        "Service Unavailable",
        "rollway-step: warning: webhook 3 of ROLLWAY_NOTIFY_WEBHOOKS is not an http(s) URL",
    ]
    assert "s3cr3t" not in done.stderr + done.stdout and "Traceback" not in done.stderr
