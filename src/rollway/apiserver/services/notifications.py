"""Webhook notifications of deployment state changes and rollbacks, through an outbox.

When a flush changes a deployment's state, one outbox row per matching webhook of its app is
added to the same flush (SQLAlchemy `before_flush`): a message exists if and only if the change
was committed. A rollback queues its own rows once the Rollout is patched. A sender thread POSTs
them afterwards, at least once (each carries an Idempotency-Key), and tries again on
`rollway.notify.delivery`'s schedule. The message comes from `rollway.notify.messages`, the POST
and what its answer means from `delivery.Sender`: the pipeline's exit handler sends its webhooks
with the same two. URLs are never logged, since they often carry a secret. Only hosts on the
allowlist are ever reached, and a redirect is not followed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from ...notify.delivery import Sender, retry_after
from ...notify.messages import ROLLED_BACK, DeploymentFacts, deployment_message, rollback_message
from ..db import Database
from ..models import Application, Deployment, Notification, utcnow

log = logging.getLogger("rollway.apiserver")

BATCH = 50


def install(sessions: sessionmaker[Session]) -> None:
    """Record notifications in every flush of sessions made by `sessions`."""
    event.listen(sessions, "before_flush", _enqueue)


def _enqueue(session: Session, _context: object, _instances: object) -> None:
    for deployment in [*session.new, *session.dirty]:
        if not isinstance(deployment, Deployment):
            continue
        if not inspect(deployment).attrs.state.history.added:
            continue
        with session.no_autoflush:
            app = session.get(Application, deployment.app)
        for hook in app.notifications if app is not None else ():
            if deployment.state in hook["events"]:
                session.add(Notification(deployment_id=deployment.id, event=deployment.state,
                                         url=hook["url"], payload=payload(deployment)))  # fmt: skip


def rolled_back(
    session: Session, app: str, env: str, revision: int, deployment_id: str | None, by: str
) -> None:
    """Queue the app's `rolledBack` notifications, once the Rollout has been patched.
    `deployment_id` is the deployment that made the revision put back, when known."""
    application = session.get(Application, app)
    body = rollback_message(app, env, revision, deployment_id, by, utcnow())
    for hook in application.notifications if application is not None else ():
        if ROLLED_BACK in hook["events"]:
            session.add(Notification(deployment_id=deployment_id or "", event=ROLLED_BACK,
                                     url=hook["url"], payload=body))  # fmt: skip


def payload(deployment: Deployment) -> dict[str, Any]:
    """The message of the deployment's state as recorded."""
    return deployment_message(facts(deployment), utcnow())


def facts(deployment: Deployment) -> DeploymentFacts:
    return DeploymentFacts(
        id=deployment.id,
        state=deployment.state,
        app=deployment.app,
        env=deployment.env,
        kind=deployment.kind,
        version=deployment.version,
        message=deployment.message,
        workflow=deployment.workflow,
        created_by=deployment.created_by_name,
    )


class Notifier:
    """Sends what is due in the outbox, from one background thread."""

    def __init__(
        self,
        db: Database,
        *,
        allowed_hosts: Iterable[str] = (),
        interval: float = 1.0,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`allowed_hosts`: where webhooks may go (rollway.destinations checks each URL)."""
        self.db, self.interval = db, interval
        self._sender = Sender(list(allowed_hosts), timeout=timeout, transport=transport)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rollway-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sender.close()

    def send_due(self) -> int:
        """One pass: every message due now; how many were delivered."""
        with self.db.read() as session:
            due = session.scalars(
                select(Notification)
                .where(Notification.due_at <= utcnow())
                .order_by(Notification.seq)
                .limit(BATCH)
            ).all()
        delivered = 0
        for message in due:
            attempt = self._sender.post(message.url, message.payload,
                                        key=f"rollway-notification-{message.seq}")  # fmt: skip
            with self.db.write() as session:
                record = session.get_one(Notification, message.seq)
                record.attempts += 1
                if attempt.delivered:
                    record.delivered_at, record.due_at = utcnow(), None
                    delivered += 1
                    continue
                record.last_error = attempt.error or ""
                wait = retry_after(record.attempts, attempt.asked_wait) if attempt.retry else None
                if wait is None:
                    record.due_at = None
                    log.warning("notification %s given up: %s", record.seq, attempt.error)
                else:
                    record.due_at = utcnow() + timedelta(seconds=wait)
        return delivered

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception as err:  # e.g. the database is briefly unavailable
                log.warning("notification pass failed: %s", type(err).__name__)
            self._stop.wait(self.interval)
