"""problem+json answers become Rollway errors with the documented exit codes."""

from __future__ import annotations

import pytest

from rollway.cli.errors import from_problem
from rollway.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


@pytest.mark.parametrize(
    ("status", "kind", "code"),
    [(400, InvalidInput, 2), (422, InvalidInput, 2), (401, Unauthorized, 3), (403, Forbidden, 3),
     (404, NotFound, 4), (409, Conflict, 5), (500, Exception, 1), (502, Exception, 1)],
)  # fmt: skip
def test_status_to_exit_code(status: int, kind: type[Exception], code: int) -> None:
    err = from_problem(status, {"detail": "why"}, {})
    assert isinstance(err, kind) and err.exit_code == code and str(err) == "why"


def test_detail_hint_and_the_field_named_as_its_flag() -> None:
    body = {"title": "Invalid input", "status": 422, "detail": "body.version: must be a version",
            "field": "body.version", "hint": "try 1.0.0"}  # fmt: skip
    err = from_problem(422, body, {"body.version": "--version"})
    assert (str(err), err.hint) == ("--version: must be a version", "try 1.0.0")
    assert err.problem["status"] == 422
    assert str(from_problem(422, body, {})) == "body.version: must be a version"


def test_a_body_without_detail_still_says_something() -> None:
    assert str(from_problem(503, None, {})) == "the server answered HTTP 503"
    assert str(from_problem(404, {"title": "Not found"}, {})) == "Not found"
