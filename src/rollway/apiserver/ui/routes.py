"""`/ui`: the dashboard's pages and assets, its login through Keycloak, and its logout."""

from __future__ import annotations

import html
import secrets
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from ...auth import Principal
from ...auth.tokens import InvalidToken
from ..context import Context
from . import oidc
from .middleware import COOKIE, SessionBearer
from .sessions import PendingLogin, Sessions, TokenEndpoint, TokenRefused

STATIC = Path(__file__).parent / "static"
LOGIN_COOKIE = "rollway_login"
#: The pages run only the server's own script and styles, and may not be framed.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def install(app: FastAPI, ctx: Context) -> None:
    """Mount the pages and assets, and admit the page's API calls with its session's token.
    Call after the Authentication gate was added: the session middleware must run before it."""
    settings = ctx.settings
    assert settings.keycloak_url is not None and settings.oidc_issuer is not None
    token_url = (f"{settings.keycloak_url.rstrip('/')}/realms/{settings.keycloak_realm}"
                 "/protocol/openid-connect/token")  # fmt: skip
    endpoint = TokenEndpoint(token_url, settings.ui_client_id)
    sessions = Sessions(endpoint, settings.ui_session_idle, settings.ui_refresh_margin)
    app.add_middleware(SessionBearer, sessions=sessions)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(_router(ctx, sessions), include_in_schema=False)


def _router(ctx: Context, sessions: Sessions) -> APIRouter:
    settings = ctx.settings
    issuer, client_id = str(settings.oidc_issuer), settings.ui_client_id
    router = APIRouter(prefix="/ui")
    shell = (STATIC / "index.html").read_bytes()

    @router.get("/login")
    def login(request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
              ) -> RedirectResponse:  # fmt: skip
        """Send the browser to Keycloak's login form, remembering where it goes back to."""
        redirect_uri = str(request.url_for("callback"))
        pending = PendingLogin(verifier=oidc.new_verifier(), nonce=secrets.token_urlsafe(16),
                               next=oidc.safe_next(next), redirect_uri=redirect_uri,
                               created_at=time.time())  # fmt: skip
        state = sessions.begin_login(pending)
        target = oidc.authorize_url(issuer, client_id, redirect_uri, state, pending.verifier,
                                    pending.nonce)  # fmt: skip
        response = RedirectResponse(target, status_code=303, headers=HEADERS)
        # Binds the callback to this browser: a code sent to someone else's browser is refused.
        response.set_cookie(LOGIN_COOKIE, state, max_age=600, path="/ui/callback", httponly=True,
                            secure=request.url.scheme == "https", samesite="lax")  # fmt: skip
        return response

    @router.get("/callback", name="callback")
    async def callback(
        request: Request,
        code: Annotated[str, Query(max_length=4096)] = "",
        state: Annotated[str, Query(max_length=256)] = "",
        error: Annotated[str, Query(max_length=256)] = "",
    ) -> Response:
        """Trade the code for tokens, check them as the API does, and open a session."""
        pending = sessions.finish_login(state) if state else None
        if error or pending is None or request.cookies.get(LOGIN_COOKIE) != state or not code:
            reason = (
                f"Keycloak answered {error}"
                if error
                else "the login expired or was not started here"
            )
            return _login_failed(reason)
        try:
            tokens = await sessions.endpoint.exchange(code, pending.verifier, pending.redirect_uri)
            claims = await run_in_threadpool(ctx.validator.validate, tokens.access)
        except (TokenRefused, InvalidToken) as err:
            return _login_failed(f"the sign-in was refused: {err}")
        user = Principal.from_claims(claims, settings.oidc_audience).name
        response = RedirectResponse(pending.next, status_code=303, headers=HEADERS)
        response.delete_cookie(LOGIN_COOKIE, path="/ui/callback")
        response.set_cookie(COOKIE, sessions.create(user, tokens), path="/", httponly=True,
                            secure=request.url.scheme == "https", samesite="lax")  # fmt: skip
        return response

    @router.post("/logout")
    async def logout(request: Request) -> HTMLResponse:
        """End the session here and Keycloak's single sign-on session; the next page asks for
        the password again. A POST: another site's page cannot sign its visitors out (its
        form would not carry the SameSite=Lax cookie)."""
        ended = sessions.drop(request.cookies.get(COOKIE, ""))
        if ended is not None:
            await sessions.endpoint.logout(ended.tokens)
        response = _page("Signed out", "You are signed out of Rollway and of Keycloak.", 200)
        response.delete_cookie(COOKIE, path="/")
        return response

    @router.get("/session")
    def who(request: Request) -> JSONResponse:
        """Who the page's session is (its tokens stay here); 401 without one."""
        session = sessions.get(request.cookies.get(COOKIE, ""))
        if session is None:
            return JSONResponse({"detail": "not signed in"}, status_code=401, headers=HEADERS)
        return JSONResponse({"user": session.user}, headers=HEADERS)

    @router.get("/{page:path}", name="pages")
    def pages(request: Request, page: str) -> Response:
        """Every page is the same shell; its script reads the path. No session: login first."""
        if sessions.get(request.cookies.get(COOKIE, "")) is None:
            back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/ui/login?next={_quote(back)}", status_code=303)
        return Response(shell, media_type="text/html; charset=utf-8", headers=HEADERS)

    return router


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


def _login_failed(reason: str) -> HTMLResponse:
    return _page("Sign-in failed", f"{reason}.", 400)


def _page(title: str, text: str, status: int) -> HTMLResponse:
    """A page of its own (no script): a link to sign in (again) and a line saying why."""
    body = (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{title} — Rollway</title>'
        '<link rel="stylesheet" href="/ui/static/app.css">'
        f"<main><h1>{title}</h1><p>{html.escape(text)}</p>"
        '<p><a href="/ui/login">Sign in again</a></p></main></html>'
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)
