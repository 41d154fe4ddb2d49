"""Validate Keycloak access tokens: signature against the realm's JWKS, issuer, audience, expiry.

python-keycloak's `decode_token` (jwcrypto underneath) does the checking. This module keeps the
realm's JWKS cached, refreshes it once when a token names a key it does not know (the realm
rotated its keys), and allows only asymmetric algorithms, so `none` and HS* tokens never verify.
A token that passed is remembered until it expires, so a client repeating it costs no crypto.
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
        leeway: int = 30,
        refresh_interval: float = 10.0,
    ) -> None:
        forbidden = [a for a in algorithms if a not in ALGORITHMS]
        if forbidden:
            raise ValueError(f"algorithms {forbidden} are not allowed (only {ALGORITHMS})")
        self.issuer, self.audience = issuer, audience
        self.algorithms = list(algorithms)
        self.leeway = leeway
        #: At most one JWKS download per interval, however many unknown kids arrive.
        self.refresh_interval = refresh_interval
        self._openid = KeycloakOpenID(
            server_url=server_url, realm_name=realm, client_id=audience, timeout=10
        )
        self._keys: jwk.JWKSet | None = None
        self._fetched_at = -math.inf
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
        return claims

    def keys(self) -> jwk.JWKSet:
        """The cached JWKS, downloaded on first use."""
        with self._lock:
            if self._keys is None:
                self._refresh()
            assert self._keys is not None
            return self._keys

    def _key(self, kid: str) -> jwk.JWK:
        keys = self.keys()
        key = keys.get_key(kid) if kid else None
        if key is None:
            with self._lock:
                if time.monotonic() - self._fetched_at >= self.refresh_interval:
                    self._refresh()
                assert self._keys is not None
                key = self._keys.get_key(kid) if kid else None
        if key is None:
            raise InvalidToken("token signed by an unknown key")
        return key

    def _refresh(self) -> None:
        try:
            certs = self._openid.certs()
        except (KeycloakError, OSError) as err:
            raise TransientError(
                f"cannot fetch the realm's signing keys: {type(err).__name__}"
            ) from None
        keys = jwk.JWKSet()
        for cert in certs.get("keys", []):
            if cert.get("use", "sig") == "sig":
                keys.add(jwk.JWK(**cert))
        self._keys, self._fetched_at = keys, time.monotonic()


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
