"""Failures a user meets on the Argo engine, through an API server with the Argo backend: a step
image the node cannot pull (not in the registry; refused with a 401) fails the deployment at
once with one line naming the step, the image and the registry's answer — not after the step's
deadline; and an Argo Server that does not answer gets a 503 problem+json naming Argo while the
deployment waits as `pending`, then is submitted exactly once when Argo is back.

The namespace holds `rollway-deploy` as the repository renders it, placed on the real node; only
its step image (and, for the 401, its pull secret) is what the test makes it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import socketserver
import threading
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devstack.projects import bootstrap_setting
from devstack.stack import Context
from rollway.workflows.backends.argo import ArgoBackend
from rollway.workflows.render import rendered
from tests.e2e.flow import HELLO, Api
from tests.support.cli import ApiServer, Cli, environ_without_rollway, one_error_line
from tests.support.helpers import free_port, kubectl, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

REAL = {"rollway.io/node": "real"}
TOLERATE_REAL = [{"key": "rollway.io/node", "operator": "Equal", "value": "real",
                  "effect": "NoSchedule"}]  # fmt: skip
BAD_LOGIN = "bad-login"
#: Well below the first steps' deadlines (resolve-artifact 600 s, fetch-chart 300 s): without
#: the API server stopping it, Argo would still be waiting when this runs out.
SOONER_THAN_THE_STEP_DEADLINE = 240
FIRST_STEPS = ("resolve-artifact", "fetch-chart")  # both start at once


@pytest.fixture(scope="module")
def namespace(platform: Context, devstack_env: dict[str, str]) -> Iterator[str]:
    """The accounts `rollway-deploy` names, and a pull secret with a wrong password."""
    if not devstack_env.get("ROLLWAY_STEP_IMAGE"):
        pytest.skip("`scripts/devstack env` gives no ROLLWAY_STEP_IMAGE (the Rollway image)")
    name = f"argo-fail-{uuid.uuid4().hex[:6]}"
    kubectl(devstack_env, "create", "namespace", name)
    try:
        spec = template(devstack_env["ROLLWAY_STEP_IMAGE"])["spec"]
        accounts = {spec["serviceAccountName"], *(spec.get("executor") or {}).values()}
        for account in sorted(accounts):
            kubectl(devstack_env, "-n", name, "create", "serviceaccount", account)
        # Argo mounts the executor's token from this Secret (as charts/rollway creates it).
        executor = spec["executor"]["serviceAccountName"]
        kubectl(devstack_env, "-n", name, "apply", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": f"{executor}.service-account-token",
                         "annotations": {"kubernetes.io/service-account.name": executor}},
        }))  # fmt: skip
        registry = registry_of(devstack_env["ROLLWAY_STEP_IMAGE"])
        login = base64.b64encode(f"{devstack_env['ROLLWAY_REGISTRY_USERNAME']}:wrong".encode())
        config = {"auths": {registry: {"auth": login.decode()}}}
        kubectl(devstack_env, "-n", name, "apply", "-f", "-", stdin=json.dumps({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": BAD_LOGIN},
            "data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()},
        }))  # fmt: skip
        yield name
    finally:
        kubectl(devstack_env, "delete", "namespace", name, "--wait=false")


def registry_of(image: str) -> str:
    return image.split("/", 1)[0]


def template(image: str, pull_secret: str | None = None) -> dict[str, Any]:
    """`rollway-deploy` with every step in `image`, always pulled (the node has the real step
    image cached: only a pull shows what the registry answers), on the real node."""
    doc: dict[str, Any] = yaml.safe_load(rendered()["rollway-deploy.yaml"])
    spec = doc["spec"]
    spec.update(nodeSelector=REAL, tolerations=TOLERATE_REAL)
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": pull_secret}]
    for step in spec["templates"]:
        if "container" in step:
            step["container"].update(image=image, imagePullPolicy="Always")
    return doc


def install(env: dict[str, str], namespace: str, doc: dict[str, Any]) -> None:
    kubectl(env, "-n", namespace, "apply", "-f", "-", stdin=json.dumps(doc))


def serving(env: dict[str, str], state: Path, argo_url: str, namespace: str) -> ApiServer:
    """An API server on loopback with the Argo backend, and the demo projects apps go in."""
    projects = bootstrap_setting(env["ROLLWAY_CHART_REPO"])
    given = {**env, "ROLLWAY_BOOTSTRAP_PROJECTS": projects, "ROLLWAY_SUBMIT_GRACE": "0"}
    argo = {"url": argo_url, "namespace": namespace}
    return ApiServer(given, state, free_port(), ("argo", argo)).start()


@pytest.fixture
def server(
    platform: Context, devstack_env: dict[str, str], namespace: str, tmp_path: Path
) -> Iterator[ApiServer]:
    running = serving(devstack_env, tmp_path / "api", devstack_env["ROLLWAY_ARGO_SERVER_URL"],
                      namespace)  # fmt: skip
    yield running
    running.stop()


def registered(api: Api, devstack_env: dict[str, str]) -> str:
    name = f"e2e-{uuid.uuid4().hex[:6]}"
    api.register("alice", {
        "name": name,
        "environments": [{"name": "dev"}],
        # No step gets as far as the chart: the address host processes use will do.
        "chart": {"repo": devstack_env["ROLLWAY_CHART_REPO"], "path": "charts/app"},
        "artifact": HELLO,
    })  # fmt: skip
    return name


def deploy(api: Api, app: str) -> Any:
    return api.call("alice", "POST", f"/apps/{app}/deployments",
                    json={"env": "dev", "version": "1.0.0"})  # fmt: skip


def ends_failed(api: Api, deployment: str) -> dict[str, Any]:
    def record() -> dict[str, Any] | None:
        found = dict(api.call("alice", "GET", f"/deployments/{deployment}").json())
        return found if found["state"] not in ("pending", "running", "waiting") else None

    found = wait_for(f"deployment {deployment} to end", record,
                     timeout=SOONER_THAN_THE_STEP_DEADLINE, interval=1)  # fmt: skip
    assert found is not None and found["state"] == "failed", found
    return found


def one_line_naming(message: str, image: str) -> str:
    """The registry's answer, after checking the line names a first step and the image (as
    given, or as containerd writes a `name:tag@digest` reference: `name@digest`)."""
    assert "\n" not in message, message
    step, _, rest = message.partition(": ")
    assert step in FIRST_STEPS, message
    name, at, digest = image.partition("@")
    for ref in (image, f"{name.rsplit(':', 1)[0]}@{digest}" if at else image):
        prefix = f'image "{ref}" cannot be pulled: '
        if rest.startswith(prefix):
            return rest.removeprefix(prefix)
    raise AssertionError(f"{message!r} does not name {image}")


def workflow_phase(devstack_env: dict[str, str], namespace: str, name: str) -> str:
    argo = ArgoBackend(devstack_env["ROLLWAY_ARGO_SERVER_URL"], namespace=namespace)
    return argo.get(name).phase


def test_a_step_image_missing_from_the_registry_fails_the_deployment_naming_it(
    server: ApiServer, devstack_env: dict[str, str], namespace: str
) -> None:
    image = f"{registry_of(devstack_env['ROLLWAY_STEP_IMAGE'])}/rollway/rollway:no-such-tag"
    install(devstack_env, namespace, template(image))
    api = Api(devstack_env, server.url)
    answer = deploy(api, registered(api, devstack_env))
    assert answer.status_code == 201, answer.text

    failed = ends_failed(api, answer.json()["id"])

    assert one_line_naming(failed["message"], image).endswith(": not found")
    assert workflow_phase(devstack_env, namespace, failed["workflow"]) == "Failed"


def test_a_step_image_the_registry_refuses_fails_the_deployment_with_its_401(
    server: ApiServer, devstack_env: dict[str, str], namespace: str
) -> None:
    image = devstack_env["ROLLWAY_STEP_IMAGE"]
    install(devstack_env, namespace, template(image, pull_secret=BAD_LOGIN))
    api = Api(devstack_env, server.url)
    answer = deploy(api, registered(api, devstack_env))
    assert answer.status_code == 201, answer.text

    failed = ends_failed(api, answer.json()["id"])

    assert one_line_naming(failed["message"], image).endswith("401 Unauthorized")
    assert workflow_phase(devstack_env, namespace, failed["workflow"]) == "Failed"


# -- the Argo Server down ------------------------------------------------------------------------


class Forwarder(socketserver.ThreadingTCPServer):
    """A loopback port forwarding TCP to the real Argo Server. `off()` closes the port and every
    connection through it, as a server that went down; a new Forwarder on the same port is the
    server back."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, target: tuple[str, int]) -> None:
        self.target = target
        self.live: set[socket.socket] = set()
        super().__init__(("127.0.0.1", port), Pipe)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def off(self) -> None:
        self.shutdown()
        self.server_close()
        for conn in list(self.live):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Pipe(socketserver.BaseRequestHandler):
    server: Forwarder

    def handle(self) -> None:
        with socket.create_connection(self.server.target, timeout=30) as upstream:
            self.server.live.update((self.request, upstream))
            back = threading.Thread(target=copy, args=(upstream, self.request), daemon=True)
            back.start()
            copy(self.request, upstream)
            back.join(timeout=30)
            self.server.live.difference_update((self.request, upstream))


