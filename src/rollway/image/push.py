"""Pushing an image so that a tag never points at a half-pushed one.

Every blob goes in first (skipped when the registry has it, mounted from the base image's
repository when possible, else uploaded or copied, or already on its way: an upload started
while the blob was still being written is waited for), and only then the manifest, by its tag
(the registry takes it only once it holds every blob it names; by digest when there is no tag).
A manifest the repository has already is not sent again: a tag that points elsewhere is moved to
it, and a rebuild of the same input checks no blob. A failure at any point leaves at most
unreferenced blobs, never a broken tag.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

from .config import digest_of
from .registry import RegistryClient

log = logging.getLogger(__name__)

#: Blobs pushed at once: enough to overlap round trips, few enough to be polite to Harbor.
PARALLEL_BLOBS = 4


@dataclasses.dataclass(frozen=True)
class Blob:
    """A blob the manifest references, and where its bytes are."""

    digest: str
    size: int
    #: The bytes: a local file (a built layer) or in memory (the config)…
    content: Path | bytes | None = None
    #: …or a repository of the image's base, to mount or copy from.
    source: tuple[RegistryClient, str] | None = None
    #: An upload of `content` begun while it was written; if it fails, `content` is uploaded.
    early: concurrent.futures.Future[None] | None = None


@dataclasses.dataclass
class PushStats:
    blobs_uploaded: int = 0
    bytes_uploaded: int = 0
    blobs_mounted: int = 0
    manifest_written: bool = False
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def pushed(self) -> bool:
        """Whether the registry had to take anything in (a rebuild of the same input: no)."""
        return bool(self.blobs_uploaded or self.blobs_mounted or self.manifest_written)

    def uploaded(self, size: int) -> None:
        with self._lock:
            self.blobs_uploaded += 1
            self.bytes_uploaded += size

    def mounted(self) -> None:
        with self._lock:
            self.blobs_mounted += 1


def push_image(
    client: RegistryClient,
    repository: str,
    blobs: Sequence[Blob],
    manifest: bytes,
    media_type: str,
    tag: str | None,
) -> tuple[str, PushStats]:
    """Push blobs, then the manifest by its tag (by digest without one); returns its digest."""
    stats = PushStats()
    digest = digest_of(manifest)
    with concurrent.futures.ThreadPoolExecutor(PARALLEL_BLOBS) as pool:
        # First whether the manifest and the tag are there already. A manifest the repository
        # holds has every blob it names (the registry checked them when it took the manifest,
        # and keeps what a manifest references), so a rebuild of the same input asks nothing
        # more; otherwise the blobs go in.
        had_manifest = pool.submit(client.manifest_digest, repository, digest)
        tagged = pool.submit(client.manifest_digest, repository, tag) if tag else None
        if had_manifest.result() is None:
            futures = [pool.submit(_push_blob, client, repository, blob, stats) for blob in blobs]
            try:
                for future in concurrent.futures.as_completed(futures):
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            # By the tag when there is one: the registry stores and tags it in one request, and
            # only once it holds every blob the manifest names.
            client.put_manifest(repository, tag or digest, manifest, media_type)
            stats.manifest_written = True
        elif tag and tagged is not None and tagged.result() != digest:
            client.put_manifest(repository, tag, manifest, media_type)
    return digest, stats


def _push_blob(client: RegistryClient, repository: str, blob: Blob, stats: PushStats) -> None:
    if blob.early is not None:
        try:
            blob.early.result()
        except Exception as err:  # noqa: BLE001 — any failure: the finished file is uploaded
            log.warning(
                "uploading %s while it was built failed (%s); uploading it", blob.digest, err
            )
        else:
            stats.uploaded(blob.size)
            return
    if client.has_blob(repository, blob.digest):
        return
    if blob.source is not None:
        source, source_repository = blob.source
        session = None
        if source is client:  # same registry: a mount copies nothing
            session = client.mount_blob(repository, blob.digest, source_repository)
            if session is None:
                stats.mounted()
                return
        client.copy_blob(source, source_repository, repository, blob.digest, blob.size, session)
    else:
        assert blob.content is not None
        client.upload_blob(repository, blob.digest, blob.content)
    stats.uploaded(blob.size)
