"""Webhook notifications of deployment state changes and rollbacks, through an outbox.

When a flush changes a deployment's state, one outbox row per matching webhook of its app is
added to the same flush (SQLAlchemy `before_flush`): a message exists if and only if the change
was committed. A rollback queues its own rows once the Rollout is patched. A sender thread POSTs
them afterwards, at least once (each carries an
Idempotency-Key), tries again on a schedule and gives up after the last attempt. URLs are never
logged, since they often carry a secret. Only hosts on the allowlist are ever reached, and a
redirect is not followed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from ... import __version__
from ...destinations import notification_host_allowed
from ..db import Database
from ..models import Application, Deployment, Notification, utcnow

log = logging.getLogger("rollway.apiserver")

#: Seconds to wait after the 1st, 2nd, … failed attempt; then it is given up.
RETRY_AFTER = (10, 60, 300, 1800)
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
    body = {
        "event": "rolledBack",
        "at": utcnow().isoformat(),
        "rollback": {
            "app": app,
            "env": env,
            "revision": revision,
            "deploymentId": deployment_id,
            "by": by,
            "href": f"/api/v1/apps/{app}/environments/{env}/rollout",
        },
    }
    for hook in application.notifications if application is not None else ():
        if "rolledBack" in hook["events"]:
            session.add(Notification(deployment_id=deployment_id or "", event="rolledBack",
                                     url=hook["url"], payload=body))  # fmt: skip


def payload(deployment: Deployment) -> dict[str, Any]:
    return {
        "event": deployment.state,
        "at": utcnow().isoformat(),
        "deployment": {
            "id": deployment.id,
            "app": deployment.app,
            "env": deployment.env,
            "kind": deployment.kind,
            "version": deployment.version,
            "state": deployment.state,
            "message": deployment.message,
            "workflow": deployment.workflow,
            "createdBy": deployment.created_by_name,
            "href": f"/api/v1/deployments/{deployment.id}",
        },
    }


class Notifier:
    """Sends what is due in the outbox, from one background thread."""

    def __init__(
        self,
        db: Database,
        *,
        allowed_hosts: Iterable[str] = (),
        interval: float = 1.0,
        timeout: float = 5.0,
    ) -> None:
        """`allowed_hosts`: where webhooks may go (rollway.destinations checks each URL)."""
        self.db, self.interval, self.allowed_hosts = db, interval, list(allowed_hosts)
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,  # a webhook's redirect would lead the server anywhere
            transport=httpx.HTTPTransport(retries=2),  # connection failures only
            headers={"User-Agent": f"rollway/{__version__}"},
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rollway-notifier", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close()

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
            error = self._post(message)
            with self.db.write() as session:
                record = session.get_one(Notification, message.seq)
                record.attempts += 1
                if error is None:
                    record.delivered_at, record.due_at = utcnow(), None
                    delivered += 1
                    continue
                record.last_error = error
                if record.attempts > len(RETRY_AFTER):
                    record.due_at = None
                    log.warning("notification %s given up: %s", record.seq, error)
                else:
                    record.due_at = utcnow() + timedelta(seconds=RETRY_AFTER[record.attempts - 1])
        return delivered

    def _post(self, message: Notification) -> str | None:
        """None when the webhook took it (2xx), else why not (without the URL)."""
        if not notification_host_allowed(message.url, self.allowed_hosts):
            return f"host {urlsplit(message.url).hostname} is not an allowed notification host"
        headers = {"X-Rollway-Event": message.event,
                   "Idempotency-Key": f"rollway-notification-{message.seq}"}  # fmt: skip
        try:
            response = self._http.post(message.url, json=message.payload, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            return f"{type(err).__name__} reaching {urlsplit(message.url).hostname}"
        if response.is_redirect:
            return f"HTTP {response.status_code}: redirects are not followed"
        return None if response.is_success else f"HTTP {response.status_code}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception as err:  # e.g. the database is briefly unavailable
                log.warning("notification pass failed: %s", type(err).__name__)
            self._stop.wait(self.interval)
