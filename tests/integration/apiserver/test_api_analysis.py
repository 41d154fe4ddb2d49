"""The canary judge's route: what the Argo Rollouts `web` provider calls. Bad analysis input is
a 422 naming the field; Prometheus away, or no samples, is an inconclusive verdict (never a
pass); only callers with a role in the app's project may ask."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.components.prometheus import Prometheus
from devstack.stack import Context, up
from tests.integration.apiserver.conftest import CI, Api, Tokens, serving
from tests.support.helpers import free_port

pytestmark = pytest.mark.integration

PATH = "/api/v1/apps/hello/environments/dev/analysis/judgements"
BODY = {"canaryHash": "abc123", "baselineHash": "def456", "windowSeconds": 90}


@pytest.fixture
def judged(devstack: Context, devstack_env: dict[str, str], tokens: Tokens,
           tmp_path: Path) -> Iterator[Api]:  # fmt: skip
    """A server whose judge reads the devstack's Prometheus."""
    up(devstack, ["prometheus"])
    url = Prometheus().endpoint(devstack)
    with serving(devstack_env, tokens, tmp_path, prometheus_url=url) as server:
        yield server


@pytest.fixture
def blind(devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path) -> Iterator[Api]:
    """A server whose Prometheus does not answer (nothing listens on its port)."""
    url = f"http://127.0.0.1:{free_port()}"
    with serving(devstack_env, tokens, tmp_path, prometheus_url=url) as server:
        yield server


def test_prometheus_unreachable_is_inconclusive_never_a_pass(blind: Api) -> None:
    answer = blind.call(CI, "POST", PATH, json=BODY)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["verdict"], body["score"]) == ("inconclusive", None)
    assert body["reason"] == "analysis inconclusive: Prometheus did not answer: ConnectError"


def test_revisions_without_samples_are_inconclusive_with_each_metric_said(judged: Api) -> None:
    answer = judged.call("alice", "POST", PATH, json=BODY)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["verdict"] == "inconclusive"
    assert [(m["name"], m["outcome"]) for m in body["metrics"]] == [
        ("error-rate", "nodata"), ("latency-p50", "nodata"), ("latency-p99", "nodata")
    ]  # fmt: skip
    assert "error-rate: no samples for the canary and baseline" in body["reason"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"analysis": {"metrics": [{"name": "saturation"}]}}, "analysis.metrics[0].name"),
        ({"analysis": {"metrics": [{"name": "x", "query": "up"}]}}, "analysis.metrics[0].query"),
        ({"analysis": {"passScore": 101}}, "analysis.passScore"),
        ({"windowSeconds": 40}, "windowSeconds"),
        ({"canaryHash": "../x"}, "canaryHash"),
    ],
)
def test_bad_analysis_input_is_a_422_naming_the_field(
    blind: Api, change: dict[str, Any], field: str
) -> None:
    answer = blind.call(CI, "POST", PATH, json={**BODY, **change})
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert field in answer.text


@pytest.mark.parametrize(("user", "status"), [("erin", 404), (None, 401)])
def test_only_callers_with_a_role_in_the_project_may_ask(
    blind: Api, user: str | None, status: int
) -> None:
    assert blind.call(user, "POST", PATH, json=BODY).status_code == status


def test_an_environment_without_analysis_shows_none(blind: Api) -> None:
    answer = blind.call("alice", "GET", "/api/v1/apps/hello/environments/dev/analysis")
    assert answer.status_code == 404, answer.text
    assert "no analysis of rollout 'hello' in dev" in answer.text
