"""Delivering a notification: one POST, judged the same way for every sender, and when to retry.

The API server's outbox keeps a message across restarts and tries it on the whole schedule; the
exit handler tries it on the part of the schedule that fits its pod's time budget. A receiver
that asks for a longer pause (`Retry-After`, as Slack and Teams do when they throttle) gets it,
up to an hour, on the same number of tries. A webhook URL
is often a credential: no error here shows one. A redirect is never followed (it would lead the
sender to any host), and before every POST the host passes the egress check of
`rollway.destinations`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx

from .. import __version__
from ..destinations import notification_host_allowed, origin

#: Seconds to wait after the 1st, 2nd, … failed try before the next one; after the last failed
#: try the message is given up. Quick tries ride out a receiver restarting, later ones an outage.
RETRY_AFTER = (5, 30, 120, 600, 1800)
#: The longest pause a receiver may ask for: a message is never parked for a day.
ASKED_WAIT = 3600
#: Seconds one POST may take.
TIMEOUT = 10.0


@dataclass(frozen=True)
class Attempt:
    """How one POST went: delivered (no `error`), or why not and whether to try again."""

    error: str | None = None
    #: The receiver's HTTP status and reason phrase, when it answered.
    status: int | None = None
    detail: str = ""
    #: A 5xx, a 429 or no answer at all: trying again may work. Anything else is final.
    retry: bool = False
    #: Seconds the receiver asked to be left alone (its Retry-After), when it said.
    asked_wait: float | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


def retry_after(failures: int, asked: float | None = None) -> float | None:
    """Seconds before the next try once `failures` tries failed: the schedule's, or longer if
    the receiver `asked` for longer (at most ASKED_WAIT); None when the message is given up.
    A receiver asking for less does not shorten the schedule, which rides out an outage."""
    if not 0 < failures <= len(RETRY_AFTER):
        return None
    scheduled = RETRY_AFTER[failures - 1]
    return scheduled if asked is None else max(scheduled, min(asked, ASKED_WAIT))


def asked_wait(value: str | None) -> float | None:
    """A Retry-After header's pause in seconds (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Sender:
    """POSTs messages to webhooks over one HTTP client."""

    def __init__(
        self,
        allowed_hosts: Iterable[str] | None,
        *,
        timeout: float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """`allowed_hosts`: where messages may go (`notification_host_allowed`, checked before
        every POST). None only for the administrator's own webhooks (ROLLWAY_NOTIFY_WEBHOOKS):
        any http(s) host they name."""
        self.allowed_hosts = None if allowed_hosts is None else list(allowed_hosts)
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            # Connection failures only: a request that reached the receiver waits for the schedule.
            transport=transport or httpx.HTTPTransport(retries=2),
            headers={"User-Agent": f"rollway/{__version__}"},
        )

    def post(self, url: str, message: Mapping[str, Any], *, key: str) -> Attempt:
        """POST `message` once; `key` is its Idempotency-Key, the same on every try."""
        found = origin(url)
        if found is None:
            return Attempt("not an http(s) URL")
        host = found[1]
        if self.allowed_hosts is not None and not notification_host_allowed(
            url, self.allowed_hosts
        ):
            return Attempt(f"host {host} is not an allowed notification host")
        headers = {"Idempotency-Key": key}
        if "event" in message:
            headers["X-Rollway-Event"] = str(message["event"])
        try:
            response = self._http.post(url, json=dict(message), headers=headers)
        except httpx.InvalidURL:
            return Attempt("not an http(s) URL")
        except httpx.HTTPError as err:
            return Attempt(f"{type(err).__name__} reaching {host}", retry=True)
        status, detail = response.status_code, response.reason_phrase
        if response.is_success:
            return Attempt(status=status, detail=detail)
        if response.is_redirect:
            return Attempt(f"HTTP {status}: redirects are not followed", status)
        retry = status >= 500 or status == 429
        asked = asked_wait(response.headers.get("Retry-After")) if retry else None
        return Attempt(f"HTTP {status}", status, detail, retry=retry, asked_wait=asked)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
