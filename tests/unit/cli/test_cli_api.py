"""The CLI's API client against loopback servers that play the API: problem+json and other
failures become one Rollway error, a 401 is retried once with a renewed token, a kept
connection the server closed is replaced, bodies sized by length, by chunks or by the end of the
connection arrive whole or line by line, an answer that breaks the protocol is one line, TLS is
verified, and the proxy variables are honoured (plain HTTP and CONNECT tunnels). (The CLI against
the real API server is tests/integration/cli.)"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from rollway.cli import api as api_module
from rollway.cli.api import Api
from rollway.cli.config import Config, Context, Credentials
from rollway.cli.errors import Unreachable
from rollway.cli.session import Session
from rollway.errors import InvalidInput, NotFound, RollwayError
from tests.support.helpers import free_port, wait_for
from tests.support.loopback import Answer, Loopback, Request, answer, replying, serving
from tests.support.tls import tls_server

ITEMS = {"items": []}


class Renewing(Session):
    """A session whose token renewal is counted instead of asking Keycloak."""

    renewals = 0

    def access_token(self, *, renew: bool = False) -> str:
        if renew:
            self.renewals += 1
        return f"token-{self.renewals}"


def client(server: str, flags: dict[str, str] | None = None) -> tuple[Api, Renewing]:
    creds = Credentials("password", "rollway-cli", "token-0", 0.0)
    context = Context("test", server=server, credentials=creds)
    session = Renewing(Config(Path("/never/written.yaml")), context, server, None, None)
    return Api(session, flags or {}), session


Serve = Callable[..., Loopback]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(handler, tls=None)`: a loopback server answering with `handler`."""
    with ExitStack() as stack:
        yield lambda handler, tls=None: stack.enter_context(serving(handler, tls))


def test_a_401_is_retried_once_with_a_renewed_token(serve: Serve) -> None:
    def handler(request: Request) -> Answer:
        if request.headers["authorization"] == "Bearer token-0":
            return answer(401, {"detail": "token expired"})
        return answer(200, ITEMS)

    server = serve(handler)
    api, session = client(server.url)
    assert api.get("/apps") == ITEMS
    assert [r.headers["authorization"] for r in server.requests] == ["Bearer token-0",
                                                                     "Bearer token-1"]  # fmt: skip
    assert session.renewals == 1
    assert server.requests[0].headers["user-agent"].startswith("rollway-cli/")


def test_requests_carry_their_query_and_json_body_on_one_kept_connection(serve: Serve) -> None:
    server = serve(lambda request: answer(201, {"id": "hello-1"}))
    api, _ = client(server.url)

    api.get("/deployments", app="hello", env=None, limit=1)
    created = api.post("/apps/hello/deployments", {"env": "dev", "version": "1.0.0"})

    first, second = server.requests
    assert (first.method, first.path, first.query) == ("GET", "/api/v1/deployments",
                                                       {"app": "hello", "limit": "1"})  # fmt: skip
    assert (second.method, second.json()) == ("POST", {"env": "dev", "version": "1.0.0"})
    assert second.headers["content-type"] == "application/json"
    assert created.status_code == 201 and created.json() == {"id": "hello-1"}
    assert server.connections == 1


def test_a_connection_the_server_closed_is_replaced(serve: Serve) -> None:
    server = serve(lambda request: answer(200, ITEMS, hang_up=request.connection == 1))
    api, _ = client(server.url)

    assert api.get("/apps") == ITEMS
    wait_for("the server to hang up", lambda: server.closed == 1)
    assert api.get("/apps") == ITEMS  # the kept socket holds only the server's EOF
    assert [r.connection for r in server.requests] == [1, 2]


