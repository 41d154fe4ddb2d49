"""`/api/v1/deployments/{id}/…`: promote, approve, reject, abort, retry a deployment."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request

from ..context import Context
from ..deps import ContextDep, PrincipalDep, VisibleDeployment
from ..schemas.deployments import ActionResult, Approve, Comment, DeploymentOut, Promote
from ..services import actions

router = APIRouter(prefix="/deployments/{deployment_id}", tags=["actions"])


@router.post("/promote")
def promote(
    deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep, request: Request,
    body: Promote | None = None,
) -> ActionResult:  # fmt: skip
    """Past the approval gate when the workflow waits there; else promote the Rollout."""
    full = body.full if body else False
    return _act(ctx, request, deployment.id, "promote",
                lambda: actions.promote(ctx, caller, deployment.id, full=full))  # fmt: skip


@router.post("/approve")
def approve(
    deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep, request: Request,
    body: Approve | None = None,
) -> ActionResult:  # fmt: skip
    """Approve the plan of a deployment waiting at its approval gate (not one's own); with
    `plan`, only if that is still the plan."""
    body = body or Approve()
    return _act(ctx, request, deployment.id, "approve",
                lambda: actions.approve(ctx, caller, deployment.id, body.comment,
                                        body.plan))  # fmt: skip


@router.post("/reject")
def reject(
    deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep, request: Request,
    body: Comment | None = None,
) -> ActionResult:  # fmt: skip
    """Reject a deployment waiting at its approval gate: its workflow is stopped."""
    comment = body.comment if body else ""
    return _act(ctx, request, deployment.id, "reject",
                lambda: actions.reject(ctx, caller, deployment.id, comment))  # fmt: skip


@router.post("/abort")
def abort(
    deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep, request: Request
) -> ActionResult:
    """Stop the workflow and abort the Rollout back to the stable version."""
    return _act(ctx, request, deployment.id, "abort",
                lambda: actions.abort(ctx, caller, deployment.id))  # fmt: skip


@router.post("/retry")
def retry(
    deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep, request: Request
) -> ActionResult:
    """Run the failed steps of a failed or aborted deployment again."""
    return _act(ctx, request, deployment.id, "retry",
                lambda: actions.retry(ctx, caller, deployment.id))  # fmt: skip


def _act(
    ctx: Context, request: Request, deployment_id: str, action: str, run: Callable[[], str]
) -> ActionResult:
    detail = run()
    request.state.audit["detail"] = detail
    deployment = ctx.reconciler.refresh_quietly(deployment_id)
    return ActionResult(deployment=DeploymentOut.of(deployment), action=action, detail=detail)
