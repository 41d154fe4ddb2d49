"""Applications: register, update, list, read — inside their project's guardrails.

A deployer of the project registers and changes applications; environment policy (approval,
windows) is the project admins' (and platform admins'): a deployer's change that touches a
policy is refused. Policy changes are recorded in the audit trail with before and after.

A policy guards a namespace, not just one application's entry: every environment deploying into
a namespace has the same policy. An environment that names no policy takes its namespace's; one
that names another counts as a policy change (else a deployer could register a second app into
`prod`'s namespace without its approval), and a project admin's change applies to every
environment in that namespace.

Every change of an application bumps its version, the API's ETag: an update sent with If-Match
applies only to the version its caller read, and a registration sent with If-None-Match: * only
where the name is free, so two writers (a portal, `app deploy`) never lose each other's edit.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ...auth import Capability, Principal, Role
from ...errors import Conflict, Forbidden, InvalidInput, PreconditionFailed
from ...validation import dns_label
from ..db import Database
from ..models import Application, Project, ProjectMember, utcnow
from ..preconditions import check_if_match
from ..schemas.apps import AppSpec, Policy
from . import access, guardrails, pipeline


def _policy(policy: dict[str, Any] | None) -> dict[str, Any]:
    """A stored policy with today's defaults filled in, so that only real changes differ."""
    return Policy.model_validate(policy or {}).model_dump(mode="json")


def register(
    db: Database, principal: Principal, name: str, spec: AppSpec
) -> tuple[Application, str]:
    """The new application, and the audit detail of the policies it starts with."""
    try:
        with db.write() as session:
            project = _project(session, principal, spec.project)
            columns = _columns(name, spec)
            shared = _namespace_policies(session, project.name, name)
            columns["environments"] = _inherit(spec, columns["environments"], shared)
            app = Application(name=name, project=project.name, created_by=principal.name,
                              **columns)  # fmt: skip
            policies = _policy_change(
                session, principal, project.name, [], app.environments, shared
            )
            guardrails.check(session, app)
            session.add(app)
    except IntegrityError:
        raise Conflict(f"application '{name}' already exists", field="body.name") from None
    return app, policies


def register_if_absent(
    db: Database, principal: Principal, name: str, spec: AppSpec
) -> tuple[Application, str]:
    """`register` for a PUT with If-None-Match: *, whose caller updates instead (with If-Match)
    when the name is taken: so a portal and `app deploy` never both register it."""
    try:
        return register(db, principal, name, spec)
    except Conflict:
        raise PreconditionFailed(
            f"application '{name}' already exists",
            field="header.If-None-Match",
            hint="read it and update it with If-Match: its ETag",
        ) from None


#: The columns a registration or an update sets.
COLUMNS = ("namespace", "environments", "chart_repo", "chart_path", "chart_ref", "artifact",
           "image_repository", "strategy", "parameters", "notifications")  # fmt: skip


def update(
    db: Database, principal: Principal, name: str, spec: AppSpec, if_match: str | None = None
) -> tuple[Application, str]:
    """Replace everything but the name; the application, and the audit detail of a policy
    change. Deployers change all but policies; project admins may change only policies.
    `if_match`: the request's If-Match, checked once the caller may make the change."""
    try:
        with db.write() as session:
            return _update(session, principal, name, spec, if_match)
    except StaleDataError:
        # PostgreSQL: a concurrent change of another application in one of its namespaces.
        raise Conflict(
            f"an application sharing a namespace with '{name}' changed meanwhile",
            field="app",
            hint="try again",
        ) from None


def _update(
    session: Session, principal: Principal, name: str, spec: AppSpec, if_match: str | None
) -> tuple[Application, str]:
    # Locked (on PostgreSQL; SQLite's writers take turns already) before its version is
    # compared, so concurrent updates take turns, and the version each checks is the one it
    # replaces.
    session.get(Application, name, with_for_update=True)
    app = access.app_for(session, principal, name)
    columns = _columns(name, spec)
    shared = _namespace_policies(session, app.project, name)
    columns["environments"] = _inherit(spec, columns["environments"], shared)
    policies = _policy_change(
        session, principal, app.project, app.environments, columns["environments"], shared
    )
    if not policies or _without_policies(columns) != _without_policies(_current(app)):
        access.app_for(session, principal, name, Capability.DEPLOY)
    if spec.project not in (None, app.project):
        access.project_for(session, principal, app.project, Capability.ADMINISTER)
        access.project_for(session, principal, spec.project, Capability.ADMINISTER)
        app.project = spec.project
    check_if_match(if_match, app)
    # Every change before the next query, which writes them: one UPDATE, one version more.
    for column, value in columns.items():
        setattr(app, column, value)
    app.updated_at = utcnow()
    guardrails.check(session, app)
    if policies:
        _apply_to_namespaces(session, app)
    return app, policies


def listing(session: Session, principal: Principal) -> list[Application]:
    query = select(Application).where(access.visible(principal, Application.name))
    return list(session.scalars(query.order_by(Application.name)))


