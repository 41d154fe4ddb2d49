"""The pieces of an authorization code flow with PKCE (RFC 7636) that need no network."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import urlencode

#: Where `next` may send a user back to: a page of the dashboard, nothing else.
PAGE = re.compile(r"^/ui(/[A-Za-z0-9._~%/-]*)?(\?[A-Za-z0-9._~%&=+-]*)?$")


def new_verifier() -> str:
    """A code verifier: 64 random bytes, base64url (86 characters, within RFC 7636's 43–128)."""
    return secrets.token_urlsafe(64)


def challenge(verifier: str) -> str:
    """The S256 code challenge of a verifier."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    issuer: str, client_id: str, redirect_uri: str, state: str, verifier: str, nonce: str
) -> str:
    """Keycloak's authorization endpoint with the request for a code bound to `verifier`."""
    query = {
        "client_id": client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": redirect_uri,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
    }
    return f"{issuer.rstrip('/')}/protocol/openid-connect/auth?{urlencode(query)}"


def safe_next(value: str | None) -> str:
    """`value` when it is a dashboard page of this server; the applications page otherwise
    (no open redirect to another host through `//host` or a scheme)."""
    if value and PAGE.match(value) and "//" not in value:
        return value
    return "/ui/"
