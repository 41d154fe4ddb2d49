"""Projects: platform admins create and delete them; their project admins change members and
narrow guardrails; widening a guardrail (a namespace, a repository, a group, a host more) is for
platform admins, so a project admin cannot claim `kube-system` or another team's registry path.

Every change is returned as audit detail: the fields that changed, before and after.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...auth import Capability, Principal
from ...errors import Conflict, Forbidden, InvalidInput
from ..db import Database
from ..models import Application, AuditEvent, Project, ProjectMember, ProjectNamespace, utcnow
from ..schemas.projects import Guardrails, ProjectCreate, ProjectOut, ProjectSpec
from ..settings import Settings
from . import access

log = logging.getLogger("rollway.apiserver")
#: Who creates the projects of the bootstrap setting.
BOOTSTRAP = Principal(subject="bootstrap", name="bootstrap", is_admin=True, groups=frozenset())


def listing(session: Session, principal: Principal) -> list[Project]:
    query = select(Project).where(access.visible_projects(principal)).order_by(Project.name)
    return list(session.scalars(query))


def create(
    db: Database, registry: str, principal: Principal, spec: ProjectCreate
) -> tuple[Project, str]:
    access.require_admin(principal, "create projects")
    _under_registry(spec.guardrails, registry)
    project = Project(name=spec.name, created_by=principal.name)
    try:
        with db.write() as session:
            if session.get(Project, spec.name) is not None:
                raise Conflict(f"project '{spec.name}' already exists", field="body.name")
            _free_namespaces(session, spec.name, spec.guardrails.namespaces)
            _apply(project, spec)
            session.add(project)
    except IntegrityError:
        raise Conflict(
            f"project '{spec.name}' or one of its namespaces was just taken", field="body.name"
        ) from None
    return project, _change({}, _state(spec))


def update(
    db: Database, registry: str, principal: Principal, name: str, spec: ProjectSpec
) -> tuple[Project, str]:
    try:
        with db.write() as session:
            project = access.project_for(session, principal, name, Capability.ADMINISTER)
            _under_registry(spec.guardrails, registry)
            before = _state(ProjectOut.of(project))
            if not principal.is_admin:
                _not_widened(ProjectOut.of(project).guardrails, spec.guardrails)
            _free_namespaces(session, name, spec.guardrails.namespaces)
            _apply(project, spec)
            project.updated_at = utcnow()
    except IntegrityError:
        raise Conflict(
            f"one of project {name}'s namespaces was just taken by another project",
            field="body.guardrails.namespaces",
        ) from None
    return project, _change(before, _state(spec))


def delete(db: Database, principal: Principal, name: str) -> str:
    """Only a project without applications goes (move or remove them first)."""
    access.require_admin(principal, "delete projects")
    with db.write() as session:
        project = access.project_for(session, principal, name)
        before = _state(ProjectOut.of(project))
        apps = session.scalar(
            select(func.count()).select_from(Application).where(Application.project == name)
        )
        if apps:
            raise Conflict(f"project {name} still has {apps} application(s): move them first")
        session.delete(project)
    return _change(before, {})


def _apply(project: Project, spec: ProjectSpec) -> None:
    """Set the spec on the row, keeping the member and namespace rows that stay (their keys
    cannot be deleted and inserted again in one flush)."""
    rails = spec.guardrails
    project.description = spec.description
    members = {(m.role, m.group): m for m in project.members}
    project.members = [
        members.get((role, group)) or ProjectMember(role=role, group=group)
        for role, groups in spec.members.by_role().items()
        for group in groups
    ]
    spaces = {n.namespace: n for n in project.namespaces}
    project.namespaces = [spaces.get(n) or ProjectNamespace(namespace=n) for n in rails.namespaces]
    project.image_repositories = rails.image_repositories
    project.chart_repositories = rails.chart_repositories
    project.maven_groups = rails.maven_groups
    project.notification_hosts = rails.notification_hosts


def _free_namespaces(session: Session, project: str, namespaces: list[str]) -> None:
    """Conflict naming the owner if another project holds one of `namespaces`."""
    taken = session.execute(
        select(ProjectNamespace.namespace, ProjectNamespace.project).where(
            ProjectNamespace.namespace.in_(namespaces), ProjectNamespace.project != project
        )
    ).first()
    if taken is not None:
        raise Conflict(
            f"namespace {taken.namespace} belongs to project {taken.project}",
            field="body.guardrails.namespaces",
        )


def _under_registry(rails: Guardrails, registry: str) -> None:
    for index, prefix in enumerate(rails.image_repositories):
        if not prefix.startswith(f"{registry}/"):
            raise InvalidInput(
                f"{prefix} is not under the platform registry {registry}",
                field=f"body.guardrails.imageRepositories[{index}]",
            )


def _not_widened(before: Guardrails, after: Guardrails) -> None:
    for field, old in before:
        added = sorted(set(getattr(after, field)) - set(old))
        if added:
            name = Guardrails.model_fields[field].alias or field
            raise Forbidden(
                f"only platform admins may widen a project's guardrails ({name}: "
                f"{', '.join(added)}); project admins may narrow them",
                field=f"body.guardrails.{name}",
            )


def _state(spec: ProjectSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json", include={"description", "members", "guardrails"})


def _change(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The fields that changed, before and after, as compact JSON for the audit trail."""
    changed = {
        key: {"before": before.get(key), "after": after.get(key)}
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }
    return json.dumps(changed, separators=(",", ":"))


def bootstrap(db: Database, settings: Settings) -> None:
    """Make sure the projects of `settings.bootstrap_projects` exist with at least the members
    and guardrails listed there: a missing project is created, a missing entry added, nothing
    removed. Audited as done by `bootstrap`; a conflict (a namespace another project holds) is
    logged and skipped, so a bad setting never stops the server."""
    for spec in (ProjectCreate.model_validate(spec) for spec in settings.bootstrap_projects):
        with db.read() as session:
            found = session.get(Project, spec.name)
            current = ProjectOut.of(found) if found is not None else None
        try:
            if current is None:
                _, change = create(db, settings.registry, BOOTSTRAP, spec)
            elif (wanted := _at_least(current, spec)) != _state(current):
                _, change = update(db, settings.registry, BOOTSTRAP, spec.name,
                                   ProjectSpec.model_validate(wanted))  # fmt: skip
            else:
                continue
        except Conflict as err:
            log.warning("bootstrap project %s skipped: %s", spec.name, err.message)
            continue
        with db.write() as session:
            session.add(AuditEvent(actor=BOOTSTRAP.name, action="bootstrap_project",
                                   method="-", path="-", target=f"project/{spec.name}",
                                   status=200, outcome="success", detail=change[:2000]))  # fmt: skip


def _at_least(current: ProjectSpec, seed: ProjectSpec) -> dict[str, Any]:
    """`current` with every member and guardrail entry of `seed` added."""
    have, need = _state(current), _state(seed)
    for part in ("members", "guardrails"):
        for key, values in need[part].items():
            have[part][key] = sorted({*have[part][key], *values})
    return have
