"""Applications: register, update, list, read — with the caller's teams deciding what they see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...auth import Capability, Principal
from ...errors import Conflict, InvalidInput
from ...validation import dns_label
from ..db import Database
from ..models import Application, AppOwner, utcnow
from ..schemas.apps import AppCreate, AppSpec
from . import access


def register(db: Database, principal: Principal, spec: AppCreate) -> Application:
    access.require(principal, Capability.DEPLOY)
    access.may_own(principal, spec.owning_groups)
    app = Application(name=spec.name, created_by=principal.name, **_columns(spec.name, spec))
    app.owners = _owners(spec)
    try:
        with db.write() as session:
            session.add(app)
    except IntegrityError:
        raise Conflict(f"application '{spec.name}' already exists", field="body.name") from None
    return app


def update(db: Database, principal: Principal, name: str, spec: AppSpec) -> Application:
    """Replace everything but the name; the caller must keep owning the application."""
    with db.write() as session:
        app = access.app_for(session, principal, name)
        access.require(principal, Capability.DEPLOY)
        access.may_own(principal, spec.owning_groups)
        for column, value in _columns(name, spec).items():
            setattr(app, column, value)
        app.owners = _owners(spec, app.owners)
        app.updated_at = utcnow()
    return app


def listing(session: Session, principal: Principal) -> list[Application]:
    query = select(Application).where(access.visible(principal, Application.name))
    return list(session.scalars(query.order_by(Application.name)))


def _owners(spec: AppSpec, current: Sequence[AppOwner] = ()) -> list[AppOwner]:
    """The spec's groups as rows, reusing the ones already there (their keys do not change)."""
    kept = {owner.group: owner for owner in current}
    return [kept.get(group) or AppOwner(group=group) for group in sorted(set(spec.owning_groups))]


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
