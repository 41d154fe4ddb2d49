"""Token validation mechanics with a local key set: JWKS caching, one refresh per unknown key
(rate-limited), and the memory of accepted tokens until they expire."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from jwcrypto import jwk, jwt

from rollway.auth.tokens import InvalidToken, TokenValidator

ISSUER, AUDIENCE = "http://kc/realms/rollway", "rollway-api"


class Realm:
    """Stands in for Keycloak's certs endpoint; counts downloads."""

    def __init__(self) -> None:
        self.keys = [jwk.JWK.generate(kty="RSA", size=2048, kid="k1")]
        self.downloads = 0

    def certs(self) -> dict[str, Any]:
        self.downloads += 1
        return {"keys": [json.loads(k.export_public()) for k in self.keys]}

    def token(self, kid: str = "k1", **claims: Any) -> str:
        key = next(k for k in self.keys if k.get("kid") == kid)
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "iat": now, "sub": "s",
                "typ": "Bearer", **claims}  # fmt: skip
        signed = jwt.JWT(header={"alg": "RS256", "kid": kid}, claims=body)
        signed.make_signed_token(key)
        return str(signed.serialize())


@pytest.fixture
def realm() -> Realm:
    return Realm()


def validator(realm: Realm, refresh_interval: float = 10.0) -> TokenValidator:
    checker = TokenValidator(server_url="http://kc", realm="rollway", issuer=ISSUER,
                             audience=AUDIENCE, refresh_interval=refresh_interval)  # fmt: skip
    checker._openid.certs = realm.certs  # type: ignore[method-assign]
    return checker


def test_the_key_set_is_downloaded_once(realm: Realm) -> None:
    checker = validator(realm)
    for _ in range(3):
        checker.validate(realm.token())
    assert realm.downloads == 1


def test_an_unknown_kid_refreshes_the_key_set_once(realm: Realm) -> None:
    checker = validator(realm, refresh_interval=0)
    checker.validate(realm.token())
    realm.keys.append(jwk.JWK.generate(kty="RSA", size=2048, kid="k2"))

    assert checker.validate(realm.token(kid="k2"))["sub"] == "s"
    assert realm.downloads == 2


def test_refreshes_are_rate_limited(realm: Realm) -> None:
    checker = validator(realm, refresh_interval=3600)
    checker.validate(realm.token())
    stranger = jwk.JWK.generate(kty="RSA", size=2048, kid="nope")
    forged = jwt.JWT(header={"alg": "RS256", "kid": "nope"}, claims={"sub": "x"})
    forged.make_signed_token(stranger)

    for _ in range(5):
        with pytest.raises(InvalidToken, match="unknown key"):
            checker.validate(forged.serialize())
    assert realm.downloads == 1


def test_accepted_tokens_are_remembered_until_they_expire(realm: Realm) -> None:
    checker = validator(realm)
    token = realm.token(exp=int(time.time()) + 60)
    assert checker.accepted(token) is None

    claims = checker.validate(token)

    assert checker.accepted(token) == claims
    expired = realm.token(exp=int(time.time()) - 3600)
    with pytest.raises(InvalidToken, match="expired"):
        checker.validate(expired)
    assert checker.accepted(expired) is None


def test_symmetric_algorithms_cannot_be_allowed() -> None:
    with pytest.raises(ValueError, match="not allowed"):
        TokenValidator(server_url="http://kc", realm="r", issuer=ISSUER, audience=AUDIENCE,
                       algorithms=["RS256", "HS256"])  # fmt: skip
