"""Hand a recorded deployment to the engine, exactly once.

The record exists before this runs. The workflow is named after the deployment, so a second
submission of the same record is refused by the engine rather than started twice; that refusal
means the workflow is running, and it is adopted (found by its `rollway.io/deployment-id`
label), as the reconciler adopts one whose submission was cut short.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...errors import Conflict, RollwayError, UpstreamError
from ...pipeline import DEPLOY_TEMPLATE, LABEL_DEPLOYMENT
from ...workflows.backends import Backend, WorkflowStatus
from ..db import Database
from ..models import IN_FLIGHT, Deployment, utcnow
from . import status
from .pipeline import labels

log = logging.getLogger("rollway.apiserver")


def load(session: Session, deployment_id: str) -> Deployment:
    return session.scalars(select(Deployment).where(Deployment.id == deployment_id)).one()


def find_workflow(backend: Backend, deployment_id: str) -> WorkflowStatus | None:
    """The workflow already started for this deployment, if any."""
    found = backend.list({LABEL_DEPLOYMENT: deployment_id})
    return found[0] if found else None


def submit(
    db: Database, backend: Backend, deployment_id: str, *, deadline: float, adopt: bool = False
) -> Deployment:
    """Submit a `pending` deployment and record the result; with `adopt`, first look for a
    workflow an interrupted earlier attempt started.

    Engine unreachable: stays `pending` for the reconciler, until `deadline` seconds after
    creation, then fails. Refused by the engine: fails with the engine's reason.
    """
    with db.read() as session:
        deployment = load(session, deployment_id)
    if deployment.state != "pending":
        return deployment
    workflow: WorkflowStatus | None = None
    error: RollwayError | None = None
    try:
        workflow = (find_workflow(backend, deployment.id) if adopt else None) or backend.submit(
            DEPLOY_TEMPLATE,
            deployment.parameters,
            labels=labels(deployment.id, deployment.app, deployment.env),
            name=deployment.id,
        )
    except Conflict as err:  # submitted meanwhile (the reconciler, another replica)
        workflow, error = _adopted(backend, deployment.id, err)
    except RollwayError as err:
        error = err
    orphan = False
    with db.write() as session:
        record = load(session, deployment_id)
        if record.state == "pending":
            _record(record, workflow, error, deadline)
        elif workflow is not None and record.state not in IN_FLIGHT:  # aborted meanwhile
            record.workflow, orphan = workflow.name, True
    if orphan and workflow is not None:
        backend.stop(workflow.name)
    return record


def _adopted(
    backend: Backend, deployment_id: str, conflict: Conflict
) -> tuple[WorkflowStatus | None, RollwayError | None]:
    """The workflow a concurrent submission of this deployment started, or the conflict when
    what holds the name is not it."""
    try:
        workflow = find_workflow(backend, deployment_id)
    except RollwayError as err:
        return None, err
    return (workflow, None) if workflow is not None else (None, conflict)


def _record(
    record: Deployment, workflow: WorkflowStatus | None, error: RollwayError | None, deadline: float
) -> None:
    if workflow is not None:
        status.apply(record, workflow)
        log.info("deployment %s submitted as workflow %s", record.id, workflow.name)
        return
    assert error is not None
    record.submit_attempts += 1
    expired = utcnow() - record.created_at > timedelta(seconds=deadline)
    if isinstance(error, UpstreamError) and not expired:
        record.message = f"not submitted: {error}; it is submitted once the engine answers"[:2000]
    else:
        record.state, record.finished_at = "failed", utcnow()
        record.message = f"the engine refused the workflow: {error}"[:2000]
    log.warning("deployment %s: submission failed: %s", record.id, type(error).__name__)
