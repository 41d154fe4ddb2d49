"""The API server reaches only configured or allowlisted hosts: an application naming another
registry, git server or webhook host is refused with a 422 naming the field — before anything
is fetched — and a webhook's redirect is not followed. The real server in-process (real
Keycloak tokens, real database), listeners on 127.0.0.x recording what reaches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rollway.apiserver.models import Notification
from tests.integration.apiserver.conftest import Api, Tokens
from tests.security.conftest import bare
from tests.security.listeners import ATTACKER, TRUSTED, Listener, listening, redirect_to
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def attacker() -> Iterator[Listener]:
    with listening(ATTACKER, lambda seen, url: (204, {})) as server:
        yield server


@pytest.fixture
def trusted(attacker: Listener) -> Iterator[Listener]:
    """An allowlisted webhook host that redirects every request to the attacker."""
    with listening(TRUSTED, redirect_to(attacker, status=307)) as server:
        yield server


@pytest.fixture
def api(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path, trusted: Listener
) -> Iterator[Api]:
    with bare(devstack_env, tokens, tmp_path, notification_hosts=[TRUSTED]) as server:
        yield server


def app_spec(devstack_env: dict[str, str], **fields: Any) -> dict[str, Any]:
    return {
        "name": "ssrf",
        "project": "hello",
        "environments": [{"name": "dev"}],
        "chart": {"repo": devstack_env["ROLLWAY_CHART_REPO"]},
        "artifact": "com.example:hello",
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"imageRepository": f"{ATTACKER}:5000/apps/hello"}, "body.imageRepository",
         "image repository must be under the platform registry "),
        ({"chart": {"repo": f"http://{ATTACKER}:23000/rollway/charts.git"}}, "body.chart.repo",
         "chart repository must be on the git server "),
        ({"notifications": [{"url": f"http://{ATTACKER}:8080/hook"}]},
         "body.notifications[0].url", f"notification host {ATTACKER}:8080 is not allowed"),
    ],
)  # fmt: skip
def test_an_app_naming_another_host_is_refused_before_anything_is_fetched(
    api: Api, attacker: Listener, devstack_env: dict[str, str],
    fields: dict[str, Any], field: str, message: str,
) -> None:  # fmt: skip
    answer = api.call("dave", "POST", "/api/v1/apps", json=app_spec(devstack_env, **fields))
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert message in problem["detail"] and field in str(problem), problem
    assert api.call("dave", "GET", "/api/v1/apps/ssrf").status_code == 404
    assert attacker.seen == []


def test_a_chart_path_out_of_the_repository_is_refused(
    api: Api, devstack_env: dict[str, str]
) -> None:
    spec = app_spec(devstack_env, chart={"repo": devstack_env["ROLLWAY_CHART_REPO"],
                                         "path": "charts/../../etc"})  # fmt: skip
    answer = api.call("dave", "POST", "/api/v1/apps", json=spec)
    assert answer.status_code == 422, answer.text
    assert "relative path inside the repository" in answer.text and "path" in answer.text


def queue(api: Api, url: str) -> int:
    """An outbox message to `url`, as a deployment's state change writes one."""
    db = api.client.app.state.context.db  # type: ignore[attr-defined]
    with db.write() as session:
        message = Notification(deployment_id="ssrf", event="failed", url=url, payload={"x": 1})
        session.add(message)
        session.flush()
        return message.seq


def attempted(api: Api, seq: int) -> Notification:
    db = api.client.app.state.context.db  # type: ignore[attr-defined]

    def check() -> Notification | None:
        with db.read() as session:
            found = session.scalars(select(Notification).where(Notification.seq == seq)).one()
        return found if found.attempts else None

    return wait_for(f"notification {seq} to be attempted", check, timeout=30)


def test_a_webhook_redirect_to_another_host_is_not_followed(
    api: Api, trusted: Listener, attacker: Listener
) -> None:
    sent = attempted(api, queue(api, f"{trusted.url}/hook"))
    assert [s.method for s in trusted.seen] == ["POST"]
    assert attacker.seen == []
    assert sent.delivered_at is None and "redirects are not followed" in (sent.last_error or "")


def test_a_webhook_to_a_host_off_the_allowlist_is_never_contacted(
    api: Api, attacker: Listener
) -> None:
    sent = attempted(api, queue(api, f"{attacker.url}/hook"))
    assert attacker.seen == []
    assert sent.delivered_at is None
    assert f"host {ATTACKER} is not an allowed notification host" in (sent.last_error or "")
