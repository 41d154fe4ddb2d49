"""What goes wrong talking to the API server or Keycloak, as Rollway errors with exit codes.

The exit codes are the CLI's contract (`app --help` lists them): 0 success, 1 deployment failed
or degraded (and any other failure, such as a server that cannot be reached), 2 usage error,
3 authentication or permission error, 4 not found, 5 conflict, 130 interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    RollwayError,
    Unauthorized,
    UpstreamError,
)

EXIT_CODES = """\b
Exit codes:
  0    success
  1    deployment failed or degraded; any other failure (e.g. server unreachable)
  2    usage error (bad flag, name or value)
  3    authentication or permission error
  4    not found
  5    conflict (e.g. another deployment is in flight)
  130  interrupted (Ctrl-C); the deployment keeps running"""

#: HTTP status of a problem+json answer → the error (and so the exit code) it becomes.
BY_STATUS: dict[int, type[RollwayError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: InvalidInput,
}


class DeploymentFailed(RollwayError):
    """A deployment (or the rollout it drives) ended failed, aborted, rejected or degraded."""

    exit_code = 1
    title = "Deployment failed"


class Interrupted(RollwayError):
    """Ctrl-C while waiting: the deployment keeps running; the hint says how to reattach."""

    exit_code = 130
    title = "Interrupted"


class Unreachable(RollwayError):
    """A server did not answer at all (refused, DNS, timeout, TLS)."""

    exit_code = 1
    title = "Unreachable"


class ApiProblem(RollwayError):
    """A problem+json answer of the API server. Raised as a subclass that is also the matching
    Rollway error (`except NotFound` catches a 404), so the exit code follows the status."""

    def __init__(self, message: str, *, hint: str | None, status: int, problem: Mapping[str, Any]):
        super().__init__(message, hint=hint)
        self.status = status
        self.problem = dict(problem)


_API_ERRORS: dict[type[RollwayError], type[ApiProblem]] = {
    kind: type(f"Api{kind.__name__}", (ApiProblem, kind), {})
    for kind in {*BY_STATUS.values(), UpstreamError}
}


def from_problem(
    status: int, body: Mapping[str, Any] | None, flags: Mapping[str, str]
) -> ApiProblem:
    """The error for an API answer: problem+json's detail and hint, the field named as the
    CLI flag it came from (`body.version` → `--version`) when the command says so."""
    body = body or {}
    detail = str(body.get("detail") or body.get("title") or f"the server answered HTTP {status}")
    field = body.get("field")
    if isinstance(field, str) and field in flags:
        detail = f"{flags[field]}: {detail.removeprefix(f'{field}: ')}"
    hint = body.get("hint")
    kind = _API_ERRORS[BY_STATUS.get(status, UpstreamError)]
    return kind(detail, hint=str(hint) if hint else None, status=status, problem=body)
