"""The API server's outbox and the pipeline's exit handler send a webhook the same message, the
same way: each path is run as it runs (the outbox's sender pass over a queued row, the real
`rollway-step report` with the arguments its template passes) and what reaches the wire is
compared. The pipeline does not know the deployment's kind or who started it: those are null in
its message, and everything else is identical."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from rollway.apiserver.db import Database
from rollway.apiserver.models import Deployment, Notification
from rollway.apiserver.services import notifications
from rollway.apiserver.services.notifications import Notifier
from rollway.notify.delivery import RETRY_AFTER
from rollway.steps.cli import main
from tests.support.apiserver import sqlite_database
from tests.support.report_step import UNSET

HOOK = "https://hooks.example/services/T0/B0/s3cr3t"
WHY = "exit code 1: no version 9.9.9 of com.example:hello in maven-releases"
#: A failed deployment as the API server records it, and as its workflow ends.
RECORD = {"id": "hello-dev-1a2b3c", "app": "hello", "env": "dev", "version": "9.9.9",
          "state": "failed", "message": f"resolve-artifact: {WHY}",
          "workflow": "rollway-deploy-x7k2p"}  # fmt: skip
FAILURES = [{"displayName": "resolve-artifact", "message": WHY, "templateName": "resolve-artifact",
             "phase": "Failed", "podName": "rollway-deploy-x7k2p-1234"}]  # fmt: skip


class Wire:
    """An httpx transport standing for the webhook: it records each request and answers."""

    def __init__(self, *statuses: int) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = list(statuses)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 204)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with sqlite_database(tmp_path) as database:
        yield database


def queue(db: Database, payload: dict[str, Any]) -> int:
    """The outbox row the record's change to `failed` writes (`notifications._enqueue`)."""
    with db.write() as session:
        row = Notification(deployment_id=RECORD["id"], event="failed", url=HOOK, payload=payload)
        session.add(row)
        session.flush()
        return row.seq


def outbox_request(db: Database) -> httpx.Request:
    deployment = Deployment(**RECORD, kind="upgrade", created_by_name="alice")
    queue(db, notifications.payload(deployment))
    wire = Wire()
    notifier = Notifier(db, allowed_hosts=["hooks.example"], transport=wire.transport())
    assert notifier.send_due() == 1
    [request] = wire.requests
    return request


def exit_handler_request(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> httpx.Request:
    wire = Wire()
    monkeypatch.setattr(httpx, "HTTPTransport", lambda **_: wire.transport())
    args = ["report", "--deployment-id", RECORD["id"], "--status", "Failed",
            "--failures", json.dumps(FAILURES), "--workflow", RECORD["workflow"],
            "--app", "hello", "--env", "dev", "--coordinates", "com.example:hello:9.9.9"]  # fmt: skip
    env = {**UNSET, "ROLLWAY_OUTPUTS_DIR": str(tmp_path), "ROLLWAY_NOTIFY_WEBHOOKS": HOOK}
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "delivered").read_text() == "webhook"
    [request] = wire.requests
    return request


def test_both_paths_send_the_same_message_the_same_way(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    outbox = outbox_request(db)
    pipeline = exit_handler_request(monkeypatch, tmp_path)

    sent, handled = json.loads(outbox.content), json.loads(pipeline.content)
    assert sent.pop("at") and handled.pop("at")
    assert sent["deployment"] | {"kind": None, "createdBy": None} == handled["deployment"]
    assert (sent["deployment"]["kind"], sent["deployment"]["createdBy"]) == ("upgrade", "alice")
    del sent["deployment"], handled["deployment"]
    assert (
        sent
        == handled
        == {
            "event": "failed",
            "text": f"Rollway deployment {RECORD['id']}: Failed (resolve-artifact: {WHY})",
        }
    )
    for name in ("X-Rollway-Event", "User-Agent", "Content-Type"):
        assert outbox.headers[name] == pipeline.headers[name]
    assert outbox.method == pipeline.method == "POST"
    assert str(outbox.url) == str(pipeline.url) == HOOK


def test_both_paths_retry_a_503_on_the_same_schedule(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The outbox schedules the next try `RETRY_AFTER[0]` seconds on; the exit handler sleeps
    that long (within its budget) and tries again."""
    seq = queue(db, notifications.payload(Deployment(**RECORD, kind="deploy",
                                                     created_by_name="alice")))  # fmt: skip
    notifier = Notifier(db, allowed_hosts=["hooks.example"], transport=Wire(503).transport())
    assert notifier.send_due() == 0
    with db.read() as session:
        row = session.get_one(Notification, seq)
    assert (row.attempts, row.last_error) == (1, "HTTP 503")
    assert row.due_at is not None
    assert round((row.due_at - row.created_at).total_seconds()) == RETRY_AFTER[0]

    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    wire = Wire(503)
    monkeypatch.setattr(httpx, "HTTPTransport", lambda **_: wire.transport())
    env = {**UNSET, "ROLLWAY_OUTPUTS_DIR": str(tmp_path), "ROLLWAY_NOTIFY_WEBHOOKS": HOOK}
    result = CliRunner().invoke(main, ["report", "--deployment-id", RECORD["id"], "--status",
                                       "Failed"], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert slept == [RETRY_AFTER[0]] and len(wire.requests) == 2
    keys = {r.headers["Idempotency-Key"] for r in wire.requests}
    assert len(keys) == 1  # the same message, tried again


@pytest.mark.parametrize("status", [404, 307])
def test_a_final_refusal_is_given_up_at_once_on_both_paths(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, status: int
) -> None:
    seq = queue(db, {"event": "failed"})
    Notifier(db, allowed_hosts=["hooks.example"], transport=Wire(status).transport()).send_due()
    with db.read() as session:
        row = session.get_one(Notification, seq)
    assert (row.attempts, row.due_at, row.delivered_at) == (1, None, None)

    wire = Wire(status)
    monkeypatch.setattr(httpx, "HTTPTransport", lambda **_: wire.transport())
    env = {**UNSET, "ROLLWAY_OUTPUTS_DIR": str(tmp_path), "ROLLWAY_NOTIFY_WEBHOOKS": HOOK}
    result = CliRunner().invoke(main, ["report", "--deployment-id", RECORD["id"], "--status",
                                       "Failed"], env=env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(wire.requests) == 1
    assert (tmp_path / "undelivered").read_text() == "webhook"
    assert "s3cr3t" not in result.output
