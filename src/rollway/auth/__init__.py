"""Keycloak/OIDC: the caller's roles and teams (`principal`) and access-token checks (`tokens`).

`tokens` pulls in python-keycloak and jwcrypto, so it is imported from its module, keeping
`import rollway.auth` cheap for the CLI.
"""

from .principal import Capability, Principal, Role

__all__ = ["Capability", "Principal", "Role"]
