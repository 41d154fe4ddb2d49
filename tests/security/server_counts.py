"""What the API server counts of refused requests: none may write an audit row, each refused
token is counted in `rollway_unauthenticated_requests_total` by reason."""

from __future__ import annotations

from sqlalchemy import func, select

from rollway.apiserver.models import AuditEvent
from tests.integration.apiserver.conftest import Api


def audit_rows(api: Api) -> int:
    with api.client.app.state.context.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def unauthenticated(api: Api, reason: str) -> float:
    """The server's count of refused tokens (`missing` or `invalid`)."""
    line = f'rollway_unauthenticated_requests_total{{reason="{reason}"}} '
    metrics = api.call(None, "GET", "/metrics").text.splitlines()
    return next((float(m.removeprefix(line)) for m in metrics if m.startswith(line)), 0.0)
