"""The FastAPI application: routers under /api/v1, problem+json errors, audit, metrics.

`create_app` builds everything from Settings; tests may hand in the engine backend and the
Rollouts client factory. Startup applies the migrations and starts the reconciler, which
first brings every in-flight deployment up to date with the engine, and the notifier, which
sends the webhooks' messages.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from .. import __version__
from ..auth.tokens import TokenValidator
from ..workflows.backends import Backend, from_settings
from . import migrate, problems, ui
from .audit import AuditMiddleware
from .context import Context
from .db import Database
from .deps import PrincipalDep
from .gate import Authentication, BodyLimit
from .metrics import Metrics, MetricsMiddleware
from .routers import (
    actions,
    analysis,
    apps,
    artifacts,
    audit,
    deployments,
    health,
    internal,
    projects,
    rollouts,
)
from .schemas.common import ProblemDetails, problem_responses
from .services import egress, notifications
from .services import projects as projects_service
from .services.notifications import Notifier
from .services.reconciler import Reconciler
from .settings import Settings
from .streams import Streams

if TYPE_CHECKING:
    from ..rollouts import RolloutsClient

API_PREFIX = "/api/v1"


def create_app(
    settings: Settings | None = None,
    *,
    backend: Backend | None = None,
    rollouts_factory: Callable[[], RolloutsClient] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    assert settings.database_url is not None
    db = Database(settings.database_url)
    notifications.install(db.writes)
    backend = backend or from_settings(settings.engine, **settings.engine_options)
    assert settings.keycloak_url is not None and settings.oidc_issuer is not None
    ctx = Context(
        settings=settings,
        db=db,
        backend=backend,
        validator=TokenValidator(
            server_url=settings.keycloak_url,
            realm=settings.keycloak_realm,
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            algorithms=settings.oidc_algorithms,
            clients=settings.oidc_allowed_clients,
            leeway=settings.oidc_leeway,
            refresh_interval=settings.oidc_jwks_refresh_interval,
        ),
        reconciler=Reconciler(
            db,
            backend,
            interval=settings.sync_interval,
            submit_grace=settings.submit_grace,
            submit_deadline=settings.submit_deadline,
        ),
        notifier=Notifier(
            db, allowed_hosts=egress.notification_hosts(settings), interval=settings.sync_interval
        ),
        metrics=Metrics(),
        streams=Streams(settings.streams_per_user, settings.streams_total),
        rollouts_factory=rollouts_factory or (lambda: _rollouts_client(settings)),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(migrate.upgrade, db.writer)
        await run_in_threadpool(projects_service.bootstrap, db, settings)
        await run_in_threadpool(db.analyze)
        # What startup built lives as long as the process: keep the collector from walking it
        # again and again (full collections otherwise stall requests for tens of milliseconds).
        gc.collect()
        gc.freeze()
        ctx.reconciler.start()
        ctx.notifier.start()
        try:
            yield
        finally:
            ctx.notifier.stop()
            ctx.reconciler.stop()
            db.dispose()

    app = FastAPI(
        title="Rollway API",
        version=__version__,
        description="Carry a Java artifact from Nexus to production through Argo Rollouts.",
        lifespan=lifespan,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = ctx
    problems.install(app)
    # Outermost last: metrics see every answer; the gate refuses before the audit trail.
    app.add_middleware(AuditMiddleware, db=db, prefix=f"{API_PREFIX}/")
    app.add_middleware(Authentication, validator=ctx.validator,
                       audience=settings.oidc_audience, metrics=ctx.metrics)  # fmt: skip
    ui.install(app, ctx)  # the dashboard: its session middleware runs before the gate
    app.add_middleware(BodyLimit, limit=settings.max_request_body)
    app.add_middleware(MetricsMiddleware, metrics=ctx.metrics)

    app.include_router(health.router)
    errors = problem_responses(400, 401, 403, 404, 409, 422, 502)
    for module in (deployments, apps, projects, artifacts, actions, rollouts, analysis, audit,
                   internal):  # fmt: skip
        app.include_router(module.router, prefix=API_PREFIX, responses=errors)
    _documentation(app)
    return app


def _documentation(app: FastAPI) -> None:
    """The OpenAPI document and Swagger UI, for authenticated callers like every API route."""

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = app.openapi()
            spec["components"]["schemas"]["Problem"] = ProblemDetails.model_json_schema()
        return app.openapi_schema or {}

    @app.get("/openapi.json", include_in_schema=False)
    def openapi(caller: PrincipalDep) -> JSONResponse:
        return JSONResponse(document())

    @app.get("/docs", include_in_schema=False)
    def docs(caller: PrincipalDep) -> HTMLResponse:
        # The spec is inlined: the page's own fetch of /openapi.json would carry no token.
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{app.title} — docs",
            swagger_ui_parameters={"spec": document()},
        )


def _rollouts_client(settings: Settings) -> RolloutsClient:
    from ..kube.client import load_api
    from ..rollouts import RolloutsClient

    return RolloutsClient(load_api(settings.kubeconfig))
