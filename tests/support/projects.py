"""Tests' applications inside the demo projects' guardrails: tests deploy into namespaces of
their own (`<prefix>-hello-dev`, `e2e-1a2b3c-dev`), which the platform admin adds to the project
first, as an operator would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

#: `call(user, method, path, json=…)` against an API server, as the tests' clients offer it.
Call = Callable[..., httpx.Response]
ADMIN = "dave"


def namespaces(spec: dict[str, Any]) -> list[str]:
    """The namespaces an application spec deploys to (the server's default `<app>-<env>`)."""
    return [env.get("namespace") or f"{spec['name']}-{env['name']}" for env in spec["environments"]]


def allow(call: Call, project: str, **entries: list[str]) -> None:
    """As the platform admin, add entries to the project's guardrails (`namespaces=[…]`,
    `notificationHosts=[…]`)."""
    found = call(ADMIN, "GET", f"/api/v1/projects/{project}")
    assert found.status_code == 200, found.text
    current = found.json()
    rails = current["guardrails"]
    wanted = {key: sorted({*rails[key], *values}) for key, values in entries.items()}
    if all(rails[key] == values for key, values in wanted.items()):
        return
    body = {"description": current["description"], "members": current["members"],
            "guardrails": {**rails, **wanted}}  # fmt: skip
    answer = call(ADMIN, "PUT", f"/api/v1/projects/{project}", json=body)
    assert answer.status_code == 200, answer.text


def admitted(call: Call, spec: dict[str, Any], project: str = "hello") -> dict[str, Any]:
    """`spec` in `project`, whose guardrails now take its namespaces and webhook hosts."""
    hosts = [urlsplit(hook["url"]).netloc for hook in spec.get("notifications", [])]
    allow(call, project, namespaces=namespaces(spec), notificationHosts=hosts)
    return {**spec, "project": project}


def caller(url: str, env: dict[str, str]) -> Call:
    """`call(user, method, path, **kwargs)` on the API server at `url` as a realm user (a
    password grant against the devstack's Keycloak per call: these are few)."""
    from keycloak import KeycloakOpenID

    keycloak = KeycloakOpenID(server_url=env["ROLLWAY_KEYCLOAK_URL"],
                              realm_name=env["ROLLWAY_KEYCLOAK_REALM"],
                              client_id=env["ROLLWAY_CLI_CLIENT_ID"])  # fmt: skip

    def call(user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        token = keycloak.token(user, env["DEVSTACK_USER_PASSWORD"])["access_token"]
        return httpx.request(method, f"{url}{path}", timeout=30,
                             headers={"Authorization": f"Bearer {token}"}, **kwargs)  # fmt: skip

    return call
