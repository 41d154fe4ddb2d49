"""The audit trail: every mutating API call by an authenticated caller, whatever its outcome,
written after it is answered.

The middleware sits behind the authentication gate (`gate.py`), so it sees every call of a
caller with a valid token, including those refused before any route code ran (invalid body),
and none of the anonymous ones (those are counted in a metric, not written: a flood of them
must not grow the table). Who it was comes from the gate (`request.state.principal`), what it
touched from the path and from what the route adds (`request.state.audit`, which may also name
the action when one route does two: a PUT that registers), and the outcome from
the status and the problem detail the error handler left. The token itself is never recorded.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import Principal
from .db import Database
from .models import AuditEvent

log = logging.getLogger("rollway.apiserver")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def outcome(status: int) -> str:
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "rejected" if status < 500 else "failed"


class AuditMiddleware:
    def __init__(self, app: ASGIApp, db: Database, prefix: str = "/api/") -> None:
        self.app, self.db, self.prefix = app, db, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in SAFE_METHODS
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            event = _event(scope, status)
            try:
                await run_in_threadpool(self._write, event)
            except Exception as err:  # the answer is already sent; say so in the log
                log.error("audit write failed for %s %s: %s", event.method, event.path,
                          type(err).__name__)  # fmt: skip

    def _write(self, event: AuditEvent) -> None:
        with self.db.write() as session:
            session.add(event)


def _event(scope: Scope, status: int) -> AuditEvent:
    state: dict[str, Any] = scope.get("state") or {}
    principal: Principal = state["principal"]
    params: dict[str, Any] = scope.get("path_params") or {}
    extra: dict[str, Any] = state.get("audit") or {}
    route = scope.get("route")
    client = scope.get("client")
    return AuditEvent(
        actor=principal.name,
        subject=principal.subject,
        action=extra.get("action") or getattr(route, "name", None) or "unmatched",
        method=scope["method"],
        path=scope["path"][:1024],
        app=_short(extra.get("app") or params.get("app")),
        env=_short(extra.get("env") or params.get("env")),
        target=_short(extra.get("target") or params.get("deployment_id"), 255),
        source=client[0] if client else None,
        status=status,
        outcome=outcome(status),
        detail=str(state.get("problem") or extra.get("detail") or "")[:2000],
    )


def _short(value: object, length: int = 63) -> str | None:
    return str(value)[:length] if value is not None else None
