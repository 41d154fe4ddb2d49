"""The client-credentials grant (RFC 6749 §4.4) at Keycloak: how a client with a secret — CI
logging in with `app login`, the report step calling the API server back — gets a token.

python-keycloak is imported when a token is asked for. Its exceptions pass through: the CLI and
the report step each say a refusal in their own terms (`oauth.error_of` reads it).
"""

from __future__ import annotations

from typing import Any


def token(url: str, realm: str, client_id: str, secret: str, *, timeout: int) -> dict[str, Any]:
    """The token endpoint's answer (`access_token`, `expires_in`…) for the client of `realm`."""
    from keycloak import KeycloakOpenID

    keycloak = KeycloakOpenID(server_url=url, realm_name=realm, client_id=client_id,
                              client_secret_key=secret, timeout=timeout)  # fmt: skip
    answer: dict[str, Any] = keycloak.token(grant_type="client_credentials")
    return answer
