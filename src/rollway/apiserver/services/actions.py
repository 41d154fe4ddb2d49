"""What people do to a deployment once it runs: promote, approve, reject, abort, retry.

The workflow is driven only through the `Backend`; the Rollout only through `RolloutsClient`.
A gate is a suspend node: `plan-approval` before apply, or `approval` at the Rollout's pause.
Where the deployment requires approval (`services.approvals`), a promote at a gate is an
approval, with the approver's rules; and until the plan has its approvals nothing else moves
the release on: a promote before the gate (`--full` or not) is refused, and so is the promote
of a rolled-back revision that was never approved. Elsewhere any deployer may promote.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ...auth import Capability, Principal
from ...errors import Conflict, Forbidden, NotFound, RollwayError
from ...pipeline import default_rollout
from ...workflows.backends import WorkflowStatus
from ..context import Context
from ..models import IN_FLIGHT, Deployment, utcnow
from ..problems import Problem
from . import access, approvals, deployments, submission


def promote(ctx: Context, principal: Principal, deployment_id: str, *, full: bool) -> str:
    deployment = _load(ctx, principal, deployment_id)
    access.require(ctx.db, principal, Capability.PROMOTE, deployment.app)
    if deployment.state == "succeeded":
        paused = _paused_since(ctx, principal, deployment)
        if paused is not None:
            info = ctx.rollouts().promote(deployment.namespace, paused, full=full)
            return f"rollout {paused} promoted{' fully' if full else ''}; phase {info.phase}"
    workflow = _running_workflow(ctx, deployment, "promote")
    gate = approvals.gate_of(workflow)
    with ctx.db.read() as session:
        need = approvals.requirement(access.app_for(session, principal, deployment.app),
                                     deployment)  # fmt: skip
    if need is not None and (more := approvals.missing(deployment, workflow, need)):
        if gate is not None:  # passing the gate is approving the plan
            try:
                return approvals.approve(ctx, principal, deployment, workflow,
                                         "approved by promotion", None)  # fmt: skip
            except Forbidden as err:
                raise Problem(
                    Forbidden,
                    f"deployment {deployment.id} needs {more} more approval(s) of its plan: "
                    f"{err.message}",
                    field=err.field or "policy.approvalRequired",
                    hint=err.hint,
                ) from None
        raise Problem(
            Forbidden,
            f"deployment {deployment.id} needs {more} more approval(s) of its plan before "
            f"anything promotes it{' (--full included)' if full else ''}",
            field="policy.approvalRequired",
            hint=f"once it waits at its gate, an approver runs: app approve {deployment.id}",
        )
    access.require(ctx.db, principal, Capability.DEPLOY, deployment.app)
    if gate is not None:  # no approval required, or given: the gate is the deployer's to pass
        assert deployment.workflow is not None
        ctx.backend.resume(deployment.workflow, f"displayName={gate}")
        return "promoted: the workflow goes on"
    rollout = rollout_name(deployment)
    info = ctx.rollouts().promote(deployment.namespace, rollout, full=full)
    return f"rollout {rollout} promoted{' fully' if full else ''}; phase {info.phase}"


def approve(
    ctx: Context, principal: Principal, deployment_id: str, comment: str, plan: str | None
) -> str:
    """Approve the plan the deployment waits with (`plan`: only if it is still that one)."""
    deployment = _load(ctx, principal, deployment_id)
    access.require(ctx.db, principal, Capability.APPROVE, deployment.app)
    workflow = _running_workflow(ctx, deployment, "approve")
    return approvals.approve(ctx, principal, deployment, workflow, comment, plan)


def reject(ctx: Context, principal: Principal, deployment_id: str, comment: str) -> str:
    """Stop the workflow and take the rejected version's preview or canary down again."""
    deployment = _load(ctx, principal, deployment_id)
    access.require(ctx.db, principal, Capability.APPROVE, deployment.app)
    workflow = _running_workflow(ctx, deployment, "reject")
    if approvals.gate_of(workflow) is None:
        raise Conflict(f"deployment {deployment.id} is not waiting for approval")
    approvals.refuse_own(principal, deployment)
    with ctx.db.write() as session:
        record = submission.load(session, deployment.id)
        record.decision, record.decided_by, record.decided_at = "rejected", principal.name, utcnow()
        record.decision_comment, record.stop_reason = comment, "rejected"
    assert deployment.workflow is not None
    ctx.backend.stop(deployment.workflow)
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
    return str(deployment.provenance.get("rollout") or default_rollout(deployment.app))


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
    template = (ctx.rollouts().read(deployment.namespace, rollout).get("spec") or {}).get(
        "template"
    ) or {}
    with ctx.db.read() as session:
        app = access.app_for(session, principal, deployment.app)
        approvals.require_approved_template(session, app, deployment.env, template,
                                            f"the version rollout {rollout} waits with")  # fmt: skip
    return rollout
