"""The pipeline's contract: the names every layer must agree on, and the one argument validator.

The Hera templates are built from these names, the engine and the backends find nodes by them,
the API server reads gates and provenance with them and the CLI offers their choices; a unit test
renders the templates and checks that each name is there. Cheap to import (the standard library
only), so the CLI can use it; the parameters' checks load on the first validation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from .validation import no_template

__all__ = ["no_template"]

# -- templates ------------------------------------------------------------------------------------
BUILD_TEMPLATE = "rollway-build"
DEPLOY_TEMPLATE = "rollway-deploy"
TEMPLATES = (BUILD_TEMPLATE, DEPLOY_TEMPLATE)
ENTRYPOINT = "main"
EXIT_HANDLER = "exit-handler"

# -- steps: the DAG's tasks; a step's template has its name unless STEP_TEMPLATE says otherwise ---
RESOLVE_ARTIFACT = "resolve-artifact"
BUILD_IMAGE = "build-image"
FETCH_CHART = "fetch-chart"
RENDER = "render"
PLAN_APPROVAL = "plan-approval"
APPLY = "apply"
WAIT_ROLLOUT = "wait-rollout"
APPROVAL = "approval"
PROMOTE = "promote"
WAIT_HEALTHY = "wait-healthy"
REPORT = "report"
BUILD_STEPS = (RESOLVE_ARTIFACT, BUILD_IMAGE)
DEPLOY_STEPS = (*BUILD_STEPS, FETCH_CHART, RENDER, PLAN_APPROVAL, APPLY, WAIT_ROLLOUT, APPROVAL,
                PROMOTE, WAIT_HEALTHY)  # fmt: skip
#: Not a workflow step: the `rollway-step` command of the canary judge's traffic Job.
TRAFFIC = "load"
#: Steps that run another step's template.
STEP_TEMPLATE = {WAIT_HEALTHY: WAIT_ROLLOUT, PLAN_APPROVAL: APPROVAL}

#: The suspend nodes a deployment waits for people at: its plan before apply, or the pause.
GATES = (PLAN_APPROVAL, APPROVAL)

#: Output parameters each step's template publishes.
OUTPUTS: Mapping[str, tuple[str, ...]] = {
    RESOLVE_ARTIFACT: ("coordinates", "version", "url", "sha256", "size", "path"),
    BUILD_IMAGE: ("image", "digest", "pushed"),
    FETCH_CHART: ("commit", "chart-dir"),
    RENDER: ("manifests", "manifests-sha256", "gate", "gate-reason"),
    APPLY: ("rollout",),
    WAIT_ROLLOUT: ("phase", "revision"),
    WAIT_HEALTHY: ("phase", "revision"),
    PROMOTE: (),
    REPORT: ("status", "delivered", "undelivered"),
}
#: render's `gate` output when the approval comes before apply (the release would not pause).
GATE_BEFORE_APPLY = "plan"

# -- labels and annotations -----------------------------------------------------------------------
PREFIX = "rollway.io/"
LABEL_APP = f"{PREFIX}app"
LABEL_ENV = f"{PREFIX}env"
LABEL_DEPLOYMENT = f"{PREFIX}deployment-id"
#: On the AnalysisRuns of a canary's experiment (owned by the Experiment, not the Rollout): the
#: Rollout they judge.
LABEL_ROLLOUT = f"{PREFIX}rollout"
#: Provenance annotations `apply` stamps, by the Provenance field each holds.
ANNOTATIONS = {
    "artifact": f"{PREFIX}artifact",
    "jar_sha256": f"{PREFIX}jar-sha256",
    "image_digest": f"{PREFIX}image-digest",
    "chart_repo": f"{PREFIX}chart-repo",
    "chart_commit": f"{PREFIX}chart-commit",
}

# -- strategies and defaults ----------------------------------------------------------------------
BLUEGREEN = "bluegreen"
CANARY = "canary"
ROLLING = "rolling"
STRATEGIES = (BLUEGREEN, CANARY, ROLLING)
#: What `app upgrade` offers: the strategies that stop for promotion.
PROGRESSIVE_STRATEGIES = (BLUEGREEN, CANARY)
DEFAULT_STRATEGY = BLUEGREEN


def default_namespace(app: str, env: str) -> str:
    """Where an environment deploys unless it names its namespace."""
    return f"{app}-{env}"


def default_rollout(app: str) -> str:
    """The Rollout's name until a deployment reports it: the chart names it after the release."""
    return app


# -- the one validator of workflow arguments ------------------------------------------------------
class Declared(Protocol):
    """A parameter as a template declares it (name, default, enum)."""

    @property
    def name(self) -> str: ...
    @property
    def default(self) -> str | None: ...
    @property
    def enum(self) -> tuple[str, ...]: ...


def validate_arguments(
    template: str, arguments: Mapping[str, object], declared: Sequence[Declared] = ()
) -> dict[str, str]:
    """Arguments completed with defaults; unknown, missing, templated (`{{`), off-enum or
    malformed values refused, with the parameter as the field. Rollway's templates are checked
    with each parameter's own check; any other (`declared`: the engine's parity workflows)
    against what it declares. The API server, the CLI and both backends all call this."""
    from .workflows.parameters import PARAMS, Param, ParamSet

    params = PARAMS.get(template) or ParamSet(
        tuple(Param(d.name, "", d.default, tuple(d.enum)) for d in declared)
    )
    return params.validate(arguments)
