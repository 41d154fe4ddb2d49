"""Principals from token claims: roles from realm and client, teams, service accounts."""

from __future__ import annotations

from rollway.auth import Capability, Principal, Role

AUDIENCE = "rollway-api"


def test_realm_and_client_roles_are_merged_and_unknown_ones_ignored() -> None:
    claims = {
        "sub": "s1",
        "preferred_username": "alice",
        "realm_access": {"roles": ["deployer", "offline_access", "uma_authorization"]},
        "resource_access": {AUDIENCE: {"roles": ["approver"]}, "account": {"roles": ["admin"]}},
        "groups": ["/team-hello", "team-ops"],
    }
    alice = Principal.from_claims(claims, AUDIENCE)

    assert alice.roles == {Role.DEPLOYER, Role.APPROVER}
    assert alice.groups == {"team-hello", "team-ops"}
    assert (alice.subject, alice.name, alice.service_account) == ("s1", "alice", False)


def test_capabilities_follow_the_role_ladder() -> None:
    def can(*roles: str) -> set[str]:
        claims = {"sub": "x", "realm_access": {"roles": list(roles)}}
        who = Principal.from_claims(claims, AUDIENCE)
        return {c.name for c in Capability if who.can(c)}

    assert can("viewer") == {"READ"}
    assert can("deployer") == {"READ", "DEPLOY"}
    assert can("approver") == {"READ", "APPROVE"}
    assert can("admin") == {"READ", "DEPLOY", "APPROVE"}
    assert can() == set()


def test_ownership_is_by_team_and_admins_own_everything() -> None:
    member = Principal.from_claims({"sub": "a", "groups": ["team-hello"]}, AUDIENCE)
    admin = Principal.from_claims({"sub": "d", "realm_access": {"roles": ["admin"]}}, AUDIENCE)

    assert member.owns(["team-hello", "team-x"]) and not member.owns(["team-payments"])
    assert admin.owns(["team-payments"])


def test_service_accounts_are_named_after_their_client() -> None:
    claims = {"sub": "s", "preferred_username": "service-account-rollway-ci", "azp": "rollway-ci",
              "client_id": "rollway-ci", "realm_access": {"roles": ["deployer"]}}  # fmt: skip
    ci = Principal.from_claims(claims, AUDIENCE)

    assert (ci.name, ci.service_account) == ("rollway-ci", True)


def test_malformed_claims_give_no_roles_rather_than_an_error() -> None:
    odd = Principal.from_claims(
        {"sub": "x", "realm_access": {"roles": "admin"}, "groups": 3}, AUDIENCE
    )

    assert odd.roles == frozenset() and odd.groups == frozenset()