def test_a_server_gone_away_is_refused_each_time_it_is_asked() -> None:
    """`--wait` asks again and again while its server restarts: every ask is a clean refusal."""
    with serving(lambda request: answer(200, ITEMS, hang_up=True)) as server:
        api, _ = client(server.url)
        assert api.get("/apps") == ITEMS
        wait_for("the server to hang up", lambda: server.closed == 1)
    for _ in range(2):
        with pytest.raises(Unreachable, match="connection refused"):
            api.get("/apps")


def test_a_problem_names_the_flag_the_field_came_from(serve: Serve) -> None:
    body = {"status": 422, "detail": "body.version: must be a version", "field": "body.version"}
    server = serve(lambda request: answer(422, body))
    api, _ = client(server.url, {"body.version": "--version"})
    with pytest.raises(InvalidInput) as err:
        api.post("/apps/hello/deployments", {"version": "x y"})
    assert str(err.value) == "--version: must be a version"


def test_an_answer_that_is_not_a_problem_says_what_came_back_for_which_path(
    serve: Serve,
) -> None:
    api, _ = client(serve(lambda request: answer(502, "<html>bad gateway")).url)
    with pytest.raises(RollwayError) as err:
        api.get("/apps/hello", step="build")
    assert "HTTP 502 Bad Gateway to /api/v1/apps/hello" in str(err.value)
    assert err.value.exit_code == 1


def test_a_404_problem_is_not_found(serve: Serve) -> None:
    api, _ = client(serve(lambda request: answer(404, {"detail": "no app"})).url)
    with pytest.raises(NotFound, match="no app"):
        api.get("/apps/nope")


def test_streamed_lines_arrive_and_a_refused_stream_is_its_problem(serve: Serve) -> None:
    def handler(request: Request) -> Answer:
        if request.query.get("step") == "nope":
            return answer(404, {"detail": "no step 'nope'"})
        return answer(200, "build: one\r\nbuild: two\n")

    api, _ = client(serve(handler).url)
    assert list(api.lines("/deployments/d/logs", step="build", follow=None)) == [
        "build: one", "build: two",
    ]  # fmt: skip
    with pytest.raises(NotFound, match="no step 'nope'"):
        list(api.lines("/deployments/d/logs", step="nope"))


def test_a_server_that_refuses_the_connection_is_named() -> None:
    server = f"http://127.0.0.1:{free_port()}"
    api, _ = client(server)
    with pytest.raises(Unreachable) as err:
        api.get("/apps")
    assert str(err.value) == f"cannot reach the Rollway API server at {server}: connection refused"


def test_a_server_that_does_not_answer_in_time_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "TIMEOUT", 0.2)
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        server = f"http://127.0.0.1:{silent.getsockname()[1]}"
        api, _ = client(server)
        with pytest.raises(Unreachable) as err:
            api.get("/apps")
    assert str(err.value) == f"the Rollway API server at {server} did not answer in time"


def test_a_server_url_that_is_not_http_is_named() -> None:
    api, _ = client("ftp://api.test")
    with pytest.raises(Unreachable, match="must be http:// or https://"):
        api.get("/apps")


