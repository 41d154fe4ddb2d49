"""A client for one registry's distribution API (what Harbor, distribution and Docker Hub serve).

Each call is retried with exponential backoff and jitter on a 5xx, a 429 or a dropped
connection, and becomes a TransientError (exit 75: retry the step) when retries run out.
(A loop of our own, not tenacity: tenacity imports asyncio, a third of a rebuild's startup.)
A 401 or 403 becomes an error naming the registry; credentials never appear in a message.
Requests go over `rollway.transport` (httpx's import was a fifth of a rebuild). The credentials
go only to the registry's own origin: an upload session elsewhere is refused, and a blob
redirected to another host (object storage) is fetched there without them.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import logging
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

from .. import __version__
from ..destinations import origin
from ..errors import Forbidden, NotFound, TransientError, Unauthorized, UpstreamError
from ..transport import Client, Content, Response, Stream, TransportError
from . import media
from .auth import RegistryAuth, refused
from .credentials import Credentials

if TYPE_CHECKING:  # a trust store is handed in; plain HTTP never loads TLS
    import ssl

log = logging.getLogger(__name__)
T = TypeVar("T")
Answer = TypeVar("Answer", Response, Stream)

#: Largest manifest or config read into memory (Docker Hub's own manifest limit is 4 MiB).
MAX_DOCUMENT = 8 << 20
_CHUNK = 1 << 20
#: Redirects followed for one GET or HEAD.
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def registry_url(registry: str, env: Mapping[str, str] | None = None) -> str:
    """Where `registry`'s API answers: `$ROLLWAY_REGISTRY_URL` when it names that host,
    plain HTTP on loopback (as Docker allows), else HTTPS."""
    env = os.environ if env is None else env
    configured = env.get("ROLLWAY_REGISTRY_URL", "")
    if configured and urlsplit(configured).netloc == registry:
        return configured.rstrip("/")
    host = urlsplit(f"//{registry}").hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return f"{'http' if loopback else 'https'}://{registry}"


class RegistryClient:
    """Blob and manifest operations on one registry, for the repositories in `scopes`."""

    def __init__(
        self,
        registry: str,
        *,
        url: str,
        credentials: Credentials | None,
        scopes: Iterable[str],
        attempts: int = 5,
        backoff: float = 0.5,
        redirects_elsewhere: bool = True,
        trust: ssl.SSLContext | None = None,
    ) -> None:
        """`redirects_elsewhere` False: a redirect to another host is an error (the API
        server's own requests); True: followed without the credentials, as blob GETs
        redirected to object storage need. `trust`: the certificates TLS is verified against
        (`tls.trust_store`, shared by a build's clients), else the system's."""
        self.registry = registry
        self.credentials = credentials
        self.url = url.rstrip("/")
        self.redirects_elsewhere = redirects_elsewhere
        self.attempts = attempts
        self.backoff = backoff
        self._trust = trust
        self._origin = origin(self.url)
        parts = urlsplit(self.url)
        self._http = self._client(f"{parts.scheme}://{parts.netloc}")  # paths are whole
        self._auth = RegistryAuth(registry, credentials, scopes, self._fetch_token)

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- operations -----------------------------------------------------------------------------

    def ping(self) -> None:
        """GET /v2/: checks the registry is there and settles authentication before any work."""
        self._retry(lambda: self._expect(self._send("GET", "/v2/"), {200}, "answer /v2/"))

    def get_manifest(self, repository: str, ref: str) -> tuple[bytes, str, str]:
        """(body, media type, digest) of a manifest or index; a missing one is NotFound."""

        def attempt() -> tuple[bytes, str, str]:
            response = self._send(
                "GET", f"/v2/{repository}/manifests/{ref}", headers={"Accept": media.ACCEPT}
            )
            if response.status_code == 404:
                at = "@" if ref.startswith("sha256:") else ":"
                raise NotFound(f"image {self.registry}/{repository}{at}{ref} does not exist")
            self._expect(response, {200}, f"read manifest {repository}:{ref}")
            body = response.content
            if len(body) > MAX_DOCUMENT:
                raise UpstreamError(f"{self.registry}/{repository}:{ref}: manifest too large")
            digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
            if ref.startswith("sha256:") and digest != ref:
                raise UpstreamError(
                    f"{self.registry}/{repository}@{ref}: manifest digest is {digest}"
                )
            kind = (response.headers.get("Content-Type") or "").split(";")[0].strip()
            return body, kind, digest

        return self._retry(attempt)

    def get_blob(self, repository: str, digest: str) -> bytes:
        """A small blob (an image config), checked against its digest."""

        def attempt() -> bytes:
            response = self._send("GET", f"/v2/{repository}/blobs/{digest}")
            if response.status_code == 404:
                raise NotFound(f"blob {digest} is missing from {self.registry}/{repository}")
            self._expect(response, {200}, f"read blob {digest} of {repository}")
            if len(response.content) > MAX_DOCUMENT:
                raise UpstreamError(
                    f"{self.registry}/{repository}: {digest} is too large for a config"
                )
            if f"sha256:{hashlib.sha256(response.content).hexdigest()}" != digest:
                raise UpstreamError(
                    f"{self.registry}/{repository}: blob {digest} does not match its digest"
                )
            return response.content

        return self._retry(attempt)

    def has_blob(self, repository: str, digest: str) -> bool:
        def attempt() -> bool:
            response = self._send("HEAD", f"/v2/{repository}/blobs/{digest}")
            if response.status_code == 404:
                return False
            self._expect(response, {200}, f"check blob {digest} in {repository}")
            return True

        return self._retry(attempt)

    def manifest_digest(self, repository: str, ref: str) -> str | None:
        """The digest `ref` (a tag or digest) points at in `repository`, None when absent."""

        def attempt() -> str | None:
            response = self._send(
                "HEAD", f"/v2/{repository}/manifests/{ref}", headers={"Accept": media.ACCEPT}
            )
            if response.status_code == 404:
                return None
            self._expect(response, {200}, f"check manifest {repository}:{ref}")
            return response.headers.get("Docker-Content-Digest")

        return self._retry(attempt)

    def mount_blob(self, repository: str, digest: str, source: str) -> str | None:
        """Cross-repository mount from `source`; None when mounted, else the upload session
        the registry opened instead (a registry may decline, e.g. without pull on `source`)."""

        def attempt() -> str | None:
            query = urlencode({"mount": digest, "from": source})
            response = self._send("POST", f"/v2/{repository}/blobs/uploads/?{query}")
            if response.status_code == 201:
                return None
            self._expect(response, {202}, f"mount {digest} into {repository}")
            return self._location(response)

        return self._retry(attempt)

    def upload_blob(self, repository: str, digest: str, content: Path | bytes) -> None:
        """Upload a blob: POST opens a session, one PUT ?digest= streams the file and closes it."""

        def attempt() -> None:
            location = self._start_upload(repository)
            if isinstance(content, bytes):
                self._finish_upload(location, digest, content, repository)
                return
            with content.open("rb") as body:  # streamed in MiB chunks
                chunks = iter(lambda: body.read(_CHUNK), b"")
                size = {"Content-Length": str(os.fstat(body.fileno()).st_size)}
                self._finish_upload(location, digest, chunks, repository, headers=size)

        self._retry(attempt)

    def upload_growing(
        self, repository: str, chunks: Iterable[bytes], digest: Callable[[], str | None]
    ) -> None:
        """Upload a blob whose digest is known only once its last byte is: POST opens a
        session, one PATCH streams the bytes as they come (chunked), PUT ?digest= closes it.

        Not retried — the bytes come once; a caller that sees it fail uploads the finished
        file with `upload_blob`."""
        location = self._start_upload(repository)
        response = self._send(
            "PATCH", location, content=chunks, headers={"Content-Type": "application/octet-stream"}
        )
        self._expect(response, {202}, f"stream an upload to {repository}")
        end = digest()
        if end is None:
            raise UpstreamError(f"the blob streamed to {repository} was never finished")
        self._finish_upload(self._location(response), end, b"", repository)

    def copy_blob(
        self,
        source: RegistryClient,
        source_repository: str,
        repository: str,
        digest: str,
        size: int,
        location: str | None = None,
    ) -> None:
        """Stream a blob from `source` into `repository`, chunk by chunk, never whole in memory.

        `location` is an upload session already open (from a declined mount); used once.
        """
        sessions = [location] if location else []

        def attempt() -> None:
            with source.open_blob(source_repository, digest) as chunks:
                where = sessions.pop() if sessions else self._start_upload(repository)
                self._finish_upload(
                    where, digest, chunks, repository, headers={"Content-Length": str(size)}
                )

        self._retry(attempt)

    def put_manifest(self, repository: str, ref: str, body: bytes, media_type: str) -> None:
        """Write a manifest by tag or digest; the digest the registry stored it under must be
        the one of these bytes."""
        expected = f"sha256:{hashlib.sha256(body).hexdigest()}"

        def attempt() -> None:
            response = self._send(
                "PUT",
                f"/v2/{repository}/manifests/{ref}",
                content=body,
                headers={"Content-Type": media_type},
            )
            self._expect(response, {200, 201}, f"write manifest {repository}:{ref}")
            stored = response.headers.get("Docker-Content-Digest")
            if stored and stored != expected:
                raise UpstreamError(
                    f"registry {self.registry} stored the manifest of {repository}:{ref} as "
                    f"{stored}, not {expected}"
                )

        self._retry(attempt)

    @contextlib.contextmanager
    def open_blob(self, repository: str, digest: str) -> Iterator[Iterator[bytes]]:
        """`with client.open_blob(repo, digest) as chunks:` — a blob's bytes, streamed."""
        url = f"{self.url}/v2/{repository}/blobs/{digest}"
        for _ in range(MAX_REDIRECTS + 1):
            client, target, home = self._route(url)
            headers = self._authorization() if home else {}
            with (
                self._failures("GET", target),
                client.stream(
                    "GET", target, headers=headers, read_timeout=client.timeout
                ) as stream,
            ):
                if stream.status_code in _REDIRECTS and stream.headers.get("Location"):
                    url = urljoin(url, stream.headers["Location"])
                    continue
                if stream.status_code == 404:
                    raise NotFound(f"blob {digest} is missing from {self.registry}/{repository}")
                self._check(stream, "GET")
                self._expect(stream, {200}, f"read blob {digest} of {repository}")
                yield self._chunks(stream, digest)
                return
        raise UpstreamError(f"registry {self.registry}: too many redirects for blob {digest}")

    def _chunks(self, stream: Stream, digest: str) -> Iterator[bytes]:
        try:
            yield from stream.blocks()
        except TransportError as err:
            raise TransientError(
                f"registry {self.registry}: reading {digest} broke off: {err}"
            ) from err

    # -- plumbing -------------------------------------------------------------------------------

    def _client(self, url: str) -> Client:
        return Client(
            url,
            timeout=60.0,
            connect_timeout=10.0,
            headers={"User-Agent": f"rollway/{__version__}"},
            trust=self._trust,
        )

    def _start_upload(self, repository: str) -> str:
        response = self._send("POST", f"/v2/{repository}/blobs/uploads/")
        self._expect(response, {202}, f"start an upload to {repository}")
        return self._location(response)

    def _finish_upload(
        self,
        location: str,
        digest: str,
        content: Content,
        repository: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        url = f"{location}{'&' if '?' in location else '?'}{urlencode({'digest': digest})}"
        response = self._send("PUT", url, content=content, headers=headers)
        self._expect(response, {201}, f"upload {digest} to {repository}")

    def _location(self, response: Response) -> str:
        """Where an upload session goes on: on this registry's origin, never elsewhere (its
        requests carry the credentials)."""
        location = response.headers.get("Location")
        if not location:
            raise UpstreamError(f"registry {self.registry} opened an upload without a Location")
        url = urljoin(f"{self.url}/", location)
        if origin(url) != self._origin:
            raise UpstreamError(
                f"registry {self.registry} moved an upload to another host "
                f"({urlsplit(url).hostname}); the credentials go only to the registry"
            )
        return url

    def _send(
        self,
        method: str,
        url: str,
        *,
        content: Content | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """One request to `url` (a path on the registry, or a whole URL on its origin): a 401
        is answered (once, when the body can be sent again), and a GET's or HEAD's redirects
        are followed. Statuses every call treats alike become errors (`_check`)."""
        url = url if "://" in url else f"{self.url}{url}"
        replayable = content is None or isinstance(content, bytes)
        for _ in range(MAX_REDIRECTS + 1):
            client, target, home = self._route(url)
            response = self._once(client, method, target, content, headers, home)
            if (
                home
                and replayable
                and response.status_code == 401
                and self._auth.challenged(response, url)
            ):
                response = self._once(client, method, target, content, headers, home)
            if (
                method in ("GET", "HEAD")
                and response.status_code in _REDIRECTS
                and response.headers.get("Location")
            ):
                url = urljoin(url, response.headers["Location"] or "")
                continue
            return self._check(response, method)
        raise UpstreamError(f"registry {self.registry}: too many redirects for {method}")

    def _once(
        self,
        client: Client,
        method: str,
        target: str,
        content: Content | None,
        headers: Mapping[str, str] | None,
        home: bool,
    ) -> Response:
        fields = {**(headers or {}), **(self._authorization() if home else {})}
        try:
            with self._failures(method, target):
                return client.request(method, target, content=content, headers=fields)
        finally:
            if not home:  # a redirect's one request elsewhere
                client.close()

    def _route(self, url: str) -> tuple[Client, str, bool]:
        """(client, path and query, whether it is the registry's own origin) for `url`.
        Elsewhere is reached only by a followed redirect, without the credentials, and only
        when the client allows it."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if origin(url) == self._origin:
            return self._http, target, True
        if not self.redirects_elsewhere or origin(url) is None:
            raise UpstreamError(
                f"{self.registry} redirected to another host ({parts.hostname}); "
                "Rollway follows redirects only within the host it was configured with"
            )
        return self._client(f"{parts.scheme}://{parts.netloc}"), target, False

    def _authorization(self) -> dict[str, str]:
        header = self._auth.authorization()
        return {"Authorization": header} if header else {}

    def _fetch_token(self, url: str, authorization: str | None) -> Response:
        """Ask the token service at `url` (RegistryAuth checked where it is)."""
        parts = urlsplit(url)
        client = self._client(f"{parts.scheme}://{parts.netloc}")
        headers = {"Authorization": authorization} if authorization else {}
        try:
            with self._failures("GET", parts.path):
                target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                return client.request("GET", target, headers=headers)
        finally:
            client.close()

    @contextlib.contextmanager
    def _failures(self, method: str, target: str) -> Iterator[None]:
        """A broken connection as a TransientError naming the request (not its query)."""
        try:
            yield
        except TransportError as err:
            path = target.split("?", 1)[0]
            raise TransientError(
                f"registry {self.registry}: {method} {path} failed: {type(err).__name__}: {err}"
            ) from err

    def _check(self, response: Answer, method: str) -> Answer:
        """Turn statuses every call treats alike into errors: auth, throttling, server faults."""
        status = response.status_code
        if status == 401:
            raise Unauthorized(refused(self.registry, self.credentials))
        if status == 403:
            raise Forbidden(
                f"registry {self.registry} refused the credentials"
                f"{f' from {self.credentials.source}' if self.credentials else ''} "
                f"for {method} {response.path}"
            )
        if status == 429 or status >= 500:
            raise TransientError(
                f"registry {self.registry}: {method} {response.path} "
                f"answered {status}{_error_text(response)}"
            )
        return response

    def _expect(self, response: Answer, ok: set[int], what: str) -> Answer:
        if response.status_code not in ok:
            raise UpstreamError(
                f"registry {self.registry} could not {what}: "
                f"HTTP {response.status_code}{_error_text(response)}"
            )
        return response

    def _retry(self, attempt: Callable[[], T]) -> T:
        """`attempt()`, again after a TransientError: pauses of backoff × 1, 2, 4… (at most
        16 × backoff) plus up to one backoff of jitter, `attempts` tries in all."""
        number = 1
        while True:
            try:
                return attempt()
            except TransientError as err:
                if number >= self.attempts:
                    raise TransientError(
                        f"{err.message} (gave up after {self.attempts} attempts)"
                    ) from err
                pause = min(self.backoff * 2 ** (number - 1), 16 * self.backoff)
                pause += random.uniform(0, self.backoff)
                number += 1
                log.warning(
                    "%s; retrying in %.1f s (attempt %d of %d)", err, pause, number, self.attempts
                )
                time.sleep(pause)


def _error_text(response: Response | Stream) -> str:
    """The registry's own error code and message (distribution's `errors` body), if any."""
    if not isinstance(response, Response):
        return ""  # a streamed answer's body is not read for a message
    try:
        errors = response.json().get("errors") or []
        first = errors[0]
        return f" ({first.get('code')}: {first.get('message')})"
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        return ""
