"""Loopback listeners that play an attacker's host (or a hostile one the platform trusts) and
record every request that reaches them — what they must never receive is the assertion."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tests.support import loopback

#: The attacker's address, and a second one for the host that sends clients there.
ATTACKER = "127.0.0.7"
TRUSTED = "127.0.0.6"
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "private-token", "cookie")


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    #: As sent: the path with its query.
    path: str
    headers: dict[str, str]  # lower-case names

    @classmethod
    def of(cls, request: loopback.Request) -> Seen:
        return cls(request.method, request.target, request.headers)

    @property
    def credential(self) -> str | None:
        """The header that carries a credential, if any (its name, never its value)."""
        return next((h for h in CREDENTIAL_HEADERS if h in self.headers), None)


#: (status, headers) to answer a request with.
Answer = Callable[[Seen, str], tuple[int, dict[str, str]]]


class Listener(loopback.Loopback):
    """Records (method, path, headers) of every request on `host`; answers with `answer`."""

    def __init__(self, host: str, answer: Answer) -> None:
        self.answer = answer
        super().__init__(self._answer, host=host)

    def _answer(self, request: loopback.Request) -> loopback.Answer:
        status, headers = self.answer(Seen.of(request), self.url)
        return loopback.Answer(status, headers=headers)

    @property
    def seen(self) -> list[Seen]:
        return [Seen.of(request) for request in self.requests]

    @property
    def credentials(self) -> list[Seen]:
        return [s for s in self.seen if s.credential]


@contextmanager
def listening(host: str, answer: Answer = lambda seen, url: (404, {})) -> Iterator[Listener]:
    with loopback.running(Listener(host, answer)) as server:
        yield server


def redirect_to(target: Listener, status: int = 302) -> Answer:
    """Send every request on to the same path at `target`."""
    return lambda seen, url: (status, {"Location": f"{target.url}{seen.path}"})
