"""A client of Nexus-style maven2 repositories: coordinates → exact version → verified file.

Used by the resolve-artifact step and by the API server's dry run (which resolves only).
Repositories are asked in order; a file lives in the first that has it. A redirect to another
host is refused, never followed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import httpx

from ..credentials import secret
from ..destinations import MAVEN_VARIABLES, Homes, refuse_redirect_elsewhere
from ..errors import InvalidInput, NotFound, TransientError, UpstreamError
from . import checksum
from .coordinates import Coordinates
from .metadata import (
    ArtifactMetadata,
    MalformedMetadata,
    SnapshotMetadata,
    file_label,
    pick_version,
)

USERNAME_VARIABLE = "ROLLWAY_MAVEN_USERNAME"
PASSWORD_VARIABLE = "ROLLWAY_MAVEN_PASSWORD"
CHUNK = 1 << 20
#: How many versions an error lists: the most recent ones.
SHOWN_VERSIONS = 10
T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Resolved:
    """An exact file in one repository."""

    coordinates: Coordinates  # with the exact version (a snapshot's timestamped build)
    base_version: str  # the directory: `1.2.0-SNAPSHOT` for `1.2.0-20261122.101010-2`
    url: str
    repository: str

    @property
    def version(self) -> str:
        return self.coordinates.version

    @property
    def filename(self) -> str:
        return self.url.rpartition("/")[2]


@dataclasses.dataclass(frozen=True)
class Download:
    """A downloaded file whose published checksum matched."""

    resolved: Resolved
    path: Path
    sha256: str
    size: int
    verified_with: str  # the published checksum's algorithm


def repository_url(value: str, field: str = "repository") -> str:
    """A repository base URL, with a trailing slash; credentials in it are refused."""
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{value!r} is not an http(s) URL", field=field)
    if parts.username or parts.password:
        raise InvalidInput(
            "must not carry credentials; set ROLLWAY_MAVEN_USERNAME and ROLLWAY_MAVEN_PASSWORD",
            field=field,
        )
    if parts.query or parts.fragment:
        raise InvalidInput("must not have a query or fragment", field=field)
    return parts._replace(path=parts.path.rstrip("/") + "/").geturl()


class MavenClient:
    """Resolves and downloads over one pooled HTTP client; use it as a context manager."""

    def __init__(
        self,
        repositories: Sequence[str],
        auth: tuple[str, str] | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not repositories:
            raise InvalidInput(
                "no Maven repository given; pass --repository or set ROLLWAY_MAVEN_URL",
                field="repository",
            )
        self.repositories = [repository_url(url) for url in repositories]
        self._has_credentials = auth is not None
        self._http = httpx.Client(
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=10.0),
            follow_redirects=True,
            event_hooks={"response": [refuse_redirect_elsewhere]},
            # Retries only connection failures, where nothing was sent yet.
            transport=transport or httpx.HTTPTransport(retries=2),
        )

    @classmethod
    def from_env(
        cls, repositories: Sequence[str] = (), environ: Mapping[str, str] | None = None
    ) -> MavenClient:
        """Repositories from the arguments or ROLLWAY_MAVEN_URL/…_SNAPSHOTS_URL; credentials
        from ROLLWAY_MAVEN_USERNAME/PASSWORD or the files their *_FILE variables name, only for
        the configured repositories (rollway.destinations)."""
        env = os.environ if environ is None else environ
        urls = list(repositories) or [env[v] for v in MAVEN_VARIABLES if env.get(v)]
        username = secret(USERNAME_VARIABLE, env)
        password = secret(PASSWORD_VARIABLE, env)
        if bool(username) != bool(password):
            missing = PASSWORD_VARIABLE if username else USERNAME_VARIABLE
            raise InvalidInput("must be set too (or its _FILE variant)", field=missing)
        auth = (username, password) if username and password else None
        homes = Homes.from_env(env)
        foreign = [url for url in urls if not homes.maven_home(repository_url(url))]
        if auth and foreign:
            raise InvalidInput(
                f"{foreign[0]} is not one of the configured Maven repositories "
                f"({', '.join(MAVEN_VARIABLES)}); {USERNAME_VARIABLE} is sent only there",
                field="repository",
            )
        return cls(urls, auth)

    def __enter__(self) -> MavenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- resolution ---------------------------------------------------------------------------

    def resolve(self, coordinates: Coordinates) -> Resolved:
        """The exact file the coordinates name: LATEST/RELEASE and snapshots made concrete."""
        if coordinates.is_meta_version:
            found = [doc for _, doc in self._artifact_metadata(coordinates)]
            version = pick_version(found, coordinates.version)
            if not version:
                raise self._version_not_found(coordinates, found)
            coordinates = coordinates.with_version(version)
        if coordinates.is_snapshot:
            return self._resolve_snapshot(coordinates)
        for repo in self.repositories:
            url = repo + coordinates.file_path()
            if self._exists(url):
                return Resolved(coordinates, coordinates.base_version, url, repo)
        raise self._version_not_found(coordinates)

    def _resolve_snapshot(self, coordinates: Coordinates) -> Resolved:
        documents = []
        for repo in self.repositories:
            url = f"{repo}{coordinates.artifact_path}/{coordinates.version}/maven-metadata.xml"
            body = self._get_bytes(url)
            if body is not None:
                documents.append((repo, _parse(SnapshotMetadata.parse, body, url)))
        if not documents:
            raise self._version_not_found(coordinates)
        # Like Maven: when several repositories hold the version, the newest document wins.
        repo, doc = max(documents, key=lambda found: found[1].last_updated)
        base = coordinates.version
        build = doc.file_version(base, coordinates.classifier, coordinates.extension)
        if not build:
            wanted = file_label(coordinates.classifier, coordinates.extension)
            held = ", ".join(doc.files()) or "nothing"
            raise NotFound(
                f"{coordinates} has no build of {wanted}; its builds hold: {held}",
                field="coordinates",
            )
        exact = coordinates.with_version(build)
        return Resolved(exact, base, repo + coordinates.file_path(build), repo)

    def _artifact_metadata(self, coordinates: Coordinates) -> list[tuple[str, ArtifactMetadata]]:
        found = []
        for repo in self.repositories:
            url = f"{repo}{coordinates.artifact_path}/maven-metadata.xml"
            body = self._get_bytes(url)
            if body is not None:
                found.append((repo, _parse(ArtifactMetadata.parse, body, url)))
        return found

    def _version_not_found(
        self, coordinates: Coordinates, documents: list[ArtifactMetadata] | None = None
    ) -> NotFound:
        if documents is None:
            documents = [doc for _, doc in self._artifact_metadata(coordinates)]
        name = f"{coordinates.group}:{coordinates.artifact}"
        where = ", ".join(self.repositories)
        versions = list(dict.fromkeys(v for doc in documents for v in doc.versions))
        if not versions:
            return NotFound(f"{name} is in none of the repositories ({where})", field="coordinates")
        shown = ", ".join(versions[-SHOWN_VERSIONS:])
        more = ""
        if len(versions) > SHOWN_VERSIONS:
            more = f" (the {SHOWN_VERSIONS} most recent of {len(versions)})"
        return NotFound(
            f"version {coordinates.version} of {name} not found in {where}; "
            f"available{more}: {shown}",
            field="coordinates",
        )

    # -- download -----------------------------------------------------------------------------

    def download(self, resolved: Resolved, directory: Path) -> Download:
        """Stream the file into `directory`, verifying the published checksum on the way.

        It is written to a hidden temporary file renamed into place only once verified, so a
        failure of any kind leaves nothing behind.
        """
        try:
            published = checksum.select(lambda alg: self._get_text(f"{resolved.url}.{alg}"))
        except checksum.MalformedChecksum as err:
            raise UpstreamError(f"{resolved.url}: its published checksum {err}") from None
        if published is None:
            raise UpstreamError(
                f"{resolved.url}: no .sha256, .sha512 or .sha1 checksum is published beside it; "
                "refusing an unverifiable download"
            )
        digests = checksum.Digests(published)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / resolved.filename
        fd, name = tempfile.mkstemp(dir=directory, prefix=f".{resolved.filename}.", suffix=".part")
        partial = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, self._stream(resolved.url) as response:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
                    digests.update(chunk)
            if not digests.verified:
                raise UpstreamError(
                    f"{resolved.url}: {published.algorithm} of the download is {digests.actual} "
                    f"but the repository publishes {published.expected}; the download was discarded"
                )
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return Download(resolved, target, digests.sha256, digests.size, published.algorithm)

    # -- HTTP ---------------------------------------------------------------------------------

    def _exists(self, url: str) -> bool:
        with self._translate(url):
            response = self._http.head(url)
        return self._check(response, url)

    def _get_bytes(self, url: str) -> bytes | None:
        with self._translate(url):
            response = self._http.get(url)
        return response.content if self._check(response, url) else None

    def _get_text(self, url: str) -> str | None:
        body = self._get_bytes(url)
        return body.decode("ascii", "replace") if body is not None else None

    @contextlib.contextmanager
    def _stream(self, url: str) -> Iterator[httpx.Response]:
        with self._translate(url), self._http.stream("GET", url) as response:
            if not self._check(response, url):
                raise NotFound(f"{url} disappeared while downloading it", field="coordinates")
            yield response

    @contextlib.contextmanager
    def _translate(self, url: str) -> Iterator[None]:
        """A network failure is transient: the step exits 75 and the workflow retries it."""
        try:
            yield
        except httpx.TransportError as err:
            reason = str(err) or type(err).__name__
            raise TransientError(f"Maven repository unreachable at {url}: {reason}") from None

    def _check(self, response: httpx.Response, url: str) -> bool:
        """True for 2xx, False for 404; raises for everything else."""
        status = response.status_code
        if response.is_success:
            return True
        if status == 404:
            return False
        if status in (401, 403):
            problem = "refused the credentials" if self._has_credentials else "needs credentials"
            raise UpstreamError(
                f"Maven repository {problem} (HTTP {status}) for {url}",
                hint=f"set {USERNAME_VARIABLE} and {PASSWORD_VARIABLE} (or their _FILE variants)",
            )
        if status == 429 or status >= 500:
            raise TransientError(f"Maven repository answered HTTP {status} for {url}")
        raise UpstreamError(f"Maven repository answered HTTP {status} for {url}")


def _parse(parser: Callable[[bytes], T], body: bytes, url: str) -> T:
    try:
        return parser(body)
    except MalformedMetadata as err:
        raise UpstreamError(f"{url} is not valid maven-metadata.xml: {err}") from None
