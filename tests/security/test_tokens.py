"""Forged and broken tokens against the real realm: every one is refused with 401 problem+json,
counted in `rollway_unauthenticated_requests_total` and never written to the audit trail.

Tokens with wrong claims are signed with a key the realm really publishes (a passive RSA key
this module adds to the realm through the admin API and removes afterwards), so each one fails
for the reason it tests, not merely for an unknown signature; that is also how a token that is
not yet valid (`nbf` ahead) or issued to another client (`azp`) is made. A correctly-claimed
token signed with that key is accepted: the control that makes the negative cases mean
something. Another realm's token comes from a second realm this module creates and deletes.
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
from keycloak import KeycloakAdmin, KeycloakOpenID

from tests.integration.apiserver.conftest import Api, Tokens
from tests.security.server_counts import audit_rows, unauthenticated
from tests.support.loopback import Loopback, answer, serving

pytestmark = pytest.mark.integration

PROBE = "/api/v1/apps"
#: A mutating call: refused before the body is read, it must leave no audit row.
ATTEMPT = ("POST", "/api/v1/apps/hello/deployments", {"env": "dev", "version": "1.0.0"})


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
    """The attempt gets 401 problem+json naming `reason`, echoes nothing of the token, writes
    no audit row and is counted instead."""
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    kind = "invalid" if token is not None and scheme == "Bearer" else "missing"
    rows, counted = audit_rows(api), unauthenticated(api, kind)
    method, path, body = ATTEMPT
    answer = api.call(None, method, path, headers=headers, json=body)
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"].startswith("Bearer ")
    problem = answer.json()
    assert reason in problem["detail"], problem
    assert problem["status"] == 401 and problem["instance"] == path
    if token:
        assert token not in answer.text
        assert all(part not in answer.text for part in token.split(".") if len(part) > 8)
    assert "Traceback" not in answer.text
    assert audit_rows(api) == rows
    assert unauthenticated(api, kind) == counted + 1


@pytest.fixture
def attacker() -> Iterator[tuple[jwk.JWK, Loopback]]:
    """The attacker's signing key, and a host on loopback publishing it as a JWKS to whoever asks
    (its `requests` say who did)."""
    key = jwk.JWK.generate(kty="RSA", size=2048, kid="attacker")
    keys = {"keys": [json.loads(key.export_public())]}
    with serving(lambda request: answer(200, keys)) as server:
        yield key, server


def signed_with_header(claims: dict[str, Any], key: jwk.JWK, **header: Any) -> str:
    token = jwt.JWT(header={"alg": "RS256", "typ": "JWT", **header}, claims=claims)
    token.make_signed_token(key)
    return str(token.serialize())


class OtherRealm:
    """A second realm of the devstack Keycloak with one user and a client whose tokens carry
    the API's audience: its tokens differ from the real realm's only by issuer and keys."""

    PASSWORD = "other-realm-password"  # noqa: S105 (a throwaway user of a throwaway realm)

    def __init__(self, env: dict[str, str]) -> None:
        self.name = f"rollway-other-{uuid.uuid4().hex[:8]}"
        self.admin = KeycloakAdmin(
            server_url=env["ROLLWAY_KEYCLOAK_URL"],
            username="admin",
            password=env["KEYCLOAK_ADMIN_PASSWORD"],
            realm_name="master",
        )
        audience = {
            "name": "audience",
            "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.custom.audience": env["ROLLWAY_OIDC_AUDIENCE"],
                       "access.token.claim": "true"},
        }  # fmt: skip
        self.admin.create_realm(
            {
                "realm": self.name,
                "enabled": True,
                "clients": [{"clientId": env["ROLLWAY_CLI_CLIENT_ID"], "publicClient": True,
                             "directAccessGrantsEnabled": True, "protocolMappers": [audience]}],
                "users": [{"username": "alice", "enabled": True, "emailVerified": True,
                           "firstName": "Alice", "lastName": "Other", "email": "alice@other.test",
                           "credentials": [{"type": "password", "value": self.PASSWORD}]}],
            }
        )  # fmt: skip
        self.openid = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"], realm_name=self.name,
                                     client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip

    def token(self) -> str:
        return str(self.openid.token("alice", self.PASSWORD)["access_token"])

    def remove(self) -> None:
        self.admin.delete_realm(self.name)


@pytest.fixture(scope="module")
def other_realm(devstack_env: dict[str, str]) -> Iterator[OtherRealm]:
    realm = OtherRealm(devstack_env)
    try:
        yield realm
    finally:
        realm.remove()


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


def test_jku_header_is_not_followed(
    api: Api, good_claims: dict[str, Any], attacker: tuple[jwk.JWK, Loopback]
) -> None:
    key, listener = attacker
    token = signed_with_header(good_claims, key, kid="attacker", jku=f"{listener.url}/jwks.json")
    refused(api, token, "unknown key")
    assert listener.requests == []


def test_x5u_header_is_not_followed(
    api: Api, good_claims: dict[str, Any], attacker: tuple[jwk.JWK, Loopback]
) -> None:
    key, listener = attacker
    token = signed_with_header(good_claims, key, kid="attacker", x5u=f"{listener.url}/cert.pem")
    refused(api, token, "unknown key")
    assert listener.requests == []


def test_an_embedded_jwk_under_a_real_kid_is_not_trusted(
    api: Api, tokens: Tokens, good_claims: dict[str, Any], attacker: tuple[jwk.JWK, Loopback]
) -> None:
    key, listener = attacker
    kid = jwt.JWT(jwt=tokens("alice")).token.jose_header["kid"]
    token = signed_with_header(good_claims, key, kid=kid, jwk=json.loads(key.export_public()),
                               jku=f"{listener.url}/jwks.json")  # fmt: skip
    refused(api, token, "signature verification failed")
    assert listener.requests == []


def test_another_realms_token(api: Api, other_realm: OtherRealm) -> None:
    token = other_realm.token()
    assert claims_of(token)["iss"].endswith(f"/realms/{other_realm.name}")  # a real token
    refused(api, token, "unknown key")


def test_another_realms_claims_under_a_realm_key(
    api: Api, realm_key: RealmKey, other_realm: OtherRealm
) -> None:
    """Its claims re-signed with a key this realm publishes: the issuer alone refuses it."""
    refused(api, realm_key.sign(claims_of(other_realm.token())), "wrong issuer")


def test_not_yet_valid(api: Api, realm_key: RealmKey, good_claims: dict[str, Any]) -> None:
    future = int(time.time()) + 3600
    refused(api, realm_key.sign({**good_claims, "nbf": future}), "not yet valid")


def test_issued_to_a_client_the_api_does_not_accept(
    api: Api, realm_key: RealmKey, good_claims: dict[str, Any]
) -> None:
    refused(api, realm_key.sign({**good_claims, "azp": "account-console"}), "client the API")


def test_a_token_of_an_accepted_client_passes(
    api: Api, realm_key: RealmKey, good_claims: dict[str, Any]
) -> None:
    """The control of the azp case: alice's own token names rollway-cli."""
    assert good_claims["azp"] == "rollway-cli"
    answer = api.call(None, "GET", PROBE, headers={"Authorization": f"Bearer {realm_key.sign(good_claims)}"})  # fmt: skip
    assert answer.status_code == 200, answer.text


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
