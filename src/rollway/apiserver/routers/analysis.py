"""`/api/v1/apps/{app}/environments/{env}/analysis`: the newest analysis of the environment's
rollout, and `…/judgements`, the canary judge the Argo Rollouts controller's `web` metric
provider calls during an analysis step."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ...analysis import measure, parse_config
from ...errors import NotFound
from ..deps import ContextDep, PrincipalDep
from ..models import Application
from ..schemas.analysis import AnalysisStatus, Judgement, JudgementRequest
from ..services import analysis as analysis_service
from ..services import rollouts as rollouts_service
from .params import AppName, EnvName

router = APIRouter(prefix="/apps/{app}/environments/{env}/analysis", tags=["analysis"])


@router.post("/judgements")
async def judge(
    app: AppName, env: EnvName, body: JudgementRequest, ctx: ContextDep, caller: PrincipalDep,
    request: Request,
) -> Judgement:  # fmt: skip
    """Compare the canary revision with the baseline revision over the last `windowSeconds`,
    as the request's `analysis` says, else as the app's (any role in the app's project, or the
    platform's judge, may ask: it reads metrics, it changes nothing)."""
    request.state.audit = {"app": app, "env": env}
    with ctx.db.read() as session:
        namespace, _ = rollouts_service.target(
            session, caller, app, env, judge_group=ctx.settings.judge_group
        )
        stored = session.get(Application, app)
        configured = (stored.parameters or {}).get("analysis") if stored is not None else None
    if body.analysis is not None:
        config = parse_config(body.analysis, field="analysis")
    else:
        config = parse_config(configured, field="app.parameters.analysis")
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


@router.get("")
def analysis_status(
    app: AppName, env: EnvName, ctx: ContextDep, caller: PrincipalDep
) -> AnalysisStatus:
    """The newest AnalysisRun of the environment's rollout, with the judge's verdict so far:
    each metric, canary against baseline."""
    with ctx.db.read() as session:
        namespace, name = rollouts_service.target(session, caller, app, env)
    found = analysis_service.newest(ctx.rollouts().api, namespace, name)
    if found is None:
        raise NotFound(f"no analysis of rollout '{name}' in {env}", field="path.env")
    return found
