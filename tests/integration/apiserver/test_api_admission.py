"""Admission under concurrency and retries, against a live server: the database decides."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from tests.integration.apiserver.conftest import Api, LiveServer, Tokens

pytestmark = pytest.mark.integration

PARALLEL = 50


async def _deploy_all(url: str, headers: list[dict[str, str]]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=PARALLEL)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        body = {"env": "dev", "version": "1.0.0"}
        start = asyncio.Event()

        async def one(h: dict[str, str]) -> httpx.Response:
            await start.wait()
            return await client.post("/api/v1/apps/hello/deployments", json=body, headers=h)

        tasks = [asyncio.create_task(one(h)) for h in headers]
        await asyncio.sleep(0)  # let every task reach the start line
        start.set()
        return await asyncio.gather(*tasks)


def test_fifty_parallel_deploys_admit_exactly_one(live: LiveServer, tokens: Tokens) -> None:
    users = ["alice", "demo", "dave", "ci"]
    headers = [tokens.headers(users[i % len(users)]) for i in range(PARALLEL)]

    answers = asyncio.run(_deploy_all(live.url, headers))

    statuses = Counter(a.status_code for a in answers)
    assert statuses[201] + statuses[202] == 1, statuses
    assert statuses[409] == PARALLEL - 1, statuses
    winner = next(a.json() for a in answers if a.status_code in (201, 202))
    for answer in answers:
        if answer.status_code == 409:
            problem = answer.json()
            assert answer.headers["content-type"] == "application/problem+json"
            assert problem["deploymentId"] == winner["id"], problem
            assert winner["id"] in problem["detail"]
    assert [w.name for w in live.backend.list({})] == [winner["id"]]
    listed = httpx.get(f"{live.url}/api/v1/deployments", headers=tokens.headers("dave")).json()
    assert [d["id"] for d in listed["items"]] == [winner["id"]]


def test_parallel_retries_with_one_idempotency_key_create_one_deployment(
    live: LiveServer, tokens: Tokens
) -> None:
    key = str(uuid.uuid4())
    headers = [{**tokens.headers("alice"), "Idempotency-Key": key} for _ in range(10)]

    answers = asyncio.run(_deploy_all(live.url, headers))

    assert sorted(a.status_code for a in answers) == [200] * 9 + [201], [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    replayed = [a for a in answers if a.status_code == 200]
    assert all(a.headers["idempotent-replayed"] == "true" for a in replayed)


def test_same_key_with_another_body_is_refused(api: Api) -> None:
    key = {"Idempotency-Key": "deploy-hello-1"}
    first = api.call("alice", "POST", "/api/v1/apps/hello/deployments", headers=key,
                     json={"env": "dev", "version": "1.0.0"})  # fmt: skip
    second = api.call("alice", "POST", "/api/v1/apps/hello/deployments", headers=key,
                      json={"env": "dev", "version": "2.0.0"})  # fmt: skip

    assert first.status_code == 201
    assert second.status_code == 422
    assert second.json()["field"] == "header.Idempotency-Key"
    assert first.json()["id"] in second.json()["detail"]


def test_keys_belong_to_their_caller(api: Api) -> None:
    key = {"Idempotency-Key": "shared-key"}
    mine = api.call("alice", "POST", "/api/v1/apps/hello/deployments", headers=key,
                    json={"env": "dev", "version": "1.0.0"})  # fmt: skip
    theirs = api.call("erin", "POST", "/api/v1/apps/payments/deployments", headers=key,
                      json={"env": "dev", "version": "1.0.0"})  # fmt: skip

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_the_environment_is_free_again_once_its_deployment_finished(api: Api) -> None:
    first = api.deploy("alice").json()["id"]
    assert api.deploy("alice").status_code == 409

    api.reaches(first, "succeeded")

    upgrade = api.deploy("alice", kind="upgrade", version="1.1.0")
    assert upgrade.status_code == 201, upgrade.text


def test_upgrade_needs_an_earlier_successful_deployment(api: Api) -> None:
    refused = api.deploy("alice", kind="upgrade")
    assert refused.status_code == 409
    assert refused.json()["field"] == "body.kind"
