"""FastAPI dependencies: the server's context, a read session, and the authenticated caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ..auth import Principal
from ..auth.tokens import InvalidToken
from .context import Context
from .models import Deployment
from .routers.params import DeploymentId
from .services import deployments
from .streams import Streams

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
    """The caller the authentication gate (`gate.Authentication`) admitted before the body was
    read; `credentials` declares the bearer scheme in the OpenAPI document."""
    caller: Principal | None = getattr(request.state, "principal", None)
    if caller is None:
        raise InvalidToken("a bearer token is required")
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


async def stream_slot(request: Request, caller: PrincipalDep) -> AsyncIterator[Streams]:
    """A slot for one log or event stream, held until its response has ended; 429 when the
    caller or the server has as many open as allowed."""
    streams = server(request).streams
    streams.take(caller.subject)
    try:
        yield streams
    finally:
        streams.give_back(caller.subject)


StreamSlot = Annotated[Streams, Depends(stream_slot)]
