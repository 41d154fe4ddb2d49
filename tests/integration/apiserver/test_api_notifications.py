"""Webhook notifications: a deployment's state changes reach the app's webhooks, retried when
the webhook fails, each message carrying its event and an Idempotency-Key."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.apiserver.models import Notification
from tests.integration.apiserver.conftest import HELLO, Api
from tests.support.helpers import wait_for
from tests.support.loopback import Receiver, running

pytestmark = pytest.mark.integration


def register(api: Api, url: str, **hook: Any) -> None:
    api.register(name="notified", notifications=[{"url": url, **hook}])


def test_state_changes_reach_the_webhook(api: Api, receiver: Receiver) -> None:
    register(api, receiver.url)
    # Its first release waited for approval before apply, then succeeded.
    deployment = api.at_gate("alice", app="notified", env="prod")

    wait_for("the waiting notification", lambda: len(receiver.received) == 3)
    approved = api.call("bob", "POST", f"/api/v1/deployments/{deployment}/approve", json={})
    assert approved.status_code == 200
    wait_for("the succeeded notification", lambda: len(receiver.received) == 4)

    events = [(body["event"], body["deployment"]["version"]) for _, body in receiver.received]
    assert events == [("waiting", "1.0.0"), ("succeeded", "1.0.0"), ("waiting", "1.1.0"),
                      ("succeeded", "1.1.0")]  # fmt: skip
    headers, body = receiver.received[3]
    assert headers["x-rollway-event"] == "succeeded"
    assert headers["idempotency-key"].startswith("rollway-notification-")
    assert body["deployment"]["id"] == deployment and body["deployment"]["createdBy"] == "alice"


def test_only_the_chosen_events_are_sent(api: Api, receiver: Receiver) -> None:
    register(api, receiver.url, events=["aborted"])
    deployment = api.deploy("alice", app="notified").json()["id"]
    api.call("alice", "POST", f"/api/v1/deployments/{deployment}/abort")

    wait_for("the aborted notification", lambda: receiver.received)
    assert [body["event"] for _, body in receiver.received] == ["aborted"]


def test_a_failing_webhook_is_tried_again(api: Api) -> None:
    with running(Receiver(failures=1)) as failing:
        register(api, failing.url, events=["running"])
        api.deploy("alice", app="notified")
        db = api.client.app.state.context.db

        def attempted() -> Notification | None:
            with db.read() as session:
                message = session.query(Notification).one_or_none()
            return message if message is not None and message.attempts == 1 else None

        first = wait_for("the first, failed attempt", attempted)
        assert first.last_error == "HTTP 503" and first.due_at is not None
        with db.write() as session:  # as if the retry delay had passed
            session.get_one(Notification, first.seq).due_at = first.created_at
        wait_for("the second attempt to deliver it", lambda: failing.received)


def test_webhook_urls_are_validated(api: Api) -> None:
    spec = {**HELLO, "name": "notified", "notifications": [{"url": "ftp://x"}]}
    answer = api.call("dave", "POST", "/api/v1/apps", json=spec)

    assert answer.status_code == 422
    assert answer.json()["field"] == "body.notifications[0].url"
