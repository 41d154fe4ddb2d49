"""RFC 9457 problem details for every error the API answers with.

Rollway errors carry their status, field and hint; request validation names the field with its
location (`body.version`, `query.limit`); anything unexpected is a bare 500 whose body and log
line say nothing about the internals (no stack trace, no exception text).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..auth.tokens import InvalidToken
from ..errors import RollwayError

log = logging.getLogger("rollway.apiserver")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://rollway.io/problems/"


class Problem(RollwayError):
    """A RollwayError with extra members for the problem body (e.g. `deploymentId`)."""

    def __init__(
        self,
        error: type[RollwayError],
        message: str,
        *,
        field: str | None = None,
        hint: str | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(message, field=field, hint=hint)
        self.status, self.title = error.status, error.title
        self.kind = error.__name__
        self.extensions = extensions


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **members: Any,
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + _slug(kind or title),
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **{k: v for k, v in members.items() if v is not None},
    }
    # The audit log records the outcome with the same words.
    request.state.problem = f"{title}: {detail}"
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RollwayError, rollway_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def rollway_error(request: Request, exc: RollwayError) -> JSONResponse:
    headers = None
    if isinstance(exc, InvalidToken) or exc.status == 401:
        headers = {"WWW-Authenticate": f'Bearer realm="rollway", error="invalid_token", '
                   f'error_description="{exc.message}"'}  # fmt: skip
    kind = getattr(exc, "kind", type(exc).__name__)
    return problem_response(
        request,
        exc.status,
        exc.title,
        exc.message,
        kind=kind,
        headers=headers,
        field=exc.field,
        hint=exc.hint,
        **getattr(exc, "extensions", {}),
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": field_name(e.get("loc", ())), "message": _message(e)} for e in exc.errors()]
    field, message = (errors[0]["field"], errors[0]["message"]) if errors else ("", "invalid")
    return problem_response(
        request,
        422,
        "Invalid input",
        f"{field}: {message}" if field else message,
        kind="InvalidInput",
        field=field or None,
        errors=errors,
    )


async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
    titles = {404: "Not found", 405: "Method not allowed", 401: "Unauthorized",
              413: "Content too large"}  # fmt: skip
    title = titles.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else title
    headers = dict(exc.headers) if exc.headers else None
    return problem_response(request, exc.status_code, title, detail, headers=headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("internal error on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return problem_response(
        request, 500, "Internal error", "the server failed to handle the request"
    )


def field_name(loc: Sequence[int | str]) -> str:
    """`("body", "environments", 0, "name")` → `body.environments[0].name`."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


def _message(error: dict[str, Any]) -> str:
    """Pydantic's message without the echo of the input (it may be long or sensitive)."""
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")


def _slug(text: str) -> str:
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")
