"""`/api/v1/internal/…`: what the pipeline itself calls (the exit handler's report).

Authenticated like every route, by a token whose principal may deploy the application. The
report is only a prompt: the record is brought up to date from the engine, which stays the
source of truth, so a forged report cannot change an outcome.
"""

from __future__ import annotations

from fastapi import APIRouter, status

from ...auth import Capability
from ..deps import ContextDep, PrincipalDep, VisibleDeployment
from ..schemas.deployments import DeploymentOut, Outcome
from ..services import access

router = APIRouter(prefix="/internal/deployments/{deployment_id}", tags=["internal"])


@router.post("/outcome", status_code=status.HTTP_202_ACCEPTED)
def report_outcome(
    body: Outcome, deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep
) -> DeploymentOut:
    """The workflow's exit handler reports its end: read the workflow now, record it."""
    access.require(ctx.db, caller, Capability.DEPLOY, deployment.app)
    return DeploymentOut.of(ctx.reconciler.refresh_quietly(deployment.id))
