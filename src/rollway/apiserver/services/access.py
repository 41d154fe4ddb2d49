"""Who may do what: the one place that turns a caller and a project into an answer.

A caller's roles in a project are the roles whose member groups they belong to; platform admins
hold every role everywhere. Whoever holds no role in a project does not see it: its projects,
applications, deployments, logs and audit events answer 404, so they are not even disclosed.
Seeing something and lacking the role for an action answers 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from ...auth import Capability, Principal, Role
from ...errors import Forbidden, NotFound
from ..db import Database
from ..models import Application, Project, ProjectMember

ACTIONS = {
    Capability.READ: "read",
    Capability.DEPLOY: "deploy or operate",
    Capability.APPROVE: "approve or reject",
    Capability.PROMOTE: "promote",
    Capability.ADMINISTER: "change the project's members, guardrails or environment policy",
}


def roles(session: Session, principal: Principal, project: str) -> frozenset[Role]:
    """The caller's roles in `project` (every role for admins)."""
    if principal.is_admin:
        return frozenset(Role)
    held = session.scalars(
        select(ProjectMember.role).where(
            ProjectMember.project == project, ProjectMember.group.in_(sorted(principal.groups))
        )
    )
    return frozenset(Role(role) for role in held)


def project_for(
    session: Session, principal: Principal, name: str, capability: Capability = Capability.READ
) -> Project:
    """The project, if the caller holds a role in it (else NotFound) carrying `capability`
    (else Forbidden)."""
    project = session.get(Project, name)
    held = roles(session, principal, name) if project is not None else frozenset()
    if project is None or not held:
        raise NotFound(f"project '{name}' not found", field="project")
    _require(held, capability, name)
    return project


def app_for(
    session: Session, principal: Principal, name: str, capability: Capability = Capability.READ
) -> Application:
    """The application, if the caller holds a role in its project (else NotFound) carrying
    `capability` (else Forbidden)."""
    app = session.get(Application, name)
    held = roles(session, principal, app.project) if app is not None else frozenset()
    if app is None or not held:
        raise NotFound(f"application '{name}' not found", field="app")
    _require(held, capability, app.project)
    return app


def app_to_judge(
    session: Session, principal: Principal, name: str, judge_group: str
) -> Application:
    """The application, for the canary judge: the platform's judge service account sees every
    app (to measure it, nothing else); anyone else needs a role in the app's project."""
    if principal.service_account and judge_group in principal.groups:
        app = session.get(Application, name)
        if app is None:
            raise NotFound(f"application '{name}' not found", field="app")
        return app
    return app_for(session, principal, name)


def require(db: Database, principal: Principal, capability: Capability, app: str) -> None:
    """Forbidden unless the caller holds `capability` in the project of `app` (which they
    already saw)."""
    with db.read() as session:
        app_for(session, principal, app, capability)


def holds(session: Session, principal: Principal, capability: Capability, project: str) -> bool:
    return bool(roles(session, principal, project) & capability.grants)


def visible(principal: Principal, app: InstrumentedAttribute[Any]) -> ColumnElement[bool]:
    """A SQL condition: `app` names an application the caller sees (always true for admins)."""
    if principal.is_admin:
        return true()
    projects = select(ProjectMember.project).where(
        ProjectMember.group.in_(sorted(principal.groups))
    )
    return app.in_(select(Application.name).where(Application.project.in_(projects)))


def visible_projects(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition on `Project`: the caller holds a role in it."""
    if principal.is_admin:
        return true()
    return Project.name.in_(
        select(ProjectMember.project).where(ProjectMember.group.in_(sorted(principal.groups)))
    )


def require_admin(principal: Principal, action: str) -> None:
    if not principal.is_admin:
        raise Forbidden(f"only platform admins may {action}")


def _require(held: frozenset[Role], capability: Capability, project: str) -> None:
    if not held & capability.grants:
        needed = " or ".join(sorted(capability.grants))
        raise Forbidden(
            f"the {needed} role in project {project} is needed to {ACTIONS[capability]}"
        )
