"""Schemathesis against /openapi.json with a real admin token: no input makes the server fail.

Every operation is called with generated (valid and invalid) input; the answer may be any 2xx
or 4xx, never a 5xx, and every error is problem+json. Rollout routes talk to the devstack
cluster, so "no such rollout" is a 404 rather than an unreachable cluster. Nothing reaches a
generated URL: no dry runs (they fetch the chart's repository) and no webhook deliveries.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from rollway.apiserver import create_app
from rollway.kube.client import load_api
from rollway.rollouts import RolloutsClient
from tests.integration.apiserver.conftest import (
    HELLO,
    Tokens,
    cleanup,
    database,
    engine,
    in_namespaces,
    unique_prefix,
)
from tests.integration.apiserver.conftest import settings as server_settings
from tests.support.projects import admitted

pytestmark = pytest.mark.integration

#: Generated calls per operation and mode.
EXAMPLES = 25
#: No 5xx, and every answer as documented: status, media type, body schema.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    kubeconfig = devstack_env["KUBECONFIG"]
    headers = tokens.headers("dave")
    state, prefix = Path(tmp_path_factory.mktemp("schemathesis")), unique_prefix()
    backend = engine(devstack_env, state / "engine")
    with database(state) as url, cleanup(backend, devstack_env, prefix):
        app = create_app(
            server_settings(devstack_env, url),
            backend=backend,
            rollouts_factory=lambda: RolloutsClient(load_api(kubeconfig)),
        )
        with TestClient(app) as client:  # runs the lifespan: migrations, reconciler

            def call(user: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
                return client.request(method, path, headers=tokens.headers(user), **kwargs)

            spec = admitted(call, in_namespaces(HELLO, prefix))
            assert client.post("/api/v1/apps", json=spec, headers=headers).status_code == 201
            # Generated webhook URLs must never be called: this machine sends only to loopback.
            app.state.context.notifier.stop()
            yield app, headers


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_makes_the_server_fail(
    server: tuple[FastAPI, dict[str, str]], mode: GenerationMode
) -> None:
    app, headers = server
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    skipped: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case: schemathesis.Case) -> None:
            if case.query and "timeout" in case.query:
                case.query["timeout"] = 1  # a watch lasts until the workflow ends or this
            if case.query:  # a dry run fetches generated chart and registry URLs: not here
                case.query.pop("dryRun", None)
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, headers=headers)
            if response.status_code >= 400:
                assert response.headers["content-type"] == ["application/problem+json"], (
                    case.operation.label, response.text,
                )  # fmt: skip

        try:
            call()
        except Unsatisfiable:  # nothing of this operation can be made invalid (no input)
            assert mode is GenerationMode.NEGATIVE, operation.label
            skipped.append(operation.label)
    assert len(skipped) < len(operations) / 2, skipped
