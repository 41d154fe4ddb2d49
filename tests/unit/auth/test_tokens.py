"""Token validation mechanics with a local key set: JWKS caching, one refresh per unknown key
(rate-limited, failures too, single flight), `nbf` and `azp`, and the memory of accepted tokens
until they expire. The same checks against the real realm are in tests/security/."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from jwcrypto import jwk, jwt

from rollway.auth.tokens import InvalidToken, TokenValidator
from rollway.errors import TransientError

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


def test_a_token_not_yet_valid_is_refused(realm: Realm) -> None:
    checker = validator(realm)
    with pytest.raises(InvalidToken, match="not yet valid"):
        checker.validate(realm.token(nbf=int(time.time()) + 3600))


def test_a_not_before_within_the_leeway_or_past_is_accepted(realm: Realm) -> None:
    checker = validator(realm)
    for nbf in (int(time.time()) + 5, int(time.time()) - 3600):
        assert checker.validate(realm.token(nbf=nbf))["sub"] == "s"


def test_a_not_before_that_is_no_number_is_refused(realm: Realm) -> None:
    with pytest.raises(InvalidToken):
        validator(realm).validate(realm.token(nbf="soon"))


@pytest.mark.parametrize("azp", ["rollway-cli", "rollway-ci", None])
def test_tokens_of_allowed_clients_or_without_azp_are_accepted(
    realm: Realm, azp: str | None
) -> None:
    claims = {"azp": azp} if azp else {}
    assert validator(realm).validate(realm.token(**claims))["sub"] == "s"


def test_a_token_issued_to_another_client_is_refused(realm: Realm) -> None:
    with pytest.raises(InvalidToken, match="client the API does not accept"):
        validator(realm).validate(realm.token(azp="some-other-app"))


def test_a_failed_download_is_not_retried_within_the_interval(realm: Realm) -> None:
    checker = validator(realm, refresh_interval=3600)

    def unreachable() -> dict[str, Any]:
        realm.downloads += 1
        raise ConnectionRefusedError

    checker._openid.certs = unreachable  # type: ignore[method-assign]
    for _ in range(5):
        with pytest.raises(TransientError, match="signing keys"):
            checker.validate(realm.token())
    assert realm.downloads == 1


def test_a_token_arriving_during_a_download_does_not_wait_for_it(realm: Realm) -> None:
    """While one thread downloads for an unknown kid, another unknown kid is refused at once
    (no second download, no thread held waiting)."""
    checker = validator(realm, refresh_interval=0)
    checker.validate(realm.token())
    entered, leave = threading.Event(), threading.Event()

    def slow() -> dict[str, Any]:
        entered.set()
        leave.wait()
        return realm.certs()

    checker._openid.certs = slow  # type: ignore[method-assign]
    realm.keys.append(jwk.JWK.generate(kty="RSA", size=2048, kid="k2"))
    first = threading.Thread(target=checker.validate, args=(realm.token(kid="k2"),))
    first.start()
    entered.wait()
    try:
        with pytest.raises(InvalidToken, match="unknown key"):
            checker.validate(realm.token(kid="k2"))
    finally:
        leave.set()
        first.join()
    assert realm.downloads == 2  # the first load and the one download for k2
    assert checker.validate(realm.token(kid="k2"))["sub"] == "s"
