"""Real HTTP answers through an app's Services, as the host reaches them (kube-proxy routes a
ClusterIP to a pod on the real node): what proves which version a Service serves."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

import httpx

from tests.e2e.flow import Kube

#: Chart values that put the app's pods on the real node, small enough for two cores.
ON_REAL_NODE = {
    "nodeSelector": {"rollway.io/node": "real"},
    "tolerations": [{"key": "rollway.io/node", "operator": "Exists", "effect": "NoSchedule"}],
    "resources": {"requests": {"cpu": "20m", "memory": "64Mi"}},
}


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


def sample(url: str) -> str:
    """One answer, trying again when the connection went to a pod that was just replaced (its
    address stays in the Service's rules for a moment): the answer is what is measured."""
    for _ in range(10):  # kube-proxy drops a gone pod's address within its sync period (1 s)
        with contextlib.suppress(httpx.ConnectError, httpx.ConnectTimeout):
            return answer(url)
        time.sleep(0.3)
    return answer(url)


def real_node(kube: Kube) -> str:
    nodes = kube.core.list_node(label_selector="rollway.io/node=real").items
    assert nodes, "no real node"
    return str(nodes[0].metadata.name)
