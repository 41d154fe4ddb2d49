"""Registry authentication as an httpx auth flow: Basic, or the Docker/Harbor Bearer token dance.

The first 401 names the scheme in `WWW-Authenticate`. For Basic, httpx's BasicAuth takes over.
For Bearer, a token for the client's scopes (`repository:<name>:pull,push`, plus `pull` on the
repository blobs are mounted from) is fetched from the challenge's realm with the credentials —
only when the realm is on the registry's own host (anonymous tokens, as for public base images
on Docker Hub, may come from anywhere) — then sent up front on every later request, and renewed before it expires — so a streamed upload
body never meets a challenge it would have to be re-sent for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterable

import httpx

from ..destinations import origin
from ..errors import Forbidden, TransientError, Unauthorized, UpstreamError
from .credentials import Credentials

#: Docker's token spec: 60 s when the token endpoint does not say.
DEFAULT_TOKEN_SECONDS = 60
_PARAM = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]] | None:
    """`Bearer realm="…",service="…",scope="…"` → ("bearer", {realm, service, scope})."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params = {
        m.group(1).lower(): m.group(2).replace('\\"', '"') if m.group(2) is not None else m.group(3)
        for m in _PARAM.finditer(rest)
    }
    return scheme.lower(), params


class RegistryAuth(httpx.Auth):
    """Answers a registry's challenge once, then authenticates requests up front."""

    requires_response_body = True  # the token endpoint answers JSON

    def __init__(
        self, registry: str, credentials: Credentials | None, scopes: Iterable[str]
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self._scopes = list(dict.fromkeys(scopes))
        self._basic = (
            httpx.BasicAuth(credentials.username, credentials.password) if credentials else None
        )
        self._scheme: str | None = None
        self._bearer: dict[str, str] = {}
        self._token: str | None = None
        self._renew_at = 0.0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "basic" and self._basic is not None:
            yield from self._basic.auth_flow(request)
            return
        if self._scheme == "bearer":
            if self._token is None or time.monotonic() >= self._renew_at:
                self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
        response = yield request
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if response.status_code != 401 or challenge is None:
            return
        scheme, params = challenge
        if scheme == "basic" and self._basic is not None and self._scheme is None:
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)
        elif scheme == "bearer" and params.get("realm"):
            # First contact, an expired token, or a scope we lack: one new token, one retry.
            self._check_realm(params["realm"], request.url)
            self._scheme, self._bearer = "bearer", params
            if params.get("scope") and params["scope"] not in self._scopes:
                self._scopes.append(params["scope"])
            self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {self._token}"
            yield request

    def _check_realm(self, realm: str, registry_url: httpx.URL) -> None:
        """The credentials go to the token service only on the registry's own host (any port,
        as Harbor's or a registry's separate token service; never from https down to http): a
        registry (or whoever answers in its name) may name any URL as its realm."""
        home, asked = origin(str(registry_url)), origin(realm)
        if self.credentials is None or (
            home and asked and asked[1] == home[1] and (asked[0], home[0]) != ("http", "https")
        ):
            return
        raise Forbidden(
            f"registry {self.registry} sends its token requests to another host "
            f"({httpx.URL(realm).host}); the credentials from {self.credentials.source} are "
            "sent only to the registry's own host"
        )

    def _token_request(self) -> httpx.Request:
        params: dict[str, str | list[str]] = {"scope": self._scopes}
        if self._bearer.get("service"):
            params = {"service": self._bearer["service"], **params}
        token_request = httpx.Request("GET", self._bearer["realm"], params=params)
        if self._basic is None:
            return token_request
        return next(self._basic.auth_flow(token_request))  # BasicAuth's first step sets the header

    def _store(self, response: httpx.Response) -> None:
        realm = httpx.URL(self._bearer["realm"]).host
        status = response.status_code
        if status in (401, 403):
            raise Unauthorized(
                refused(self.registry, self.credentials, f" (token service {realm})")
            )
        if status == 429 or status >= 500:
            raise TransientError(f"{self.registry}: token service {realm} answered {status}")
        try:
            body = response.json()
            token = (body.get("token") or body.get("access_token")) if response.is_success else None
            lifetime = body.get("expires_in")
            seconds = DEFAULT_TOKEN_SECONDS if lifetime is None else int(lifetime)
        except (ValueError, TypeError, AttributeError):
            token = None
        if not token:
            raise UpstreamError(
                f"{self.registry}: token service {realm} answered {status} without a token"
            )
        self._token = token
        self._renew_at = time.monotonic() + max(seconds - 30, seconds / 2)


def refused(registry: str, credentials: Credentials | None, where: str = "") -> str:
    """The message for refused credentials: names the registry and their source, never them."""
    if credentials is None:
        return (
            f"registry {registry} requires authentication and no credentials were found "
            "(set ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD or mount a Docker config)"
        )
    return f"registry {registry}{where} refused the credentials from {credentials.source}"
