"""Dashboard sessions in memory: what ends them, and how far they grow (no network here)."""

from __future__ import annotations

import asyncio
import time

import pytest

from rollway.apiserver.ui import sessions as module
from rollway.apiserver.ui.sessions import PendingLogin, Sessions, TokenEndpoint, Tokens

ENDPOINT = TokenEndpoint("http://127.0.0.1:9/realms/r/protocol/openid-connect/token", "c")


def tokens(expires_in: float) -> Tokens:
    return Tokens(access="a", refresh="", id_token="", access_expires=time.time() + expires_in)


def login(created_at: float) -> PendingLogin:
    return PendingLogin("v", "n", "/ui/", "http://127.0.0.1/ui/callback", created_at)


def test_a_session_ends_after_its_idle_time_and_on_logout() -> None:
    store = Sessions(ENDPOINT, idle=60, refresh_margin=20)
    kept, idle = store.create("alice", tokens(300)), store.create("bob", tokens(300))
    store._sessions[idle].used_at -= 61
    assert store.get(idle) is None and store.get(kept) is not None
    assert store.drop(kept) is not None and store.get(kept) is None


def test_a_fresh_token_is_sent_as_it_is() -> None:
    store = Sessions(ENDPOINT, idle=60, refresh_margin=20)
    session_id = store.create("alice", tokens(300))
    assert asyncio.run(store.access_token(session_id)) == "a"


def test_a_token_that_cannot_be_refreshed_ends_the_session() -> None:
    # No refresh token: refused before any request is made.
    store = Sessions(ENDPOINT, idle=60, refresh_margin=20)
    session_id = store.create("alice", tokens(10))
    assert asyncio.run(store.access_token(session_id)) is None
    assert store.get(session_id) is None


def test_a_login_completes_once_and_not_after_its_time() -> None:
    store = Sessions(ENDPOINT, idle=60, refresh_margin=20)
    state = store.begin_login(login(time.time()))
    assert store.finish_login(state) is not None
    assert store.finish_login(state) is None  # a replayed callback
    late = store.begin_login(login(time.time() - module.LOGIN_TTL - 1))
    assert store.finish_login(late) is None


def test_the_oldest_sessions_go_first_past_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "MAX_SESSIONS", 2)
    store = Sessions(ENDPOINT, idle=60, refresh_margin=20)
    first, second = store.create("a", tokens(300)), store.create("b", tokens(300))
    store.get(first)  # used: now the newest
    third = store.create("c", tokens(300))
    assert store.get(second) is None
    assert store.get(first) is not None and store.get(third) is not None
