"""Deployments through the API: bad input named precisely, windows, records, logs and watch."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.components.maven import MavenRepository
from devstack.stack import Context
from rollway.apiserver.models import Deployment
from tests.integration.apiserver.conftest import HELLO, Api, Tokens, serving
from tests.support.helpers import wait_for

pytestmark = pytest.mark.integration

DEPLOYMENTS = "/api/v1/apps/hello/deployments"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"env": "dev"}, "body.version"),
        ({"env": "dev", "version": "1.0{{x}}"}, "body.version"),
        ({"env": "Dev!", "version": "1.0.0"}, "body.env"),
        ({"env": "staging", "version": "1.0.0"}, "body.env"),
        ({"env": "dev", "version": "1.0.0", "strategy": "yolo"}, "body.strategy"),
        ({"env": "dev", "version": "1.0.0", "kind": "rollback"}, "body.kind"),
        ({"env": "dev", "version": "1.0.0", "replicas": 3}, "body.replicas"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"replicas": -1}}, "body.overrides.replicas"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"set": {"a b": "1"}}}, "body.overrides.set"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"set": {"x": "{{workflow.name}}"}}},
         "body.overrides.set"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"set": {"tolerations[0.key": "x"}}},
         "body.overrides.set"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"set": {"a[1001]": 1}}},
         "body.overrides.set"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"set": {"a{{x}}": 1}}},
         "body.overrides.set"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"set": {"a": 1, "a.b": 2}}},
         "body.overrides.set"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"canarySteps": [{"setWeight": 101}]}},
         "body.overrides.canarySteps[0].setWeight"),
        ({"env": "dev", "version": "1.0.0", "overrides": {"canarySteps": [{}]}},
         "body.overrides.canarySteps[0]"),
    ],
)  # fmt: skip
def test_bad_deployment_requests_name_the_field(api: Api, body: dict, field: str) -> None:
    answer = api.call("alice", "POST", DEPLOYMENTS, json=body)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["field"] == field, problem
    assert problem["status"] == 422 and problem["type"].startswith("https://")
    assert api.workflows() == []


def test_malformed_json_is_a_422_naming_the_body(api: Api) -> None:
    answer = api.call("alice", "POST", DEPLOYMENTS, content=b"{not json",
                      headers={"content-type": "application/json"})  # fmt: skip

    assert answer.status_code == 422
    assert answer.json()["field"].startswith("body")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/deployments", {"limit": 0}, "query.limit"),
        ("/api/v1/deployments", {"state": "sleeping"}, "query.state"),
        ("/api/v1/deployments", {"cursor": "bm9wZQ"}, "query.cursor"),
        ("/api/v1/deployments", {"app": "NOT_DNS"}, "query.app"),
        ("/api/v1/audit", {"since": "yesterday"}, "query.since"),
        ("/api/v1/deployments/UPPER", {}, "path.deployment_id"),
    ],
)
def test_bad_queries_name_the_parameter(api: Api, path: str, params: dict, field: str) -> None:
    answer = api.call("carol", "GET", path, params=params)

    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_unknown_routes_and_methods_are_problems_too(api: Api) -> None:
    missing = api.call("carol", "GET", "/api/v1/nothing-here")
    wrong = api.call("carol", "DELETE", "/api/v1/apps")

    assert (missing.status_code, wrong.status_code) == (404, 405)
    assert (
        missing.headers["content-type"]
        == wrong.headers["content-type"]
        == "application/problem+json"
    )


def test_bad_app_registrations_name_the_field(api: Api) -> None:
    cases = {
        "body.name": {**HELLO, "name": "Bad_Name"},
        "body.environments": {**HELLO, "name": "x", "environments": []},
        "body.artifact": {**HELLO, "name": "x", "artifact": "com.acme:x:1.0.0"},
        "body.chart.repo": {**HELLO, "name": "x", "chart": {"repo": "ftp://nope"}},
        "body.environments[0].policy.windows[0]": {
            **HELLO, "name": "x",
            "environments": [{"name": "dev", "policy": {"windows": [{"days": ["mon"]}]}}],
        },
        "body.environments[0].policy.windows[0].cron": {
            **HELLO, "name": "x",
            "environments": [{"name": "dev", "policy": {"windows": [{"cron": "every day"}]}}],
        },
        "body.environments[0].policy.windows[0].timezone": {
            **HELLO, "name": "x",
            "environments": [{"name": "dev", "policy": {"windows": [
                {"cron": "* * * * *", "timezone": "Mars/Olympus"}]}}],
        },
        "body.name ": {**HELLO},  # already registered: 409
    }  # fmt: skip
    for field, spec in cases.items():
        answer = api.call("dave", "POST", "/api/v1/apps", json=spec)
        if field.endswith(" "):
            assert answer.status_code == 409, answer.text
            assert answer.json()["field"] == field.strip()
        else:
            assert answer.status_code == 422, (field, answer.text)
            assert answer.json()["field"] == field, answer.json()


def _window_app(api: Api, window: dict) -> None:
    api.register(name="windowed",
                 environments=[{"name": "prod", "policy": {"windows": [window]}}])  # fmt: skip


def test_a_deploy_outside_every_window_is_refused_with_the_next_opening(api: Api) -> None:
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[later.weekday()]
    _window_app(api, {"days": [day], "start": "00:00", "end": "23:59", "timezone": "UTC"})

    answer = api.deploy("dave", app="windowed", env="prod")

    assert answer.status_code == 409
    problem = answer.json()
    assert "outside its deployment windows" in problem["detail"]
    assert problem["nextWindow"].startswith(later.date().isoformat())
    assert api.workflows() == []


def test_a_deploy_inside_a_window_is_admitted(api: Api) -> None:
    _window_app(api, {"cron": "* * * * *", "timezone": "Europe/Paris"})

    assert api.deploy("dave", app="windowed", env="prod").status_code == 201


def test_the_record_is_written_first_then_completed_with_provenance(
    api: Api, devstack_env: dict[str, str]
) -> None:
    answer = api.deploy("alice", overrides={"set": {"service.port": "8080"}, "replicas": 3})

    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert answer.headers["location"] == f"/api/v1/deployments/{created['id']}"
    assert created["state"] == "running"
    assert [w.name for w in api.workflows()] == [created["workflow"]] == [created["id"]]
    assert created["parameters"]["replicas"] == "3"
    assert created["parameters"]["coordinates"] == "com.example:hello:1.0.0"
    assert created["provenance"]["createdBy"] == "alice"

    final = api.reaches(created["id"], "succeeded")

    provenance = final["provenance"]
    env = devstack_env
    jar = httpx.get(f"{env['ROLLWAY_MAVEN_URL']}/com/example/hello/1.0.0/hello-1.0.0.jar",
                    auth=(env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"]))  # fmt: skip
    assert provenance["jarSha256"] == hashlib.sha256(jar.raise_for_status().content).hexdigest()
    assert provenance["imageDigest"].startswith("sha256:")
    repo = HELLO["chart"]["repo"].replace(
        "://", f"://{env['ROLLWAY_GIT_USERNAME']}:{env['ROLLWAY_GIT_PASSWORD']}@"
    )
    head = subprocess.run(["git", "ls-remote", repo, "refs/heads/main"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert provenance["chartCommit"] == head.stdout.split()[0]
    assert provenance["rolloutRevision"] == "1"
    steps = {s["name"]: s for s in final["steps"]}
    assert steps["build-image"]["phase"] == steps["wait-healthy"]["phase"] == "Succeeded"
    assert isinstance(steps["build-image"]["durationSeconds"], float)
    assert steps["approval"]["phase"] == "Skipped"  # a first deployment has nothing to compare
    assert final["finishedAt"]


def test_canary_steps_and_auto_promotion_reach_the_chart_values(api: Api) -> None:
    steps = [{"setWeight": 25}, {"pause": {"duration": "1m"}}, {"setWeight": 75}, {"pause": {}}]
    canary = api.deploy("alice", strategy="canary", overrides={"canarySteps": steps})
    assert canary.status_code == 201, canary.text
    values = json.loads(canary.json()["parameters"]["values"])
    assert values["canary"]["steps"] == steps

    aborted = api.call("alice", "POST", f"/api/v1/deployments/{canary.json()['id']}/abort")
    assert aborted.status_code == 200, aborted.text
    api.reaches(canary.json()["id"], "aborted")
    bluegreen = api.deploy("alice", overrides={"autoPromote": True})
    assert bluegreen.status_code == 201, bluegreen.text
    assert json.loads(bluegreen.json()["parameters"]["values"]) == {
        "bluegreen": {"autoPromotionEnabled": True}
    }


def test_helm_set_keys_reach_the_values_parameter(api: Api) -> None:
    overrides = {"set": {"nodeSelector.kubernetes\\.io/arch": "amd64",
                         "tolerations[0].key": "rollway.io/real",
                         "tolerations[0].operator": "Exists"}}  # fmt: skip
    answer = api.deploy("alice", overrides=overrides)
    assert answer.status_code == 201, answer.text
    assert json.loads(answer.json()["parameters"]["values"]) == {
        "nodeSelector": {"kubernetes.io/arch": "amd64"},
        "tolerations": [{"key": "rollway.io/real", "operator": "Exists"}],
    }
    aborted = api.call("alice", "POST", f"/api/v1/deployments/{answer.json()['id']}/abort")
    assert aborted.status_code == 200, aborted.text
    api.reaches(answer.json()["id"], "aborted")


def test_a_set_key_is_refused_in_one_line_naming_it(api: Api) -> None:
    body = {"env": "dev", "version": "1.0.0", "overrides": {"set": {"a.b": 2, "a.b.c": 3}}}
    answer = api.call("alice", "POST", DEPLOYMENTS, json=body)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["field"] == "body.overrides.set"
    assert "'a.b.c=3': a.b is the value 2 here, not a map" in problem["detail"]
    body["overrides"] = {"set": {"tolerations[0.key": "x"}}
    problem = api.call("alice", "POST", DEPLOYMENTS, json=body).json()
    assert problem["field"] == "body.overrides.set"
    assert "key 'tolerations[0.key' has unbalanced brackets in 'tolerations[0'" in problem["detail"]
    assert "\n" not in problem["detail"]


@pytest.fixture
def group(api: Api, devstack: Context) -> Iterator[str]:
    """A Maven group of the test's own, removed from the devstack's repository afterwards."""
    name = f"com.example.{api.prefix}"
    yield name
    shutil.rmtree(MavenRepository.root(devstack) / "maven-releases" / name.replace(".", "/"))


def test_retry_carries_a_failed_deployment_on_once_the_cause_is_fixed(
    api: Api, devstack_env: dict[str, str], group: str
) -> None:
    """The jar is not in Maven yet, so the pipeline fails at resolve; once it is published
    (as `mvn deploy` would), retrying runs the failed step again and everything after it."""
    api.register(name="late", artifact=f"{group}:late", environments=[{"name": "dev"}])
    deployment = api.deploy("alice", app="late").json()["id"]

    failed = api.reaches(deployment, "failed")
    resolve = {s["name"]: s for s in failed["steps"]}["resolve-artifact"]
    assert resolve["phase"] == "Failed" and f"{group}:late" in resolve["message"], resolve
    jar = publish(devstack_env, group, "late", "1.0.0")
    answer = api.call("alice", "POST", f"/api/v1/deployments/{deployment}/retry")

    assert answer.status_code == 200, answer.text
    assert answer.json()["deployment"]["state"] == "running"
    done = api.reaches(deployment, "succeeded")
    assert done["provenance"]["jarSha256"] == hashlib.sha256(jar).hexdigest()


def publish(env: dict[str, str], group: str, artifact: str, version: str) -> bytes:
    """Upload hello 1.0.0's jar as `group:artifact:version`, with its sha1, to Maven."""
    auth = (env["ROLLWAY_MAVEN_USERNAME"], env["ROLLWAY_MAVEN_PASSWORD"])
    base = env["ROLLWAY_MAVEN_URL"]
    jar = httpx.get(f"{base}/com/example/hello/1.0.0/hello-1.0.0.jar", auth=auth)
    content = jar.raise_for_status().content
    path = f"{base}/{group.replace('.', '/')}/{artifact}/{version}/{artifact}-{version}.jar"
    httpx.put(path, content=content, auth=auth).raise_for_status()
    sha1 = hashlib.sha1(content).hexdigest().encode()
    httpx.put(f"{path}.sha1", content=sha1, auth=auth).raise_for_status()
    return content


