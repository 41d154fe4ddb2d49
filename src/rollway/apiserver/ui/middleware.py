"""The page's API calls: a browser with a dashboard session gets its bearer token added.

Runs before the Authentication gate, which then checks that token like any other, so the page
can do exactly what its user could do with `app`. Against cross-site requests riding on the
cookie, a call that changes something must carry `X-Rollway-UI: 1`, a header another site's
page cannot send without a CORS preflight this server never grants (the cookie is SameSite=Lax
besides).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ...errors import Forbidden
from .. import problems
from .sessions import Sessions

COOKIE = "rollway_session"
MARK = "x-rollway-ui"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class SessionBearer:
    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app, self.sessions = app, sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        session_id = Request(scope).cookies.get(COOKIE)
        if "authorization" in headers or not session_id:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in SAFE and headers.get(MARK) != "1":
            refused = Forbidden(f"a dashboard request that changes something must send {MARK}")
            response = await problems.rollway_error(Request(scope), refused)
            await response(scope, receive, send)
            return
        token = await self.sessions.access_token(session_id)
        if token is not None:
            scope = {**scope, "headers": [*scope["headers"],
                                          (b"authorization", f"Bearer {token}".encode())]}  # fmt: skip
        await self.app(scope, receive, send)
