"""`/api/v1/projects`: projects, their member groups and guardrails."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from ...auth import Principal
from ...validation import DNS1123_LABEL
from ..context import Context
from ..deps import ContextDep, PrincipalDep, SessionDep
from ..models import Project
from ..schemas.projects import ProjectCreate, ProjectList, ProjectOut, ProjectSpec
from ..services import access
from ..services import projects as service

router = APIRouter(prefix="/projects", tags=["projects"])

ProjectName = Annotated[
    str, Path(min_length=1, max_length=63, pattern=DNS1123_LABEL.pattern, description="Project")
]


@router.get("")
def list_projects(session: SessionDep, caller: PrincipalDep) -> ProjectList:
    """The projects the caller holds a role in (every project for platform admins)."""
    return ProjectList(items=[ProjectOut.of(p, access.roles(session, caller, p.name))
                              for p in service.listing(session, caller)])  # fmt: skip


@router.post("", status_code=status.HTTP_201_CREATED)
def create_project(
    body: ProjectCreate, ctx: ContextDep, caller: PrincipalDep, request: Request, response: Response
) -> ProjectOut:
    """Platform admins only."""
    request.state.audit = {"target": f"project/{body.name}"}
    project, change = service.create(ctx.db, ctx.settings.registry, caller, body)
    request.state.audit["detail"] = change
    response.headers["Location"] = f"{request.url.path}/{project.name}"
    return _out(ctx, caller, project)


@router.get("/{project}")
def get_project(project: ProjectName, session: SessionDep, caller: PrincipalDep) -> ProjectOut:
    found = access.project_for(session, caller, project)
    return ProjectOut.of(found, access.roles(session, caller, found.name))


@router.put("/{project}")
def update_project(
    project: ProjectName, body: ProjectSpec, ctx: ContextDep, caller: PrincipalDep, request: Request
) -> ProjectOut:
    """Project admins change members and narrow guardrails; platform admins change anything."""
    request.state.audit = {"target": f"project/{project}"}
    updated, change = service.update(ctx.db, ctx.settings.registry, caller, project, body)
    request.state.audit["detail"] = change
    return _out(ctx, caller, updated)


@router.delete("/{project}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(
    project: ProjectName, ctx: ContextDep, caller: PrincipalDep, request: Request
) -> None:
    """Platform admins only, and only a project without applications."""
    request.state.audit = {"target": f"project/{project}"}
    request.state.audit["detail"] = service.delete(ctx.db, caller, project)


def _out(ctx: Context, caller: Principal, project: Project) -> ProjectOut:
    with ctx.db.read() as session:
        return ProjectOut.of(project, access.roles(session, caller, project.name))
