"""Reading the audit trail: admins see everything, others the events of applications they own."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...auth import Principal
from ..models import AuditEvent
from . import access
from .deployments import decode_cursor, encode_cursor


def page(
    session: Session,
    principal: Principal,
    *,
    app: str | None,
    actor: str | None,
    action: str | None = None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditEvent], str | None]:
    """Newest first; events without an application (e.g. refused tokens) only for admins."""
    query = select(AuditEvent)
    if app is not None:
        access.app_for(session, principal, app)
        query = query.where(AuditEvent.app == app)
    else:
        query = query.where(access.visible(principal, AuditEvent.app))
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if cursor is not None:
        query = query.where(AuditEvent.seq < decode_cursor(cursor))
    rows = list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].seq) if more and rows else None
