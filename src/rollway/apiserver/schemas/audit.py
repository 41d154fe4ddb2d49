"""Audit events as the API shows them."""

from __future__ import annotations

from datetime import datetime

from .. import models
from .common import Model


class AuditEventOut(Model):
    at: datetime
    actor: str
    action: str
    method: str
    path: str
    app: str | None
    env: str | None
    target: str | None
    source: str | None
    status: int
    outcome: str
    detail: str

    @classmethod
    def of(cls, e: models.AuditEvent) -> AuditEventOut:
        return cls(at=e.at, actor=e.actor, action=e.action, method=e.method, path=e.path,
                   app=e.app, env=e.env, target=e.target, source=e.source, status=e.status,
                   outcome=e.outcome, detail=e.detail)  # fmt: skip


class AuditPage(Model):
    items: list[AuditEventOut]
    next_cursor: str | None
