"""The small HTTP client's request side: the Host it names, bodies streamed or chunked, and a
body whose source fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from rollway.transport import Client, TransportError
from tests.support.loopback import Answer, replying, serving


def _client(url: str) -> Client:
    return Client(url, timeout=5, connect_timeout=5, headers={})


def test_the_host_names_no_port_that_is_the_schemes_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a signed object-storage URL was signed; seen here through a proxy, which is told the
    whole URL."""
    with serving(lambda _: Answer(204)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        _client("http://storage.example").request("GET", "/blob")
        _client("http://storage.example:8080").request("GET", "/blob")
    default, other = proxy.requests
    assert (default.headers["host"], default.target) == (
        "storage.example",
        "http://storage.example/blob",
    )
    assert other.headers["host"] == "storage.example:8080"


def test_a_body_is_sent_whole_with_its_length_or_chunked() -> None:
    with serving(lambda _: Answer(201)) as server:
        client = _client(server.url)
        client.request("PUT", "/a?x=1", content=b"whole", params={"digest": "d"})
        client.request("PUT", "/b", content=iter([b"st", b"ream"]), headers={"Content-Length": "6"})
        client.request("PATCH", "/c", content=iter([b"chun", b"", b"ked"]))
        client.close()
    whole, streamed, chunked = server.requests
    assert (whole.target, whole.headers["content-length"], whole.content) == (
        "/a?x=1&digest=d",
        "5",
        b"whole",
    )
    assert (streamed.headers["content-length"], streamed.content) == ("6", b"stream")
    assert "transfer-encoding" not in streamed.headers
    assert (chunked.headers["transfer-encoding"], chunked.content) == ("chunked", b"chunked")
    assert whole.connection == streamed.connection == chunked.connection  # one kept connection


def test_a_body_whose_source_fails_cuts_the_exchange_and_its_connection() -> None:
    def failing() -> Iterator[bytes]:
        yield b"half"
        raise OSError("the file went away")

    with serving(lambda _: Answer(201)) as server:
        client = _client(server.url)
        client.request("GET", "/before")
        with pytest.raises(OSError, match="went away"):
            client.request("PATCH", "/upload", content=failing())
        client.request("GET", "/after")
        client.close()
    asked = {r.target: r.connection for r in server.requests}
    assert "/upload" not in asked  # never finished
    assert asked["/after"] != asked["/before"]


def test_an_answer_sent_before_the_body_was_read_is_the_answer() -> None:
    """A proxy refusing an upload too large (413) and closing says more than a broken pipe."""
    listener = socket.create_server(("127.0.0.1", 0))

    def refuse() -> None:
        conn, _ = listener.accept()
        with conn:
            while b"\r\n\r\n" not in conn.recv(65536):
                pass
            conn.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n")
            conn.shutdown(socket.SHUT_RDWR)

    threading.Thread(target=refuse, daemon=True).start()
    with listener:
        client = _client(f"http://127.0.0.1:{listener.getsockname()[1]}")
        big = iter([b"x" * (1 << 20)] * 64)
        answer = client.request("PUT", "/blob?_state=secret", content=big,
                                headers={"Content-Length": str(64 << 20)})  # fmt: skip
    assert (answer.status_code, answer.path) == (413, "/blob")  # never the query


def test_a_head_answer_says_chunked_yet_has_no_body() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDocker-Content-Digest: d\r\n\r\n"
    with replying(head) as url:
        answer = _client(url).request("HEAD", "/v2/app/manifests/1.0")
    assert (answer.status_code, answer.content, answer.headers.get("docker-content-digest")) == (
        200,
        b"",
        "d",
    )


def test_a_body_shorter_than_its_length_is_refused_and_a_closed_client_connects_again() -> None:
    with serving(lambda _: Answer(201)) as server:
        client = _client(server.url)
        with pytest.raises(TransportError, match="was 3 bytes, not the 5 declared"):
            client.request("PUT", "/short", content=iter([b"abc"]),
                           headers={"Content-Length": "5"})  # fmt: skip
        client.request("GET", "/one")
        client.close()
        client.request("GET", "/two")
        client.close()
    asked = {r.target: r.connection for r in server.requests}
    assert asked["/one"] != asked["/two"]
