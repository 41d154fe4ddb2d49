"""An application record and the `rollway-deploy` parameters a request for it becomes, as the
API server's pipeline service resolves them."""

from __future__ import annotations

from rollway.apiserver.models import Application
from rollway.apiserver.schemas.deployments import DeploymentCreate
from rollway.apiserver.services import pipeline
from rollway.apiserver.settings import Settings

SETTINGS = Settings(
    keycloak_url="http://kc", registry="harbor.local", image_project="team", git_url="http://git"
)


def app(**parameters: object) -> Application:
    return Application(
        name="orders", namespace="orders", artifact="com.acme:orders",
        chart_repo="http://git/charts.git", chart_path="charts/app", chart_ref="main",
        image_repository=None, strategy="canary", parameters=parameters,
        environments=[{"name": "prod", "namespace": "orders-prod",
                       "policy": {"approvalRequired": True, "windows": []}}],
    )  # fmt: skip


def params(application: Application, **request: object) -> dict[str, str]:
    body = DeploymentCreate.model_validate({"env": "prod", "version": "1.4.2", **request})
    resolved = pipeline.resolve(application, body)
    return pipeline.parameters(application, body, resolved, "orders-prod-abc", SETTINGS)
