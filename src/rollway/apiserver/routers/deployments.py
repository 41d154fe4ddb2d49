"""Deployments: start one (or plan it), list, read, follow its logs and its progress."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from sqlalchemy.orm import Session

from ...errors import EngineUnavailable
from ...workflows.backends import Cancel
from ..deps import ContextDep, PrincipalDep, StreamSlot, VisibleDeployment
from ..models import FINISHED
from ..problems import Problem
from ..schemas.common import Model, problem_responses
from ..schemas.deployments import (
    DeploymentCreate,
    DeploymentOut,
    DeploymentPage,
    DeploymentSummary,
    Progress,
    State,
    Step,
)
from ..schemas.plan import DeploymentPlan, Plan
from ..services import deployments as service
from ..services import plan as planner
from ..services import status as workflow_status
from .params import AppName, IdempotencyKey, LabelQuery

router = APIRouter(tags=["deployments"])

NDJSON = "application/x-ndjson"


@router.post(
    "/apps/{app}/deployments",
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "Idempotency-Key replay, or the plan of a dry run"},
        409: {"description": "Another deployment is in flight, or outside a deployment window"},
        **problem_responses(503),  # recorded as pending: submitted once the engine answers
    },
)
def create_deployment(
    app: AppName,
    body: DeploymentCreate,
    ctx: ContextDep,
    caller: PrincipalDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    dry_run: Annotated[bool, Query(alias="dryRun")] = False,
) -> DeploymentOut | Plan:
    """Record the deployment, then submit its workflow (`dryRun=true`: only say what it would do)."""
    request.state.audit = {"app": app, "env": body.env}
    if dry_run:
        request.state.audit["detail"] = "dry run: nothing recorded or submitted"
        response.status_code = status.HTTP_200_OK
        with ctx.db.read() as session:
            return planner.plan(session, caller, ctx.settings, app, body)
    admitted = service.create(ctx.db, ctx.backend, ctx.settings, caller, app, body,
                              idempotency_key)  # fmt: skip
    deployment = admitted.deployment
    request.state.audit["target"] = deployment.id
    ctx.metrics.admissions.labels("created" if admitted.created else "replayed").inc()
    response.headers["Location"] = f"/api/v1/deployments/{deployment.id}"
    if not admitted.created:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    elif deployment.state == "pending":
        raise Problem(
            EngineUnavailable,
            f"deployment {deployment.id} is recorded, {deployment.message}",
            hint=f"follow it with: app status {app} --watch",
            deploymentId=deployment.id,
            state=deployment.state,
        )
    return DeploymentOut.of(deployment)


@router.get("/deployments", response_model=DeploymentPage)
async def list_deployments(
    ctx: ContextDep,
    caller: PrincipalDep,
    app: LabelQuery | None = None,
    env: LabelQuery | None = None,
    state: State | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Newest first; pass `nextCursor` back as `cursor` for the next page."""

    def page(session: Session) -> DeploymentPage:
        rows, next_cursor = service.page(
            session, caller, app=app, env=env, state=state, limit=limit, cursor=cursor
        )
        return DeploymentPage(
            items=[DeploymentSummary.from_row(d) for d in rows], next_cursor=next_cursor
        )

    return _json(await ctx.db.reading(page))


@router.get("/deployments/{deployment_id}", response_model=DeploymentOut)
async def get_deployment(deployment: VisibleDeployment) -> Response:
    """Step-by-step status with timings, and provenance."""
    return _json(DeploymentOut.of(deployment))


@router.get("/deployments/{deployment_id}/plan")
def deployment_plan(
    deployment: VisibleDeployment, ctx: ContextDep, caller: PrincipalDep
) -> DeploymentPlan:
    """The manifests the deployment applies — its chart at the commit it fetched, with the image
    it built — diffed against the cluster, and whether they are byte for byte what its render
    step rendered (what approvals bind to). For its approvers and deployers."""
    with ctx.db.read() as session:
        return planner.of_deployment(session, caller, ctx.settings, deployment)


@router.get(
    "/deployments/{deployment_id}/logs",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}, NDJSON: {}}}, **problem_responses(429)},
)
async def deployment_logs(
    deployment: VisibleDeployment,
    ctx: ContextDep,
    streams: StreamSlot,
    request: Request,
    step: LabelQuery | None = None,
    follow: bool = False,
) -> StreamingResponse:
    """The steps' log lines: text/plain `<step>: <line>`, or NDJSON when Accept asks for it."""
    lines: Iterator[str] = iter(())
    cancel = Cancel()
    if deployment.workflow is not None:
        lines = ctx.backend.logs(deployment.workflow, node=step, follow=follow, cancel=cancel)
    if NDJSON in request.headers.get("accept", ""):
        return StreamingResponse(streams.relay(_ndjson(lines), cancel), media_type=NDJSON)
    text = (f"{line}\n" for line in lines)
    return StreamingResponse(streams.relay(text, cancel), media_type="text/plain")


@router.get(
    "/deployments/{deployment_id}/events",
    response_class=EventSourceResponse,
    responses=problem_responses(429),
)
async def watch_deployment(
    deployment: VisibleDeployment,
    ctx: ContextDep,
    streams: StreamSlot,
    timeout: Annotated[float, Query(gt=0, le=3600)] = 600,
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: `status` with the record, then each time the workflow changes, and
    `end` once it finished (or `timeout` seconds passed)."""
    snapshot = DeploymentOut.of(deployment)
    yield ServerSentEvent(event="status", data=snapshot, id="0")
    if deployment.workflow is not None and snapshot.state not in FINISHED:
        seq = 0
        cancel = Cancel()
        changes = ctx.backend.watch(deployment.workflow, timeout, cancel)
        async for workflow in streams.relay(changes, cancel):
            seq += 1
            progress = Progress(
                id=deployment.id,
                state=workflow_status.state_of(workflow, deployment.stop_reason),
                phase=workflow.phase,
                message=workflow.message,
                steps=[Step.model_validate(s) for s in workflow_status.steps_of(workflow)],
            )
            yield ServerSentEvent(event="status", data=progress, id=str(seq))
    yield ServerSentEvent(event="end", data={"id": deployment.id})


def _json(model: Model) -> Response:
    """A model built here is valid already: serialise it without FastAPI validating it again
    (the two hottest routes spend most of their time there otherwise)."""
    return Response(model.model_dump_json(), media_type="application/json")


def _ndjson(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        step, sep, text = line.partition(": ")
        record = {"step": step, "line": text} if sep else {"step": None, "line": line}
        yield json.dumps(record) + "\n"
