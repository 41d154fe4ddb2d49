"""From an application and a request to validated workflow parameters."""

from __future__ import annotations

import json

import pytest

from rollway.errors import InvalidInput
from rollway.workflows.parameters import DEPLOY_PARAMS
from tests.unit.apiserver.deploy_parameters import app, params


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
