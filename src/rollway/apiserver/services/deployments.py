"""Deployments: admission (record first, then submit), reading one, listing many.

Admission is safe under concurrency because the database decides: the partial unique index lets
one in-flight deployment exist per app+environment, and the idempotency index one deployment per
caller and key. A losing request reads the winner back and answers with it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...auth import Capability, Principal
from ...errors import Conflict, InvalidInput, NotFound
from ...workflows.backends import Backend
from ..db import Database
from ..models import IN_FLIGHT, Deployment, utcnow
from ..problems import Problem
from ..schemas.deployments import DeploymentCreate
from ..settings import Settings
from . import access, guardrails, pipeline, submission, windows

SUMMARY_COLUMNS = (
    Deployment.seq, Deployment.id, Deployment.app, Deployment.env, Deployment.namespace,
    Deployment.kind, Deployment.state, Deployment.version, Deployment.strategy,
    Deployment.workflow, Deployment.message, Deployment.created_by_name, Deployment.created_at,
    Deployment.updated_at, Deployment.started_at, Deployment.finished_at,
)  # fmt: skip


@dataclass(frozen=True)
class Admitted:
    deployment: Deployment
    created: bool  # False: an Idempotency-Key replay


def create(
    db: Database,
    backend: Backend,
    settings: Settings,
    principal: Principal,
    app_name: str,
    request: DeploymentCreate,
    idempotency_key: str | None,
) -> Admitted:
    digest = request_hash(app_name, request)
    with db.read() as session:
        app = access.app_for(session, principal, app_name, Capability.DEPLOY)
        if idempotency_key and (replay := _replay(session, principal, idempotency_key, digest)):
            return Admitted(replay, created=False)
        resolved = pipeline.resolve(app, request)
        env = resolved.environment
        guardrails.check(session, app, env=env.name, where="app")
        now = utcnow()
        if not windows.is_open(env.policy.windows, now):
            opening = windows.next_opening(env.policy.windows, now)
            raise Problem(
                Conflict,
                f"'{app.name}/{env.name}' is outside its deployment windows",
                field="body.env",
                hint=f"the next window opens at {opening.isoformat()}" if opening else None,
                nextWindow=opening.isoformat() if opening else None,
            )
        first_release = not has_succeeded(session, app.name, env.name)
        if request.kind == "upgrade" and first_release:
            raise Conflict(
                f"nothing to upgrade: '{app.name}' was never deployed to '{env.name}'",
                field="body.kind",
                hint="use kind deploy for a first deployment",
            )
        deployment_id = new_id(app.name, env.name)
        parameters = pipeline.parameters(app, request, resolved, deployment_id, settings,
                                         first_release=first_release)  # fmt: skip
    record = Deployment(
        id=deployment_id,
        app=app.name,
        env=env.name,
        namespace=parameters["namespace"],
        kind=request.kind,
        state="pending",
        message="recorded; submitting the workflow",
        version=request.version,
        strategy=resolved.strategy,
        request=request.model_dump(mode="json", exclude_none=True),
        parameters=parameters,
        idempotency_key=idempotency_key,
        request_hash=digest,
        created_by=principal.subject,
        created_by_name=principal.name,
        steps=[],
        provenance={},
    )
    try:
        with db.write() as session:
            session.add(record)
    except IntegrityError:
        return Admitted(_winner(db, principal, idempotency_key, digest, app.name, env.name), False)
    deployment = submission.submit(db, backend, deployment_id, deadline=settings.submit_deadline)
    return Admitted(deployment, created=True)


def get(session: Session, principal: Principal, deployment_id: str) -> Deployment:
    """The deployment, if the caller may see its application (one query: it is the hot path)."""
    deployment = session.scalar(
        select(Deployment).where(
            Deployment.id == deployment_id, access.visible(principal, Deployment.app)
        )
    )
    if deployment is None:
        raise NotFound(f"deployment '{deployment_id}' not found", field="deploymentId")
    return deployment


def page(
    session: Session,
    principal: Principal,
    *,
    app: str | None,
    env: str | None,
    state: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Any], str | None]:
    """Newest first, `limit` at a time; the cursor is the position after the last item.

    Plain rows of the summary columns, not ORM objects: a page is read-only, and building 50
    tracked instances would cost more than the query."""
    query = select(*SUMMARY_COLUMNS)
    if app is not None:
        access.app_for(session, principal, app)
        query = query.where(Deployment.app == app)
    else:
        query = query.where(access.visible(principal, Deployment.app))
    if env is not None:
        query = query.where(Deployment.env == env)
    if state is not None:
        query = query.where(Deployment.state == state)
    if cursor is not None:
        query = query.where(Deployment.seq < decode_cursor(cursor))
    rows = list(session.execute(query.order_by(Deployment.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].seq) if more and rows else None


def in_flight(session: Session, app: str, env: str) -> Deployment | None:
    return session.scalar(
        select(Deployment).where(
            Deployment.app == app, Deployment.env == env, Deployment.state.in_(IN_FLIGHT)
        )
    )


def new_id(app: str, env: str) -> str:
    """`<app>-<env>-<8 random base32 chars>`, a DNS-1123 label (it names the workflow too)."""
    suffix = base64.b32encode(secrets.token_bytes(5)).decode().lower()
    return f"{f'{app}-{env}'[:54].rstrip('-')}-{suffix}"


def request_hash(app: str, request: DeploymentCreate) -> str:
    canonical = json.dumps(
        {"app": app, **request.model_dump(mode="json")}, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = (
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        )
        if kind != "seq" or not value.isdigit() or len(value) > 18:
            raise ValueError
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("is not a cursor this API returned", field="query.cursor") from None


def _replay(session: Session, principal: Principal, key: str, digest: str) -> Deployment | None:
    """The deployment this caller already created with this key; a different body is an error."""
    earlier = session.scalar(
        select(Deployment).where(
            Deployment.created_by == principal.subject, Deployment.idempotency_key == key
        )
    )
    if earlier is not None and earlier.request_hash != digest:
        raise InvalidInput(
            f"was used for deployment {earlier.id} with a different request body",
            field="header.Idempotency-Key",
            hint="use a new key for a new request",
        )
    return earlier


def _winner(
    db: Database, principal: Principal, key: str | None, digest: str, app: str, env: str
) -> Deployment:
    """After a unique-index conflict: the replayed deployment, or a 409 naming the in-flight one."""
    with db.read() as session:
        if key and (replay := _replay(session, principal, key, digest)):
            return replay
        running = in_flight(session, app, env)
    if running is None:  # it finished in between: the caller may simply try again
        raise Conflict(f"another deployment of '{app}/{env}' was being recorded; try again")
    raise Problem(
        Conflict,
        f"deployment {running.id} is already in flight for '{app}/{env}' (state {running.state})",
        field="body.env",
        hint="wait for it to finish, or abort it",
        deploymentId=running.id,
    )


def has_succeeded(session: Session, app: str, env: str) -> bool:
    """Something of the app was deployed to the environment (an update, not a first release)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    Deployment.app == app, Deployment.env == env, Deployment.state == "succeeded"
                )
            )
        )
    )
