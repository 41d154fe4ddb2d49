"""Principals from token claims: platform admin from realm or client roles, groups, service
accounts. Roles in projects come from the projects' member groups (see test_access)."""

from __future__ import annotations

from rollway.auth import Principal

AUDIENCE = "rollway-api"


def test_admin_comes_from_the_realm_or_the_api_client_and_groups_lose_their_slash() -> None:
    def principal(realm: list[str], client: list[str]) -> Principal:
        claims = {
            "sub": "s1",
            "preferred_username": "alice",
            "realm_access": {"roles": realm},
            "resource_access": {AUDIENCE: {"roles": client}, "account": {"roles": ["admin"]}},
            "groups": ["/team-hello", "hello-deployers"],
        }
        return Principal.from_claims(claims, AUDIENCE)

    alice = principal(["deployer", "offline_access"], [])

    assert not alice.is_admin
    assert alice.groups == {"team-hello", "hello-deployers"}
    assert (alice.subject, alice.name, alice.service_account) == ("s1", "alice", False)
    assert principal(["admin"], []).is_admin and principal([], ["admin"]).is_admin


def test_service_accounts_are_named_after_their_client() -> None:
    claims = {"sub": "s", "preferred_username": "service-account-rollway-ci", "azp": "rollway-ci",
              "client_id": "rollway-ci", "groups": ["hello-deployers"]}  # fmt: skip
    ci = Principal.from_claims(claims, AUDIENCE)

    assert (ci.name, ci.service_account, ci.groups) == ("rollway-ci", True, {"hello-deployers"})


def test_malformed_claims_give_no_roles_rather_than_an_error() -> None:
    odd = Principal.from_claims(
        {"sub": "x", "realm_access": {"roles": "admin"}, "groups": 3}, AUDIENCE
    )

    assert not odd.is_admin and odd.groups == frozenset()
