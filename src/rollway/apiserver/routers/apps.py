"""`/api/v1/apps`: register, list, read and update applications."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from ..deps import ContextDep, PrincipalDep, SessionDep
from ..schemas.apps import AppCreate, AppList, AppOut, AppSpec
from ..services import access, egress
from ..services import apps as service
from .params import AppName

router = APIRouter(prefix="/apps", tags=["applications"])


@router.post("", status_code=status.HTTP_201_CREATED)
def register_app(
    body: AppCreate, ctx: ContextDep, caller: PrincipalDep, request: Request, response: Response
) -> AppOut:
    request.state.audit = {"app": body.name}
    egress.check_app(ctx.settings, body)
    app, policies = service.register(ctx.db, caller, body)
    request.state.audit["detail"] = policies
    response.headers["Location"] = f"{request.url.path}/{app.name}"
    return AppOut.of(app)


@router.get("")
def list_apps(session: SessionDep, caller: PrincipalDep) -> AppList:
    return AppList(items=[AppOut.of(a) for a in service.listing(session, caller)])


@router.get("/{app}")
def get_app(app: AppName, session: SessionDep, caller: PrincipalDep) -> AppOut:
    return AppOut.of(access.app_for(session, caller, app))


@router.put("/{app}")
def update_app(
    app: AppName, body: AppSpec, ctx: ContextDep, caller: PrincipalDep, request: Request
) -> AppOut:
    egress.check_app(ctx.settings, body)
    updated, policies = service.update(ctx.db, caller, app, body)
    request.state.audit = {"detail": policies}
    return AppOut.of(updated)
