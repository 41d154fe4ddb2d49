"""`/api/v1/apps/{app}/artifacts`: a new version was published; deploy it where policy allows."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..deps import ContextDep, PrincipalDep
from ..schemas.artifacts import AutoDeployment, AutoDeployments, Published
from ..services import artifacts
from .params import AppName, IdempotencyKey

router = APIRouter(prefix="/apps/{app}/artifacts", tags=["deployments"])


@router.post("")
def artifact_published(
    app: AppName, body: Published, ctx: ContextDep, caller: PrincipalDep, request: Request,
    idempotency_key: IdempotencyKey = None,
) -> AutoDeployments:  # fmt: skip
    """Deploy `version` to each environment whose policy has autoDeploy (a CI's or Nexus's
    hook); each environment's answer is reported, as a deployment request would get it."""
    outcomes = artifacts.published(ctx.db, ctx.backend, ctx.settings, caller, app,
                                   body.version, idempotency_key)  # fmt: skip
    request.state.audit = {
        "detail": "; ".join(f"{o.env}: {o.status} {o.deployment_id or o.detail}" for o in outcomes)
    }
    return AutoDeployments(items=[AutoDeployment(env=o.env, status=o.status,
                                                 deployment_id=o.deployment_id, detail=o.detail)
                                  for o in outcomes])  # fmt: skip
