"""Reading an OAuth 2.0 error answer (RFC 6749 §5.2), as Keycloak's token endpoint sends it."""

from __future__ import annotations

import json
from typing import Any


def json_object(body: bytes | None) -> dict[str, Any]:
    """The body as a JSON object; empty when it is missing, not JSON or not an object."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def error_of(body: bytes | None) -> tuple[str, str]:
    """`error` and `error_description` of the answer ('' for what it does not say)."""
    data = json_object(body)
    return str(data.get("error") or ""), str(data.get("error_description") or "")
