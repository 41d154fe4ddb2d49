"""What Argo's controller does after an attempt of a retried step fails, as a pure function.

It follows `processNodeRetries` of Argo Workflows 3.7 (workflow/controller/operator.go) check by
check and in the same order, so the embedded engine retries, waits and gives up exactly when Argo
would — and with the same message on the step.
"""

from __future__ import annotations

import dataclasses
import math

from .spec import RETRY_POLICIES, Backoff, Retry
from .transient import evicted


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One finished attempt (one pod, on Argo) of a step; times are seconds on one clock."""

    phase: str  # Failed | Error
    message: str
    exit_code: int | None  # None: killed before exiting (deadline); Argo's "-1"
    started: float
    finished: float


@dataclasses.dataclass(frozen=True)
class GiveUp:
    """The step ends with the last attempt's phase and this message."""

    phase: str
    message: str


@dataclasses.dataclass(frozen=True)
class Wait:
    """Back off until `until`, then decide again (Argo requeues the workflow)."""

    until: float
    message: str


@dataclasses.dataclass(frozen=True)
class Again:
    """Start the next attempt now; it must end by `deadline` (backoff.maxDuration), if set."""

    deadline: float | None


Decision = GiveUp | Wait | Again


def wait_before(backoff: Backoff, attempts: int) -> float:
    """Argo's backoff after the `attempts`-th failed attempt: duration * factor^(attempts-1),
    at most `cap` (the factor applies only when it is positive)."""
    wait = backoff.duration
    if backoff.factor is not None and backoff.factor > 0:
        wait = backoff.duration * math.pow(backoff.factor, attempts - 1)
    if backoff.cap is not None and wait > backoff.cap:
        wait = backoff.cap
    return wait


def decide(retry: Retry, attempts: list[Attempt], now: float) -> Decision:
    """After the last of `attempts` failed (shutdown and workflow deadline are the caller's)."""
    last = attempts[-1]
    deadline = None
    backoff = retry.backoff
    if backoff is not None:
        if backoff.max_duration is not None:
            deadline = attempts[0].started + backoff.max_duration
            if now > deadline:
                return GiveUp(last.phase, "Max duration limit exceeded")
        wait = wait_before(backoff, len(attempts))
        waiting_deadline = last.finished + wait
        if deadline is not None and waiting_deadline > deadline:
            return GiveUp(last.phase, "Backoff would exceed max duration limit")
        if now < waiting_deadline and len(attempts) <= retry.limit:
            return Wait(waiting_deadline, f"Backoff for {_humanize(wait)}")
    if last.phase not in RETRY_POLICIES[retry.policy]:
        return GiveUp(last.phase, last.message)
    if len(attempts) > retry.limit:
        return GiveUp(last.phase, "No more retries left")
    if retry.exit_code is not None and not _transient(retry, last):
        return GiveUp(last.phase, "retryStrategy.expression evaluated to false")
    return Again(deadline)


def _transient(retry: Retry, last: Attempt) -> bool:
    """What the template's expression says of the attempt (transient.expression)."""
    return last.exit_code == retry.exit_code or (retry.evictions and evicted(last.message))


def _humanize(seconds: float) -> str:
    """Argo's util/humanize.Duration, for the `Backoff for …` message (up to a day)."""
    if seconds < 60:
        return _truncated(seconds)
    if seconds < 3600:
        return f"{_truncated(seconds)} {int(seconds % 60)} seconds"
    return f"{_truncated(seconds)} {int(seconds // 60 % 60)} minutes"


def _truncated(seconds: float) -> str:
    for below, text, unit in ((1, "0 seconds", 0), (2, "1 second", 0), (60, "{} seconds", 1),
                              (120, "1 minute", 0), (3600, "{} minutes", 60),
                              (7200, "1 hour", 0)):  # fmt: skip
        if seconds < below:
            return text.format(int(seconds // unit)) if unit else text
    return f"{int(seconds // 3600)} hours"
