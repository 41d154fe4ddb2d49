"""Traffic during an analysis: GETs of `/` on each URL at a bounded rate, for at most a bounded
time, each on a connection of its own (kube-proxy picks a pod per connection), every answer
recorded. Only Service and pod addresses on the node bridge are ever given to it.

A connection refused is tried again, as `tests/e2e/traffic.sample` does: a pod the rollout just
scaled down keeps its address in kube-proxy's rules for up to a sync period (1 s). What is
measured is the answer."""

from __future__ import annotations

import dataclasses
import threading
import time

import httpx


@dataclasses.dataclass(frozen=True)
class Answer:
    url: str
    status: int  # 0: no answer (refused, reset, timed out)
    body: str


class Load:
    def __init__(self, urls: list[str], *, per_second: float = 10.0, limit: float = 600.0) -> None:
        self.urls, self.interval, self.limit = urls, 1.0 / per_second, limit
        self.answers: list[Answer] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(u,), daemon=True) for u in urls]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _send(self, url: str) -> None:
        deadline = time.monotonic() + self.limit
        while not self._stop.is_set() and time.monotonic() < deadline:
            started = time.monotonic()
            self.answers.append(self.answer(url))
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    @staticmethod
    def answer(url: str) -> Answer:
        """One GET, tried again while the connection is refused."""
        for _ in range(10):
            try:
                resp = httpx.get(url, timeout=5, headers={"Connection": "close"})
                return Answer(url, resp.status_code, resp.text.strip())
            except (httpx.ConnectError, httpx.ConnectTimeout):
                time.sleep(0.3)
            except httpx.HTTPError:
                break
        return Answer(url, 0, "")

    def of(self, url: str) -> list[Answer]:
        return [a for a in self.answers if a.url == url]
