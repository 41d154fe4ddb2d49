"""An HTTP server on loopback that answers with a function of each request: the far side of a
client under test, in-process and in milliseconds, over a real socket. Also what tests build on
it: a webhook that records what it is sent."""

from __future__ import annotations

import dataclasses
import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit


@dataclasses.dataclass(frozen=True)
class Request:
    method: str
    #: As sent: a path, or a whole URL when the client speaks to a proxy.
    target: str
    headers: dict[str, str]  # lower-case names
    content: bytes
    #: The connection's number, in the order the server accepted them.
    connection: int

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query))

    def json(self) -> Any:
        return json.loads(self.content)


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Close the connection after answering, without saying so (as an idle timeout does).
    hang_up: bool = False


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None, *, hang_up: bool = False
) -> Answer:
    """`body` as JSON (a str as text/plain)."""
    if isinstance(body, str):
        kind, content = "text/plain", body.encode()
    else:
        kind, content = "application/json", b"" if body is None else json.dumps(body).encode()
    return Answer(status, content, {"Content-Type": kind, **(headers or {})}, hang_up)


Handler = Callable[[Request], Answer]


class Loopback(ThreadingHTTPServer):
    """Serves `handler` on `host` (TLS with `tls`); `requests` records what came."""

    daemon_threads = True

    def __init__(
        self, handler: Handler, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.requests: list[Request] = []
        self.connections = self.closed = 0
        server = self

        class Exchange(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                server.connections += 1
                self.number = server.connections

            def _body(self) -> bytes:
                if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                    chunks = []
                    while size := int(self._line().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    while self.rfile.readline().strip():  # trailers, then the empty line
                        pass
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _line(self) -> bytes:
                line = self.rfile.readline()
                if not line:
                    raise ConnectionAbortedError("the client cut its request short")
                return line

            def _any(self) -> None:
                try:
                    body = self._body()
                except ConnectionAbortedError:  # nothing to record, nobody to answer
                    self.close_connection = True
                    return
                request = Request(self.command, self.path,
                                  {k.lower(): v for k, v in self.headers.items()},
                                  body, self.number)  # fmt: skip
                server.requests.append(request)
                reply = handler(request)
                self.send_response(reply.status)
                for name, value in {
                    "Content-Length": str(len(reply.body)),
                    **reply.headers,
                }.items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)
                self.close_connection = self.close_connection or reply.hang_up

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        super().__init__((host, 0), Exchange)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.address = f"{host}:{self.server_address[1]}"
        self.url = f"{'https' if tls else 'http'}://{self.address}"

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed += 1


class Receiver(Loopback):
    """A webhook at `url` that records what it is sent (its headers, by lower-case name, and its
    JSON body), answering 503 to the first `failures`."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.failures = failures
        super().__init__(self._receive)
        self.url = f"{self.url}/hook"

    def _receive(self, request: Request) -> Answer:
        body = request.json()
        if self.failures > 0:
            self.failures -= 1
            return Answer(503)
        self.received.append((request.headers, body))
        return Answer(204)


Server = TypeVar("Server", bound=socketserver.BaseServer)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """`server` answering from a thread of its own until the block ends, then closed."""
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serving(handler: Handler, tls: ssl.SSLContext | None = None) -> Iterator[Loopback]:
    with running(Loopback(handler, tls)) as server:
        yield server


@contextmanager
def replying(*replies: bytes) -> Iterator[str]:
    """A server at the yielded `http://` URL that answers each connection's first request with
    the next of `replies`, byte for byte, then closes it: for what a well-behaved server would
    not send (chunks, a body ended by closing, a line too long)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        for reply in replies:
            conn, _ = listener.accept()
            with conn:
                request = b""
                while b"\r\n\r\n" not in request and (data := conn.recv(65536)):
                    request += data
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
