"""Approvals: who may approve a release, when its approvals are enough, and what they bind to.

An approval is a row: one person, one deployment, the digest of the plan they approved
(`workflows.binding`) and when it stops counting. A gate opens when the distinct people who
approved the current plan, with approvals not yet expired, reach the environment's `approvers`.
Nobody approves their own deployment (admins neither), only members of the environment's
`approverGroups` count when it names any, and an approval of another plan counts for nothing.

A deployment requires approval when its environment did at submission (the workflow's
`approval-required`, which placed its gate) or does now; the number, groups and expiry are
the environment's policy as it is now, so a tightened policy applies at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...auth import Capability, Principal
from ...errors import Conflict, Forbidden, NotFound
from ...kube.provenance import DEPLOYMENT_LABEL
from ...pipeline import GATES, PLAN_APPROVAL
from ...workflows.backends import WorkflowStatus
from ..context import Context
from ..models import Application, Approval, Deployment, utcnow
from ..problems import Problem
from ..schemas.apps import Policy
from . import access, pipeline, submission
from .status import current_plan


@dataclass(frozen=True)
class Requirement:
    """What an environment asks of a release before it reaches traffic."""

    approvers: int
    groups: frozenset[str]
    expiry: timedelta


def requirement(app: Application, deployment: Deployment) -> Requirement | None:
    """None when the deployment needs no approval."""
    try:
        policy = pipeline.environment(app, deployment.env, error=NotFound).policy
    except NotFound:  # the environment was removed since: its submission's word stands
        policy = Policy()
    if not (policy.approval_required or deployment.parameters.get("approval-required") == "true"):
        return None
    return Requirement(
        policy.approvers,
        frozenset(policy.approver_groups),
        timedelta(seconds=policy.approval_expiry_seconds),
    )


def gate_of(workflow: WorkflowStatus) -> str | None:
    """The gate the workflow waits at (`plan-approval` or `approval`), if any."""
    suspended = workflow.suspended
    return suspended.name if suspended is not None and suspended.name in GATES else None


def counted(approvals: Iterable[Approval], plan: str | None, now: datetime) -> list[Approval]:
    """The approvals that count for `plan` now: unexpired, one per person."""
    found: dict[str, Approval] = {}
    for approval in approvals:
        if plan is not None and approval.plan == plan and approval.expires_at > now:
            found.setdefault(approval.subject, approval)
    return list(found.values())


def missing(deployment: Deployment, workflow: WorkflowStatus, need: Requirement) -> int:
    """How many more approvals the plan the workflow would ship needs (0: it has them all)."""
    valid = counted(deployment.approvals, current_plan(workflow), utcnow())
    return max(need.approvers - len(valid), 0)


def approve(
    ctx: Context,
    principal: Principal,
    deployment: Deployment,
    workflow: WorkflowStatus,
    comment: str,
    reviewed: str | None,
) -> str:
    """Record the caller's approval of the plan the deployment waits with; open its gate when
    that makes enough."""
    with ctx.db.read() as session:
        app = access.app_for(session, principal, deployment.app, Capability.APPROVE)
    gate = gate_of(workflow)
    if gate is None:
        raise Conflict(f"deployment {deployment.id} is not waiting for approval")
    refuse_own(principal, deployment)
    need = requirement(app, deployment) or Requirement(1, frozenset(), timedelta(days=1))
    where = f"'{deployment.app}/{deployment.env}'"
    if need.groups and not (principal.groups & need.groups):
        raise Problem(
            Forbidden,
            f"approvals of {where} count only from members of {', '.join(sorted(need.groups))}",
            field="policy.approverGroups",
        )
    plan = current_plan(workflow)
    if plan is None:  # a gate comes after render: every part is known there
        raise Conflict(f"deployment {deployment.id} has no complete plan to approve yet")
    if reviewed is not None and reviewed != plan:
        raise Problem(
            Conflict,
            f"the plan changed since you reviewed it (you reviewed {reviewed[:12]}…, deployment "
            f"{deployment.id} would now ship {plan[:12]}…): review it again",
            field="body.plan",
            plan=plan,
        )
    now = utcnow()
    _record(ctx, principal, deployment.id, plan, comment, now, need.expiry)
    with ctx.db.read() as session:
        valid = counted(submission.load(session, deployment.id).approvals, plan, now)
    if len(valid) < need.approvers:
        more = need.approvers - len(valid)
        return (f"approval {len(valid)} of {need.approvers} recorded for plan {plan[:12]}…: "
                f"{more} more needed, from someone else")  # fmt: skip
    with ctx.db.write() as session:
        record = submission.load(session, deployment.id)
        record.decision, record.decided_by, record.decided_at = "approved", principal.name, now
        record.decision_comment = comment
    assert deployment.workflow is not None
    ctx.backend.resume(deployment.workflow, f"displayName={gate}")
    goes_on = "apply its plan" if gate == PLAN_APPROVAL else "promote"
    return f"approved ({len(valid)} of {need.approvers}): the workflow goes on to {goes_on}"


def refuse_own(principal: Principal, deployment: Deployment) -> None:
    """Nobody decides on a deployment they started: four eyes, admins' too."""
    if deployment.created_by == principal.subject:
        raise Forbidden(
            "you started this deployment: someone else must approve or reject it",
            hint="ask another approver of the project",
        )


def require_approved_template(
    session: Session, app: Application, env: str, template: Mapping[str, Any], what: str
) -> None:
    """Where `env` requires approval, a pod template goes back to traffic (a rollback, or the
    promotion of one) only if the deployment that made it was approved for `env`."""
    policy = pipeline.environment(app, env, field="path.env", error=NotFound).policy
    if not policy.approval_required:
        return
    labels = (template.get("metadata") or {}).get("labels") or {}
    made_by = labels.get(DEPLOYMENT_LABEL)
    approved = made_by is not None and session.scalar(
        select(Deployment.id).where(
            Deployment.id == made_by,
            Deployment.app == app.name,
            Deployment.env == env,
            Deployment.decision == "approved",
        )
    )
    if not approved:
        source = f"deployment {made_by}" if made_by else "no Rollway deployment"
        raise Problem(
            Forbidden,
            f"{what} ({source}) was never approved for '{app.name}/{env}': deploy that version "
            "again, so its plan gets approved",
            field="policy.approvalRequired",
            deploymentId=made_by,
        )


def _record(
    ctx: Context, principal: Principal, deployment_id: str, plan: str, comment: str,
    now: datetime, expiry: timedelta,
) -> None:  # fmt: skip
    """One approval per person and plan: a second is refused, an expired one is renewed."""
    twice = Problem(
        Conflict,
        f"{principal.name} approved this plan already: a second approval by the same person "
        "does not count",
        field="approver",
    )
    try:
        with ctx.db.write() as session:
            earlier = session.scalar(
                select(Approval).where(
                    Approval.deployment_id == deployment_id,
                    Approval.plan == plan,
                    Approval.subject == principal.subject,
                )
            )
            if earlier is not None and earlier.expires_at > now:
                raise twice
            approval = earlier or Approval(
                deployment_id=deployment_id, plan=plan, subject=principal.subject
            )
            approval.name, approval.comment = principal.name, comment
            approval.at, approval.expires_at = now, now + expiry
            session.add(approval)
    except IntegrityError:  # the same person, at the same moment, through another request
        raise twice from None
