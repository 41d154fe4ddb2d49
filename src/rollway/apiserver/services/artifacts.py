"""A new version of an application's artifact was published (CI, a Nexus webhook): deploy it
to every environment whose policy says `autoDeploy`, each one admitted as if asked by hand."""

from __future__ import annotations

from dataclasses import dataclass

from ...auth import Capability, Principal
from ...errors import RollwayError
from ...workflows.backends import Backend
from ..db import Database
from ..schemas.apps import Environment
from ..schemas.deployments import DeploymentCreate
from ..settings import Settings
from . import access, deployments


@dataclass(frozen=True)
class Outcome:
    env: str
    status: int  # what a deployment request to this environment was answered
    deployment_id: str | None
    detail: str


def published(
    db: Database,
    backend: Backend,
    settings: Settings,
    principal: Principal,
    app_name: str,
    version: str,
    idempotency_key: str | None,
) -> list[Outcome]:
    with db.read() as session:
        app = access.app_for(session, principal, app_name, Capability.DEPLOY)
        targets = [Environment.model_validate(e) for e in app.environments]
    outcomes = []
    for env in (e for e in targets if e.policy.auto_deploy):
        request = DeploymentCreate(env=env.name, version=version)
        key = f"{idempotency_key}/{env.name}" if idempotency_key else None
        try:
            admitted = deployments.create(db, backend, settings, principal, app_name, request, key)
        except RollwayError as err:
            deployment_id = getattr(err, "extensions", {}).get("deploymentId")
            outcomes.append(Outcome(env.name, err.status, deployment_id, err.message))
            continue
        status = 201 if admitted.created else 200
        outcomes.append(
            Outcome(env.name, status, admitted.deployment.id, admitted.deployment.state)
        )
    return outcomes
