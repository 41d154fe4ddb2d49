"""What people do to a deployment once it runs: promote, approve, reject, abort, retry.

The workflow is driven only through the `Backend`; the Rollout only through `RolloutsClient`.
A gate is a suspend node named `approval`. Where the environment requires approval (recorded in
the workflow's `approval-required` parameter), passing it is an approval with the approver's
rules (the approver role, and not one's own deployment); elsewhere any deployer may promote.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ...auth import Capability, Principal
from ...errors import Conflict, Forbidden, NotFound, RollwayError
from ...workflows.backends import WorkflowStatus
from ..context import Context
from ..models import IN_FLIGHT, Deployment, utcnow
from ..problems import Problem
from . import access, deployments, submission
from .status import APPROVAL

APPROVAL_SELECTOR = f"displayName={APPROVAL}"


def promote(ctx: Context, principal: Principal, deployment_id: str, *, full: bool) -> str:
    deployment = _load(ctx, principal, deployment_id)
    if deployment.state == "succeeded":
        paused = _paused_since(ctx, principal, deployment)
        if paused is not None:
            info = ctx.rollouts().promote(deployment.namespace, paused, full=full)
            return f"rollout {paused} promoted{' fully' if full else ''}; phase {info.phase}"
    workflow = _running_workflow(ctx, deployment, "promote")
    if _at_approval(workflow) and workflow.parameters.get("approval-required") == "true":
        _decide(ctx, principal, deployment, "approved", "approved by promotion")
        return "the approval gate was passed: the workflow goes on to promote"
    access.require(ctx.db, principal, Capability.DEPLOY, deployment.app)
    if _at_approval(workflow):  # no approval required: the gate is the deployer's to pass
        assert deployment.workflow is not None
        ctx.backend.resume(deployment.workflow, APPROVAL_SELECTOR)
        return "promoted: the workflow goes on to promote the rollout"
    rollout = rollout_name(deployment)
    info = ctx.rollouts().promote(deployment.namespace, rollout, full=full)
    return f"rollout {rollout} promoted{' fully' if full else ''}; phase {info.phase}"


def approve(ctx: Context, principal: Principal, deployment_id: str, comment: str) -> str:
    deployment = _load(ctx, principal, deployment_id)
    _decide(ctx, principal, deployment, "approved", comment)
    return "approved: the workflow goes on to promote"


def reject(ctx: Context, principal: Principal, deployment_id: str, comment: str) -> str:
    """Stop the workflow and take the rejected version's preview or canary down again."""
    deployment = _load(ctx, principal, deployment_id)
    _decide(ctx, principal, deployment, "rejected", comment)
    return f"rejected: the workflow is stopped; {_abort_rollout(ctx, deployment)}"


def abort(ctx: Context, principal: Principal, deployment_id: str) -> str:
    deployment = _load(ctx, principal, deployment_id)
    access.require(ctx.db, principal, Capability.DEPLOY, deployment.app)
    if deployment.state not in IN_FLIGHT:
        raise Conflict(f"deployment {deployment.id} is {deployment.state}: nothing to abort")
    with ctx.db.write() as session:
        record = submission.load(session, deployment.id)
        record.stop_reason = "aborted"
        if record.workflow is None:  # never submitted: nothing runs, and it never will
            record.state, record.finished_at = "aborted", utcnow()
            record.message = "aborted before its workflow started"
    if deployment.workflow is None:
        return "aborted before its workflow started"
    ctx.backend.stop(deployment.workflow)
    return f"workflow stopped; {_abort_rollout(ctx, deployment)}"


def _abort_rollout(ctx: Context, deployment: Deployment) -> str:
    """Abort the update the deployment applied, if it got that far; say what happened."""
    if "rollout" not in deployment.provenance:
        return "nothing was applied yet"
    try:
        ctx.rollouts().abort(deployment.namespace, rollout_name(deployment))
        return "rollout aborted back to the stable version"
    except (Conflict, NotFound):
        return "the rollout had no update in progress"
    except RollwayError as err:  # the workflow is stopped either way: say what is left
        return f"the rollout could not be aborted ({err.message})"


