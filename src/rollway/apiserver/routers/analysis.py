"""`/api/v1/apps/{app}/environments/{env}/analysis/judgements`: the canary judge, called by the
Argo Rollouts controller's `web` metric provider during an analysis step."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...analysis import measure, parse_config
from ..deps import ContextDep, PrincipalDep
from ..schemas.analysis import Judgement, JudgementRequest
from ..services import rollouts as rollouts_service
from .params import AppName, EnvName

router = APIRouter(prefix="/apps/{app}/environments/{env}/analysis", tags=["analysis"])


@router.post("/judgements")
async def judge(
    app: AppName, env: EnvName, body: JudgementRequest, ctx: ContextDep, caller: PrincipalDep,
    request: Request,
) -> Judgement:  # fmt: skip
    """Compare the canary revision with the baseline revision over the last `windowSeconds`
    (any role in the app's project may ask: it reads metrics, it changes nothing)."""
    request.state.audit = {"app": app, "env": env}
    config = parse_config(body.analysis, field="analysis")
    with ctx.db.read() as session:
        namespace, _ = rollouts_service.target(session, caller, app, env)
    verdict = await run_in_threadpool(
        measure, ctx.settings.prometheus_url, config, namespace=namespace,
        canary_hash=body.canary_hash, baseline_hash=body.baseline_hash,
        window_seconds=body.window_seconds,
    )  # fmt: skip
    request.state.audit["detail"] = verdict.reason
    return Judgement.model_validate(
        {
            "verdict": verdict.verdict,
            "score": verdict.score,
            "reason": verdict.reason,
            "metrics": [dataclasses.asdict(m) for m in verdict.metrics],
        }
    )
