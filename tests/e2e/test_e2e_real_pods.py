"""The production path on the devstack's real node: Rollway installed by its own chart serves `app`
from its pod, the real Argo Workflows controller runs `rollway-deploy` in pods of Rollway's own
image, the app's pods run `java -jar`, and real HTTP answers through the Services prove each
release: blue-green preview against active, promotion, an abort that never reaches the active
Service, and a rollback."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from devstack.components.release import NAMESPACE as RELEASE_NAMESPACE
from devstack.components.release import api_url
from devstack.stack import Context, up
from tests.e2e.flow import HELLO, Api, Kube, reaches, settled, settles
from tests.helpers import wait_for
from tests.integration.cli.harness import Cli, environ_without_rollway, status
from tests.integration.workflows.platform import platform_config

pytestmark = [pytest.mark.integration, pytest.mark.real_pods]

#: Chart values that put the app's pods on the real node, small enough for two cores.
ON_REAL_NODE = {
    "nodeSelector": {"rollway.io/node": "real"},
    "tolerations": [{"key": "rollway.io/node", "operator": "Exists", "effect": "NoSchedule"}],
    "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}},
}


@pytest.fixture(scope="module")
def rollway(platform: Context, devstack_env: dict[str, str]) -> str:
    """Rollway as its chart installs it (`rollway-release`): the API server pod with the Argo
    backend, reached at its Service's address; its workflows report back to it from the cluster."""
    up(platform, ["rollway-release"])
    url = api_url(platform)
    wait_for(f"the in-cluster API server at {url}", lambda: ready(url), timeout=120)
    return url


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def register(rollway: str, devstack_env: dict[str, str]) -> Callable[..., None]:
    """Register an app whose chart comes from the git server as pods reach it, whose pods run
    on the real node."""
    api = Api(devstack_env, rollway)

    chart_repo = platform_config(devstack_env, RELEASE_NAMESPACE)["chart-repo"]

    def registered(name: str, strategy: str = "bluegreen", replicas: int = 2) -> None:
        api.register("alice", {
            "name": name,
            "environments": [{"name": "dev"}],
            "chart": {"repo": chart_repo, "path": "charts/app"},
            "artifact": HELLO,
            "strategy": strategy,
            "parameters": {"values": ON_REAL_NODE, "replicas": replicas},
            "owningGroups": ["team-hello"],
        })  # fmt: skip

    return registered


@pytest.fixture
def alice(rollway: str, devstack_env: dict[str, str], tmp_path: Path) -> Cli:
    config = tmp_path / "rollway" / "alice.yaml"
    env = {
        **environ_without_rollway(devstack_env),
        "ROLLWAY_CONFIG": str(config),
        "ROLLWAY_SERVER": rollway,
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
        while not self._stop.is_set():
            with contextlib.suppress(httpx.HTTPError):  # a new connection each time (see answer)
                self.seen.append(answer(self.url))
            time.sleep(0.05)


def service_url(kube: Kube, namespace: str, name: str) -> str:
    spec = kube.service(namespace, name)["spec"]
    return f"http://{spec['clusterIP']}:{spec['ports'][0]['port']}/"


def answer(url: str) -> str:
    """The body of one GET on a connection of its own: kube-proxy picks a pod per connection,
    so a kept-alive one would go on reaching a pod the Service no longer selects."""
    return httpx.get(url, timeout=5, headers={"Connection": "close"}).text.strip()


def answers_with(url: str, body: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return answer(url) == body
        except httpx.HTTPError:
            return False

    return check


def test_bluegreen_on_argo_with_real_pods_preview_promote_then_rollback(
    alice: Cli, register: Callable[..., None], app_name: str, kube: Kube
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
    alice: Cli, register: Callable[..., None], app_name: str, kube: Kube
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
    nodes = kube.core.list_node(label_selector="rollway.io/node=real").items
    assert nodes, "no real node"
    return str(nodes[0].metadata.name)


#: Requests per canary pause; each opens a new connection, so kube-proxy picks a pod each time.
SAMPLES = 200


def test_canary_on_argo_with_real_pods_serves_the_replica_split_at_each_pause(
    alice: Cli, register: Callable[..., None], app_name: str, kube: Kube
) -> None:
    """At each pause, the share of answers from the new version through the app's Service (it
    selects stable and canary pods: no traffic routing) matches the controller's replica split,
    within 4 standard deviations of a binomial draw of SAMPLES requests (at least 0.1)."""
    ns = f"{app_name}-dev"
    register(app_name, strategy="canary", replicas=4)
    alice.ok("deploy", app_name, "--artifact", f"{HELLO}:1.0.0", "--env", "dev", "--wait")
    service = service_url(kube, ns, app_name)
    wait_for("the Service answers 1.0.0", answers_with(service, "hello 1.0.0"), timeout=60)

    upgrade = alice.run("upgrade", app_name, "--version", "1.1.0", "--canary-steps", "25,50,100",
                        "--wait")  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    for step in (1, 3):
        rollout = paused_at(kube, ns, app_name, step)
        hashes = (rollout["status"]["currentPodHash"], rollout["status"]["stableRS"])
        counts = wait_for("the split to be ready", partial(ready_split, kube, ns, *hashes),
                          timeout=120)  # fmt: skip
        expected = counts[0] / sum(counts)
        answers = [sample(service) for _ in range(SAMPLES)]
        assert set(answers) <= {"hello 1.0.0", "hello 1.1.0"}, set(answers)
        share = answers.count("hello 1.1.0") / SAMPLES
        tolerance = max(0.1, 4 * math.sqrt(expected * (1 - expected) / SAMPLES))
        assert abs(share - expected) <= tolerance, (step, counts, share)
        assert alice.run("promote", app_name).returncode == 0
    reaches(alice, app_name, settled("succeeded", "Healthy"), "canary promoted to Healthy")
    wait_for("only 1.1.0 answers", lambda: {answer(service) for _ in range(20)} == {"hello 1.1.0"},
             timeout=120)  # fmt: skip


def sample(url: str) -> str:
    """One answer, trying again when the connection went to a pod that was just replaced (its
    address stays in the Service's rules for a moment): the answer is what is measured."""
    for _ in range(10):  # kube-proxy drops a gone pod's address within its sync period (1 s)
        with contextlib.suppress(httpx.ConnectError, httpx.ConnectTimeout):
            return answer(url)
        time.sleep(0.3)
    return answer(url)


def paused_at(kube: Kube, namespace: str, name: str, step: int) -> dict[str, Any]:
    def paused() -> dict[str, Any]:
        rollout = kube.rollout(namespace, name)
        status = rollout.get("status") or {}
        at = status.get("currentStepIndex") == step and status.get("pauseConditions")
        return rollout if at else {}

    return wait_for(f"{name} paused at step {step}", paused, timeout=180)


def ready_split(kube: Kube, namespace: str, canary: str, stable: str) -> tuple[int, int] | None:
    """(canary, stable) ready pods once every pod of both ReplicaSets is ready."""
    (c_want, c_ready), (s_want, s_ready) = (kube.replicas(namespace, canary),
                                            kube.replicas(namespace, stable))  # fmt: skip
    return (c_ready, s_ready) if (c_want, s_want) == (c_ready, s_ready) and c_ready else None
