"""Who is calling and what they may do, from the claims of a validated Keycloak access token.

Roles: viewer < deployer < admin, plus approver as a separate capability. They come from realm
roles (`realm_access.roles`) or the API client's roles (`resource_access.<audience>.roles`).
Groups (`groups`, e.g. `team-hello`) scope non-admins to the applications their teams own.
Service accounts (client-credentials tokens, e.g. CI) are principals like users.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import Any


class Role(enum.StrEnum):
    VIEWER = "viewer"
    DEPLOYER = "deployer"
    APPROVER = "approver"
    ADMIN = "admin"


class Capability(enum.Enum):
    """What an action needs; `grants` says which roles carry it."""

    READ = frozenset(Role)
    DEPLOY = frozenset({Role.DEPLOYER, Role.ADMIN})
    APPROVE = frozenset({Role.APPROVER, Role.ADMIN})

    @property
    def grants(self) -> frozenset[Role]:
        return self.value


@dataclasses.dataclass(frozen=True)
class Principal:
    subject: str  # the token's `sub`: stable across renames
    name: str  # preferred_username, or the client id of a service account
    roles: frozenset[Role]
    groups: frozenset[str]
    service_account: bool = False

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], audience: str) -> Principal:
        """Known roles from the realm and the API client; unknown roles are ignored."""
        client_roles = ((claims.get("resource_access") or {}).get(audience) or {}).get("roles")
        realm_roles = (claims.get("realm_access") or {}).get("roles")
        names = {*_strings(realm_roles), *_strings(client_roles)}
        client_id = claims.get("client_id") or claims.get("azp")
        username = str(claims.get("preferred_username") or "")
        service = username.startswith("service-account-") and isinstance(client_id, str)
        return cls(
            subject=str(claims.get("sub") or username),
            name=str(client_id) if service else username or str(claims.get("sub", "")),
            roles=frozenset(Role(n) for n in names if n in Role.__members__.values()),
            groups=frozenset(g.lstrip("/") for g in _strings(claims.get("groups"))),
            service_account=service,
        )

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    def can(self, capability: Capability) -> bool:
        return bool(self.roles & capability.grants)

    def owns(self, owning_groups: Iterable[str]) -> bool:
        """Admins own everything; others own what one of their groups owns."""
        return self.is_admin or not self.groups.isdisjoint(owning_groups)


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