def test_tls_is_verified_against_the_trust_store_ssl_cert_file_names(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, cert = tls_server(tmp_path)
    server = serve(lambda request: answer(200, ITEMS), context)
    assert server.url.startswith("https://")

    with pytest.raises(Unreachable, match="certificate verify failed|self-signed"):
        client(server.url)[0].get("/apps")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert client(server.url)[0].get("/apps") == ITEMS


def test_the_proxy_variables_route_requests_and_no_proxy_bypasses_it(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin = serve(lambda request: answer(200, {"via": "origin"}))
    proxy = serve(lambda request: answer(200, {"via": "proxy"}))
    monkeypatch.setenv("HTTP_PROXY", f"http://ops:p%40ss@127.0.0.1:{proxy.server_address[1]}")

    assert client(origin.url)[0].get("/apps") == {"via": "proxy"}
    [seen] = proxy.requests
    assert seen.target == f"{origin.url}/api/v1/apps"  # the whole URL, as a proxy needs
    assert seen.headers["proxy-authorization"] == "Basic b3BzOnBAc3M="  # ops:p@ss
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert client(origin.url)[0].get("/apps") == {"via": "origin"}
    assert "proxy-authorization" not in origin.requests[0].headers


@contextmanager
def tunnelling_proxy(status: int = 200) -> Iterator[tuple[str, list[bytes]]]:
    """A proxy at the yielded address that answers CONNECT with `status` and, on 200, relays
    bytes both ways to the host named; the list records each CONNECT's head."""
    listener = socket.create_server(("127.0.0.1", 0))
    heads: list[bytes] = []

    def relay(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(1)
                heads.append(head)
                if status != 200:
                    conn.sendall(f"HTTP/1.1 {status} No\r\nContent-Length: 0\r\n\r\n".encode())
                    conn.close()
                    continue
                host, port = head.split(b" ")[1].decode().rsplit(":", 1)
                origin = socket.create_connection((host, int(port)))
                conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                threading.Thread(target=relay, args=(conn, origin), daemon=True).start()
                threading.Thread(target=relay, args=(origin, conn), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}", heads
    finally:
        listener.close()


def test_https_goes_through_the_proxys_tunnel_and_tls_is_end_to_end(
    serve: Serve, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    context, cert = tls_server(tmp_path)
    origin = serve(lambda request: answer(200, ITEMS), context)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    with tunnelling_proxy() as (proxy, heads):
        monkeypatch.setenv("HTTPS_PROXY", f"http://ops:secret@{proxy}")
        assert client(origin.url)[0].get("/apps") == ITEMS
    [head] = heads
    assert head.startswith(f"CONNECT {origin.address} HTTP/1.1\r\n".encode())
    assert b"Proxy-Authorization: Basic b3BzOnNlY3JldA==" in head  # ops:secret, to the proxy
    assert "proxy-authorization" not in origin.requests[0].headers  # and never past it


def test_a_proxy_that_refuses_the_tunnel_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with tunnelling_proxy(status=407) as (proxy, _):
        monkeypatch.setenv("HTTPS_PROXY", f"http://{proxy}")
        with pytest.raises(Unreachable, match=r"the proxy refused a tunnel to api.test:443 \(407"):
            client("https://api.test")[0].get("/apps")


def test_chunked_and_connection_ended_bodies_are_read_whole_and_line_by_line() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"7\r\nbuild: \r\n4;ext=1\r\none\n\r\n9\r\nbuild: tw\r\n2\r\no\n\r\n0\r\nX-T: 1\r\n\r\n"
    )
    ended = b"HTTP/1.0 200 OK\r\n\r\nbuild: one\nbuild: two"
    with replying(chunked, ended, b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
                  b'5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n') as server:  # fmt: skip
        api, _ = client(server)
        assert list(api.lines("/logs")) == ["build: one", "build: two"]
        assert list(api.lines("/logs")) == ["build: one", "build: two"]
        assert api.get("/apps") == {"a": 1}


@pytest.mark.parametrize(
    ("reply", "says"),
    [(b"SSH-2.0-OpenSSH_9.6\r\n", "did not answer in HTTP"),
     (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "broke mid-answer"),
     (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "malformed chunk"),
     (b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n", "line too long"),
     (b"", "the server closed it")],
)  # fmt: skip
def test_an_answer_that_breaks_the_protocol_is_one_line(reply: bytes, says: str) -> None:
    with replying(reply) as server, pytest.raises(Unreachable, match=says):
        client(server)[0].get("/apps")


def test_a_header_with_a_line_break_is_never_sent(serve: Serve) -> None:
    server = serve(lambda request: answer(200, ITEMS))
    api, _ = client(server.url)
    with pytest.raises(Unreachable, match="If-Match header is not a valid header"):
        api.put("/apps/hello", {}, headers={"If-Match": '"1"\r\nX-Injected: yes'})
    assert server.requests == []
