"""`rollway-step render` of charts/app with the real helm binary, for each strategy, and its
refusals naming the value at fault. (--diff against a live cluster is in test_step_apply_wait.)"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack.core import REPO
from rollway.apiserver.models import Application
from rollway.apiserver.schemas.deployments import DeploymentCreate
from rollway.apiserver.services import pipeline
from rollway.apiserver.settings import Settings
from rollway.cli.params import sets
from rollway.errors import InvalidInput
from tests.support.step_runner import Quiet, StepRun, invoke, run

pytestmark = pytest.mark.integration

CHART = REPO / "charts" / "app"
REPOSITORY = "127.0.0.1:25000/team/orders"
DIGEST = "sha256:" + hashlib.sha256(b"orders 1.4.2").hexdigest()


@pytest.fixture(scope="module")
def env(devstack_env: dict[str, str]) -> Quiet:
    return Quiet(devstack_env)


def render(env: Quiet, tmp_path: Path, strategy: str, *extra: str) -> StepRun:
    return invoke(
        env,
        tmp_path / "outputs",
        "render",
        "--chart",
        str(CHART),
        "--release",
        "orders",
        "--namespace",
        "shop",
        "--image",
        f"{REPOSITORY}@{DIGEST}",
        "--strategy",
        strategy,
        "--out",
        str(tmp_path / "manifests.yaml"),
        *extra,
    )


def rendered(result: StepRun) -> dict[tuple[str, str], dict[str, Any]]:
    assert result.exit_code == 0, result.stderr or result.exception
    docs = list(yaml.safe_load_all(Path(result.outputs["manifests"]).read_text()))
    assert result.outputs["object-count"] == str(len(docs))
    assert json.loads(result.outputs["objects"]) == [
        f"{d['kind']}/{d['metadata']['name']}" for d in docs
    ]
    return {(d["kind"], d["metadata"]["name"]): d for d in docs}


def container(rollout: dict[str, Any]) -> dict[str, Any]:
    (app,) = rollout["spec"]["template"]["spec"]["containers"]
    return app


def test_bluegreen_renders_active_and_preview_services(env: Quiet, tmp_path: Path) -> None:
    objects = rendered(render(env, tmp_path, "bluegreen", "--replicas", "3"))
    assert sorted(objects) == [
        ("Rollout", "orders"),
        ("Service", "orders"),
        ("Service", "orders-preview"),
    ]
    rollout = objects[("Rollout", "orders")]
    assert rollout["spec"]["replicas"] == 3
    blue_green = rollout["spec"]["strategy"]["blueGreen"]
    assert (blue_green["activeService"], blue_green["previewService"]) == (
        "orders",
        "orders-preview",
    )
    assert blue_green["autoPromotionEnabled"] is False
    assert container(rollout)["image"] == f"{REPOSITORY}@{DIGEST}"


def test_canary_renders_its_steps_from_the_values(env: Quiet, tmp_path: Path) -> None:
    steps = [{"setWeight": 10}, {"pause": {"duration": 30}}, {"setWeight": 60}, {"pause": {}}]
    values = json.dumps({"canary": {"steps": steps}, "env": [{"name": "TZ", "value": "UTC"}]})
    objects = rendered(render(env, tmp_path, "canary", "--values-json", values))
    assert {("Service", n) for n in ("orders", "orders-stable", "orders-canary")} <= set(objects)
    rollout = objects[("Rollout", "orders")]
    canary = rollout["spec"]["strategy"]["canary"]
    assert canary["steps"] == steps
    assert (canary["stableService"], canary["canaryService"]) == ("orders-stable", "orders-canary")
    assert container(rollout)["env"] == [{"name": "TZ", "value": "UTC"}]


def test_rolling_is_a_canary_without_steps(env: Quiet, tmp_path: Path) -> None:
    objects = rendered(render(env, tmp_path, "rolling", "--set", "rolling.maxSurge=1"))
    assert sorted(objects) == [("Rollout", "orders"), ("Service", "orders")]
    canary = objects[("Rollout", "orders")]["spec"]["strategy"]["canary"]
    assert "steps" not in canary
    assert canary["maxSurge"] == 1


#: `app deploy --set …` as a user types it (shell quoting aside), in helm's key syntax.
HELM_SETS = (
    "nodeSelector.kubernetes\\.io/arch=amd64",
    "podAnnotations.example\\.com/team=shop",
    "tolerations[0].key=rollway.io/real",
    "tolerations[0].operator=Exists",
    "tolerations[1].key=spot",
    "tolerations[1].effect=NoSchedule",
)


def assert_helm_sets_reached(rollout: dict[str, Any], **node_selector: str) -> None:
    pod = rollout["spec"]["template"]
    assert pod["spec"]["nodeSelector"] == {**node_selector, "kubernetes.io/arch": "amd64"}
    assert pod["metadata"]["annotations"]["example.com/team"] == "shop"
    assert pod["spec"]["tolerations"] == [
        {"key": "rollway.io/real", "operator": "Exists"},
        {"key": "spot", "effect": "NoSchedule"},
    ]


def test_helm_set_keys_with_dots_and_list_items_reach_the_manifest(
    env: Quiet, tmp_path: Path
) -> None:
    args = [arg for item in HELM_SETS for arg in ("--set", item)]
    assert_helm_sets_reached(
        rendered(render(env, tmp_path, "bluegreen", *args))[("Rollout", "orders")]
    )


def test_helm_set_keys_survive_the_trip_through_the_values_parameter(
    env: Quiet, tmp_path: Path
) -> None:
    """CLI → request body → the workflow's `values` parameter → render's --values-json."""
    app = Application(
        name="orders", namespace="shop", artifact="com.acme:orders", chart_repo="http://git/c.git",
        chart_path="charts/app", chart_ref="main", image_repository=None, strategy="bluegreen",
        parameters={"values": {"nodeSelector": {"disk": "ssd"}}}, environments=[
            {"name": "prod", "namespace": "shop", "policy": {"approvalRequired": False}}],
    )  # fmt: skip
    body = json.loads(json.dumps({"env": "prod", "version": "1.4.2",
                                  "overrides": {"set": sets(HELM_SETS)}}))  # fmt: skip
    request = DeploymentCreate.model_validate(body)
    settings = Settings(keycloak_url="http://kc", registry="127.0.0.1:25000", image_project="team",
                        git_url="http://git")  # fmt: skip
    resolved = pipeline.resolve(app, request)
    parameters = pipeline.parameters(app, request, resolved, "orders-prod-1", settings)

    objects = rendered(render(env, tmp_path, "bluegreen", "--values-json", parameters["values"]))

    assert_helm_sets_reached(objects[("Rollout", "orders")], disk="ssd")  # set into the app's


def test_the_pipelines_image_and_strategy_win_over_user_values(env: Quiet, tmp_path: Path) -> None:
    sneaky = json.dumps({"image": {"repository": "evil/x", "digest": ""}, "strategy": "rolling"})
    objects = rendered(render(env, tmp_path, "bluegreen", "--values-json", sneaky))
    rollout = objects[("Rollout", "orders")]
    assert container(rollout)["image"] == f"{REPOSITORY}@{DIGEST}"
    assert "blueGreen" in rollout["spec"]["strategy"]


def test_a_schema_rejection_names_the_value(env: Quiet, tmp_path: Path) -> None:
    bad = json.dumps({"bluegreen": {"scaleDownDelaySeconds": -5}})
    result = render(env, tmp_path, "bluegreen", "--values-json", bad)
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == "bluegreen.scaleDownDelaySeconds"
    assert "values.schema.json rejects it" in result.exception.message
    assert not (tmp_path / "manifests.yaml").exists()
    assert result.outputs == {}


def test_a_template_rule_names_the_value(env: Quiet, tmp_path: Path) -> None:
    result = render(env, tmp_path, "bluegreen", "--set", "bluegreen.autoPromotionSeconds=30")
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == "bluegreen.autoPromotionSeconds"
    assert "bluegreen.autoPromotionEnabled" in result.exception.message


def test_an_unknown_value_is_named(env: Quiet, tmp_path: Path) -> None:
    result = render(env, tmp_path, "canary", "--set", "replica=3")
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == "replica"
    assert "Additional property replica is not allowed" in result.exception.message


@pytest.mark.parametrize(
    ("flag", "value", "field"),
    [
        ("--image", f"{REPOSITORY}:1.4.2", "image"),
        ("--release", "Orders", "release"),
        ("--namespace", "shop_eu", "namespace"),
    ],
)
def test_inputs_are_checked_before_helm_runs(
    env: Quiet, tmp_path: Path, flag: str, value: str, field: str
) -> None:
    result = render(env, tmp_path, "bluegreen", flag, value)  # later flags win in click
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == field


def test_the_console_script_reports_a_bad_value_in_one_line(env: Quiet, tmp_path: Path) -> None:
    result = run(
        env,
        tmp_path / "outputs",
        "render",
        "--chart",
        str(CHART),
        "--release",
        "orders",
        "--namespace",
        "shop",
        "--image",
        f"{REPOSITORY}@{DIGEST}",
        "--strategy",
        "bluegreen",
        "--set",
        "containerPort=70000",
        "--out",
        str(tmp_path / "manifests.yaml"),
        timeout=120,
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("rollway-step: containerPort: the chart's values.schema.json")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
