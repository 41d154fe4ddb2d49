"""The client-credentials grant asks Keycloak's token endpoint with the client's own secret."""

from __future__ import annotations

from typing import Any

import keycloak
import pytest

from rollway.auth import client_credentials


class FakeKeycloak:
    made: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        self.made.append(kwargs)

    def token(self, **kwargs: Any) -> dict[str, Any]:
        return {"access_token": "t", "expires_in": 300, "asked": kwargs}


def test_the_grant_is_asked_of_the_realm_with_the_clients_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(keycloak, "KeycloakOpenID", FakeKeycloak)
    answer = client_credentials.token("http://kc", "rollway", "ci", "s3cret", timeout=10)
    assert answer["asked"] == {"grant_type": "client_credentials"}
    assert FakeKeycloak.made == [{"server_url": "http://kc", "realm_name": "rollway",
                                  "client_id": "ci", "client_secret_key": "s3cret",
                                  "timeout": 10}]  # fmt: skip
