"""`/api/v1/apps`: register, list, read and update applications.

A GET answers the application's ETag; a PUT sent with If-Match changes only that version, and
one sent with If-None-Match: * registers the application only if the name is free (412 either
way when the condition does not hold), so clients that read, change and write lose no edit.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response, status

from ...errors import InvalidInput
from ..deps import ContextDep, PrincipalDep, SessionDep
from ..preconditions import etag
from ..schemas.apps import AppCreate, AppList, AppOut, AppSpec
from ..schemas.common import problem_responses
from ..services import access, egress
from ..services import apps as service
from .params import AppName, IfMatch, IfNoneMatch

router = APIRouter(prefix="/apps", tags=["applications"])

#: The ETag header as the OpenAPI document describes it.
ETAG: dict[str, Any] = {
    "ETag": {
        "description": "The application's version (a strong validator), for If-Match",
        "schema": {"type": "string"},
    }
}


@router.post("", status_code=status.HTTP_201_CREATED, responses={201: {"headers": ETAG}})
def register_app(
    body: AppCreate, ctx: ContextDep, caller: PrincipalDep, request: Request, response: Response
) -> AppOut:
    request.state.audit = {"app": body.name}
    egress.check_app(ctx.settings, body)
    app, policies = service.register(ctx.db, caller, body.name, body)
    request.state.audit["detail"] = policies
    response.headers["Location"] = f"{request.url.path}/{app.name}"
    response.headers["ETag"] = etag(app)
    return AppOut.of(app)


@router.get("")
def list_apps(session: SessionDep, caller: PrincipalDep) -> AppList:
    return AppList(items=[AppOut.of(a) for a in service.listing(session, caller)])


@router.get("/{app}", responses={200: {"headers": ETAG}})
def get_app(app: AppName, session: SessionDep, caller: PrincipalDep, response: Response) -> AppOut:
    found = access.app_for(session, caller, app)
    response.headers["ETag"] = etag(found)
    return AppOut.of(found)


@router.put(
    "/{app}",
    responses={
        200: {"headers": ETAG},
        201: {"model": AppOut, "headers": ETAG, "description": "Registered (If-None-Match: *)"},
        **problem_responses(412),
    },
)
def update_app(
    app: AppName,
    body: AppSpec,
    ctx: ContextDep,
    caller: PrincipalDep,
    request: Request,
    response: Response,
    if_match: IfMatch = None,
    if_none_match: IfNoneMatch = None,
) -> AppOut:
    egress.check_app(ctx.settings, body)
    audit: dict[str, str] = {}
    request.state.audit = audit
    if if_none_match is None:
        updated, policies = service.update(ctx.db, caller, app, body, if_match)
    elif if_match is not None:
        raise InvalidInput(
            "cannot go with If-Match: one registers an absent application, the other changes"
            " an existing one",
            field="header.If-None-Match",
        )
    else:
        audit["action"] = "register_app"
        updated, policies = service.register_if_absent(ctx.db, caller, app, body)
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = request.url.path
    audit["detail"] = policies
    response.headers["ETag"] = etag(updated)
    return AppOut.of(updated)
