"""Applications' ETags with real Keycloak tokens, on SQLite and on PostgreSQL: a GET answers the
version, a PUT with If-Match changes only that version, one with If-None-Match: * registers
only a free name, each refusal a 412 problem naming the header once authorisation has answered;
concurrent writers of one version: exactly one wins, and none loses an edit by reading again."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.integration.apiserver.conftest import Api, LiveServer, Tokens
from tests.support.projects import Call, allow

pytestmark = pytest.mark.integration

HELLO = "/api/v1/apps/hello"


def spec_of(found: httpx.Response) -> dict[str, Any]:
    """The application as read, as a PUT body."""
    return {k: v for k, v in found.json().items()
            if k not in ("name", "createdBy", "createdAt", "updatedAt")}  # fmt: skip


def refused(answer: httpx.Response, status: int, field: str | None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json().get("field") == field


def test_if_match_changes_only_the_version_read(api: Api, database_kind: str) -> None:
    read = api.call("alice", "GET", HELLO)
    etag, spec = read.headers["ETag"], spec_of(read)
    assert re.fullmatch(r'"\d+"', etag)

    changed = api.call("alice", "PUT", HELLO, json={**spec, "strategy": "canary"},
                       headers={"If-Match": etag})  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert changed.headers["ETag"] != etag
    assert api.call("carol", "GET", HELLO).headers["ETag"] == changed.headers["ETag"]

    stale = api.call("alice", "PUT", HELLO, json={**spec, "strategy": "rolling"},
                     headers={"If-Match": etag})  # fmt: skip
    refused(stale, 412, "header.If-Match")
    assert changed.headers["ETag"] in stale.json()["detail"]
    assert api.call("alice", "GET", HELLO).json()["strategy"] == "canary"

    refused(api.call("alice", "PUT", HELLO, json=spec, headers={"If-Match": "3"}),
            422, "header.If-Match")  # fmt: skip
    anyone = api.call("alice", "PUT", HELLO, json=spec, headers={"If-Match": "*"})
    unconditional = api.call("alice", "PUT", HELLO, json={**spec, "strategy": "rolling"})
    assert (anyone.status_code, unconditional.status_code) == (200, 200)
    assert api.call("alice", "GET", HELLO).json()["strategy"] == "rolling"


@pytest.mark.parametrize(("user", "status"), [("alice", 412), ("carol", 403), ("erin", 404)])
def test_authorisation_answers_before_a_stale_if_match(
    api: Api, database_kind: str, user: str, status: int
) -> None:
    spec = spec_of(api.call("dave", "GET", HELLO))

    answer = api.call(user, "PUT", HELLO, json=spec, headers={"If-Match": '"999"'})

    assert answer.status_code == status, answer.text


def test_if_none_match_registers_only_a_free_name(api: Api, database_kind: str) -> None:
    environments = [{"name": "dev", "namespace": f"{api.prefix}-orders-dev"}]
    allow(api.call, "hello", namespaces=[environments[0]["namespace"]])
    spec = {**spec_of(api.call("dave", "GET", HELLO)), "environments": environments}
    register = {"If-None-Match": "*"}

    created = api.call("alice", "PUT", "/api/v1/apps/orders", json=spec, headers=register)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == "/api/v1/apps/orders"
    assert (
        created.headers["ETag"] == api.call("alice", "GET", "/api/v1/apps/orders").headers["ETag"]
    )
    assert created.json()["project"] == "hello"
    taken = api.call("alice", "PUT", "/api/v1/apps/orders", json=spec, headers=register)
    refused(taken, 412, "header.If-None-Match")
    assert taken.json()["detail"] == "application 'orders' already exists"
    viewer = api.call("carol", "PUT", "/api/v1/apps/other", json=spec, headers=register)
    refused(viewer, 403, None)  # a viewer registers nothing

    refused(api.call("alice", "PUT", "/api/v1/apps/absent", json=spec), 404, "app")  # as before
    both = {**register, "If-Match": created.headers["ETag"]}
    refused(api.call("alice", "PUT", "/api/v1/apps/orders", json=spec, headers=both),
            422, "header.If-None-Match")  # fmt: skip
    refused(api.call("alice", "PUT", "/api/v1/apps/orders", json=spec,
                     headers={"If-None-Match": '"1"'}), 422, "header.If-None-Match")  # fmt: skip
    events = api.call("dave", "GET", "/api/v1/audit?app=orders").json()["items"]
    seen = {(e["actor"], e["action"], e["status"]) for e in events}
    assert {("alice", "register_app", 201), ("alice", "register_app", 412)} <= seen


def test_concurrent_writers_of_one_version_one_gets_412_and_no_edit_is_lost(
    live: LiveServer, tokens: Tokens, database_kind: str
) -> None:
    call = live.caller(tokens)
    for _ in range(3):
        read = call("alice", "GET", HELLO)
        etag, spec = read.headers["ETag"], spec_of(read)
        answers = together(call, [("PUT", {**spec, "strategy": s}, {"If-Match": etag})
                                  for s in ("canary", "rolling")])  # fmt: skip
        assert sorted(a.status_code for a in answers) == [200, 412], [a.text for a in answers]
        won = next(a for a in answers if a.status_code == 200)
        refused(next(a for a in answers if a.status_code == 412), 412, "header.If-Match")
        now = call("alice", "GET", HELLO)
        assert (now.json()["strategy"], now.headers["ETag"]) == (
            won.json()["strategy"], won.headers["ETag"])  # fmt: skip

    # Without If-Match, writers take turns as before: both succeed.
    answers = together(call, [("PUT", spec, {}), ("PUT", spec, {})])
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]

    # Read, change, write with If-Match, and on 412 read again: both writers' edits are there.
    names = [f"qa{uuid.uuid4().hex[:4]}", f"qa{uuid.uuid4().hex[:4]}"]
    allow(call, "hello", namespaces=[f"{name}-ns" for name in names])
    barrier = threading.Barrier(2)

    def add(name: str) -> None:
        barrier.wait()
        for _ in range(20):
            read = call("alice", "GET", HELLO)
            spec = spec_of(read)
            spec["environments"].append({"name": name, "namespace": f"{name}-ns"})
            answer = call(
                "alice", "PUT", HELLO, json=spec, headers={"If-Match": read.headers["ETag"]}
            )
            if answer.status_code != 412:
                assert answer.status_code == 200, answer.text
                return
        raise AssertionError(f"{name} never got its edit in")

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(add, names))
    environments = [e["name"] for e in call("alice", "GET", HELLO).json()["environments"]]
    assert set(names) <= set(environments)


def together(call: Call, requests: list[tuple[str, Any, dict[str, str]]]) -> list[httpx.Response]:
    """The requests to the application hello, sent at the same moment from threads of their own."""
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, Any, dict[str, str]]) -> httpx.Response:
        method, body, headers = request
        barrier.wait()
        return call("alice", method, HELLO, json=body, headers=headers)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))
