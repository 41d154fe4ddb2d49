"""`/api/v1/apps/{app}/environments/{env}/rollout`: status, history and rollback."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import ContextDep, PrincipalDep
from ..schemas.deployments import Rollback
from ..schemas.rollouts import History, RolledBack, Rollout
from ..services import analysis
from ..services import rollouts as service
from .params import AppName, EnvName

router = APIRouter(prefix="/apps/{app}/environments/{env}/rollout", tags=["rollouts"])


@router.get("")
def rollout_status(app: AppName, env: EnvName, ctx: ContextDep, caller: PrincipalDep) -> Rollout:
    """What `kubectl argo rollouts get rollout` shows for the app in this environment."""
    with ctx.db.read() as session:
        namespace, name = service.target(session, caller, app, env)
        known = service.deployments_by_revision(session, app, env)
    rollouts = ctx.rollouts()
    shown = service.view(rollouts.get(namespace, name), known)
    shown.analysis = analysis.newest(rollouts.api, namespace, name)
    return shown


@router.get("/history")
def rollout_history(app: AppName, env: EnvName, ctx: ContextDep, caller: PrincipalDep) -> History:
    """The revisions kept for rollback, newest first, each with the deployment that made it."""
    with ctx.db.read() as session:
        namespace, name = service.target(session, caller, app, env)
        known = service.deployments_by_revision(session, app, env)
    return History(
        items=[service.revision(rs, known) for rs in ctx.rollouts().history(namespace, name)]
    )


@router.post("/rollback")
def rollback(
    app: AppName, env: EnvName, ctx: ContextDep, caller: PrincipalDep, request: Request,
    body: Rollback | None = None,
) -> RolledBack:  # fmt: skip
    """Put back the pod template of a revision (default: the previous one)."""
    request.state.audit = {"app": app, "env": env}
    info, restored = service.rollback(ctx, caller, app, env, body.revision if body else None)
    request.state.audit["detail"] = f"rolled back to revision {restored}"
    with ctx.db.read() as session:
        known = service.deployments_by_revision(session, app, env)
    return RolledBack(**service.view(info, known).model_dump(), restored_revision=restored)
