"""`/api/v1/audit`: who did what to which application, when, from where, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from ..deps import PrincipalDep, SessionDep
from ..schemas.audit import AuditEventOut, AuditPage
from ..services import audit_log
from .params import LabelQuery

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def audit_events(
    session: SessionDep,
    caller: PrincipalDep,
    app: LabelQuery | None = None,
    actor: Annotated[str | None, Query(max_length=255)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_]+$")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    """Admins see every event; others those of the applications their teams own. `action` is
    an event's action as it is listed (for example `approve` or `create_deployment`)."""
    rows, next_cursor = audit_log.page(
        session, caller, app=app, actor=actor, action=action, since=since, until=until,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    return AuditPage(items=[AuditEventOut.of(e) for e in rows], next_cursor=next_cursor)
