"""Forged and broken tokens against the real realm: every one is refused with 401.

Tokens with wrong claims are signed with a key the realm really publishes (a passive RSA key
this module adds to the realm through the admin API and removes afterwards), so each one fails
for the reason it tests, not merely for an unknown signature. A correctly-claimed token signed
with that key is accepted: the control that makes the negative cases mean something.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from jwcrypto import jwk, jwt
from keycloak import KeycloakAdmin

from tests.integration.apiserver.conftest import Api, Tokens

pytestmark = pytest.mark.integration

PROBE = "/api/v1/apps"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def sign(claims: dict[str, Any], key: jwk.JWK, kid: str, alg: str = "RS256") -> str:
    token = jwt.JWT(header={"alg": alg, "kid": kid, "typ": "JWT"}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(signature)}"


class RealmKey:
    """A passive RS256 key added to the realm: published in its JWKS, never used by Keycloak."""

    def __init__(self, env: dict[str, str]) -> None:
        self.admin = KeycloakAdmin(
            server_url=env["ROLLWAY_KEYCLOAK_URL"],
            username="admin",
            password=env["KEYCLOAK_ADMIN_PASSWORD"],
            realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
            user_realm_name="master",
        )
        self.key = jwk.JWK.generate(kty="RSA", size=2048)
        pem = self.key.export_to_pem(private_key=True, password=None).decode()
        self.component = self.admin.create_component(
            {
                "name": f"rollway-test-{uuid.uuid4().hex[:8]}",
                "providerId": "rsa",
                "providerType": "org.keycloak.keys.KeyProvider",
                "parentId": self.admin.get_realm(env["ROLLWAY_KEYCLOAK_REALM"])["id"],
                "config": {
                    "privateKey": [pem],
                    "priority": ["-100"],
                    "enabled": ["true"],
                    "active": ["false"],
                    "algorithm": ["RS256"],
                },
            }
        )
        modulus = json.loads(self.key.export_public())["n"]
        keys = self.admin.connection.raw_get(
            f"realms/{env['ROLLWAY_KEYCLOAK_REALM']}/protocol/openid-connect/certs"
        ).json()["keys"]
        self.kid = next(k["kid"] for k in keys if k.get("n") == modulus)

    def sign(self, claims: dict[str, Any], alg: str = "RS256") -> str:
        return sign(claims, self.key, self.kid, alg)

    def remove(self) -> None:
        self.admin.delete_component(self.component)


@pytest.fixture(scope="module")
def realm_key(devstack_env: dict[str, str]) -> Iterator[RealmKey]:
    key = RealmKey(devstack_env)
    yield key
    key.remove()


@pytest.fixture
def good_claims(tokens: Tokens) -> dict[str, Any]:
    """Alice's real claims with a fresh expiry: valid in every respect but the signer."""
    now = int(time.time())
    return {**claims_of(tokens("alice")), "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}


def refused(api: Api, token: str | None, reason: str, scheme: str = "Bearer") -> None:
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    answer = api.call(None, "GET", PROBE, headers=headers)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer ")
    body = answer.json()
    assert reason in body["detail"], body
    if token:
        assert token not in answer.text
        assert all(part not in answer.text for part in token.split(".") if len(part) > 8)
    assert "Traceback" not in answer.text


def test_a_real_token_is_accepted(api: Api) -> None:
    assert api.call("alice", "GET", PROBE).status_code == 200


def test_a_token_signed_with_a_published_realm_key_is_accepted(
    api: Api, realm_key: RealmKey, good_claims: dict[str, Any]
) -> None:
    """The control for the cases below: only their one broken claim makes them fail."""
    answer = api.call(None, "GET", PROBE, headers={"Authorization": f"Bearer {realm_key.sign(good_claims)}"})  # fmt: skip
    assert answer.status_code == 200, answer.text


def test_a_rotated_key_is_picked_up_by_refreshing_the_jwks_once(
    api: Api, devstack_env: dict[str, str], good_claims: dict[str, Any]
) -> None:
    assert api.call("alice", "GET", PROBE).status_code == 200  # the JWKS is now cached
    rotated = RealmKey(devstack_env)
    try:
        token = rotated.sign(good_claims)
        answer = api.call(None, "GET", PROBE, headers={"Authorization": f"Bearer {token}"})
    finally:
        rotated.remove()
    assert answer.status_code == 200, answer.text


def test_missing_token(api: Api) -> None:
    refused(api, None, "bearer token is required")


def test_other_authorization_scheme(api: Api, tokens: Tokens) -> None:
    refused(api, tokens("alice"), "bearer token is required", scheme="Basic")


def test_garbage(api: Api) -> None:
    refused(api, "not-a-jwt", "malformed")


def test_alg_none(api: Api, tokens: Tokens, good_claims: dict[str, Any]) -> None:
    kid = jwt.JWT(jwt=tokens("alice")).token.jose_header["kid"]
    refused(api, unsigned({"alg": "none", "typ": "JWT", "kid": kid}, good_claims), "not allowed")


def test_hs256_signed_with_the_realms_public_key(
    api: Api, tokens: Tokens, good_claims: dict[str, Any], devstack_env: dict[str, str]
) -> None:
    """The classic key-confusion attack: HMAC keyed with the RSA public key's PEM."""
    real = tokens("alice")
    kid = jwt.JWT(jwt=real).token.jose_header["kid"]
    certs = api.tokens.cli.certs()["keys"]
    public = jwk.JWK(**next(k for k in certs if k["kid"] == kid)).export_to_pem()
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(good_claims).encode())}"
    mac = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    refused(api, f"{signing_input}.{b64(mac)}", "not allowed")


