"""Log and event streams: a bounded number per caller and in all, on threads of their own.

A stream relays a blocking iterator (the engine's log follow, its workflow watch), one item per
worker-thread call. On the server's default worker threads some forty followers would starve
every other route; here a stream's calls go through a limiter of their own, and each open stream
holds a slot: a caller with `streams_per_user` streams open, or a server with `streams_total`,
is answered 429 until one ends. When a client goes away, its stream is cancelled: the engine's
blocking read is woken (`backends.Cancel`), so the thread and the slot are free at once, not at
the next line or the end of the workflow.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar, cast

import anyio
import anyio.to_thread

from ..errors import RollwayError
from ..workflows.backends import Cancel

T = TypeVar("T")

_END = object()


class TooManyStreams(RollwayError):
    status = 429
    title = "Too many streams"


class Streams:
    """The open streams, counted per caller (the token's subject); used on the event loop only."""

    def __init__(self, per_user: int, total: int) -> None:
        self.per_user, self.total = per_user, total
        self.open: Counter[str] = Counter()
        self._limiter: anyio.CapacityLimiter | None = None

    def take(self, caller: str) -> None:
        """Count a new stream of `caller`, or refuse it naming the limit reached."""
        if self.open[caller] >= self.per_user:
            raise TooManyStreams(
                f"{self.per_user} streams are open for this caller, the most allowed: "
                "close one (or wait for it to end) first",
                field="streams_per_user",
            )
        if self.open.total() >= self.total:
            raise TooManyStreams(
                f"the server has {self.total} streams open, the most it serves: try again later",
                field="streams_total",
            )
        self.open[caller] += 1

    def give_back(self, caller: str) -> None:
        self.open[caller] -= 1
        if self.open[caller] <= 0:
            del self.open[caller]

    async def relay(self, items: Iterator[T], cancel: Cancel) -> AsyncIterator[T]:
        """The items of a blocking iterator, each fetched on a thread of the streams' limiter;
        `cancel` (which `items` was opened with) wakes the thread when the client goes away."""
        if self._limiter is None:  # created on the event loop, where anyio wants it
            self._limiter = anyio.CapacityLimiter(self.total)
        try:
            while True:
                item = await anyio.to_thread.run_sync(
                    next, items, _END, limiter=self._limiter, abandon_on_cancel=True
                )
                if item is _END:
                    return
                yield cast(T, item)
        finally:
            cancel.cancel()
