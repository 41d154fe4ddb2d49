"""Loopback listeners that play an attacker's host (or a hostile one the platform trusts) and
record every request that reaches them — what they must never receive is the assertion."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: The attacker's address, and a second one for the host that sends clients there.
ATTACKER = "127.0.0.7"
TRUSTED = "127.0.0.6"
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "private-token", "cookie")


@dataclasses.dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]

    @property
    def credential(self) -> str | None:
        """The header that carries a credential, if any (its name, never its value)."""
        return next((h for h in CREDENTIAL_HEADERS if h in self.headers), None)


#: (status, headers) to answer a request with.
Answer = Callable[[Seen, str], tuple[int, dict[str, str]]]


class Listener(ThreadingHTTPServer):
    """Records (method, path, headers) of every request on `host`; answers with `answer`."""

    def __init__(self, host: str, answer: Answer) -> None:
        self.seen: list[Seen] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _any(self) -> None:
                seen = Seen(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}
                )
                listener.seen.append(seen)
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                status, headers = answer(seen, listener.url)
                self.send_response(status)
                for name, value in {"Content-Length": "0", **headers}.items():
                    self.send_header(name, value)
                self.end_headers()

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        super().__init__((host, 0), Handler)
        self.address = f"{host}:{self.server_address[1]}"
        self.url = f"http://{self.address}"

    @property
    def credentials(self) -> list[Seen]:
        return [s for s in self.seen if s.credential]


@contextmanager
def listening(host: str, answer: Answer = lambda seen, url: (404, {})) -> Iterator[Listener]:
    server = Listener(host, answer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def redirect_to(target: Listener, status: int = 302) -> Answer:
    """Send every request on to the same path at `target`."""
    return lambda seen, url: (status, {"Location": f"{target.url}{seen.path}"})
