"""The small HTTP client's request side: the Host it names, bodies streamed or chunked, and a
body whose source fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rollway.transport import Client
from tests.support.loopback import Answer, serving


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
