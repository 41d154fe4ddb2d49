"""Dashboard sessions: the Keycloak tokens of signed-in browsers, kept in the server's memory.

A browser holds only a random session id in an HttpOnly cookie; its tokens never reach page
script, URLs or logs. The access token is refreshed with the refresh token shortly before it
expires; when that fails the session ends and the page sends the user through login again.
Sessions live in one process: run one API server replica per dashboard, or pin browsers to one
(a restart signs everyone out, which costs a login through Keycloak's still-open SSO session).
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from collections import OrderedDict
from typing import Any

import httpx

#: Most sessions (and pending logins) kept; the least recently used go first.
MAX_SESSIONS = 10_000
#: Seconds a login may take between the redirect to Keycloak and the callback.
LOGIN_TTL = 600.0


class TokenRefused(Exception):
    """Keycloak's token endpoint refused the code or the refresh token (or was unreachable)."""


@dataclasses.dataclass
class Tokens:
    access: str
    refresh: str
    id_token: str
    access_expires: float

    @classmethod
    def of(cls, answer: dict[str, Any], now: float) -> Tokens:
        return cls(
            access=str(answer["access_token"]),
            refresh=str(answer.get("refresh_token") or ""),
            id_token=str(answer.get("id_token") or ""),
            access_expires=now + float(answer.get("expires_in") or 60),
        )


@dataclasses.dataclass
class Session:
    user: str
    tokens: Tokens
    used_at: float
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)


@dataclasses.dataclass(frozen=True)
class PendingLogin:
    """What the callback needs of the login it completes."""

    verifier: str
    nonce: str
    next: str
    redirect_uri: str
    created_at: float


class TokenEndpoint:
    """Keycloak's token endpoint for the dashboard's public client."""

    def __init__(self, url: str, client_id: str) -> None:
        self.url, self.client_id = url, client_id

    async def exchange(self, code: str, verifier: str, redirect_uri: str) -> Tokens:
        return await self._grant({"grant_type": "authorization_code", "code": code,
                                  "code_verifier": verifier,
                                  "redirect_uri": redirect_uri})  # fmt: skip

    async def refresh(self, tokens: Tokens) -> Tokens:
        if not tokens.refresh:
            raise TokenRefused("no refresh token")
        return await self._grant({"grant_type": "refresh_token", "refresh_token": tokens.refresh})

    async def logout(self, tokens: Tokens) -> None:
        """End the Keycloak session the tokens belong to (its SSO session too), from here:
        the browser's logout then carries no token in a URL. Best effort: a session Keycloak
        already ended is just as ended."""
        url = self.url.removesuffix("/token") + "/logout"
        form = {"client_id": self.client_id, "refresh_token": tokens.refresh}
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                await client.post(url, data=form)
        except httpx.HTTPError:
            pass

    async def _grant(self, form: dict[str, str]) -> Tokens:
        now = time.time()
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                answer = await client.post(self.url, data={**form, "client_id": self.client_id})
        except httpx.HTTPError as err:
            raise TokenRefused(f"Keycloak unreachable: {type(err).__name__}") from None
        if answer.status_code != 200:
            from ...auth.oauth import error_of

            raise TokenRefused(error_of(answer.content)[0] or f"HTTP {answer.status_code}")
        return Tokens.of(answer.json(), now)


class Sessions:
    """Signed-in browsers by session id, and logins under way by their `state`."""

    def __init__(self, endpoint: TokenEndpoint, idle: float, refresh_margin: float) -> None:
        self.endpoint, self.idle, self.refresh_margin = endpoint, idle, refresh_margin
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._logins: OrderedDict[str, PendingLogin] = OrderedDict()

    def begin_login(self, login: PendingLogin) -> str:
        state = secrets.token_urlsafe(32)
        self._logins[state] = login
        _bound(self._logins)
        return state

    def finish_login(self, state: str) -> PendingLogin | None:
        login = self._logins.pop(state, None)
        if login is None or login.created_at + LOGIN_TTL < time.time():
            return None
        return login

    def create(self, user: str, tokens: Tokens) -> str:
        session_id = secrets.token_urlsafe(32)
        self._sessions[session_id] = Session(user, tokens, time.time())
        _bound(self._sessions)
        return session_id

    def get(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.used_at + self.idle < time.time():
            del self._sessions[session_id]
            return None
        session.used_at = time.time()
        self._sessions.move_to_end(session_id)
        return session

    def drop(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)

    async def access_token(self, session_id: str) -> str | None:
        """The session's access token, refreshed when it is about to expire; None (and the
        session ended) when Keycloak no longer refreshes it."""
        session = self.get(session_id)
        if session is None:
            return None
        async with session.lock:
            if session.tokens.access_expires - self.refresh_margin > time.time():
                return session.tokens.access
            try:
                session.tokens = await self.endpoint.refresh(session.tokens)
            except TokenRefused:
                self.drop(session_id)
                return None
            return session.tokens.access


def _bound(entries: OrderedDict[str, Any]) -> None:
    while len(entries) > MAX_SESSIONS:
        entries.popitem(last=False)
