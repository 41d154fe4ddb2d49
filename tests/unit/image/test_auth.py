"""The registry auth flow, driven step by step: challenge in, Authorization out, token requests
recorded.

(The token service is a function here; the integration tests run the flow against the real
registry.)
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from rollway.errors import Forbidden, Unauthorized
from rollway.image.auth import RegistryAuth, parse_challenge
from rollway.image.credentials import Credentials
from rollway.transport import Headers, Response

CREDS = Credentials("robot$ci", "s3cret", "ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD")
BASIC = "Basic " + base64.b64encode(b"robot$ci:s3cret").decode()
#: Harbor's challenge: the token service on the registry's own host.
BEARER = 'Bearer realm="http://reg/service/token",service="harbor-registry"'


def _response(status: int, body: Any = None, headers: dict[str, str] | None = None) -> Response:
    content = b"" if body is None else json.dumps(body).encode()
    fields = {k.lower(): v for k, v in (headers or {}).items()}
    return Response(status, "", Headers(fields), content, "/")


def _challenge(header: str) -> Response:
    return _response(401, headers={"WWW-Authenticate": header})


class TokenService:
    """Answers token requests in turn; records (URL, Authorization) of each."""

    def __init__(self, *answers: Response) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, str | None]] = []

    def __call__(self, url: str, authorization: str | None) -> Response:
        self.asked.append((url, authorization))
        return self.answers.pop(0)

    def scopes(self, number: int = -1) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.asked[number][0]).query)


def _auth(
    tokens: Callable[[str, str | None], Response], scopes: list[str], registry: str = "reg",
    credentials: Credentials | None = CREDS,
) -> RegistryAuth:  # fmt: skip
    return RegistryAuth(registry, credentials, scopes, tokens)


def test_parse_challenge() -> None:
    assert parse_challenge(BEARER + ',scope="repository:a/b:pull"') == (
        "bearer",
        {
            "realm": "http://reg/service/token",
            "service": "harbor-registry",
            "scope": "repository:a/b:pull",
        },
    )
    assert parse_challenge('Basic realm="rollway-registry"') == (
        "basic",
        {"realm": "rollway-registry"},
    )
    assert parse_challenge("") is None


def test_basic_challenge_then_basic_up_front() -> None:
    tokens = TokenService()
    auth = _auth(tokens, [])
    assert auth.authorization() is None  # nothing is sent before a challenge names the scheme
    assert auth.challenged(_challenge('Basic realm="r"'), "http://reg/v2/")
    # Later requests carry the header from the start, so a streamed body is sent only once.
    assert auth.authorization() == BASIC
    assert not auth.challenged(_challenge('Basic realm="r"'), "http://reg/v2/")  # refused
    assert tokens.asked == []


def test_bearer_token_for_all_scopes_then_up_front() -> None:
    tokens = TokenService(_response(200, {"token": "t0k", "expires_in": 300}))
    auth = _auth(tokens, ["repository:apps/hello:pull,push", "repository:library/base:pull"])
    assert auth.challenged(_challenge(BEARER), "http://reg/v2/")
    ((url, authorization),) = tokens.asked
    assert urlsplit(url).netloc == "reg" and urlsplit(url).path == "/service/token"
    assert tokens.scopes() == [
        ("service", "harbor-registry"),
        ("scope", "repository:apps/hello:pull,push"),
        ("scope", "repository:library/base:pull"),
    ]
    assert authorization == BASIC
    assert auth.authorization() == "Bearer t0k"
    assert auth.authorization() == "Bearer t0k"
    assert len(tokens.asked) == 1


def test_insufficient_scope_adds_the_scope_and_renews() -> None:
    tokens = TokenService(
        _response(200, {"access_token": "first"}), _response(200, {"token": "second"})
    )
    auth = _auth(tokens, ["repository:a:pull"])
    auth.challenged(_challenge(BEARER), "http://reg/v2/")
    assert auth.authorization() == "Bearer first"
    assert auth.challenged(
        _challenge(BEARER + ',scope="repository:b:pull",error="insufficient_scope"'),
        "http://reg/v2/b/tags/list",
    )
    assert [v for k, v in tokens.scopes() if k == "scope"] == [
        "repository:a:pull",
        "repository:b:pull",
    ]
    assert auth.authorization() == "Bearer second"


def test_expired_token_is_renewed_before_the_request() -> None:
    tokens = TokenService(
        _response(200, {"token": "short", "expires_in": 0}), _response(200, {"token": "fresh"})
    )
    auth = _auth(tokens, ["repository:a:pull"])
    auth.challenged(_challenge(BEARER), "http://reg/v2/")
    assert auth.authorization() == "Bearer fresh"
    assert len(tokens.asked) == 2 and urlsplit(tokens.asked[1][0]).netloc == "reg"


def test_refused_token_names_the_registry_not_the_secret() -> None:
    auth = _auth(TokenService(_response(401, "bad credentials")), [], registry="harbor.example.com")
    with pytest.raises(Unauthorized) as err:
        auth.challenged(_challenge(BEARER), "http://reg/v2/")
    message = str(err.value)
    assert "harbor.example.com" in message
    assert (
        "refused the credentials from ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD"
        in message
    )
    assert "s3cret" not in message and "robot$ci" not in message


def test_anonymous_token() -> None:
    tokens = TokenService(_response(200, {"token": "anon"}))
    auth = _auth(tokens, ["repository:library/alpine:pull"], "docker.io", credentials=None)
    assert auth.challenged(_challenge(BEARER), "https://registry-1.docker.io/v2/")
    assert tokens.asked[0][1] is None
    assert auth.authorization() == "Bearer anon"


@pytest.mark.parametrize(
    ("registry", "realm"),
    [
        ("http://reg/v2/", "http://127.0.0.7/token"),
        ("http://reg/v2/", "http://reg.evil/t"),
        ("https://reg/v2/", "http://reg/token"),  # from https down to plain http
    ],
)
def test_credentials_never_go_to_a_token_service_off_the_registry_host(
    registry: str, realm: str
) -> None:
    tokens = TokenService()
    auth = _auth(tokens, ["repository:a:pull"])
    with pytest.raises(Forbidden) as err:
        auth.challenged(_challenge(f'Bearer realm="{realm}",service="x"'), registry)
    assert "sent only to the registry's own host" in str(err.value)
    assert "s3cret" not in str(err.value)
    assert tokens.asked == []


@pytest.mark.parametrize("realm", ["http://reg:8443/token", "https://reg/token"])
def test_a_token_service_on_the_registry_host_gets_the_credentials(realm: str) -> None:
    """Another port of the same host (a registry's separate token service) is home."""
    tokens = TokenService(_response(200, {"token": "t"}))
    auth = _auth(tokens, ["repository:a:pull"])
    auth.challenged(_challenge(f'Bearer realm="{realm}",service="x"'), "http://reg/v2/")
    ((url, authorization),) = tokens.asked
    assert url.startswith(realm + "?")
    assert authorization == BASIC