def test_algorithm_outside_the_allow_list(
    api: Api, realm_key: RealmKey, good_claims: dict[str, Any]
) -> None:
    refused(api, realm_key.sign(good_claims, alg="PS256"), "not allowed")


def test_unknown_kid(api: Api, good_claims: dict[str, Any]) -> None:
    stranger = jwk.JWK.generate(kty="RSA", size=2048)
    refused(api, sign(good_claims, stranger, kid="not-a-realm-key"), "unknown key")


def test_stranger_key_under_a_real_kid(
    api: Api, tokens: Tokens, good_claims: dict[str, Any]
) -> None:
    kid = jwt.JWT(jwt=tokens("alice")).token.jose_header["kid"]
    stranger = jwk.JWK.generate(kty="RSA", size=2048)
    refused(api, sign(good_claims, stranger, kid=kid), "signature verification failed")


def test_tampered_payload(api: Api, tokens: Tokens) -> None:
    header, payload, signature = tokens("carol").split(".")
    claims = {**claims_of(tokens("carol")), "realm_access": {"roles": ["admin"]}}
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    refused(api, forged, "signature verification failed")


def test_wrong_issuer(api: Api, realm_key: RealmKey, good_claims: dict[str, Any]) -> None:
    claims = {**good_claims, "iss": "http://127.0.0.1:28080/realms/master"}
    refused(api, realm_key.sign(claims), "wrong issuer")


def test_wrong_audience(api: Api, realm_key: RealmKey, good_claims: dict[str, Any]) -> None:
    refused(api, realm_key.sign({**good_claims, "aud": ["account"]}), "wrong audience")


def test_expired(api: Api, realm_key: RealmKey, good_claims: dict[str, Any]) -> None:
    past = int(time.time()) - 3600
    refused(api, realm_key.sign({**good_claims, "iat": past - 300, "exp": past}), "expired")


def test_no_expiry(api: Api, realm_key: RealmKey, good_claims: dict[str, Any]) -> None:
    claims = {k: v for k, v in good_claims.items() if k != "exp"}
    refused(api, realm_key.sign(claims), "missing expiry")


def test_not_an_access_token(api: Api, realm_key: RealmKey, good_claims: dict[str, Any]) -> None:
    refused(api, realm_key.sign({**good_claims, "typ": "ID"}), "not an access token")


def test_health_and_metrics_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/metrics"):
        assert api.call(None, "GET", path).status_code == 200, path
    for path in ("/openapi.json", "/docs", "/api/v1/deployments", "/api/v1/audit"):
        assert api.call(None, "GET", path).status_code == 401, path
    assert "rollway_http_requests_total" in api.call(None, "GET", "/metrics").text


def test_documentation_for_a_valid_token(api: Api) -> None:
    spec = api.call("carol", "GET", "/openapi.json").json()
    docs = api.call("carol", "GET", "/docs")

    assert "/api/v1/apps/{app}/deployments" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert docs.headers["content-type"].startswith("text/html") and "swagger" in docs.text
