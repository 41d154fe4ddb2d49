"""The CLI's API client as pure logic, answered in-process through httpx's transport hook:
problem+json and other failures become one Rollway error, a 401 is retried once with a renewed
token. (The CLI against the real API server is tests/integration/cli.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rollway.cli.api import Api
from rollway.cli.config import Config, Context, Credentials
from rollway.cli.errors import Unreachable
from rollway.cli.session import Session
from rollway.errors import InvalidInput, NotFound, RollwayError


class Renewing(Session):
    """A session whose token renewal is counted instead of asking Keycloak."""

    renewals = 0

    def access_token(self, *, renew: bool = False) -> str:
        if renew:
            self.renewals += 1
        return f"token-{self.renewals}"


def api(handler: httpx.MockTransport, flags: dict[str, str] | None = None) -> tuple[Api, Renewing]:
    creds = Credentials("password", "rollway-cli", "token-0", 0.0)
    context = Context("test", server="http://api.test", credentials=creds)
    session = Renewing(Config(Path("/never/written.yaml")), context, "http://api.test", None, None)
    return Api(session, flags or {}, transport=handler), session


def test_a_401_is_retried_once_with_a_renewed_token() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if len(seen) == 1:
            return httpx.Response(401, json={"detail": "token expired"})
        return httpx.Response(200, json={"items": []})

    client, session = api(httpx.MockTransport(answer))
    assert client.get("/apps") == {"items": []}
    assert seen == ["Bearer token-0", "Bearer token-1"] and session.renewals == 1


def test_a_problem_names_the_flag_the_field_came_from() -> None:
    body = {"status": 422, "detail": "body.version: must be a version", "field": "body.version"}
    client, _ = api(httpx.MockTransport(lambda _: httpx.Response(422, json=body)),
                    {"body.version": "--version"})  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        client.post("/apps/hello/deployments", {"version": "x y"})
    assert str(err.value) == "--version: must be a version"


def test_an_answer_that_is_not_a_problem_says_what_came_back_for_which_path() -> None:
    client, _ = api(httpx.MockTransport(lambda _: httpx.Response(502, text="<html>bad gateway")))
    with pytest.raises(RollwayError) as err:
        client.get("/apps/hello")
    assert "HTTP 502 Bad Gateway to /api/v1/apps/hello" in str(err.value)
    assert err.value.exit_code == 1


def test_a_404_problem_is_not_found() -> None:
    client, _ = api(httpx.MockTransport(lambda _: httpx.Response(404, json={"detail": "no app"})))
    with pytest.raises(NotFound, match="no app"):
        client.get("/apps/nope")


@pytest.mark.parametrize(
    ("failure", "says"),
    [(httpx.ConnectError("[Errno 111] Connection refused"), "connection refused"),
     (httpx.ReadTimeout("timed out"), "did not answer in time")],
)  # fmt: skip
def test_a_server_that_does_not_answer_is_named(failure: Exception, says: str) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise failure

    client, _ = api(httpx.MockTransport(fail))
    with pytest.raises(Unreachable) as err:
        client.get("/apps")
    assert "http://api.test" in str(err.value) and says in str(err.value)
