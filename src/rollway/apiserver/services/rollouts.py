"""Rollout status, history and rollback of an app's environment, through RolloutsClient."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ...auth import Capability, Principal
from ...errors import Conflict, NotFound
from ...pipeline import default_namespace, default_rollout
from ...rollouts import ReplicaSetInfo, RolloutInfo
from ..context import Context
from ..models import Deployment
from ..problems import Problem
from ..schemas.rollouts import Pod, Revision, Rollout
from . import access, approvals, deployments, notifications, pipeline

log = logging.getLogger("rollway.apiserver")


def target(
    session: Session, principal: Principal, app: str, env: str, *, judge_group: str | None = None
) -> tuple[str, str]:
    """(namespace, rollout name) of an environment the caller sees (`judge_group`: or that the
    platform's judge measures); the name is the one the last deployment applied, else the
    app's (the chart names the Rollout after the release)."""
    application = (
        access.app_for(session, principal, app)
        if judge_group is None
        else access.app_to_judge(session, principal, app, judge_group)
    )
    environment = pipeline.environment(application, env, field="path.env", error=NotFound)
    applied = session.scalar(
        select(Deployment.provenance)
        .where(Deployment.app == app, Deployment.env == env, Deployment.state == "succeeded")
        .order_by(Deployment.seq.desc())
        .limit(1)
    )
    namespace = environment.namespace or default_namespace(app, env)
    return namespace, str((applied or {}).get("rollout") or default_rollout(app))


def rollback(
    ctx: Context, principal: Principal, app: str, env: str, revision: int | None
) -> tuple[RolloutInfo, int]:
    """`undo` to a revision (default: the previous one); refused while a deployment runs.
    Returns the Rollout as patched and the number of the revision put back."""
    with ctx.db.read() as session:
        namespace, name = target(session, principal, app, env)
        application = access.app_for(session, principal, app, Capability.DEPLOY)
        running = deployments.in_flight(session, app, env)
    if running is not None:
        raise Problem(
            Conflict,
            f"deployment {running.id} is in flight for '{app}/{env}': abort it first",
            deploymentId=running.id,
        )

    def approved(template: Mapping[str, Any], number: int) -> None:
        """Where approval is required, only a revision approved for the environment goes back."""
        with ctx.db.read() as session:
            approvals.require_approved_template(session, application, env, template,
                                                f"revision {number}")  # fmt: skip

    info, restored = ctx.rollouts().undo(namespace, name, revision, allow=approved)
    try:
        with ctx.db.write() as session:
            made_by = deployments_by_revision(session, app, env).get(str(restored))
            notifications.rolled_back(session, app, env, restored, made_by, principal.name)
    except SQLAlchemyError as err:  # the rollback happened: answer so, and say what was lost
        log.warning("rollback of %s/%s: notifications not queued (%s)", app, env,
                    type(err).__name__)  # fmt: skip
    return info, restored


def view(info: RolloutInfo, deployments_by_revision: dict[str, str]) -> Rollout:
    return Rollout(
        name=info.name,
        namespace=info.namespace,
        strategy=info.strategy,
        phase=info.phase,
        message=info.message,
        revision=info.revision,
        images=[i.image for i in info.images],
        desired=info.desired,
        current=info.current,
        updated=info.updated,
        ready=info.ready,
        available=info.available,
        step=info.step,
        steps=info.steps,
        set_weight=info.set_weight,
        actual_weight=info.actual_weight,
        paused=info.paused,
        aborted=info.aborted,
        pause_reasons=list(info.pause_reasons),
        revisions=[revision(rs, deployments_by_revision) for rs in info.replicasets],
    )


def revision(rs: ReplicaSetInfo, deployments_by_revision: dict[str, str]) -> Revision:
    return Revision(
        name=rs.name,
        hash=rs.hash,
        revision=rs.revision,
        images=list(rs.images),
        health=rs.health,
        status=rs.status,
        desired=rs.desired,
        ready=rs.ready,
        available=rs.available,
        created=rs.created,
        pods=[
            Pod(name=p.name, status=p.status, ready=p.ready, restarts=p.restarts, created=p.created)
            for p in rs.pods
        ],  # fmt: skip
        deployment_id=deployments_by_revision.get(str(rs.revision)),
    )


def deployments_by_revision(session: Session, app: str, env: str) -> dict[str, str]:
    """Rollout revision → the deployment that produced it (from recorded provenance)."""
    rows = session.execute(
        select(Deployment.id, Deployment.provenance)
        .where(Deployment.app == app, Deployment.env == env, Deployment.state == "succeeded")
        .order_by(Deployment.seq.desc())
        .limit(100)
    ).all()
    found: dict[str, str] = {}
    for deployment_id, provenance in rows:
        rev = (provenance or {}).get("rollout_revision")
        if rev and rev not in found:
            found[str(rev)] = deployment_id
    return found
