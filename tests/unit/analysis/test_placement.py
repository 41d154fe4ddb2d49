"""The judge placed in a rendered release: its AnalysisTemplate beside the Rollout, called after
each canary weight step below 100% (in an experiment of fresh pods of both versions, or against
the running stable pods) or before a blue-green switch, from the platform's settings."""

from __future__ import annotations

from typing import Any

import pytest

from rollway.analysis import AnalysisConfig
from rollway.analysis.config import Traffic
from rollway.analysis.placement import SECRET, JudgeSettings, attach
from rollway.errors import InvalidInput

ENV = {"ROLLWAY_CALLBACK_URL": "http://rollway.svc:8080", "ROLLWAY_KEYCLOAK_URL": "http://kc/",
       "ROLLWAY_KEYCLOAK_REALM": "rollway", "ROLLWAY_STEP_IMAGE": "registry/rollway@sha256:ab"}  # fmt: skip
CONFIG = AnalysisConfig(window_seconds=90)
SETTINGS = JudgeSettings.from_env(ENV)


def release(strategy: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "hello"}},
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
         "metadata": {"name": "hello", "labels": {"app": "hello"}},
         "spec": {"strategy": strategy}},
    ]  # fmt: skip


def judged(
    strategy: dict[str, Any], config: AnalysisConfig = CONFIG
) -> tuple[dict[str, Any], dict[str, Any]]:
    placed = attach(release(strategy), app="hello", env="prod", config=config, settings=SETTINGS)
    kinds = [m["kind"] for m in placed]
    assert kinds == ["Service", "AnalysisTemplate", "Rollout"]
    return placed[1], placed[2]["spec"]["strategy"]


def test_a_canary_is_judged_after_every_weight_step_below_100_against_fresh_stable_pods() -> None:
    steps = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"setWeight": 100}]
    template, strategy = judged({"canary": {"steps": steps}})
    call = {"experiment": {
        "templates": [{"name": "baseline", "specRef": "stable", "replicas": 1},
                      {"name": "canary", "specRef": "canary", "replicas": 1}],
        "analyses": [{"name": "judge", "templateName": "hello-rollway-judge",
                      "requiredForCompletion": True, "args": [
            {"name": "canary-hash", "value": "{{templates.canary.podTemplateHash}}"},
            {"name": "baseline-hash", "value": "{{templates.baseline.podTemplateHash}}"}]}],
        "analysisRunMetadata": {"labels": {"rollway.io/rollout": "hello"}},
    }}  # fmt: skip
    assert strategy["canary"]["steps"] == [
        {"setWeight": 20}, call, {"pause": {}}, {"setWeight": 60}, call, {"setWeight": 100}]  # fmt: skip
    assert strategy["canary"]["steps"][1] is not strategy["canary"]["steps"][4]
    assert template["metadata"] == {"name": "hello-rollway-judge", "labels": {"app": "hello"}}
    web = template["spec"]["metrics"][0]["provider"]["web"]
    assert web["url"] == (
        "http://rollway.svc:8080/api/v1/apps/hello/environments/prod/analysis/judgements"
    )
    assert web["authentication"]["oauth2"]["tokenUrl"] == (
        "http://kc/realms/rollway/protocol/openid-connect/token"
    )
    assert web["authentication"]["oauth2"]["clientId"] == "rollway-judge"
    assert "analysis" not in web["jsonBody"]  # the judge reads the app's own configuration
    secret = next(a for a in template["spec"]["args"] if a["name"] == "client-secret")
    assert secret["valueFrom"]["secretKeyRef"]["name"] == SECRET


def test_a_canary_compared_with_the_running_stable_pods_runs_the_judge_as_a_step() -> None:
    _, strategy = judged({"canary": {"steps": [{"setWeight": 50}]}},
                         AnalysisConfig(baseline="stable"))  # fmt: skip
    assert strategy["canary"]["steps"][1] == {"analysis": {
        "templates": [{"templateName": "hello-rollway-judge"}], "args": [
            {"name": "canary-hash", "valueFrom": {"podTemplateHashValue": "Latest"}},
            {"name": "baseline-hash", "valueFrom": {"podTemplateHashValue": "Stable"}}]}}  # fmt: skip


def test_a_blue_green_release_is_judged_before_the_switch_beside_the_charts_own_analysis() -> None:
    own = {"templates": [{"templateName": "smoke"}], "args": [{"name": "service", "value": "x"}]}
    _, strategy = judged({"blueGreen": {"activeService": "a", "prePromotionAnalysis": own}})
    analysis = strategy["blueGreen"]["prePromotionAnalysis"]
    assert analysis["templates"] == [{"templateName": "smoke"},
                                     {"templateName": "hello-rollway-judge"}]  # fmt: skip
    assert [a["name"] for a in analysis["args"]] == ["service", "canary-hash", "baseline-hash"]
    with pytest.raises(InvalidInput, match="experiment step") as err:
        judged({"blueGreen": {"activeService": "a"}}, AnalysisConfig(baseline="fresh"))
    assert err.value.field == "analysis.baseline"


def test_the_input_is_left_as_it_was() -> None:
    given = release({"canary": {"steps": [{"setWeight": 50}]}})
    attach(given, app="hello", env="prod", config=CONFIG, settings=SETTINGS)
    assert given == release({"canary": {"steps": [{"setWeight": 50}]}})


@pytest.mark.parametrize(
    ("manifests", "why"),
    [
        (release({"canary": {"steps": [{"pause": {}}, {"setWeight": 100}]}}), "has none"),
        (release({"canary": {}}), "has none"),
        (release({})[:1], "renders 0 Rollouts"),
        (release({}) + release({})[1:], "renders 2 Rollouts"),
    ],
)
def test_a_release_the_judge_cannot_join_is_refused(manifests: list[Any], why: str) -> None:
    with pytest.raises(InvalidInput, match=why) as err:
        attach(manifests, app="hello", env="prod", config=CONFIG, settings=SETTINGS)
    assert err.value.field == "analysis"


