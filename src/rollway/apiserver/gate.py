"""What a request must pass before any route code runs: a body of bounded size, then a valid token.

Both are checked before the body is read, so an anonymous caller can make the server neither
buffer nor parse anything. A request refused here never reaches the audit trail (the audit
middleware sits behind this gate); it is counted in `rollway_unauthenticated_requests_total`.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..auth import Principal
from ..auth.tokens import InvalidToken, TokenValidator
from ..errors import RollwayError
from . import problems
from .metrics import Metrics

#: The only paths answered without a token (probes and Prometheus, inside the cluster).
PUBLIC = frozenset({"/healthz", "/readyz", "/metrics"})
#: The dashboard's pages, assets and login (`apiserver.ui`): they hold no data, and its calls
#: of the API come through this gate with a token like any other.
PAGES = "/ui"


class BodyLimit:
    """413 for a body over `limit` bytes: at once from Content-Length, or as a chunked body
    passes the limit while the route reads it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = HTTPException(413, f"the request body is larger than {self.limit} bytes")
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            request = Request(scope)
            response = await problems.http_error(request, too_large)
            await response(scope, receive, send)
            return
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise too_large  # FastAPI lets it through to the problem handler
            return message

        await self.app(scope, bounded, send)


class Authentication:
    """Admits a request with a valid bearer token, leaving the caller in `request.state`."""

    def __init__(
        self, app: ASGIApp, validator: TokenValidator, audience: str, metrics: Metrics
    ) -> None:
        self.app, self.validator, self.audience, self.metrics = app, validator, audience, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _public(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        token = _bearer(request.headers.get("authorization", ""))
        try:
            caller = await self._caller(token)
        except RollwayError as err:  # InvalidToken, or the realm's keys unavailable (502)
            if isinstance(err, InvalidToken):
                self.metrics.unauthenticated.labels("invalid" if token else "missing").inc()
            response = await problems.rollway_error(request, err)
            await response(scope, receive, send)
            return
        request.state.principal = caller
        await self.app(scope, receive, send)

    async def _caller(self, token: str) -> Principal:
        """A token seen before is answered from memory; a new one is checked in a worker
        thread, since that may mean downloading the realm's keys."""
        if not token:
            raise InvalidToken("a bearer token is required")
        claims = self.validator.accepted(token)
        if claims is None:
            claims = await run_in_threadpool(self.validator.validate, token)
        return Principal.from_claims(claims, self.audience)


def _public(path: str) -> bool:
    return path in PUBLIC or path == PAGES or path.startswith(f"{PAGES}/")


def _bearer(authorization: str) -> str:
    """The token of an `Authorization: Bearer …` header; empty for any other scheme."""
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
