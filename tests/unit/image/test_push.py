"""What a push asks a loopback registry: tag last, nothing twice."""

from __future__ import annotations

import concurrent.futures
import dataclasses
from collections.abc import Callable

from rollway.errors import TransientError
from rollway.image import RegistryClient
from rollway.image.config import digest_of
from rollway.image.push import Blob, push_image
from tests.support.loopback import Answer, Request, serving

MANIFEST = b'{"schemaVersion": 2}'
DIGEST = digest_of(MANIFEST)
BLOBS = [Blob("sha256:" + "a" * 64, 3, b"abc"), Blob("sha256:" + "b" * 64, 3, b"def")]


def _push(handler: Callable[[Request], Answer], blobs: list[Blob] = BLOBS) -> list[str]:
    """The requests a push of MANIFEST tagged 1.0 makes, as 'METHOD path'."""
    with (
        serving(handler) as server,
        RegistryClient("reg", url=server.url, credentials=None, scopes=[], attempts=1) as client,
    ):
        push_image(client, "app", blobs, MANIFEST, "application/json", "1.0")
    return [f"{r.method} {r.path}" for r in server.requests]


def test_a_manifest_the_repository_has_means_no_blob_is_checked() -> None:
    def registry(request: Request) -> Answer:
        assert request.method == "HEAD", request.target
        return Answer(200, headers={"Docker-Content-Digest": DIGEST})

    assert sorted(_push(registry)) == [f"HEAD /v2/app/manifests/{r}" for r in ("1.0", DIGEST)]


def empty_registry(request: Request) -> Answer:
    """A repository with nothing in it, which takes every upload."""
    if request.method == "HEAD":
        return Answer(404)
    if request.method == "POST":
        return Answer(202, headers={"Location": "/v2/app/blobs/uploads/u"})
    return Answer(201)


def test_otherwise_blobs_go_in_then_the_manifest_then_the_tag() -> None:
    seen = _push(empty_registry)
    puts = [r for r in seen if r.startswith("PUT")]
    assert sorted(puts[:2]) == ["PUT /v2/app/blobs/uploads/u"] * 2
    assert puts[2:] == ["PUT /v2/app/manifests/1.0"]  # stored and tagged in one request


def test_a_blob_whose_early_upload_failed_is_uploaded_again() -> None:
    failed: concurrent.futures.Future[None] = concurrent.futures.Future()
    failed.set_exception(TransientError("registry reg: PATCH … failed: connection reset"))
    done: concurrent.futures.Future[None] = concurrent.futures.Future()
    done.set_result(None)
    early = [dataclasses.replace(BLOBS[0], early=failed), dataclasses.replace(BLOBS[1], early=done)]
    seen = _push(empty_registry, early)
    assert f"HEAD /v2/app/blobs/{BLOBS[0].digest}" in seen  # uploaded the ordinary way
    assert f"HEAD /v2/app/blobs/{BLOBS[1].digest}" not in seen  # already there
    assert [r for r in seen if r.startswith("PUT /v2/app/blobs")] == ["PUT /v2/app/blobs/uploads/u"]
