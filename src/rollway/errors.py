"""Precise exceptions shared by the CLI, the API server, the steps and the engine.

Each carries what a user needs to fix the problem: the field (or input) at fault and why.
The API maps them to RFC 9457 problem+json, the CLI to a one-line message and an exit code.
"""

from __future__ import annotations


class RollwayError(Exception):
    """Base class. `status` is the HTTP status the API answers with; `exit_code` the CLI's."""

    status = 500
    exit_code = 1
    title = "Rollway error"

    def __init__(self, message: str, *, field: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(RollwayError):
    """Bad input from a user: names the field and the reason."""

    status = 422
    exit_code = 2
    title = "Invalid input"


class NotFound(RollwayError):
    status = 404
    exit_code = 4
    title = "Not found"


class Conflict(RollwayError):
    status = 409
    exit_code = 5
    title = "Conflict"


class PreconditionFailed(Conflict):
    """A conditional request's If-Match or If-None-Match does not hold: the resource changed
    (or exists) since the caller last read it."""

    status = 412
    title = "Precondition failed"


class Unauthorized(RollwayError):
    status = 401
    exit_code = 3
    title = "Unauthorized"


class Forbidden(RollwayError):
    status = 403
    exit_code = 3
    title = "Forbidden"


class UpstreamError(RollwayError):
    """A platform service (registry, Nexus, git, Kubernetes, Keycloak) refused or failed."""

    status = 502
    exit_code = 1
    title = "Upstream service error"


class EngineUnavailable(UpstreamError):
    """The workflow engine (Argo Server) does not answer: work recorded for it waits."""

    status = 503
    title = "Workflow engine unavailable"


class TransientError(UpstreamError):
    """Worth retrying: a 5xx, a dropped connection, a timeout.

    Steps exit with EX_TEMPFAIL (75) for these; the workflow templates retry on that code (and
    on a pod evicted or shut down under the step: workflows/engine/transient.py).
    """

    exit_code = 75
