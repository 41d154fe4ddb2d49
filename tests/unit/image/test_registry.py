"""The registry client's retries, uploads and redirects, against a loopback server."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rollway.errors import TransientError, UpstreamError
from rollway.image import Credentials, RegistryClient
from rollway.image.tls import trust_store
from tests.support.loopback import Answer, Handler, Loopback, Request, serving
from tests.support.tls import tls_server

DIGEST = "sha256:" + "ab" * 32
CREDS = Credentials("robot", "s3cret", "ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD")


@contextmanager
def _client(handler: Handler, **options: object) -> Iterator[tuple[RegistryClient, Loopback]]:
    with serving(handler) as server:
        client = RegistryClient(
            "reg", url=server.url, credentials=options.pop("credentials", None), scopes=[],
            attempts=3, backoff=0, **options,  # type: ignore[arg-type]
        )  # fmt: skip
        with client:
            yield client, server


def test_a_server_fault_is_retried_then_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([503, 502, 200])
    with _client(lambda _: Answer(next(answers))) as (client, _):
        client.ping()
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert "answered 503" in retries[0] and "retrying in 0.0 s (attempt 2 of 3)" in retries[0]


def test_retries_run_out_as_a_transient_error() -> None:
    with _client(lambda _: Answer(429)) as (client, server), pytest.raises(TransientError) as err:
        client.ping()
    assert len(server.requests) == 3
    assert "answered 429" in err.value.message
    assert err.value.message.endswith("(gave up after 3 attempts)")
    assert err.value.exit_code == 75


def test_a_file_is_uploaded_with_its_length_in_one_put(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 9000)  # several of the client's chunks

    def registry(request: Request) -> Answer:
        if request.method == "POST":
            return Answer(202, headers={"Location": "/v2/app/blobs/uploads/u1?_state=s"})
        return Answer(201)

    with _client(registry) as (client, server):
        client.upload_blob("app", DIGEST, blob)
    _, put = server.requests
    assert put.method == "PUT" and put.query == {"_state": "s", "digest": DIGEST}
    assert put.headers["content-length"] == str(blob.stat().st_size)
    assert "transfer-encoding" not in put.headers
    assert put.content == blob.read_bytes()


def test_a_growing_blob_streams_chunked_then_is_closed_by_digest() -> None:
    def registry(request: Request) -> Answer:
        if request.method in ("POST", "PATCH"):
            return Answer(
                202, headers={"Location": f"/v2/app/blobs/uploads/u?_state={request.method}"}
            )
        return Answer(201)

    with _client(registry) as (client, server):
        client.upload_growing("app", iter([b"ab", b"", b"cd"]), lambda: DIGEST)
    _, patch, put = server.requests
    assert patch.headers["transfer-encoding"] == "chunked" and patch.content == b"abcd"
    assert put.query == {"_state": "PATCH", "digest": DIGEST} and put.content == b""


def test_a_challenge_is_answered_once_then_the_credentials_go_up_front() -> None:
    def registry(request: Request) -> Answer:
        if "authorization" not in request.headers:
            return Answer(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return Answer(200, headers={"Docker-Content-Digest": DIGEST})

    with _client(registry, credentials=CREDS) as (client, server):
        client.ping()
        assert client.manifest_digest("app", "1.0") == DIGEST
    assert ["authorization" in r.headers for r in server.requests] == [False, True, True]


def test_an_upload_moved_to_another_host_is_refused() -> None:
    with serving(lambda _: Answer(500)) as elsewhere:
        moved = Answer(202, headers={"Location": f"{elsewhere.url}/v2/app/blobs/uploads/u"})
        refused = pytest.raises(UpstreamError, match="moved an upload to another host")
        with _client(lambda _: moved, credentials=CREDS) as (client, _), refused:
            client.upload_blob("app", DIGEST, b"abc")
    assert elsewhere.requests == []


def test_a_blob_redirected_elsewhere_is_fetched_there_without_the_credentials() -> None:
    with serving(lambda _: Answer(200, b"{}")) as storage:

        def registry(request: Request) -> Answer:
            if "authorization" not in request.headers:
                return Answer(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
            return Answer(307, headers={"Location": f"{storage.url}/blob?sig=1"})

        config = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        with _client(registry, credentials=CREDS) as (client, _):
            assert client.get_blob("app", config) == b"{}"
            with client.open_blob("app", config) as chunks:
                assert b"".join(chunks) == b"{}"
        refused = pytest.raises(UpstreamError, match="redirected to another host")
        with (
            _client(registry, credentials=CREDS, redirects_elsewhere=False) as (client, _),
            refused,
        ):
            client.get_blob("app", config)
    assert [r.target for r in storage.requests] == ["/blob?sig=1"] * 2
    assert all("authorization" not in r.headers for r in storage.requests)


def test_tls_is_verified_against_the_trust_store_handed_in(tmp_path: Path) -> None:
    context, cert = tls_server(tmp_path)
    with serving(lambda _: Answer(200), context) as server:
        client = RegistryClient(
            "127.0.0.1", url=server.url, credentials=None, scopes=[], attempts=1,
            trust=trust_store({"SSL_CERT_FILE": str(cert)}),
        )  # fmt: skip
        with client:
            client.ping()
        untrusted = RegistryClient(
            "127.0.0.1", url=server.url, credentials=None, scopes=[], attempts=1,
            trust=trust_store({}),
        )  # fmt: skip
        with untrusted, pytest.raises(TransientError, match="self-signed certificate"):
            untrusted.ping()


def test_a_manifest_stored_under_another_digest_is_an_error() -> None:
    stored = {"Docker-Content-Digest": DIGEST}
    refused = pytest.raises(UpstreamError, match=f"stored the manifest of app:1.0 as {DIGEST}")
    with _client(lambda _: Answer(201, headers=stored)) as (client, _), refused:
        client.put_manifest("app", "1.0", b"{}", "application/json")


def test_a_token_service_at_the_hosts_root_is_asked_at_slash() -> None:
    def registry(request: Request) -> Answer:
        if request.path == "/":
            return Answer(200, b'{"token": "t"}')
        if request.headers.get("authorization") != "Bearer t":
            return Answer(401, headers={"WWW-Authenticate": f'Bearer realm="{realm[0]}"'})
        return Answer(200)

    realm: list[str] = []
    with _client(registry, credentials=CREDS) as (client, server):
        realm.append(server.url)  # the realm has no path at all
        client.ping()
    assert [r.target.split("?")[0] for r in server.requests] == ["/v2/", "/", "/v2/"]
