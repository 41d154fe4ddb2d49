"""Who is calling, from the claims of a validated Keycloak access token.

A caller's roles are per project and come from the project's member groups (see
`apiserver.services.access`); the token contributes the caller's groups (`groups`, e.g.
`hello-deployers`) and whether they are a platform admin (the `admin` realm role, or the API
client's `admin` role), who may do everything everywhere. Service accounts (client-credentials
tokens, e.g. CI) are principals like users: their groups decide.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

#: The realm or client role of platform admins.
ADMIN_ROLE = "admin"


class Role(enum.StrEnum):
    """A role in a project, held through one of the project's member groups."""

    VIEWER = "viewer"
    DEPLOYER = "deployer"
    APPROVER = "approver"
    PROJECT_ADMIN = "project-admin"


class Capability(enum.Enum):
    """What an action needs; `grants` says which project roles carry it (admins hold all)."""

    READ = frozenset(Role)
    DEPLOY = frozenset({Role.DEPLOYER})
    APPROVE = frozenset({Role.APPROVER})
    #: Promote: a deployer's move, or at an approval gate an approver's (it approves).
    PROMOTE = frozenset({Role.DEPLOYER, Role.APPROVER})
    #: Change the project's members, guardrails and environment policies.
    ADMINISTER = frozenset({Role.PROJECT_ADMIN})

    @property
    def grants(self) -> frozenset[Role]:
        return self.value


@dataclasses.dataclass(frozen=True)
class Principal:
    subject: str  # the token's `sub`: stable across renames
    name: str  # preferred_username, or the client id of a service account
    is_admin: bool
    groups: frozenset[str]
    service_account: bool = False

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], audience: str) -> Principal:
        """Admin from the realm or the API client's roles; other roles are the projects'."""
        client_roles = ((claims.get("resource_access") or {}).get(audience) or {}).get("roles")
        realm_roles = (claims.get("realm_access") or {}).get("roles")
        client_id = claims.get("client_id") or claims.get("azp")
        username = str(claims.get("preferred_username") or "")
        service = username.startswith("service-account-") and isinstance(client_id, str)
        return cls(
            subject=str(claims.get("sub") or username),
            name=str(client_id) if service else username or str(claims.get("sub", "")),
            is_admin=ADMIN_ROLE in {*_strings(realm_roles), *_strings(client_roles)},
            groups=frozenset(g.lstrip("/") for g in _strings(claims.get("groups"))),
            service_account=service,
        )


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
