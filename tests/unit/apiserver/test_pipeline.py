"""From an application and a request to validated workflow parameters."""

from __future__ import annotations

import json

import pytest

from rollway.apiserver.models import Application
from rollway.apiserver.schemas.deployments import DeploymentCreate
from rollway.apiserver.services import pipeline
from rollway.apiserver.settings import Settings
from rollway.errors import InvalidInput
from rollway.workflows.parameters import DEPLOY_PARAMS

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


def test_defaults_and_overrides_become_chart_values() -> None:
    application = app(canarySteps=[{"setWeight": 10}, {"pause": {}}], values={"env": []})

    p = params(application, overrides={"set": {"canary.maxSurge": "50%", "debug": True}})

    assert json.loads(p["values"]) == {
        "env": [], "debug": True,
        "canary": {"steps": [{"setWeight": 10}, {"pause": {}}], "maxSurge": "50%"},
    }  # fmt: skip
    assert p["coordinates"] == "com.acme:orders:1.4.2"
    assert p["image-repository"] == "harbor.local/team/orders"
    assert p["approval-required"] == "true" and p["namespace"] == "orders-prod"
    assert DEPLOY_PARAMS.validate(p) == p


def test_request_canary_steps_replace_the_apps() -> None:
    p = params(app(canarySteps=[{"setWeight": 10}]), overrides={"canarySteps": [{"setWeight": 50}]})
    assert json.loads(p["values"])["canary"]["steps"] == [{"setWeight": 50}]


def test_auto_promote_applies_to_blue_green() -> None:
    p = params(app(autoPromote=False), strategy="bluegreen")
    assert json.loads(p["values"]) == {"bluegreen": {"autoPromotionEnabled": False}}


def test_an_unknown_environment_names_the_request_field() -> None:
    with pytest.raises(InvalidInput) as err:
        params(app(), env="staging")
    assert err.value.field == "body.env"


@pytest.mark.parametrize(
    ("analysis", "strategy", "words"),
    [
        ({}, "rolling", "rolling update is not judged"),
        ({"baseline": "fresh"}, "bluegreen", "no experiment for a fresh baseline"),
    ],
)
def test_a_release_the_apps_analysis_cannot_judge_is_refused_naming_the_strategy(
    analysis: dict[str, str], strategy: str, words: str
) -> None:
    with pytest.raises(InvalidInput, match=words) as err:
        params(app(analysis=analysis), strategy=strategy)
    assert err.value.field == "body.strategy"


@pytest.mark.parametrize(("analysis", "strategy"), [({}, "bluegreen"), ({}, "canary"),
                                                    ({"baseline": "stable"}, "bluegreen")])  # fmt: skip
def test_a_judgeable_release_goes_through(analysis: dict[str, str], strategy: str) -> None:
    assert json.loads(params(app(analysis=analysis), strategy=strategy)["analysis"]) == analysis