def retry(ctx: Context, principal: Principal, deployment_id: str) -> str:
    deployment = _load(ctx, principal, deployment_id)
    access.require(ctx.db, principal, Capability.DEPLOY, deployment.app)
    if deployment.state not in ("failed", "aborted"):
        raise Conflict(f"deployment {deployment.id} is {deployment.state}: only failed or "
                       "aborted deployments can be retried")  # fmt: skip
    previous = deployment.state
    resumed = "running" if deployment.workflow else "pending"
    try:
        with ctx.db.write() as session:
            record = submission.load(session, deployment.id)
            record.state, record.stop_reason, record.finished_at = resumed, None, None
            record.message = "retry requested"
    except IntegrityError:
        with ctx.db.read() as session:
            running = deployments.in_flight(session, deployment.app, deployment.env)
        raise Problem(
            Conflict,
            f"deployment {running.id if running else '?'} is in flight for "
            f"'{deployment.app}/{deployment.env}'",
            deploymentId=running.id if running else None,
        ) from None
    if deployment.workflow is None:
        submission.submit(ctx.db, ctx.backend, deployment.id,
                          deadline=ctx.settings.submit_deadline, adopt=True)  # fmt: skip
        return "resubmitted"
    try:
        ctx.backend.retry(deployment.workflow)
    except Exception:
        with ctx.db.write() as session:
            record = submission.load(session, deployment.id)
            record.state, record.finished_at = previous, utcnow()
        raise
    return "the failed steps run again"


def rollout_name(deployment: Deployment) -> str:
    """The Rollout the deployment applied; the chart names it after the release (the app)."""
    return str(deployment.provenance.get("rollout") or deployment.app)


def _load(ctx: Context, principal: Principal, deployment_id: str) -> Deployment:
    with ctx.db.read() as session:
        return deployments.get(session, principal, deployment_id)


def _running_workflow(ctx: Context, deployment: Deployment, action: str) -> WorkflowStatus:
    if deployment.state not in IN_FLIGHT:
        raise Conflict(f"deployment {deployment.id} is {deployment.state}: nothing to {action}")
    if deployment.workflow is None:
        raise Conflict(f"deployment {deployment.id} has not started yet: nothing to {action}")
    return ctx.backend.get(deployment.workflow)


def _paused_since(ctx: Context, principal: Principal, deployment: Deployment) -> str | None:
    """The Rollout's name when it paused after this deployment finished, with nothing in flight:
    a rollback (`undo`) the controller does not fast-track waits as a blue-green preview (or at
    a canary pause) for promotion, as after `kubectl argo rollouts undo`."""
    with ctx.db.read() as session:
        if deployments.in_flight(session, deployment.app, deployment.env) is not None:
            return None
    rollout = rollout_name(deployment)
    try:
        if ctx.rollouts().get(deployment.namespace, rollout).phase != "Paused":
            return None
    except NotFound:  # deleted since: nothing to promote, as before
        return None
    access.require(ctx.db, principal, Capability.DEPLOY, deployment.app)
    return rollout


def _at_approval(workflow: WorkflowStatus) -> bool:
    suspended = workflow.suspended
    return suspended is not None and suspended.name == APPROVAL


def _decide(
    ctx: Context, principal: Principal, deployment: Deployment, decision: str, comment: str
) -> None:
    """Approve (resume the gate) or reject (stop the workflow) a deployment waiting there."""
    access.require(ctx.db, principal, Capability.APPROVE, deployment.app)
    workflow = _running_workflow(ctx, deployment, "approve or reject")
    if not _at_approval(workflow):
        raise Conflict(f"deployment {deployment.id} is not waiting for approval")
    if deployment.created_by == principal.subject and not principal.is_admin:
        raise Forbidden(
            "you started this deployment: someone else must approve or reject it",
            hint="ask another approver of the team",
        )
    with ctx.db.write() as session:
        record = submission.load(session, deployment.id)
        record.decision, record.decided_by, record.decided_at = decision, principal.name, utcnow()
        record.decision_comment = comment
        if decision == "rejected":
            record.stop_reason = "rejected"
    assert deployment.workflow is not None
    if decision == "approved":
        ctx.backend.resume(deployment.workflow, APPROVAL_SELECTOR)
    else:
        ctx.backend.stop(deployment.workflow)