def test_logs_as_text_and_ndjson(api: Api) -> None:
    deployment = api.deploy("alice").json()["id"]
    api.reaches(deployment, "succeeded")
    path = f"/api/v1/deployments/{deployment}/logs"

    text = api.call("carol", "GET", path)
    ndjson = api.call("carol", "GET", path, params={"step": "apply"},
                      headers={"accept": "application/x-ndjson"})  # fmt: skip

    assert text.headers["content-type"].startswith("text/plain")
    steps = {line.split(": ", 1)[0] for line in text.text.splitlines()}
    assert {"resolve-artifact", "build-image", "apply", "wait-healthy"} <= steps
    lines = [json.loads(line) for line in ndjson.text.splitlines()]
    assert lines and {line["step"] for line in lines} == {"apply"}
    assert any("Rollout" in line["line"] for line in lines), lines


def test_watch_streams_server_sent_events_until_the_end(api: Api) -> None:
    deployment = api.deploy("alice").json()["id"]

    answer = api.call("carol", "GET", f"/api/v1/deployments/{deployment}/events",
                      params={"timeout": 240})  # fmt: skip

    assert answer.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("event: ") for line in answer.text.splitlines()
              if line.startswith("event: ")]  # fmt: skip
    assert events[0] == "status" and events[-1] == "end"
    data = [json.loads(line.removeprefix("data: ")) for line in answer.text.splitlines()
            if line.startswith("data: ")]  # fmt: skip
    assert data[0]["state"] == "running" and data[-2]["state"] == "succeeded"


