"""Real Keycloak: realm `rollway` tokens, roles, groups, clients and the device grant."""

from __future__ import annotations

import base64
import json

import pytest
from jwcrypto.common import JWException
from keycloak import KeycloakAdmin, KeycloakOpenID
from keycloak.exceptions import KeycloakAuthenticationError, KeycloakPostError

from devstack.components.keycloak import Keycloak
from devstack.stack import Context

pytestmark = pytest.mark.integration

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: username -> (Rollway's realm roles, groups), as the realm file promises: roles in projects
#: come from the groups (see the demo projects), only `admin` is a realm role.
USERS = {
    "alice": (set(), ["hello-deployers", "team-hello"]),
    "bob": (set(), ["hello-approvers", "team-hello"]),
    "carol": (set(), ["team-hello"]),
    "dave": ({"admin"}, []),
    "erin": (set(), ["payments-deployers", "team-payments"]),
    "frank": (set(), ["hello-admins"]),
    "nora": (set(), []),
    "demo": (set(), ["hello-approvers", "hello-deployers", "team-hello"]),
}


def rollway_roles(claims: dict) -> set[str]:
    """The realm roles, without Keycloak's built-in ones."""
    roles = set((claims.get("realm_access") or {}).get("roles") or [])
    return {r for r in roles if r not in ("offline_access", "uma_authorization")
            and not r.startswith("default-roles-")}  # fmt: skip


@pytest.fixture(scope="module")
def env(devstack: Context) -> dict[str, str]:
    return Keycloak().exports(devstack)


def oidc(env: dict[str, str], client: str, secret: str | None = None) -> KeycloakOpenID:
    return KeycloakOpenID(
        server_url=env["ROLLWAY_KEYCLOAK_URL"],
        realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
        client_id=client,
        client_secret_key=secret,
    )


@pytest.fixture(scope="module")
def cli(env: dict[str, str]) -> KeycloakOpenID:
    return oidc(env, env["ROLLWAY_CLI_CLIENT_ID"])


def validate(client: KeycloakOpenID, env: dict[str, str], token: str, audience: str = "") -> dict:
    """What the Rollway API does: signature against the realm's JWKS, issuer, audience, expiry."""
    claims = {
        "iss": env["ROLLWAY_OIDC_ISSUER"],
        "aud": audience or env["ROLLWAY_OIDC_AUDIENCE"],
        "exp": None,
    }
    return client.decode_token(token, check_claims=claims)


def password_token(cli: KeycloakOpenID, env: dict[str, str], user: str) -> str:
    return cli.token(user, env["DEVSTACK_USER_PASSWORD"])["access_token"]


def tamper(token: str, **changes: object) -> str:
    """The same token with its payload edited and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    edited = base64.urlsafe_b64encode(json.dumps({**claims, **changes}).encode()).rstrip(b"=")
    return f"{header}.{edited.decode()}.{signature}"


def test_alice_token_validates_against_the_realm_jwks(
    cli: KeycloakOpenID, env: dict[str, str]
) -> None:
    token = password_token(cli, env, "alice")
    claims = validate(cli, env, token)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))

    assert header["alg"] == "RS256"
    assert "rollway-api" in (claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]])
    assert claims["azp"] == "rollway-cli"
    assert claims["preferred_username"] == "alice"
    assert sorted(claims["groups"]) == ["hello-deployers", "team-hello"]
    assert claims["exp"] - claims["iat"] == 300


@pytest.mark.parametrize("user", sorted(USERS))
def test_users_carry_their_roles_and_teams(
    cli: KeycloakOpenID, env: dict[str, str], user: str
) -> None:
    roles, groups = USERS[user]
    claims = validate(cli, env, password_token(cli, env, user))

    assert rollway_roles(claims) == roles
    assert sorted(claims.get("groups", [])) == groups
    assert claims["email_verified"] is True


def test_ci_client_credentials_grant_acts_as_a_hello_deployer(env: dict[str, str]) -> None:
    ci = oidc(env, env["ROLLWAY_CI_CLIENT_ID"], env["ROLLWAY_CI_CLIENT_SECRET"])
    claims = validate(ci, env, ci.token(grant_type="client_credentials")["access_token"])

    assert claims["azp"] == "rollway-ci"
    assert rollway_roles(claims) == set()
    assert sorted(claims["groups"]) == ["hello-deployers", "team-hello"]


def test_ci_client_with_a_wrong_secret_is_rejected(env: dict[str, str]) -> None:
    ci = oidc(env, env["ROLLWAY_CI_CLIENT_ID"], "not-" + env["ROLLWAY_CI_CLIENT_SECRET"])
    with pytest.raises(KeycloakAuthenticationError, match="unauthorized_client"):
        ci.token(grant_type="client_credentials")


def test_wrong_password_is_rejected(cli: KeycloakOpenID, env: dict[str, str]) -> None:
    with pytest.raises(KeycloakPostError, match="invalid_grant"):
        cli.token("alice", "not-" + env["DEVSTACK_USER_PASSWORD"])
    # No brute-force lockout: the right password still works right after.
    assert password_token(cli, env, "alice")


def test_refresh_token_gives_a_new_valid_access_token(
    cli: KeycloakOpenID, env: dict[str, str]
) -> None:
    first = cli.token("bob", env["DEVSTACK_USER_PASSWORD"])
    refreshed = cli.refresh_token(first["refresh_token"])

    assert validate(cli, env, refreshed["access_token"])["preferred_username"] == "bob"


def test_api_client_is_bearer_only(env: dict[str, str]) -> None:
    with pytest.raises(KeycloakAuthenticationError, match="unauthorized_client"):
        oidc(env, "rollway-api").token("alice", env["DEVSTACK_USER_PASSWORD"])


def test_device_authorization_for_the_cli(cli: KeycloakOpenID, env: dict[str, str]) -> None:
    grant = cli.device()

    assert grant["device_code"] and grant["user_code"]
    assert grant["verification_uri"].startswith(env["ROLLWAY_OIDC_ISSUER"])
    # Until a user enters the code, polling says "pending", not "invalid".
    with pytest.raises(KeycloakPostError, match="authorization_pending"):
        cli.token(grant_type=DEVICE_GRANT, device_code=grant["device_code"])


def test_tampered_token_fails_validation(cli: KeycloakOpenID, env: dict[str, str]) -> None:
    token = password_token(cli, env, "carol")
    validate(cli, env, token)  # the untouched token is fine

    forged = tamper(token, realm_access={"roles": ["admin"]})
    with pytest.raises(JWException):
        validate(cli, env, forged)


def test_token_for_another_audience_fails_validation(
    cli: KeycloakOpenID, env: dict[str, str]
) -> None:
    with pytest.raises(JWException):
        validate(cli, env, password_token(cli, env, "alice"), audience="some-other-api")


def test_team_groups_record_the_apps_they_own(env: dict[str, str]) -> None:
    admin = KeycloakAdmin(
        server_url=env["ROLLWAY_KEYCLOAK_URL"],
        username="admin",
        password=env["KEYCLOAK_ADMIN_PASSWORD"],
        realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
        user_realm_name="master",
    )
    assert admin.get_group_by_path("/team-hello")["attributes"] == {"apps": ["hello"]}
    assert admin.get_group_by_path("/team-payments")["attributes"] == {"apps": ["payments"]}
