"""Validate Keycloak access tokens: signature against the realm's JWKS, issuer, audience, expiry,
not-before and the authorized party (`azp`, the client the token was issued to).

python-keycloak's `decode_token` (jwcrypto underneath) checks the signature, `iss`, `aud` and
`exp`; `nbf` and `azp` are checked here (jwcrypto skips `nbf` once claims to check are given).
Only asymmetric algorithms are allowed, so `none` and HS* tokens never verify, and the key comes
only from the realm's JWKS: `jku`, `x5u` and `jwk` headers are never followed.

The JWKS is cached. A token naming a key the cache lacks (the realm rotated its keys) may cause
one download, at most one per `refresh_interval` whether downloads succeed or fail, by one
thread at a time: a request finding a download under way does not wait for it unless there are
no keys yet. So a flood of tokens with made-up key ids costs Keycloak nothing and the server no
threads. A token that passed is remembered until it expires, so a client repeating it costs no
crypto; that memory has its own lock, never held across I/O, so the event loop can consult it.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

from jwcrypto import jwk, jws, jwt
from jwcrypto.common import JWException
from keycloak import KeycloakOpenID
from keycloak.exceptions import KeycloakError

from ..errors import TransientError, Unauthorized

#: Signature algorithms accepted; symmetric ones (HS*) and `none` are never in this list.
ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


#: How many accepted tokens are remembered (least recently used ones go first).
ACCEPTED_TOKENS = 10_000
#: "Claim iss is missing", "Invalid 'aud' value. …" (jwcrypto's wording).
CLAIM_NAME = re.compile(r"^Claim (\w+) is missing|^Invalid '(\w+)' value")
CLAIMS = {"iss": "issuer", "aud": "audience", "exp": "expiry"}
#: The Keycloak clients of the example realm whose tokens the API takes (`app login`, CI, the
#: dashboard).
DEFAULT_CLIENTS = ("rollway-cli", "rollway-ci", "rollway-dashboard", "rollway-judge")


class InvalidToken(Unauthorized):
    """The bearer token is missing, malformed, or fails a check; the message says which, briefly."""

    title = "Invalid token"


class TokenValidator:
    """Checks access tokens of one Keycloak realm for one audience (the API's client id)."""

    def __init__(
        self,
        *,
        server_url: str,
        realm: str,
        issuer: str,
        audience: str,
        algorithms: Collection[str] = ALGORITHMS,
        clients: Collection[str] = DEFAULT_CLIENTS,
        leeway: int = 30,
        refresh_interval: float = 10.0,
    ) -> None:
        forbidden = [a for a in algorithms if a not in ALGORITHMS]
        if forbidden:
            raise ValueError(f"algorithms {forbidden} are not allowed (only {ALGORITHMS})")
        self.issuer, self.audience = issuer, audience
        self.algorithms = list(algorithms)
        #: A token carrying `azp` must name one of these clients.
        self.clients = frozenset(clients)
        self.leeway = leeway
        #: At most one JWKS download per interval, however many unknown kids arrive.
        self.refresh_interval = refresh_interval
        self._openid = KeycloakOpenID(
            server_url=server_url, realm_name=realm, client_id=audience, timeout=10
        )
        self._keys: jwk.JWKSet | None = None
        self._attempted_at = -math.inf
        #: Held by the one thread downloading the JWKS.
        self._download = threading.Lock()
        #: Guards the memory of accepted tokens only; never held across I/O.
        self._lock = threading.Lock()
        #: Tokens that passed, by digest: a client sends the same one until it expires.
        self._accepted: OrderedDict[bytes, dict[str, Any]] = OrderedDict()

    def accepted(self, token: str) -> dict[str, Any] | None:
        """The claims of a token that passed before and has not expired since (no crypto)."""
        digest = hashlib.sha256(token.encode()).digest()
        with self._lock:
            claims = self._accepted.get(digest)
            if claims is None:
                return None
            if claims["exp"] + self.leeway <= time.time():
                del self._accepted[digest]
                return None
            self._accepted.move_to_end(digest)
            return claims

    def validate(self, token: str) -> dict[str, Any]:
        """The token's claims once every check passed; raises InvalidToken otherwise."""
        claims = self._check(token)
        with self._lock:
            self._accepted[hashlib.sha256(token.encode()).digest()] = claims
            if len(self._accepted) > ACCEPTED_TOKENS:
                self._accepted.popitem(last=False)
        return claims

    def _check(self, token: str) -> dict[str, Any]:
        header = _header(token)
        if header.get("alg") not in self.algorithms:
            raise InvalidToken(f"signature algorithm {str(header.get('alg'))[:20]!r} not allowed")
        key = self._key(str(header.get("kid", "")))
        try:
            claims = self._openid.decode_token(
                token,
                key=key,
                algs=self.algorithms,
                leeway=self.leeway,
                check_claims={"iss": self.issuer, "aud": self.audience, "exp": None},
            )
        except jwt.JWTExpired:
            raise InvalidToken("token expired") from None
        except jwt.JWTNotYetValid:
            raise InvalidToken("token not yet valid") from None
        except jwt.JWTMissingClaim as err:
            raise InvalidToken(_claim_problem(str(err), "missing")) from None
        except jwt.JWTInvalidClaimValue as err:
            raise InvalidToken(_claim_problem(str(err), "wrong")) from None
        except (JWException, ValueError, TypeError):
            raise InvalidToken("signature verification failed") from None
        if claims.get("typ", "Bearer") != "Bearer":
            raise InvalidToken("not an access token")
        if not isinstance(claims.get("exp"), int | float):
            raise InvalidToken("missing expiry")
        self._check_not_before(claims.get("nbf"))
        if "azp" in claims and claims["azp"] not in self.clients:
            raise InvalidToken("token issued to a client the API does not accept")
        return claims

    def _check_not_before(self, nbf: object) -> None:
        if nbf is None:
            return
        if not isinstance(nbf, int | float) or isinstance(nbf, bool):
            raise InvalidToken("wrong not-before")
        if nbf > time.time() + self.leeway:
            raise InvalidToken("token not yet valid")

    def _key(self, kid: str) -> jwk.JWK:
        keys = self._keys
        if keys is None:
            keys = self._download_keys(wait=True)
        key = keys.get_key(kid) if kid else None
        if key is None and kid:
            key = self._download_keys(wait=False).get_key(kid)
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        return key

    def _download_keys(self, *, wait: bool) -> jwk.JWKSet:
        """The realm's keys after a download, if this thread may make one now; else as cached.

        Single flight: one thread downloads, the others wait for it only when there is nothing
        cached (`wait`). Rate limit: at most one attempt per `refresh_interval`, failed or not.
        """
        seen = self._keys
        if not self._download.acquire(blocking=wait):
            return self._cached()
        try:
            if self._keys is not seen:  # another thread downloaded while this one waited
                return self._cached()
            if time.monotonic() - self._attempted_at < self.refresh_interval:
                return self._cached()
            self._attempted_at = time.monotonic()
            self._keys = _download(self._openid)
            return self._keys
        finally:
            self._download.release()

    def _cached(self) -> jwk.JWKSet:
        if self._keys is None:
            raise TransientError("the realm's signing keys are unavailable; try again shortly")
        return self._keys


def _download(openid: KeycloakOpenID) -> jwk.JWKSet:
    """The realm's signature keys from its JWKS endpoint."""
    try:
        certs = openid.certs()
    except (KeycloakError, OSError) as err:
        raise TransientError(
            f"cannot fetch the realm's signing keys: {type(err).__name__}"
        ) from None
    keys = jwk.JWKSet()
    for cert in certs.get("keys", []):
        if cert.get("use", "sig") == "sig":
            keys.add(jwk.JWK(**cert))
    return keys


def _header(token: str) -> dict[str, Any]:
    """The protected header of a compact JWS; anything else is refused before any key lookup."""
    if not token or token.count(".") != 2:
        raise InvalidToken("malformed token")
    parsed = jws.JWS()
    try:
        parsed.deserialize(token)
        header = parsed.jose_header
    except (JWException, ValueError, TypeError):
        raise InvalidToken("malformed token") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed token")
    return header


def _claim_problem(message: str, problem: str) -> str:
    """Which registered claim failed (`wrong issuer`), without echoing the token's values."""
    match = CLAIM_NAME.search(message)
    claim = match[1] or match[2] if match else ""
    return f"{problem} {CLAIMS.get(claim, 'claim')}"