def test_the_judge_url_is_its_own_setting_when_given_and_a_missing_one_is_named() -> None:
    own = JudgeSettings.from_env({**ENV, "ROLLWAY_JUDGE_URL": "http://10.96.0.80:8080/",
                                  "ROLLWAY_JUDGE_CLIENT_ID": "judge"})  # fmt: skip
    assert (own.api_url, own.client.client_id) == ("http://10.96.0.80:8080", "judge")
    with pytest.raises(InvalidInput, match="judge-url"):
        JudgeSettings.from_env({"ROLLWAY_KEYCLOAK_URL": "http://kc"})


def test_traffic_is_a_job_beside_the_judge_sending_to_both_sides_where_the_app_runs() -> None:
    manifests = release({"canary": {"stableService": "hello-stable", "canaryService": "hello-canary",
                                    "steps": [{"setWeight": 50}]}})  # fmt: skip
    manifests[1]["spec"]["template"] = {"spec": {"nodeSelector": {"rollway.io/node": "real"}}}
    manifests += [{"kind": "Service", "metadata": {"name": n}, "spec": {"ports": [{"port": 8080}]}}
                  for n in ("hello-stable", "hello-canary")]  # fmt: skip
    config = AnalysisConfig(window_seconds=120, traffic=Traffic(7.5, "/hello?x=1"),
                            baseline="stable")  # fmt: skip
    placed = attach(manifests, app="hello", env="prod", config=config, settings=SETTINGS)
    judge, traffic = placed[1]["spec"]["metrics"]
    assert judge["name"] == "judge" and traffic["name"] == "traffic"
    job = traffic["provider"]["job"]["spec"]
    pod = job["template"]["spec"]
    (container,) = pod["containers"]
    assert container["image"] == "registry/rollway@sha256:ab"
    assert container["command"] == ["rollway-step", "load"]
    assert container["args"] == ["--url", "http://hello-stable:8080/hello?x=1",
                                 "--url", "http://hello-canary:8080/hello?x=1",
                                 "--rate", "7.5", "--duration", "120"]  # fmt: skip
    assert pod["nodeSelector"] == {"rollway.io/node": "real"}
    assert pod["automountServiceAccountToken"] is False and job["backoffLimit"] == 0
    assert job["activeDeadlineSeconds"] == 240  # it stops by itself even if the step hangs
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def fresh_release(name: str = "hello") -> list[dict[str, Any]]:
    manifests = release({"canary": {"steps": [{"setWeight": 50}]}})
    manifests[1]["metadata"]["name"] = name
    manifests[1]["spec"]["template"] = {"spec": {"containers": [
        {"name": "app", "ports": [{"name": "http", "containerPort": 8080}]}]}}  # fmt: skip
    return manifests


def test_traffic_to_a_fresh_baseline_goes_to_the_experiments_own_services() -> None:
    config = AnalysisConfig(traffic=Traffic(5, "/"))
    placed = attach(fresh_release(), app="hello", env="prod", config=config, settings=SETTINGS)
    template, rollout = placed[1], placed[2]
    experiment = rollout["spec"]["strategy"]["canary"]["steps"][1]["experiment"]
    assert [t["service"] for t in experiment["templates"]] == [{}, {}]
    args = {a["name"]: a["value"] for a in experiment["analyses"][0]["args"]}
    assert args["baseline-service"] == "{{templates.baseline.replicaset.name}}"
    assert args["canary-service"] == "{{templates.canary.replicaset.name}}"
    declared = [a["name"] for a in template["spec"]["args"]]
    assert {"baseline-service", "canary-service"} <= set(declared)
    container = template["spec"]["metrics"][1]["provider"]["job"]["spec"]["template"]["spec"][
        "containers"][0]  # fmt: skip
    assert container["args"][:4] == ["--url", "http://{{args.baseline-service}}:8080/",
                                     "--url", "http://{{args.canary-service}}:8080/"]  # fmt: skip


def test_traffic_to_a_fresh_baseline_needs_a_port_and_room_for_the_services_names() -> None:
    config = AnalysisConfig(traffic=Traffic())
    portless = fresh_release()
    portless[1]["spec"]["template"]["spec"]["containers"][0].pop("ports")
    with pytest.raises(InvalidInput, match="containerPort") as err:
        attach(portless, app="hello", env="prod", config=config, settings=SETTINGS)
    assert err.value.field == "analysis.traffic"
    with pytest.raises(InvalidInput, match="37 characters"):
        attach(fresh_release("h" * 37), app="hello", env="prod", config=config, settings=SETTINGS)
    attach(fresh_release("h" * 36), app="hello", env="prod", config=config, settings=SETTINGS)


def test_traffic_needs_both_sides_services_and_rollways_image() -> None:
    config = AnalysisConfig(traffic=Traffic(), baseline="stable")
    with pytest.raises(InvalidInput, match="stableService") as err:
        attach(release({"canary": {"steps": [{"setWeight": 50}]}}), app="hello", env="prod",
               config=config, settings=SETTINGS)  # fmt: skip
    assert err.value.field == "analysis.traffic"
    bare = JudgeSettings.from_env({k: v for k, v in ENV.items() if k != "ROLLWAY_STEP_IMAGE"})
    manifests = release({"blueGreen": {"activeService": "hello", "previewService": "hello"}})
    with pytest.raises(InvalidInput, match="step-image"):
        attach(manifests, app="hello", env="prod", config=config, settings=bare)
