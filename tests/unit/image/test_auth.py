"""The registry auth flow, driven step by step: challenge in, authenticated request out.

(The flow's requests and responses are httpx objects handed in and out of the generator; the
integration tests run it against the real registry.)
"""

from __future__ import annotations

import base64

import httpx
import pytest

from rollway.errors import Forbidden, Unauthorized
from rollway.image.auth import RegistryAuth, parse_challenge
from rollway.image.credentials import Credentials

CREDS = Credentials("robot$ci", "s3cret", "ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD")
BASIC = "Basic " + base64.b64encode(b"robot$ci:s3cret").decode()
#: Harbor's challenge: the token service on the registry's own host.
BEARER = 'Bearer realm="http://reg/service/token",service="harbor-registry"'


def _challenge(header: str) -> httpx.Response:
    return httpx.Response(401, headers={"WWW-Authenticate": header})


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
    auth = RegistryAuth("reg", CREDS, [])
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/"))
    first = next(flow)
    assert "Authorization" not in first.headers
    retried = flow.send(_challenge('Basic realm="r"'))
    assert retried.headers["Authorization"] == BASIC
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200))
    # Later requests carry the header from the start, so a streamed body is sent only once.
    later = next(auth.sync_auth_flow(httpx.Request("PUT", "http://reg/v2/x")))
    assert later.headers["Authorization"] == BASIC


def test_bearer_token_for_all_scopes_then_up_front() -> None:
    auth = RegistryAuth(
        "reg", CREDS, ["repository:apps/hello:pull,push", "repository:library/base:pull"]
    )
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/"))
    next(flow)
    token_request = flow.send(_challenge(BEARER))
    assert token_request.url.host == "reg"
    assert token_request.url.params.multi_items() == [
        ("service", "harbor-registry"),
        ("scope", "repository:apps/hello:pull,push"),
        ("scope", "repository:library/base:pull"),
    ]
    assert token_request.headers["Authorization"] == BASIC
    retried = flow.send(httpx.Response(200, json={"token": "t0k", "expires_in": 300}))
    assert retried.headers["Authorization"] == "Bearer t0k"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200))
    later = next(auth.sync_auth_flow(httpx.Request("HEAD", "http://reg/v2/apps/hello/blobs/x")))
    assert later.headers["Authorization"] == "Bearer t0k"


def test_insufficient_scope_adds_the_scope_and_renews() -> None:
    auth = RegistryAuth("reg", CREDS, ["repository:a:pull"])
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/"))
    next(flow)
    flow.send(_challenge(BEARER))
    flow.send(httpx.Response(200, json={"access_token": "first"}))
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/b/tags/list"))
    assert next(flow).headers["Authorization"] == "Bearer first"
    renewal = flow.send(
        _challenge(BEARER + ',scope="repository:b:pull",error="insufficient_scope"')
    )
    assert renewal.url.params.get_list("scope") == ["repository:a:pull", "repository:b:pull"]
    assert (
        flow.send(httpx.Response(200, json={"token": "second"})).headers["Authorization"]
        == "Bearer second"
    )


def test_expired_token_is_renewed_before_the_request() -> None:
    auth = RegistryAuth("reg", CREDS, ["repository:a:pull"])
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/"))
    next(flow)
    flow.send(_challenge(BEARER))
    flow.send(httpx.Response(200, json={"token": "short", "expires_in": 0}))
    flow = auth.sync_auth_flow(httpx.Request("PUT", "http://reg/v2/a/blobs/uploads/1"))
    renewal = next(flow)
    assert renewal.url.host == "reg"
    assert (
        flow.send(httpx.Response(200, json={"token": "fresh"})).headers["Authorization"]
        == "Bearer fresh"
    )


def test_refused_token_names_the_registry_not_the_secret() -> None:
    auth = RegistryAuth("harbor.example.com", CREDS, [])
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/"))
    next(flow)
    flow.send(_challenge(BEARER))
    with pytest.raises(Unauthorized) as err:
        flow.send(httpx.Response(401, text="bad credentials"))
    message = str(err.value)
    assert "harbor.example.com" in message
    assert (
        "refused the credentials from ROLLWAY_REGISTRY_USERNAME/ROLLWAY_REGISTRY_PASSWORD"
        in message
    )
    assert "s3cret" not in message and "robot$ci" not in message


def test_anonymous_token() -> None:
    auth = RegistryAuth("docker.io", None, ["repository:library/alpine:pull"])
    flow = auth.sync_auth_flow(httpx.Request("GET", "https://registry-1.docker.io/v2/"))
    next(flow)
    token_request = flow.send(_challenge(BEARER))
    assert "Authorization" not in token_request.headers


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
    auth = RegistryAuth("reg", CREDS, ["repository:a:pull"])
    flow = auth.sync_auth_flow(httpx.Request("GET", registry))
    next(flow)
    with pytest.raises(Forbidden) as err:
        flow.send(_challenge(f'Bearer realm="{realm}",service="x"'))
    assert "sent only to the registry's own host" in str(err.value)
    assert "s3cret" not in str(err.value)


@pytest.mark.parametrize("realm", ["http://reg:8443/token", "https://reg/token"])
def test_a_token_service_on_the_registry_host_gets_the_credentials(realm: str) -> None:
    """Another port of the same host (a registry's separate token service) is home."""
    auth = RegistryAuth("reg", CREDS, ["repository:a:pull"])
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://reg/v2/"))
    next(flow)
    token_request = flow.send(_challenge(f'Bearer realm="{realm}",service="x"'))
    assert str(token_request.url).startswith(realm)
    assert "Authorization" in token_request.headers
