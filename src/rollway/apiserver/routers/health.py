"""Liveness, readiness and metrics: the only routes that need no token."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST

from ..deps import ContextDep

router = APIRouter(tags=["health"])

#: A label no workflow carries: listing by it checks the engine answers, cheaply.
PROBE = {"rollway.io/readiness-probe": "none"}


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process serves requests."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "the database or the engine is down"}})
def readyz(ctx: ContextDep) -> JSONResponse:
    """The database and the workflow engine both answer."""
    checks: dict[str, str] = {}
    for name, probe in (("database", ctx.db.ping), ("engine", lambda: ctx.backend.list(PROBE))):
        try:
            probe()
            checks[name] = "ok"
        except Exception as err:  # any failure means "not ready"; the kind is enough to say
            checks[name] = f"unavailable ({type(err).__name__})"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                        status_code=200 if ready else 503)  # fmt: skip


@router.get("/metrics", response_class=Response)
async def metrics(ctx: ContextDep) -> Response:
    """Prometheus text exposition."""
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)
