"""FastAPI dependencies: the server's context, a read session, and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ..auth import Principal
from ..auth.tokens import InvalidToken
from .context import Context
from .models import Deployment
from .routers.params import DeploymentId
from .services import deployments

bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    description="An access token of the Keycloak realm, for the audience rollway-api.",
)


def server(request: Request) -> Context:
    ctx: Context = request.app.state.context
    return ctx


async def context(request: Request) -> Context:
    return server(request)


ContextDep = Annotated[Context, Depends(context)]


async def session(ctx: ContextDep) -> AsyncIterator[Session]:
    """Opens no connection until used; the route (in a worker thread) does the I/O."""
    with ctx.db.read() as s:
        yield s


SessionDep = Annotated[Session, Depends(session)]


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller, from a valid bearer token; every route but health and metrics needs one.

    A token seen before is answered from memory; a new one is checked in a worker thread, since
    that may mean downloading the realm's keys."""
    if credentials is None:
        raise InvalidToken("a bearer token is required")
    ctx, token = server(request), credentials.credentials
    claims = ctx.validator.accepted(token)
    if claims is None:
        claims = await run_in_threadpool(ctx.validator.validate, token)
    caller = Principal.from_claims(claims, ctx.settings.oidc_audience)
    request.state.principal = caller
    return caller


PrincipalDep = Annotated[Principal, Depends(principal)]


async def visible_deployment(
    deployment_id: DeploymentId, request: Request, caller: PrincipalDep
) -> Deployment:
    """The deployment if the caller may see it (else 404), loaded before the route runs, so
    the audit names it and a stream never starts for a missing one."""
    request.state.audit = {"target": deployment_id}
    deployment = await server(request).db.reading(
        lambda session: deployments.get(session, caller, deployment_id)
    )
    request.state.audit.update(app=deployment.app, env=deployment.env)
    return deployment


VisibleDeployment = Annotated[Deployment, Depends(visible_deployment)]
