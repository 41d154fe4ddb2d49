"""From an application and a deployment request to the `rollway-deploy` workflow's parameters.

Every value goes through the pipeline contract's validator (the template's own declarations)
before it is stored or submitted; an error names the request field it came from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ...analysis import AnalysisConfig
from ...analysis.plan import validated
from ...chart import values as chart_values
from ...errors import InvalidInput, RollwayError
from ...pipeline import (
    BLUEGREEN,
    CANARY,
    DEPLOY_TEMPLATE,
    LABEL_APP,
    LABEL_DEPLOYMENT,
    LABEL_ENV,
    ROLLING,
    default_namespace,
    validate_arguments,
)
from ..models import Application
from ..schemas.apps import Environment, StrategyParameters
from ..schemas.deployments import DeploymentCreate
from ..settings import Settings
from . import egress

#: Which request field each workflow parameter comes from, for error messages.
SOURCES = {
    "env": "body.env",
    "coordinates": "body.version",
    "strategy": "body.strategy",
    "replicas": "body.overrides.replicas",
    "values": "body.overrides.set",
}


@dataclass(frozen=True)
class Resolved:
    """What a request means for one application: the target and the effective parameters."""

    environment: Environment
    strategy: str
    parameters: StrategyParameters
    chart_values: dict[str, Any]


def environment(
    app: Application,
    name: str,
    *,
    field: str = "body.env",
    error: type[RollwayError] = InvalidInput,
) -> Environment:
    for env in app.environments:
        if env["name"] == name:
            return Environment.model_validate(env)
    known = ", ".join(e["name"] for e in app.environments)
    raise error(f"'{name}' is not an environment of '{app.name}' (known: {known})", field=field)


def resolve(app: Application, request: DeploymentCreate) -> Resolved:
    """The request's overrides over the application's defaults."""
    env = environment(app, request.env)
    defaults = StrategyParameters.model_validate(app.parameters)
    overrides = request.overrides
    effective = StrategyParameters(
        canary_steps=overrides.canary_steps or defaults.canary_steps,
        auto_promote=(
            overrides.auto_promote if overrides.auto_promote is not None else defaults.auto_promote
        ),
        replicas=overrides.replicas if overrides.replicas is not None else defaults.replicas,
        values=defaults.values,
        analysis=defaults.analysis,
    )
    strategy = request.strategy or app.strategy
    check_judgeable(strategy, effective, field="body.strategy")
    layers: list[dict[str, Any]] = [dict(defaults.values or {})]
    if strategy == CANARY and effective.canary_steps:
        steps = [s.model_dump(exclude_none=True, mode="json") for s in effective.canary_steps]
        layers.append({"canary": {"steps": steps}})
    if strategy == BLUEGREEN and effective.auto_promote is not None:
        layers.append({"bluegreen": {"autoPromotionEnabled": effective.auto_promote}})
    sets = [f"{k}={_helm_text(v)}" for k, v in overrides.set.items()]
    merged = chart_values.from_sets(sets, "body.overrides.set", base=chart_values.build(*layers))
    return Resolved(env, strategy, effective, merged)


def image_repository(app: Application, settings: Settings) -> str:
    return app.image_repository or f"{settings.registry}/{settings.image_project}/{app.name}"


def parameters(
    app: Application, request: DeploymentCreate, resolved: Resolved, deployment_id: str,
    settings: Settings, *, first_release: bool = False,
) -> dict[str, str]:  # fmt: skip
    """The validated workflow parameters (defaults filled in); `first_release`: nothing of the
    app was deployed to the environment yet (a first Rollout does not pause for approval)."""
    env = resolved.environment
    arguments = {
        "deployment-id": deployment_id,
        "app": app.name,
        "env": env.name,
        "coordinates": f"{app.artifact}:{request.version}",
        "image-repository": image_repository(app, settings),
        "base-image": settings.base_image,
        "namespace": env.namespace or default_namespace(app.name, env.name),
        "strategy": resolved.strategy,
        "chart-repo": app.chart_repo,
        "chart-ref": app.chart_ref,
        "chart-path": app.chart_path,
        "values": json.dumps(resolved.chart_values, sort_keys=True),
        "approval-required": str(env.policy.approval_required).lower(),
        "first-release": str(first_release).lower(),
    }
    if resolved.parameters.replicas is not None:
        arguments["replicas"] = str(resolved.parameters.replicas)
    if analysis(resolved.parameters) is not None:
        arguments["analysis"] = json.dumps(resolved.parameters.analysis, sort_keys=True)
    try:
        validated = validate_arguments(DEPLOY_TEMPLATE, arguments)
    except InvalidInput as err:
        field = SOURCES.get(err.field or "", err.field)
        raise InvalidInput(err.message, field=field, hint=err.hint) from None
    egress.check_deployment(settings, validated)
    return validated


def analysis(
    parameters: StrategyParameters, field: str = "body.parameters.analysis"
) -> AnalysisConfig | None:
    """The app's canary analysis, validated (None: its releases are not judged)."""
    return None if parameters.analysis is None else validated(parameters.analysis, field=field)


def check_judgeable(strategy: str, parameters: StrategyParameters, *, field: str) -> None:
    """InvalidInput naming `field` when the app's analysis cannot judge a release of this
    strategy: a rolling update has no step to judge at, blue-green no experiment for a fresh
    baseline."""
    config = analysis(parameters)
    if config is None:
        return
    if strategy == ROLLING:
        raise InvalidInput(
            "a rolling update is not judged: the app's analysis needs canary or bluegreen",
            field=field,
        )
    if strategy == BLUEGREEN and config.baseline == "fresh":
        raise InvalidInput(
            "blue-green has no experiment for a fresh baseline: the app's analysis needs "
            'baseline "stable" (or no baseline) to be judged blue-green',
            field=field,
        )


def labels(deployment_id: str, app: str, env: str) -> dict[str, str]:
    return {LABEL_DEPLOYMENT: deployment_id, LABEL_APP: app, LABEL_ENV: env}


def _helm_text(value: str | int | bool | None) -> str:
    """A JSON value as `helm --set` would have been given it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
