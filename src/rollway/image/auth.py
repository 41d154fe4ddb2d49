"""Registry authentication: Basic, or the Docker/Harbor Bearer token dance.

The first 401 names the scheme in `WWW-Authenticate`. For Basic, the credentials go with every
later request. For Bearer, a token for the client's scopes (`repository:<name>:pull,push`, plus
`pull` on the repository blobs are mounted from) is fetched from the challenge's realm with the
credentials — only when the realm is on the registry's own host (anonymous tokens, as for public
base images on Docker Hub, may come from anywhere) — then sent up front on every later request,
and renewed before it expires — so a streamed upload body never meets a challenge it would have
to be re-sent for.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlencode, urlsplit

from ..destinations import origin
from ..errors import Forbidden, TransientError, Unauthorized, UpstreamError
from ..transport import Response
from .credentials import Credentials

#: Docker's token spec: 60 s when the token endpoint does not say.
DEFAULT_TOKEN_SECONDS = 60
_PARAM = re.compile(r'(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')

#: Asks a token service: (URL with its query, Authorization header or None) → its answer.
FetchToken = Callable[[str, str | None], Response]


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


def basic(credentials: Credentials) -> str:
    login = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(login).decode()


class RegistryAuth:
    """Answers a registry's challenge once, then authenticates requests up front."""

    def __init__(
        self,
        registry: str,
        credentials: Credentials | None,
        scopes: Iterable[str],
        fetch_token: FetchToken,
    ) -> None:
        self.registry = registry
        self.credentials = credentials
        self._scopes = list(dict.fromkeys(scopes))
        self._basic = basic(credentials) if credentials else None
        self._fetch_token = fetch_token
        self._scheme: str | None = None
        self._bearer: dict[str, str] = {}
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = threading.Lock()  # the push's threads share one token

    def authorization(self) -> str | None:
        """The Authorization header for the next request (its token renewed first when due);
        None until a challenge has named the scheme."""
        if self._scheme == "basic":
            return self._basic
        if self._scheme != "bearer":
            return None
        with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._renew()
            return f"Bearer {self._token}"

    def challenged(self, response: Response, url: str) -> bool:
        """After a 401 from `url`: whether the request is worth sending once more (with
        `authorization()`): first contact, an expired token, or a scope we lack."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate") or "")
        if challenge is None:
            return False
        scheme, params = challenge
        if scheme == "basic" and self._basic is not None and self._scheme is None:
            self._scheme = "basic"
            return True
        if scheme == "bearer" and params.get("realm"):
            self._check_realm(params["realm"], url)
            with self._lock:
                self._scheme, self._bearer = "bearer", params
                if params.get("scope") and params["scope"] not in self._scopes:
                    self._scopes.append(params["scope"])
                self._renew()
            return True
        return False

    def _check_realm(self, realm: str, registry_url: str) -> None:
        """The credentials go to the token service only on the registry's own host (any port,
        as Harbor's or a registry's separate token service; never from https down to http): a
        registry (or whoever answers in its name) may name any URL as its realm."""
        home, asked = origin(registry_url), origin(realm)
        if self.credentials is None or (
            home and asked and asked[1] == home[1] and (asked[0], home[0]) != ("http", "https")
        ):
            return
        raise Forbidden(
            f"registry {self.registry} sends its token requests to another host "
            f"({urlsplit(realm).hostname}); the credentials from {self.credentials.source} are "
            "sent only to the registry's own host"
        )

    def _renew(self) -> None:
        realm = self._bearer["realm"]
        query = [("service", self._bearer["service"])] if self._bearer.get("service") else []
        query += [("scope", scope) for scope in self._scopes]
        url = f"{realm}{'&' if '?' in realm else '?'}{urlencode(query)}" if query else realm
        self._store(self._fetch_token(url, self._basic), urlsplit(realm).hostname)

    def _store(self, response: Response, realm: str | None) -> None:
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
