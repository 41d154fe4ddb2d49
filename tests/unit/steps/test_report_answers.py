"""The exit handler's report: which answers count as delivered, which are worth trying again
and what a refusal says; and the configuration it checks before talking to anyone. Talking to
the real Keycloak and API server is tests/integration/steps/test_step_report.py."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from click.testing import CliRunner, Result

from rollway.errors import (
    Forbidden,
    InvalidInput,
    NotFound,
    TransientError,
    Unauthorized,
    UpstreamError,
)
from rollway.steps.cli import main
from rollway.steps.outputs import DEFAULT_DIR
from rollway.steps.report import answer_error, token_error
from rollway.workflows.render import rendered
from tests.support.report_step import UNSET

API = "the API server at http://rollway"
KEYCLOAK = "http://keycloak:8080"


def problem(status: int, title: str, detail: str) -> httpx.Response:
    body = {"type": "https://rollway.io/problems/x", "title": title, "status": status,
            "detail": detail}  # fmt: skip
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, Unauthorized), (403, Forbidden), (404, NotFound), (409, UpstreamError),
     (422, UpstreamError)],
)  # fmt: skip
def test_a_refusal_is_final_and_names_the_status_and_the_problem(status: int, kind: type) -> None:
    error = answer_error(API, problem(status, "Not found", "deployment 'x' not found"))
    assert type(error) is kind and error.exit_code != TransientError.exit_code
    assert str(error) == f"{API} answered HTTP {status}: Not found: deployment 'x' not found"


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_a_server_failure_is_worth_a_retry(status: int) -> None:
    error = answer_error(API, httpx.Response(status, text="<html>busy</html>"))
    assert isinstance(error, TransientError) and error.exit_code == 75
    assert str(error) == f"{API} answered HTTP {status}: {httpx.codes(status).phrase}"


def test_keycloak_refusing_the_client_names_the_client_and_keycloaks_reason() -> None:
    body = json.dumps({"error": "unauthorized_client",
                       "error_description": "Invalid client or Invalid client credentials"})  # fmt: skip
    error = token_error(401, body.encode(), KEYCLOAK, "rollway", "rollway-ci")
    assert isinstance(error, Unauthorized) and not isinstance(error, TransientError)
    assert str(error) == (
        "Keycloak refused a token to client 'rollway-ci' of realm 'rollway' (HTTP 401: "
        "unauthorized_client: Invalid client or Invalid client credentials)"
    )
    assert error.hint and "rollway-callback" in error.hint


def test_keycloak_without_the_realm_names_the_realm_setting() -> None:
    error = token_error(404, b'{"error":"Realm does not exist"}', KEYCLOAK, "nope", "rollway-ci")
    assert isinstance(error, InvalidInput) and error.field == "ROLLWAY_KEYCLOAK_REALM"
    assert "has no realm 'nope'" in error.message


def test_keycloak_failing_is_worth_a_retry() -> None:
    error = token_error(503, b"", KEYCLOAK, "rollway", "rollway-ci")
    assert isinstance(error, TransientError)
    assert str(error) == f"Keycloak at {KEYCLOAK} answered HTTP 503"


def report(tmp_path: Path, **env: str) -> Result:
    """The step in this process (the error as raised; `rollway-step` turns it into an exit)."""
    return CliRunner().invoke(
        main,
        ["report", "--deployment-id", "hello-dev-1", "--status", "Failed"],
        env={**UNSET, "ROLLWAY_OUTPUTS_DIR": str(tmp_path), **env},
    )


def test_without_a_callback_or_webhooks_the_outcome_is_only_recorded(tmp_path: Path) -> None:
    result = report(tmp_path)
    assert result.exit_code == 0, result.exception
    assert json.loads(result.stdout) == {"delivered": "", "status": "Failed", "undelivered": ""}
    assert (tmp_path / "delivered").read_text() == ""


def test_the_exit_handler_declares_every_output_the_step_writes(tmp_path: Path) -> None:
    """Argo reads each declared output from its file: a file the step did not write would fail
    the step, one it wrote but the template does not declare would never reach the workflow."""
    assert report(tmp_path).exit_code == 0
    written = {f.name: f"{DEFAULT_DIR}/{f.name}" for f in tmp_path.iterdir()}
    for text in rendered().values():
        template = next(
            t for t in yaml.safe_load(text)["spec"]["templates"] if t["name"] == "report"
        )
        declared = {p["name"]: p["valueFrom"]["path"] for p in template["outputs"]["parameters"]}
        assert declared == written


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({}, "ROLLWAY_KEYCLOAK_URL"),
        ({"ROLLWAY_KEYCLOAK_URL": KEYCLOAK}, "ROLLWAY_CALLBACK_CLIENT_ID"),
        ({"ROLLWAY_KEYCLOAK_URL": KEYCLOAK, "ROLLWAY_CALLBACK_CLIENT_ID": "rollway-ci"},
         "ROLLWAY_CALLBACK_CLIENT_SECRET"),
        ({"ROLLWAY_KEYCLOAK_URL": KEYCLOAK, "ROLLWAY_CALLBACK_CLIENT_ID": "rollway-ci",
          "ROLLWAY_CALLBACK_CLIENT_SECRET_FILE": "/nonexistent/client-secret"},
         "ROLLWAY_CALLBACK_CLIENT_SECRET_FILE"),
    ],
)  # fmt: skip
def test_a_callback_without_its_settings_is_a_warning_naming_the_missing_one(
    tmp_path: Path, env: dict[str, str], field: str
) -> None:
    """Checked before any request; the step still succeeds (an exit handler that fails would
    fail the deployment) and says what it could not deliver."""
    result = report(tmp_path, ROLLWAY_CALLBACK_URL="http://rollway", **env)
    assert result.exit_code == 0, result.exception
    assert f"rollway-step: warning: {field}: " in result.stderr
    assert (tmp_path / "delivered").read_text() == ""
    assert (tmp_path / "undelivered").read_text() == "api"
