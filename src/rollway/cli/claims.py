"""What an access token says about its holder, read without verifying it.

Only for showing (whoami, login's greeting): the API server verifies every token it gets.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


def claims(token: str) -> dict[str, Any]:
    """The JWT's payload; empty when the token is not a readable JWT."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, binascii.Error):
        return {}
    return data if isinstance(data, dict) else {}


def holder(data: dict[str, Any]) -> str:
    """The user name, or the client id of a service account."""
    user = str(data.get("preferred_username") or "")
    if user.startswith("service-account-") and data.get("azp"):
        return str(data["azp"])
    return user or str(data.get("sub") or "unknown")


def roles(data: dict[str, Any], audience: str = "rollway-api") -> list[str]:
    """Realm roles and the API client's roles, without Keycloak's built-in ones."""
    realm = (data.get("realm_access") or {}).get("roles") or []
    client = ((data.get("resource_access") or {}).get(audience) or {}).get("roles") or []
    builtin = ("offline_access", "uma_authorization")
    return sorted(
        {r for r in [*realm, *client] if r not in builtin and not r.startswith("default-roles-")}
    )


def groups(data: dict[str, Any]) -> list[str]:
    return sorted(str(g).lstrip("/") for g in data.get("groups") or [])
