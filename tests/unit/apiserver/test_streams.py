"""Stream slots (per caller, in all) and the relay of blocking iterators on threads of their own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anyio
import anyio.to_thread
import pytest

from rollway.apiserver.streams import Streams, TooManyStreams
from rollway.workflows.backends import Cancel


def test_a_caller_gets_as_many_streams_as_allowed_then_429() -> None:
    streams = Streams(per_user=2, total=10)
    streams.take("alice")
    streams.take("alice")

    with pytest.raises(TooManyStreams, match="2 streams are open for this caller") as refused:
        streams.take("alice")
    assert refused.value.status == 429 and refused.value.field == "streams_per_user"
    streams.take("bob")  # another caller is not affected
    streams.give_back("alice")
    streams.take("alice")  # a stream that ended frees its slot


def test_the_server_serves_at_most_its_total() -> None:
    streams = Streams(per_user=5, total=3)
    for caller in ("alice", "bob", "carol"):
        streams.take(caller)

    with pytest.raises(TooManyStreams, match="the server has 3 streams open") as refused:
        streams.take("dave")
    assert refused.value.field == "streams_total"
    streams.give_back("bob")
    streams.take("dave")
    assert streams.open == {"alice": 1, "carol": 1, "dave": 1}


def test_a_blocked_stream_does_not_hold_the_default_worker_threads() -> None:
    """With the default pool cut to one thread and a stream blocked in its iterator, a route's
    worker-thread call still runs."""
    blocked, release = threading.Event(), threading.Event()

    def blocking() -> Iterator[str]:
        yield "first"
        blocked.set()
        release.wait()
        yield "second"

    async def scenario() -> list[str]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1
        streams = Streams(per_user=1, total=1)
        received: list[str] = []

        async def follow() -> None:
            async for item in streams.relay(blocking(), Cancel()):
                received.append(item)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(follow)
            while not blocked.is_set():
                await anyio.sleep(0.01)
            # The stream is now blocked in its thread; the default pool still answers.
            try:
                with anyio.fail_after(60):  # a guard against waiting forever, not a measurement
                    assert await anyio.to_thread.run_sync(lambda: "route") == "route"
            finally:
                release.set()
        return received

    assert anyio.run(scenario) == ["first", "second"]


def test_a_relay_whose_client_left_wakes_its_thread_and_frees_it() -> None:
    """Cancelling the relay (its client went away) cancels the engine's stream, which wakes the
    thread blocked in it; the streams' one thread then serves the next stream."""
    cancel, woken = Cancel(), threading.Event()

    def blocking() -> Iterator[str]:
        yield "first"
        cancel.on_cancel(woken.set)  # as the Argo backend shuts its socket down
        woken.wait()

    async def scenario() -> list[str]:
        streams = Streams(per_user=1, total=1)

        async def follow() -> None:
            async for _ in streams.relay(blocking(), cancel):
                pass

        with anyio.fail_after(60):  # a guard against waiting forever, not a measurement
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(follow)
                while not cancel._wake:
                    await anyio.sleep(0.01)
                tasks.cancel_scope.cancel()
            return [item async for item in streams.relay(iter(["next"]), Cancel())]

    assert anyio.run(scenario) == ["next"]
    assert cancel.cancelled and woken.is_set()
