"""The production path on the devstack's real node: the real Argo Workflows controller runs
`rollway-deploy` in pods of Rollway's own image, the app's pods run `java -jar`, and real HTTP
answers through the Services prove each release: blue-green preview against active, promotion,
an abort that never reaches the active Service, and a rollback."""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from devstack.components.argo_workflows import SERVER_PORT
from devstack.stack import Context
from tests.e2e.flow import HELLO, Api, Kube, reaches, settled, settles
from tests.helpers import free_port, wait_for
from tests.integration.cli.harness import ApiServer, Cli, environ_without_rollway, status

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

#: Chart values that put the app's pods on the real node, small enough for two cores.
ON_REAL_NODE = {
    "nodeSelector": {"rollway.io/real": "true"},
    "tolerations": [{"key": "rollway.io/real", "operator": "Exists", "effect": "NoSchedule"}],
    "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}},
}
NAMESPACE = "rollway"


def kubectl(env: dict[str, str], *args: str) -> str:
    return subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


@pytest.fixture(scope="module")
def argo_apiserver(
    platform: Context, devstack_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    """`rollway-apiserver` with the Argo backend, submitting to the templates the chart installed
    in `rollway`; images are built to and from the registry as pods reach it."""
    from devstack.stack import up

    up(platform, ["rollway-release"])
    config = platform_config(devstack_env)
    env = {
        **devstack_env,
        "ROLLWAY_REGISTRY": config["registry"],
        "ROLLWAY_BASE_IMAGE": config["base-image"],
        "ROLLWAY_IMAGE_PROJECT": "apps",
    }
    argo = ("argo", {"url": f"http://127.0.0.1:{SERVER_PORT}", "namespace": NAMESPACE})
    server = ApiServer(env, tmp_path_factory.mktemp("argo-apiserver"), free_port(), argo)
    yield server.start()
    server.stop()


def platform_config(env: dict[str, str]) -> dict[str, str]:
    """The URLs pods reach the platform at (the ConfigMap the pipeline's steps read)."""
    found = kubectl(env, "-n", NAMESPACE, "get", "configmap", "rollway-platform", "-o", "json")
    return dict(json.loads(found)["data"])


@pytest.fixture
def register(argo_apiserver: ApiServer, devstack_env: dict[str, str]) -> Callable[[str], None]:
    """Register an app whose chart comes from the git server as pods reach it, whose pods run
    on the real node."""
    api = Api(devstack_env, argo_apiserver.url)

    def registered(name: str) -> None:
        api.register("alice", {
            "name": name,
            "environments": [{"name": "dev"}],
            "chart": {"repo": platform_config(devstack_env)["chart-repo"], "path": "charts/app"},
            "artifact": HELLO,
            "strategy": "bluegreen",
            "parameters": {"values": ON_REAL_NODE},
            "owningGroups": ["team-hello"],
        })  # fmt: skip

    return registered


@pytest.fixture
def alice(argo_apiserver: ApiServer, devstack_env: dict[str, str], tmp_path: Path) -> Cli:
    config = tmp_path / "rollway" / "alice.yaml"
    env = {
        **environ_without_rollway(devstack_env),
        "ROLLWAY_CONFIG": str(config),
        "ROLLWAY_SERVER": argo_apiserver.url,
        "NO_COLOR": "1",
    }
    cli = Cli(env, config, devstack_env["DEVSTACK_USER_PASSWORD"])
    cli.login("alice")
    return cli


class Answers:
    """GETs `/` of a Service every 50 ms from the host (kube-proxy routes it to a real pod) and
    records each answer body, until stopped."""

    def __init__(self, url: str) -> None:
        self.url, self.seen = url, list[str]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> Answers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _poll(self) -> None:
        with httpx.Client(timeout=2) as client:
            while not self._stop.is_set():
                with contextlib.suppress(httpx.HTTPError):
                    self.seen.append(client.get(self.url).text.strip())
                time.sleep(0.05)


def service_url(kube: Kube, namespace: str, name: str) -> str:
    spec = kube.service(namespace, name)["spec"]
    return f"http://{spec['clusterIP']}:{spec['ports'][0]['port']}/"


def answer(url: str) -> str:
    return httpx.get(url, timeout=5).text.strip()


def answers_with(url: str, body: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return answer(url) == body
        except httpx.HTTPError:
            return False

    return check


def test_bluegreen_on_argo_with_real_pods_preview_promote_then_rollback(
    alice: Cli, register: Callable[[str], None], app_name: str, kube: Kube
) -> None:
    ns = f"{app_name}-dev"
    register(app_name)
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    deployed = status(alice, app_name)
    assert deployed["deployment"]["state"] == "succeeded", deployed
    active = service_url(kube, ns, app_name)
    wait_for("the active Service answers 1.0.0", answers_with(active, "hello 1.0.0"), timeout=60)
    pods = kube.ready_pods(ns, kube.selector_hash(ns, app_name))
    assert pods and all(p["spec"]["nodeName"] == real_node(kube) for p in pods)

    with Answers(active) as watched:
        upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--strategy",
                            "bluegreen", "--wait")  # fmt: skip
        assert upgrade.returncode == 0, upgrade.stderr
        preview = service_url(kube, ns, f"{app_name}-preview")
        assert answer(preview) == "hello 1.1.0"
        assert answer(active) == "hello 1.0.0"
        before = len(watched.seen)
        assert set(watched.seen[:before]) == {"hello 1.0.0"}

        assert alice.run("promote", app_name).returncode == 0
        reaches(alice, app_name, settled("succeeded", "Healthy"), "promoted and Healthy")
        wait_for("the active Service answers 1.1.0", answers_with(active, "hello 1.1.0"),
                 timeout=60)  # fmt: skip
    after = watched.seen[before:]
    assert "hello 1.1.0" in after
    switched = after.index("hello 1.1.0")
    assert set(after[switched:]) == {"hello 1.1.0"}, "the active Service went back after the switch"

    back = alice.run("rollback", app_name)
    assert back.returncode == 0, back.stderr
    if settles(kube, ns, app_name) == "Paused":  # the old pods outlived their scale-down delay
        assert alice.run("promote", app_name).returncode == 0
    wait_for("the active Service answers 1.0.0 again", answers_with(active, "hello 1.0.0"),
             timeout=120)  # fmt: skip


def test_abort_on_argo_never_lets_the_active_service_answer_the_new_version(
    alice: Cli, register: Callable[[str], None], app_name: str, kube: Kube
) -> None:
    ns = f"{app_name}-dev"
    register(app_name)
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    active = service_url(kube, ns, app_name)
    wait_for("the active Service answers 1.0.0", answers_with(active, "hello 1.0.0"), timeout=60)

    with Answers(active) as watched:
        upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--wait")
        assert upgrade.returncode == 0, upgrade.stderr
        assert answer(service_url(kube, ns, f"{app_name}-preview")) == "hello 1.1.0"
        assert alice.run("abort", app_name).returncode == 0
        reaches(alice, app_name, lambda s: s["deployment"]["state"] == "aborted", "aborted")
        time.sleep(2)  # keep listening a little after the abort settled
    assert watched.seen and set(watched.seen) == {"hello 1.0.0"}


def real_node(kube: Kube) -> str:
    nodes = kube.core.list_node(label_selector="rollway.io/real=true").items
    assert nodes, "no real node"
    return str(nodes[0].metadata.name)
