"""The retry decision, checked against the order and arithmetic of Argo 3.7's processNodeRetries."""

from __future__ import annotations

import pytest
import yaml

from rollway.workflows.engine import parse, transient
from rollway.workflows.engine.retries import (
    Again,
    Attempt,
    GiveUp,
    Wait,
    decide,
    wait_before,
)
from rollway.workflows.engine.spec import Backoff, Retry
from rollway.workflows.render import rendered


def failed(started: float, finished: float, code: int | None = 75) -> Attempt:
    return Attempt("Failed", f"exit code {code}", code, started, finished)


@pytest.mark.parametrize(
    ("backoff", "waits"),
    [
        (Backoff(2.0), [2, 2, 2, 2]),  # no factor: always the duration
        (Backoff(2.0, factor=2), [2, 4, 8, 16]),  # duration * factor^(n-1)
        (Backoff(2.0, factor=2, cap=5.0), [2, 4, 5, 5]),  # each wait at most the cap
        (Backoff(2.0, factor=0), [2, 2, 2, 2]),  # a factor of 0 is ignored, as in Argo
        (Backoff(2.0, factor=3, max_duration=1.0), [2, 6, 18, 54]),  # maxDuration is no cap
    ],
)
def test_wait_is_duration_times_factor_power_capped(backoff: Backoff, waits: list[float]) -> None:
    assert [wait_before(backoff, n) for n in (1, 2, 3, 4)] == waits


def test_waits_from_the_end_of_the_last_attempt_then_retries() -> None:
    policy = Retry(3, "Always", 75, Backoff(2.0, factor=2))
    attempts = [failed(0, 1)]
    assert decide(policy, attempts, now=1.5) == Wait(3.0, "Backoff for 2 seconds")
    assert decide(policy, attempts, now=3.0) == Again(deadline=None)
    attempts.append(failed(3, 4))
    assert decide(policy, attempts, now=4) == Wait(8.0, "Backoff for 4 seconds")


def test_max_duration_is_the_whole_retry_window() -> None:
    policy = Retry(10, "Always", 75, Backoff(2.0, factor=2, max_duration=10.0))
    # The next attempt must end within 10 s of the first one's start.
    assert decide(policy, [failed(0, 1)], now=3) == Again(deadline=10.0)
    # 2 + 4 s of waiting would end at 9 s: still inside the window.
    assert decide(policy, [failed(0, 1), failed(3, 5)], now=5) == Wait(9.0, "Backoff for 4 seconds")
    # A wait of 8 s after an attempt ending at 9 s would pass 10 s: give up now.
    three = [failed(0, 1), failed(3, 5), failed(9, 9.5)]
    assert decide(policy, three, now=9.5) == GiveUp(
        "Failed", "Backoff would exceed max duration limit"
    )
    assert decide(policy, three, now=10.5) == GiveUp("Failed", "Max duration limit exceeded")


def test_limit_counts_retries_not_attempts() -> None:
    policy = Retry(2, "Always", 75, None)  # no backoff: retry at once
    assert decide(policy, [failed(0, 1)], now=1) == Again(None)
    assert decide(policy, [failed(0, 1)] * 2, now=1) == Again(None)
    assert decide(policy, [failed(0, 1)] * 3, now=1) == GiveUp("Failed", "No more retries left")


def test_expression_false_gives_up_but_only_after_the_backoff() -> None:
    """Argo waits out the backoff before it evaluates the expression."""
    policy = Retry(3, "Always", 75, Backoff(2.0))
    other = [failed(0, 1, code=1)]
    assert decide(policy, other, now=1) == Wait(3.0, "Backoff for 2 seconds")
    assert decide(policy, other, now=3) == GiveUp(
        "Failed", "retryStrategy.expression evaluated to false"
    )
    killed = [failed(0, 1, code=None)]  # deadline: Argo's exitCode "-1"
    assert isinstance(decide(Retry(3, "Always", 75, None), killed, now=1), GiveUp)
    assert decide(Retry(3, "Always", None, None), killed, now=1) == Again(None)


@pytest.mark.parametrize(
    ("policy", "phase", "again"),
    [("Always", "Failed", True), ("Always", "Error", True), ("OnFailure", "Failed", True),
     ("OnFailure", "Error", False), ("OnError", "Failed", False), ("OnError", "Error", True)],
)  # fmt: skip
def test_retry_policy_selects_the_phases_retried(policy: str, phase: str, again: bool) -> None:
    attempt = Attempt(phase, "boom", 1, 0, 1)
    decision = decide(Retry(3, policy, None, None), [attempt], now=1)
    assert decision == (Again(None) if again else GiveUp(phase, "boom"))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.5, "0 seconds"), (1, "1 second"), (2, "2 seconds"), (59, "59 seconds"),
     (60, "1 minute 0 seconds"), (150, "2 minutes 30 seconds"), (3600, "1 hour 0 minutes"),
     (7260, "2 hours 1 minutes")],
)  # fmt: skip
def test_backoff_message_reads_like_argos(seconds: float, text: str) -> None:
    assert decide(Retry(1, "Always", None, Backoff(seconds)), [failed(0, 0)], now=0) == Wait(
        seconds, f"Backoff for {text}"
    )


def rollway_retry() -> Retry:
    """The retryStrategy of `rollway-deploy`'s steps, parsed as the embedded engine does."""
    doc = yaml.safe_load(rendered()["rollway-deploy.yaml"])
    step = next(t for t in doc["spec"]["templates"] if t["name"] == "resolve-artifact")
    retry = parse(doc).templates[step["name"]].retry
    assert retry is not None
    return retry


@pytest.mark.parametrize(
    ("phase", "message", "code", "again"),
    [
        ("Failed", "main: Error (exit code 75)", 75, True),  # the step's TransientError
        (
            "Failed",
            "The node was low on resource: memory. Threshold quantity: 100Mi, "
            "available: 20Mi. Container main was using 300Mi.",
            137,
            True,
        ),  # fmt: skip
        ("Failed", "main: Error (exit code 143)", 143, True),  # the Eviction API, a drain
        ("Error", "pod deleted", None, True),  # gone before Argo saw it end
        (
            "Failed",
            "Pod was active on the node longer than the specified deadline",
            143,
            False,
        ),  # its own deadline: would run out again  # fmt: skip
        ("Failed", "main: OOMKilled (exit code 137)", 137, False),  # comes back every time
        (
            "Failed",
            "Pod ephemeral local storage usage exceeds the total limit of containers 1Mi. ",
            137,
            False,
        ),  # evicted for its own limit: comes back too
        ("Failed", "main: Error (exit code 1)", 1, False),
    ],
)
def test_rollways_steps_retry_transient_failures_only(
    phase: str, message: str, code: int | None, again: bool
) -> None:
    attempt = Attempt(phase, message, code, 0, 1)
    decision = decide(rollway_retry(), [attempt], now=10)
    expected = (
        Again(None) if again else GiveUp(phase, "retryStrategy.expression evaluated to false")
    )
    assert decision == expected


def test_the_expression_argo_runs_is_the_one_the_engine_reads() -> None:
    assert rollway_retry().evictions and rollway_retry().exit_code == 75
    assert transient.parse("asInt(lastRetry.exitCode) == 3") == (3, False)
    assert transient.parse("lastRetry.status == 'Error'") is None
