"""One POST of a notification, as both senders make it: what counts as delivered, what is tried
again and when, and the egress rules (no redirect, the allowlist before anything is sent)."""

from __future__ import annotations

import email.utils
import json
import time

import httpx
import pytest

from rollway import __version__
from rollway.notify.delivery import (
    ASKED_WAIT,
    RETRY_AFTER,
    Attempt,
    Sender,
    asked_wait,
    retry_after,
)

MESSAGE = {"event": "failed", "at": "2026-01-01T00:00:00+00:00", "text": "Rollway deployment x"}
HOOK = "https://hooks.example/services/T0/B0/s3cr3t"


def sender(answer: httpx.Response | Exception, allowed: list[str] | None = None) -> tuple[Sender, list[httpx.Request]]:  # fmt: skip
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return Sender(allowed, transport=httpx.MockTransport(handle)), seen


def test_a_2xx_is_delivered_with_the_event_and_the_idempotency_key() -> None:
    send, seen = sender(httpx.Response(204))
    assert send.post(HOOK, MESSAGE, key="rollway-notification-7").delivered
    [request] = seen
    assert request.method == "POST" and str(request.url) == HOOK
    assert json.loads(request.content) == MESSAGE
    assert request.headers["X-Rollway-Event"] == "failed"
    assert request.headers["Idempotency-Key"] == "rollway-notification-7"
    assert request.headers["User-Agent"] == f"rollway/{__version__}"


@pytest.mark.parametrize(
    ("status", "retry"), [(500, True), (502, True), (503, True), (429, True), (400, False),
                          (401, False), (404, False), (410, False)],
)  # fmt: skip
def test_a_server_failure_or_429_is_tried_again_any_other_refusal_is_final(
    status: int, retry: bool
) -> None:
    send, _ = sender(httpx.Response(status))
    attempt = send.post(HOOK, MESSAGE, key="k")
    phrase = httpx.codes.get_reason_phrase(status)
    assert attempt == Attempt(f"HTTP {status}", status, phrase, retry=retry)


def test_a_redirect_is_not_followed_and_is_final() -> None:
    send, seen = sender(httpx.Response(307, headers={"Location": "http://127.0.0.7/steal"}))
    attempt = send.post(HOOK, MESSAGE, key="k")
    assert (attempt.error, attempt.retry) == ("HTTP 307: redirects are not followed", False)
    assert [str(r.url) for r in seen] == [HOOK]


def test_a_host_off_the_allowlist_is_never_contacted() -> None:
    send, seen = sender(httpx.Response(204), allowed=["chat.example"])
    attempt = send.post(HOOK, MESSAGE, key="k")
    assert attempt == Attempt("host hooks.example is not an allowed notification host")
    assert seen == []
    allowed, seen = sender(httpx.Response(204), allowed=["*.example"])
    assert allowed.post(HOOK, MESSAGE, key="k").delivered and len(seen) == 1


def test_no_allowlist_is_nothing_allowed_but_none_is_the_administrators_own_webhooks() -> None:
    nothing, seen = sender(httpx.Response(204), allowed=[])
    assert not nothing.post(HOOK, MESSAGE, key="k").delivered and seen == []
    administrators, seen = sender(httpx.Response(204), allowed=None)
    assert administrators.post(HOOK, MESSAGE, key="k").delivered and len(seen) == 1


@pytest.mark.parametrize("url", ["ftp://hooks.example/x", "http://[::1/hook?token=s3cr3t", ""])
def test_a_url_that_is_not_http_is_final_and_sends_nothing(url: str) -> None:
    send, seen = sender(httpx.Response(204), allowed=None)
    assert send.post(url, MESSAGE, key="k") == Attempt("not an http(s) URL")
    assert seen == []


def test_no_answer_is_tried_again_and_the_error_names_the_host_not_the_url() -> None:
    send, _ = sender(httpx.ConnectError("refused"))
    attempt = send.post(HOOK, MESSAGE, key="k")
    assert attempt == Attempt("ConnectError reaching hooks.example", retry=True)
    assert "s3cr3t" not in str(attempt)


def test_the_schedule_then_given_up() -> None:
    waits = [retry_after(failures) for failures in range(1, len(RETRY_AFTER) + 2)]
    assert waits == [*RETRY_AFTER, None]
    assert retry_after(0) is None
    assert list(RETRY_AFTER) == sorted(RETRY_AFTER)


@pytest.mark.parametrize(
    ("status", "header", "asked"),
    [
        (429, "7", 7.0),
        (503, "0", 0.0),
        (503, "soon", None),
        (503, None, None),
        (400, "7", None),
    ],
)
def test_a_retry_after_of_a_failure_worth_retrying_is_kept(
    status: int, header: str | None, asked: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    send, _ = sender(httpx.Response(status, headers=headers))
    assert send.post(HOOK, MESSAGE, key="k").asked_wait == asked


def test_a_retry_after_date_is_the_time_until_then() -> None:
    assert asked_wait("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # long past: now
    assert asked_wait("²") is None  # a digit to str.isdigit, not to float()
    later = asked_wait(email.utils.formatdate(time.time() + 120, usegmt=True))
    assert later is not None and 100 < later <= 120


def test_a_longer_pause_asked_for_is_taken_a_shorter_one_is_not() -> None:
    assert retry_after(1, 12.0) == 12.0 and retry_after(2, 12.0) == RETRY_AFTER[1]
    assert retry_after(1, 0.0) == RETRY_AFTER[0]  # the schedule rides out an outage
    assert retry_after(1, 86400.0) == ASKED_WAIT  # never parked for a day
    assert retry_after(len(RETRY_AFTER) + 1, 12.0) is None  # the number of tries stays


def test_a_message_without_an_event_is_sent_without_the_event_header() -> None:
    send, seen = sender(httpx.Response(204))
    assert send.post(HOOK, {"x": 1}, key="k").delivered
    assert "X-Rollway-Event" not in seen[0].headers
