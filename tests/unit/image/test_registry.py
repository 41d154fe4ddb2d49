"""The registry client's retries and uploads, through httpx's transport hook (no registry)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from rollway.errors import TransientError
from rollway.image import RegistryClient

DIGEST = "sha256:" + "ab" * 32


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> RegistryClient:
    return RegistryClient(
        "reg",
        url="http://reg",
        credentials=None,
        scopes=[],
        attempts=3,
        backoff=0,
        transport=httpx.MockTransport(handler),
    )


def test_a_server_fault_is_retried_then_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([503, 502, 200])
    with _client(lambda _: httpx.Response(next(answers))) as client:
        client.ping()
    retries = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(retries) == 2
    assert "answered 503" in retries[0] and "retrying in 0.0 s (attempt 2 of 3)" in retries[0]


def test_retries_run_out_as_a_transient_error() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429)

    with _client(handler) as client, pytest.raises(TransientError) as err:
        client.ping()
    assert len(calls) == 3
    assert "answered 429" in err.value.message
    assert err.value.message.endswith("(gave up after 3 attempts)")
    assert err.value.exit_code == 75


def test_a_file_is_uploaded_with_its_length_in_one_put(tmp_path: Path) -> None:
    blob = tmp_path / "blob"
    blob.write_bytes(bytes(range(256)) * 9000)  # several of the client's chunks
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/app/blobs/uploads/u1"})
        request.read()
        seen.append(request)
        return httpx.Response(201)

    with _client(handler) as client:
        client.upload_blob("app", DIGEST, blob)
    (put,) = seen
    assert put.method == "PUT" and put.url.params["digest"] == DIGEST
    assert put.headers["Content-Length"] == str(blob.stat().st_size)
    assert "Transfer-Encoding" not in put.headers
    assert put.content == blob.read_bytes()