def _project(session: Session, principal: Principal, name: str | None) -> Project:
    """The named project, where the caller must deploy; unnamed: the one they deploy in."""
    if name is not None:
        return access.project_for(session, principal, name, Capability.DEPLOY)
    mine = sorted(
        set(
            session.scalars(
                select(ProjectMember.project).where(
                    ProjectMember.role == Role.DEPLOYER,
                    ProjectMember.group.in_(sorted(principal.groups)),
                )
            )
        )
    )
    if len(mine) != 1:
        where = f"you deploy in {', '.join(mine)}" if mine else "you deploy in no project"
        raise InvalidInput(f"is needed: {where}", field="body.project")
    return session.get_one(Project, mine[0])


def _namespace_policies(session: Session, project: str, name: str) -> dict[str, dict[str, Any]]:
    """namespace → the policy the project's other applications' environments have there."""
    others = session.scalars(
        select(Application).where(Application.project == project, Application.name != name)
    )
    return {env["namespace"]: _policy(env.get("policy")) for app in others
            for env in app.environments}  # fmt: skip


def _inherit(
    spec: AppSpec, environments: list[dict[str, Any]], shared: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """`environments` with their namespace's policy where the spec names none; one policy per
    namespace among them too."""
    inherited = [
        {**env, "policy": shared[env["namespace"]]}
        if env["namespace"] in shared and "policy" not in given.model_fields_set
        else env
        for env, given in zip(environments, spec.environments, strict=True)
    ]
    seen: dict[str, dict[str, Any]] = {}
    for index, env in enumerate(inherited):
        first = seen.setdefault(env["namespace"], env)
        if _policy(first.get("policy")) != _policy(env.get("policy")):
            raise InvalidInput(
                f"deploys to namespace {env['namespace']} like environment {first['name']}, so it"
                " must have the same policy",
                field=f"body.environments[{index}].policy",
            )
    return inherited


def _apply_to_namespaces(session: Session, app: Application) -> None:
    """A project admin's policy, on every other environment in the same namespaces."""
    policies = {env["namespace"]: env.get("policy") for env in app.environments}
    others = session.scalars(
        select(Application).where(Application.project == app.project, Application.name != app.name)
    )
    for other in others:
        if any(env["namespace"] in policies for env in other.environments):
            other.environments = [
                {**env, "policy": policies.get(env["namespace"], env.get("policy"))}
                for env in other.environments
            ]


def _policy_change(
    session: Session,
    principal: Principal,
    project: str,
    before: list[dict[str, Any]],
    after: list[dict[str, Any]],
    shared: dict[str, dict[str, Any]],
) -> str:
    """'' if no environment's policy changes; else the change as audit detail, once the caller
    is checked to be a project admin (or platform admin). An environment new to its namespace
    is compared with the policy the namespace has (`shared`), else with the default."""
    where = {e["name"]: e["namespace"] for e in before}
    old = {e["name"]: _policy(e.get("policy")) for e in before}
    default = _policy(None)
    for env in after:
        if where.get(env["name"]) != env["namespace"]:
            old[env["name"]] = shared.get(env["namespace"], default)
    new = {e["name"]: _policy(e.get("policy")) for e in after}
    changed = sorted(
        env for env in old.keys() | new.keys() if old.get(env, default) != new.get(env, default)
    )
    if not changed:
        return ""
    if not access.holds(session, principal, Capability.ADMINISTER, project):
        raise Forbidden(
            f"the policy of environment {', '.join(changed)} is changed only by project admins"
            f" of {project} or platform admins",
            field="body.environments",
        )
    return json.dumps(
        {"policy": {env: {"before": old.get(env), "after": new.get(env)} for env in changed}},
        separators=(",", ":"),
    )


def _current(app: Application) -> dict[str, Any]:
    return {column: getattr(app, column) for column in COLUMNS}


def _without_policies(columns: dict[str, Any]) -> dict[str, Any]:
    """Everything a deployer may change: all but the environments' policies."""
    environments = [{**e, "policy": None} for e in columns["environments"]]
    return {**columns, "environments": environments}


def _columns(name: str, spec: AppSpec) -> dict[str, Any]:
    environments = []
    for index, env in enumerate(spec.environments):
        namespace = env.namespace or f"{name}-{env.name}"
        try:
            dns_label("namespace", namespace)
        except InvalidInput as err:
            raise InvalidInput(
                f"'{namespace}' (the default <app>-<env>) {err.message}; set one explicitly",
                field=f"body.environments[{index}].namespace",
            ) from None
        environments.append(env.model_copy(update={"namespace": namespace}).model_dump(mode="json"))
    pipeline.check_judgeable(spec.strategy, spec.parameters, field="body.parameters.analysis")
    return {
        "namespace": spec.namespace or name,
        "environments": environments,
        "chart_repo": spec.chart.repo,
        "chart_path": spec.chart.path,
        "chart_ref": spec.chart.ref,
        "artifact": spec.artifact,
        "image_repository": spec.image_repository,
        "strategy": spec.strategy,
        "parameters": spec.parameters.model_dump(mode="json", exclude_none=True),
        "notifications": [n.model_dump(mode="json") for n in spec.notifications],
    }
