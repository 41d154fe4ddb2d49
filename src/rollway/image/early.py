"""Uploading a new version's layer while it is still being deflated.

A tag the target repository lacks means a new version, and a new version's per-version layer
(a fat jar's one layer, Spring Boot's `application`) is new to the registry too: streaming it
up as it is written hides the deflate behind the upload. A tag the repository has means a
redeploy, whose layer the registry most likely holds: then nothing goes early, the finished
layer's digest is asked first like any other blob's, and 63 MB are not sent again for nothing.
"""

from __future__ import annotations

import concurrent.futures
import threading

from .growing import GrowingFile
from .registry import RegistryClient


class EarlyUploads:
    """Layers offered while they are written (the build's thread), started once `decide` says
    where to (the main thread): whichever of the two comes first waits for the other."""

    def __init__(self, pool: concurrent.futures.Executor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self._decided = False
        self._target: tuple[RegistryClient, str] | None = None
        self._offered: list[GrowingFile] = []
        self._started: list[tuple[GrowingFile, concurrent.futures.Future[None]]] = []

    def offer(self, growing: GrowingFile) -> None:
        """A per-version layer has begun to be written."""
        with self._lock:
            if self._decided:
                self._dispatch(growing)
            else:
                self._offered.append(growing)

    def decide(self, client: RegistryClient | None, repository: str) -> None:
        """Upload what is offered into `repository` through `client`; None: upload nothing."""
        with self._lock:
            self._decided = True
            self._target = (client, repository) if client is not None else None
            offered, self._offered = self._offered, []
            for growing in offered:
                self._dispatch(growing)

    def of(self, digest: str) -> concurrent.futures.Future[None] | None:
        """The early upload of the blob `digest`, if one was begun."""
        with self._lock:
            return next((up for grown, up in self._started if grown.digest == digest), None)

    def close(self) -> None:
        """Give up every read not finished (an upload whose bytes are all sent is unaffected)."""
        with self._lock:
            self._decided, self._target = True, None
            for growing in [*self._offered, *(grown for grown, _ in self._started)]:
                growing.close()
            self._offered = []

    def _dispatch(self, growing: GrowingFile) -> None:
        """Upload `growing` where `decide` said, or give its read up; the lock is held."""
        if self._target is None:
            growing.close()
            return
        client, repository = self._target
        upload = self._pool.submit(
            client.upload_growing, repository, growing.chunks(), lambda: growing.digest
        )
        self._started.append((growing, upload))
