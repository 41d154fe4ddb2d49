"""`app deploy` registers and updates its application through the API's conditional PUT, as a
portal would: If-None-Match: * where the name is free, If-Match with the ETag it read otherwise;
when another edit lands between its read and its write, it reads again and adds its change to
that one. The apps API is played by a loopback server (the real server's side is
tests/integration/apiserver/test_api_app_preconditions.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from rollway.cli import cli
from rollway.cli.config import Config, Context, Credentials
from tests.support.loopback import Answer, Request, answer, serving

CHART = "http://git.test/charts.git//charts/app@main"
Edit = Callable[[dict[str, Any]], None]


class AppsApi:
    """The application `hello` as the API keeps it: ETag on GET, 412 on a PUT whose condition
    does not hold. `meanwhile` edits land just before each PUT, as another writer's would;
    `hidden`: the name is taken by an application the caller cannot read."""

    def __init__(self, app: dict[str, Any] | None = None, *, hidden: bool = False) -> None:
        self.app, self.version, self.hidden = app, 1, hidden
        self.meanwhile: list[Edit] = []
        self.puts: list[tuple[str, str, list[str]]] = []  # condition, value, environments sent

    def __call__(self, request: Request) -> Answer:
        if request.path == "/api/v1/apps/hello/deployments":
            body = request.json()
            return answer(201, {"id": "hello-1", "kind": "deploy", "env": body["env"],
                                "version": body["version"], "strategy": "bluegreen"})  # fmt: skip
        assert request.path == "/api/v1/apps/hello", request.path
        if request.method == "GET":
            if self.app is None:
                return problem(404, "application 'hello' not found", "app")
            return answer(200, self.app, headers={"ETag": f'"{self.version}"'})
        return self.put(request)

    def put(self, request: Request) -> Answer:
        spec = request.json()
        condition = "If-Match" if "if-match" in request.headers else "If-None-Match"
        self.puts.append((condition, request.headers.get(condition.lower(), ""),
                          [e["name"] for e in spec["environments"]]))  # fmt: skip
        if self.meanwhile:
            self.meanwhile.pop(0)(self.edit())
        if condition == "If-None-Match" and (self.app is not None or self.hidden):
            return problem(412, "application 'hello' already exists", "header.If-None-Match")
        if condition == "If-Match" and request.headers["if-match"] != f'"{self.version}"':
            return problem(412, "application 'hello' changed since it was read", "header.If-Match")
        created = self.app is None
        self.app = {**spec, "name": "hello", "project": "hello", "createdBy": "alice",
                    "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"}  # fmt: skip
        self.version = 1 if created else self.version + 1
        return answer(201 if created else 200, self.app, headers={"ETag": f'"{self.version}"'})

    def edit(self) -> dict[str, Any]:
        """The application as another writer changes it (registering it if need be)."""
        if self.app is None:
            self.app, self.version = registered("staging"), 1
        else:
            self.version += 1
        return self.app

    def environments(self) -> list[str]:
        assert self.app is not None
        return [e["name"] for e in self.app["environments"]]


def registered(*environments: str) -> dict[str, Any]:
    return {"name": "hello", "project": "hello", "namespace": "hello", "artifact": "com.example:hello",
            "chart": {"repo": "http://git.test/charts.git", "path": "charts/app", "ref": "main"},
            "environments": [{"name": e, "namespace": f"hello-{e}"} for e in environments],
            "strategy": "bluegreen", "parameters": {}, "notifications": [], "imageRepository": None,
            "createdBy": "bob", "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z"}  # fmt: skip


def added(env: str) -> Edit:
    return lambda app: app["environments"].append({"name": env, "namespace": f"hello-{env}"})


def problem(status: int, detail: str, field: str) -> Answer:
    body = {"status": status, "detail": detail, "field": field}
    return answer(status, body, headers={"Content-Type": "application/problem+json"})


@pytest.fixture
def deploy(tmp_path: Path) -> Callable[[AppsApi, str], Result]:
    """`app deploy hello … --env ENV` against `apps`, logged in with a token still valid."""
    config = tmp_path / "config.yaml"
    creds = Credentials("password", "rollway-cli", "AT", time.time() + 3600)

    def run(apps: AppsApi, env: str) -> Result:
        with serving(apps) as server:
            Config(config).store(Context("test", server=server.url, credentials=creds))
            args = ["deploy", "hello", "--artifact", "com.example:hello:1.0.0", "--env", env,
                    "--chart", CHART]  # fmt: skip
            return CliRunner(env={"ROLLWAY_CONFIG": str(config)}).invoke(cli, args,
                                                                         prog_name="app")  # fmt: skip

    return run


def test_a_first_deploy_registers_only_where_the_name_is_free(deploy: Any) -> None:
    server = AppsApi()
    done = deploy(server, "dev")

    assert done.exit_code == 0, done.stderr
    assert server.puts == [("If-None-Match", "*", ["dev"])]
    assert "application hello registered in project hello" in done.stderr
    assert done.stdout.startswith("deployment hello-1 started: deploy hello 1.0.0 to dev")


def test_registered_meanwhile_it_adds_its_environment_to_the_other_registration(
    deploy: Any,
) -> None:
    server = AppsApi()
    server.meanwhile = [lambda app: None]  # another deploy registers hello with staging first
    done = deploy(server, "prod")

    assert done.exit_code == 0, done.stderr
    assert server.puts == [("If-None-Match", "*", ["prod"]),
                           ("If-Match", '"1"', ["staging", "prod"])]  # fmt: skip
    assert server.environments() == ["staging", "prod"]
    assert "application hello updated: environment prod added" in done.stderr


def test_an_update_that_lost_the_race_is_made_again_on_what_won(deploy: Any) -> None:
    server = AppsApi(registered("dev"))
    server.meanwhile = [added("staging")]
    done = deploy(server, "prod")

    assert done.exit_code == 0, done.stderr
    assert server.puts == [("If-Match", '"1"', ["dev", "prod"]),
                           ("If-Match", '"2"', ["dev", "staging", "prod"])]  # fmt: skip
    assert server.environments() == ["dev", "staging", "prod"]  # nobody's edit is lost


def test_an_application_that_keeps_changing_is_one_error_line(deploy: Any) -> None:
    server = AppsApi(registered("dev"))
    server.meanwhile = [added(f"e{i}") for i in range(3)]
    done = deploy(server, "prod")

    assert done.exit_code == 5
    assert len(server.puts) == 3 and "prod" not in server.environments()
    assert done.stderr.splitlines() == [
        "error: application hello changed 3 times while this deploy updated it",
        "hint: run the deploy again",
    ]


def test_a_name_taken_in_a_project_the_caller_cannot_see_is_one_error_line(deploy: Any) -> None:
    done = deploy(AppsApi(hidden=True), "dev")

    assert done.exit_code == 5
    assert done.stderr.splitlines()[0] == (
        "error: application 'hello' already exists in a project you have no role in"
    )
