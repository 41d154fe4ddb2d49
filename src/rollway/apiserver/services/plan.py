"""Dry run: what a deployment would do, found out without changing anything.

Resolves the version from Maven metadata (no download), asks the registry whether the target
tag exists (HEAD: reuse, else build), renders the chart and diffs it against the cluster with
the render step's own functions (server-side dry runs only), and lists the strategy's steps.
Each part that cannot be determined says why instead of failing the whole plan; nothing is
recorded and no workflow is submitted.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from sqlalchemy.orm import Session

from ...analysis import baseline_of
from ...analysis.placement import JudgeSettings, attach
from ...analysis.plan import samples_per_side, validated
from ...auth import Capability, Principal
from ...errors import Forbidden, RollwayError
from ...pipeline import BLUEGREEN, CANARY, RENDER
from ...rollouts.pauses import why_no_pause
from ..models import Application, Deployment, utcnow
from ..schemas.apps import CanaryStep
from ..schemas.deployments import DeploymentCreate
from ..schemas.plan import (
    AnalysisPlan,
    ArtifactPlan,
    DeploymentPlan,
    ImagePlan,
    ManifestPlan,
    MetricPlan,
    Plan,
    StrategyPlan,
    WindowPlan,
)
from ..settings import Settings
from . import access, deployments, egress, guardrails, pipeline, windows

log = logging.getLogger("rollway.apiserver")
T = TypeVar("T")
#: Rendered with this digest when the image does not exist yet (it will be built).
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


def plan(
    session: Session,
    principal: Principal,
    settings: Settings,
    app_name: str,
    request: DeploymentCreate,
) -> Plan:
    app = access.app_for(session, principal, app_name, Capability.DEPLOY)
    resolved = pipeline.resolve(app, request)
    env = resolved.environment
    guardrails.check(session, app, env=env.name, where="app")  # before fetching anything
    first_release = not deployments.has_succeeded(session, app.name, env.name)
    params = pipeline.parameters(app, request, resolved, "dry-run", settings,
                                 first_release=first_release)  # fmt: skip
    running = deployments.in_flight(session, app.name, env.name)
    now = utcnow()
    opening = windows.next_opening(env.policy.windows, now)
    artifact = _artifact(params["coordinates"])
    image = _image(params["image-repository"], artifact.version, settings)
    manifests = _manifests(app, params, image, settings)
    required = env.policy.approval_required
    # Where the gate goes, as the pipeline decides it (unknown if the chart did not render).
    before_apply = required and (first_release or manifests.no_pause is not None)
    steps = strategy_steps(resolved, required and not before_apply)
    if before_apply:
        why = "a first release" if first_release else manifests.no_pause
        steps = [f"wait for the approvers of the plan before anything is applied ({why})", *steps]
    return Plan(
        app=app.name,
        env=env.name,
        namespace=params["namespace"],
        kind=request.kind,
        artifact=artifact,
        image=image,
        manifests=manifests,
        strategy=StrategyPlan(name=resolved.strategy, steps=steps),
        analysis=_analysis(resolved),
        approval_required=env.policy.approval_required,
        window=WindowPlan(
            open=windows.is_open(env.policy.windows, now),
            next_opening=opening if not windows.is_open(env.policy.windows, now) else None,
        ),
        blocked_by=running.id if running else None,
        parameters={k: v for k, v in params.items() if k != "deployment-id"},
    )


def strategy_steps(resolved: pipeline.Resolved, approval: bool) -> list[str]:
    """The strategy's steps; `approval`: with the approvers' gate at its pause."""
    gate = ["wait for the approvers (approve or promote)"] if approval else []
    judged = pipeline.analysis(resolved.parameters)
    compared = (
        ""
        if judged is None
        else {
            "fresh": "starts one pod of each version together and compares them",
            "stable": "compares the new version with the running stable one",
        }[baseline_of(judged, canary=resolved.strategy == CANARY)]
    )
    judge = [] if judged is None else [
        f"Rollway's judge {compared} for {judged.window_seconds}s: pass goes on, fail aborts, "
        "marginal pauses for a human"
    ]  # fmt: skip
    if resolved.strategy == CANARY:
        steps = resolved.parameters.canary_steps
        described = (
            [line for s in steps for line in _canary_step(s, judge)]
            if steps
            else ["the chart's default steps", *([f"after each weight step: {judge[0]}"]
                                                if judge else [])]
        )  # fmt: skip
        return ["start the canary ReplicaSet", *described, *gate,
                "make the canary the stable version"]  # fmt: skip
    if resolved.strategy == BLUEGREEN:
        auto = resolved.parameters.auto_promote
        switch = "switch the active Service " + (
            "as soon as the preview is ready" if auto else "when promoted"
        )
        return ["start the new version behind the preview Service", "wait until it is ready",
                *judge, *gate, switch, "scale the old version down after its delay"]  # fmt: skip
    return ["replace the pods a few at a time (maxSurge / maxUnavailable)", *gate]


def _canary_step(step: CanaryStep, judge: list[str]) -> list[str]:
    """The step, and the judge after it where the render step places it."""
    if step.set_weight is not None:
        weighed = f"send {step.set_weight}% to the canary"
        return [weighed, *judge] if 0 < step.set_weight < 100 else [weighed]
    if step.pause is not None:
        duration = step.pause.duration
        return [f"pause {duration}" if duration is not None else "pause until promoted"]
    return ["run the analysis"]


def _analysis(resolved: pipeline.Resolved) -> AnalysisPlan | None:
    config = pipeline.analysis(resolved.parameters)
    if config is None:
        return None
    return AnalysisPlan(
        baseline=baseline_of(config, canary=resolved.strategy == CANARY),
        window_seconds=config.window_seconds,
        warmup_seconds=config.warmup_seconds,
        samples_per_side=samples_per_side(config, config.window_seconds),
        pass_score=config.pass_score,
        marginal_score=config.marginal_score,
        metrics=[
            MetricPlan(name=m.name, direction=m.direction, tolerance=m.tolerance,
                       critical=m.critical, weight=m.weight)
            for m in config.metrics
        ],
    )  # fmt: skip


def _artifact(coordinates: str) -> ArtifactPlan:
    from ...maven import Coordinates, MavenClient

    def resolve() -> ArtifactPlan:
        with MavenClient.from_env() as maven:
            found = maven.resolve(Coordinates.parse(coordinates))
        return ArtifactPlan(
            coordinates=str(found.coordinates), version=found.version, url=found.url
        )

    return _attempt("artifact", resolve, lambda e: ArtifactPlan(coordinates=coordinates, error=e))


def _image(repository: str, version: str | None, settings: Settings) -> ImagePlan:
    if version is None:
        return ImagePlan(repository=repository, action="unknown",
                         error="the version did not resolve")  # fmt: skip
    tag = version

    def head() -> ImagePlan:
        from ...image.credentials import find_credentials
        from ...image.reference import parse_reference
        from ...image.registry import RegistryClient, registry_url
        from ...image.tls import process_trust_store

        ref = parse_reference(f"{repository}:{tag}", field="image-repository")
        url = registry_url(ref.api_host)
        client = RegistryClient(
            ref.registry,
            url=url,
            credentials=find_credentials(ref.registry, home=settings.registry),
            scopes=[f"repository:{ref.repository}:pull"],
            attempts=2,
            redirects_elsewhere=False,
            trust=process_trust_store() if url.startswith("https:") else None,
        )
        with client:
            digest = client.manifest_digest(ref.repository, tag)
        return ImagePlan(
            repository=repository,
            tag=tag,
            action="reuse" if digest else "build",
            digest=digest,
        )

    return _attempt(
        "image",
        head,
        lambda e: ImagePlan(repository=repository, tag=tag, action="unknown", error=e),
    )


def _manifests(
    app: Application, params: dict[str, str], image: ImagePlan, settings: Settings
) -> ManifestPlan:
    def render_and_diff() -> ManifestPlan:
        from ...chart import git, render, tree
        from ...chart import values as chart_values
        from ...kube.apply import Applier
        from ...kube.client import load_api
        from ...kube.diff import live_changes, summary

        with tempfile.TemporaryDirectory(prefix="rollway-plan-") as tmp:
            dest = Path(tmp) / "chart"
            path = params["chart-path"]
            credential = git.credential(egress.homes(settings))
            git.fetch(params["chart-repo"], params["chart-ref"], dest,
                      lambda work, _: tree.select(work, path, path, field="chart.path"),
                      credential=credential, timeout=60)  # fmt: skip
            digest = image.digest or PLACEHOLDER_DIGEST
            pipeline_values: dict[str, Any] = {
                **chart_values.image(f"{params['image-repository']}@{digest}"),
                "strategy": params["strategy"],
            }
            if "replicas" in params:
                pipeline_values["replicas"] = int(params["replicas"])
            merged = chart_values.build(chart_values.from_json(params["values"]), pipeline_values)
            manifests = render.template(dest / path, app.name, params["namespace"], merged)
        if params.get("analysis"):
            config = validated(
                chart_values.from_json(params["analysis"], "analysis"), field="analysis"
            )
            manifests = attach(manifests, app=app.name, env=params["env"], config=config,
                               settings=judge_settings(settings))  # fmt: skip
        changes = live_changes(Applier(load_api()), manifests, params["namespace"])
        text = yaml.safe_dump_all(manifests, sort_keys=False)  # as the render step writes it
        return ManifestPlan(
            sha256=hashlib.sha256(text.encode()).hexdigest(),
            objects=[f"{m.get('kind')}/{(m.get('metadata') or {}).get('name')}" for m in manifests],
            changes=summary(changes),
            diff="".join(change.diff for change in changes),
            placeholder_digest=image.digest is None,
            no_pause=why_no_pause(manifests),
        )

    return _attempt("manifests", render_and_diff, lambda e: ManifestPlan(error=e))


def of_deployment(
    session: Session, principal: Principal, settings: Settings, deployment: Deployment
) -> DeploymentPlan:
    """The manifests a started deployment applies, rendered again from its chart commit and
    built image and diffed against the cluster: what its approvers review. For the
    deployment's approvers and deployers."""
    app = access.app_for(session, principal, deployment.app)
    if not (access.holds(session, principal, Capability.APPROVE, app.project)
            or access.holds(session, principal, Capability.DEPLOY, app.project)):  # fmt: skip
        raise Forbidden(
            f"the approver or deployer role in project '{app.project}' is needed to review "
            "a deployment's manifests",
            field="deploymentId",
        )
    provenance = deployment.provenance or {}
    commit, digest = provenance.get("chart_commit"), provenance.get("image_digest")
    rendered = next((str(s["outputs"]["manifests-sha256"]) for s in deployment.steps
                     if s.get("name") == RENDER and (s.get("outputs") or {}).get(
                         "manifests-sha256")), None)  # fmt: skip
    params = dict(deployment.parameters)
    if commit:
        params["chart-ref"] = commit
    repository = params.get("image-repository")
    if digest and repository:
        image = f"{repository}@{digest}"
        plan = ImagePlan(repository=repository, action="reuse", digest=digest)
        manifests = _manifests(app, params, plan, settings)
    else:
        image, manifests = None, ManifestPlan(error="the image is not built yet: nothing to render")
    matches = manifests.sha256 == rendered if manifests.sha256 and rendered else None
    return DeploymentPlan(deployment_id=deployment.id, chart_commit=commit, image=image,
                          rendered_sha256=rendered, matches_rendered=matches,
                          manifests=manifests)  # fmt: skip


def judge_settings(settings: Settings) -> JudgeSettings:
    """The judge as the render step would place it, from the API server's own settings."""
    return JudgeSettings.from_env({
        "ROLLWAY_JUDGE_URL": settings.judge_url or "",
        "ROLLWAY_KEYCLOAK_URL": settings.keycloak_url or "",
        "ROLLWAY_KEYCLOAK_REALM": settings.keycloak_realm,
        "ROLLWAY_JUDGE_CLIENT_ID": settings.judge_client_id,
        "ROLLWAY_STEP_IMAGE": settings.step_image or "",
    })  # fmt: skip


def _attempt(what: str, compute: Callable[[], T], failed: Callable[[str], T]) -> T:
    """The computed part, or the part carrying the reason it could not be computed."""
    try:
        return compute()
    except RollwayError as err:
        return failed(str(err))
    except Exception as err:  # a plan is advice: one missing part must not sink the rest
        log.warning("dry run: %s failed: %s", what, type(err).__name__)
        return failed(f"could not be determined ({type(err).__name__})")
