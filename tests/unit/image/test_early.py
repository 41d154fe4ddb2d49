"""Early uploads: a new tag's layer streams up while written; a redeploy's is never sent early."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rollway.image import RegistryClient
from rollway.image.early import EarlyUploads
from rollway.image.growing import Abandoned, GrowingFile
from tests.support.loopback import Answer, Request, serving


class Registry:
    """What the registry was asked, and the bytes each PATCH carried."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.patched = b""

    def __call__(self, request: Request) -> Answer:
        self.asked.append(f"{request.method} {request.target}")
        if request.method == "POST":
            return Answer(202, headers={"Location": "/v2/app/blobs/uploads/u?_state=1"})
        if request.method == "PATCH":
            self.patched += request.content
            return Answer(202, headers={"Location": "/v2/app/blobs/uploads/u?_state=2"})
        return Answer(201)

    @contextmanager
    def client(self) -> Iterator[RegistryClient]:
        with (
            serving(self) as server,
            RegistryClient(
                "reg", url=server.url, credentials=None, scopes=[], attempts=1
            ) as client,
        ):
            yield client


def _grow(path: Path) -> tuple[int, GrowingFile]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    return fd, GrowingFile(fd)


def test_a_layer_offered_before_the_decision_streams_up_once_it_is_made(tmp_path: Path) -> None:
    registry = Registry()
    data = os.urandom(100_000)
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    with registry.client() as client, concurrent.futures.ThreadPoolExecutor(2) as pool:
        early = EarlyUploads(pool)
        fd, growing = _grow(tmp_path / "blob")
        early.offer(growing)
        early.decide(client, "app")  # a new tag
        os.write(fd, data)
        growing.grew(len(data))
        growing.end(digest)
        upload = early.of(digest)
        assert upload is not None
        upload.result(5)
        early.close()
        os.close(fd)
    assert registry.patched == data
    assert registry.asked == [
        "POST /v2/app/blobs/uploads/",
        "PATCH /v2/app/blobs/uploads/u?_state=1",
        f"PUT /v2/app/blobs/uploads/u?_state=2&digest={digest.replace(':', '%3A')}",
    ]


def test_a_redeploy_sends_nothing_early(tmp_path: Path) -> None:
    registry = Registry()
    with registry.client(), concurrent.futures.ThreadPoolExecutor(2) as pool:
        early = EarlyUploads(pool)
        fd_before, before = _grow(tmp_path / "a")
        early.offer(before)
        early.decide(None, "app")  # the tag is there
        fd_after, after = _grow(tmp_path / "b")
        early.offer(after)
        for fd, growing in ((fd_before, before), (fd_after, after)):
            growing.end("sha256:" + "0" * 64)
            assert early.of(growing.digest or "") is None
            with pytest.raises(Abandoned):  # its read was given up
                next(growing.chunks())
            os.close(fd)
    assert registry.asked == []