def copy(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def test_argo_server_down_answers_503_keeps_it_pending_and_submits_it_once_when_back(
    platform: Context, devstack_env: dict[str, str], namespace: str, tmp_path: Path
) -> None:
    install(devstack_env, namespace, template(
        f"{registry_of(devstack_env['ROLLWAY_STEP_IMAGE'])}/rollway/rollway:no-such-tag"))  # fmt: skip
    real = urlsplit(devstack_env["ROLLWAY_ARGO_SERVER_URL"])
    port = free_port()
    target = (real.hostname or "127.0.0.1", real.port or 80)
    forwarder = Forwarder(port, target)
    url = f"http://127.0.0.1:{port}"
    server = serving(devstack_env, tmp_path / "api", url, namespace)
    try:
        api = Api(devstack_env, server.url)
        by_api, by_cli = registered(api, devstack_env), registered(api, devstack_env)
        alice = logged_in(devstack_env, server.url, tmp_path)
        forwarder.off()

        answer = deploy(api, by_api)
        done = alice.run("deploy", by_cli, "--artifact", f"{HELLO}:1.0.0", "--env", "dev")

        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        problem = answer.json()
        assert f"Argo Server at {url} unreachable" in problem["detail"], problem
        assert done.returncode == 1
        assert f"Argo Server at {url} unreachable" in one_error_line(done.stderr)
        deployments = [problem["deploymentId"], pending_of(api, by_cli)]
        for deployment in deployments:
            wait_for("the reconciler to try again while Argo is down",
                     partial(tried, server, deployment, 3))  # fmt: skip
            record = api.call("alice", "GET", f"/deployments/{deployment}").json()
            assert (record["state"], record["workflow"]) == ("pending", None), record

        forwarder = Forwarder(port, target)
        argo = ArgoBackend(devstack_env["ROLLWAY_ARGO_SERVER_URL"], namespace=namespace)
        for deployment in deployments:
            ends_failed(api, deployment)  # the step image is missing: many passes later
            found = argo.list({"rollway.io/deployment-id": deployment})
            assert [w.name for w in found] == [deployment]
            submitted = f"deployment {deployment} submitted as workflow"
            assert server.log.read_text().count(submitted) == 1
    finally:
        server.stop()
        forwarder.off()


def tried(server: ApiServer, deployment: str, times: int) -> bool:
    """The server's log says it failed to submit `deployment` at least `times` times."""
    return server.log.read_text().count(f"deployment {deployment}: submission failed") >= times


def logged_in(devstack_env: dict[str, str], url: str, tmp_path: Path) -> Cli:
    config = tmp_path / "rollway" / "alice.yaml"
    env = {**environ_without_rollway(devstack_env), "ROLLWAY_CONFIG": str(config),
           "ROLLWAY_SERVER": url, "NO_COLOR": "1"}  # fmt: skip
    cli = Cli(env, config, devstack_env["DEVSTACK_USER_PASSWORD"])
    cli.login("alice")
    return cli


def pending_of(api: Api, app: str) -> str:
    """The one deployment of `app`, which must be pending."""
    (found,) = api.call("alice", "GET", "/deployments", params={"app": app}).json()["items"]
    assert found["state"] == "pending", found
    return str(found["id"])
