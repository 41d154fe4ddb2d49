"""Keycloak/OIDC: access-token validation and the caller's roles and teams."""

from .principal import Capability, Principal, Role
from .tokens import ALGORITHMS, InvalidToken, TokenValidator

__all__ = ["ALGORITHMS", "Capability", "InvalidToken", "Principal", "Role", "TokenValidator"]