def test_a_missing_deployment_is_a_404_before_any_stream(api: Api) -> None:
    for suffix in ("", "/logs", "/events", "/abort"):
        method = "POST" if suffix == "/abort" else "GET"
        answer = api.call("dave", method, f"/api/v1/deployments/hello-dev-missing{suffix}")
        assert answer.status_code == 404, suffix
        assert answer.headers["content-type"] == "application/problem+json"


def test_pagination_walks_every_record_once(api: Api) -> None:
    db = api.client.app.state.context.db
    with db.write() as session:
        for i in range(120):
            session.add(Deployment(
                id=f"hello-dev-old{i:04d}", app="hello", env="dev", namespace="hello-dev",
                kind="deploy", state="succeeded" if i % 2 else "failed", version="1.0.0",
                strategy="bluegreen", request={}, parameters={}, request_hash="x",
                created_by="s", created_by_name="alice", steps=[], provenance={},
            ))  # fmt: skip

    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 25, "app": "hello", "state": "succeeded"}
        page = api.call("carol", "GET", "/api/v1/deployments",
                        params=params | ({"cursor": cursor} if cursor else {})).json()  # fmt: skip
        seen += [d["id"] for d in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 60
    assert seen == sorted(seen, reverse=True)  # newest first


def test_a_published_version_is_deployed_where_policy_says_auto_deploy(api: Api) -> None:
    api.register(name="auto", environments=[
        {"name": "dev", "policy": {"autoDeploy": True}},
        {"name": "staging", "policy": {"autoDeploy": True, "windows": [{"cron": "0 0 1 1 *"}]}},
        {"name": "prod"},
    ])  # fmt: skip
    path = "/api/v1/apps/auto/artifacts"

    first = api.call("ci", "POST", path, json={"version": "1.1.0"})
    again = api.call("ci", "POST", path, json={"version": "1.1.1"})

    assert first.status_code == 200, first.text
    outcomes = {o["env"]: o for o in first.json()["items"]}
    assert set(outcomes) == {"dev", "staging"}  # prod is deployed by hand only
    assert outcomes["dev"]["status"] == 201
    assert outcomes["staging"]["status"] == 409
    assert "outside its deployment windows" in outcomes["staging"]["detail"]
    running = {o["env"]: o for o in again.json()["items"]}["dev"]
    assert (running["status"], running["deploymentId"]) == (409, outcomes["dev"]["deploymentId"])
    assert api.call("carol", "POST", path, json={"version": "1.1.0"}).status_code == 403


def test_the_exit_handlers_report_brings_the_record_up_to_date(
    devstack_env: dict[str, str], tokens: Tokens, tmp_path: Path
) -> None:
    """With no periodic sync in sight, the record completes when the report comes in, with
    what the engine says rather than what the report claims."""
    with serving(devstack_env, tokens, tmp_path, sync_interval=3600) as api:
        deployment = api.deploy("alice").json()["id"]
        wait_for("the workflow to end", lambda: api.backend.get(deployment).finished, timeout=240)
        assert api.get(deployment)["state"] == "running"  # nobody told the record yet
        path = f"/api/v1/internal/deployments/{deployment}/outcome"
        report = {"deploymentId": deployment, "status": "Failed", "failures": []}  # forged

        assert api.call(None, "POST", path, json=report).status_code == 401
        assert api.call("carol", "POST", path, json=report).status_code == 403
        assert api.call("erin", "POST", path, json=report).status_code == 404
        answer = api.call("ci", "POST", path, json=report)

        assert answer.status_code == 202, answer.text
        assert answer.json()["state"] == "succeeded"
        assert api.get(deployment)["state"] == "succeeded"
