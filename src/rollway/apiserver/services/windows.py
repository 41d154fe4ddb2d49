"""Deployment windows: is now inside one, and if not, when does the next one open.

A window is a cron expression of allowed minutes (croniter evaluates it) or weekdays with a time
range, in its own time zone; a range whose end is before its start runs past midnight.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

from ..schemas.apps import Window

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_open(windows: Sequence[Window], now: datetime) -> bool:
    """No windows: always open."""
    return not windows or any(_inside(w, now) for w in windows)


def next_opening(windows: Sequence[Window], now: datetime) -> datetime | None:
    """The earliest time after `now` when a window is open (within a week), in UTC."""
    candidates = [t for w in windows if (t := _next(w, now)) is not None]
    return min(candidates) if candidates else None


def _inside(window: Window, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(window.timezone))
    if window.cron is not None:
        return bool(croniter.match(window.cron, local.replace(second=0, microsecond=0)))
    assert window.days is not None and window.start is not None and window.end is not None
    clock, today = local.time().replace(tzinfo=None), DAYS[local.weekday()]
    if window.start < window.end:
        return today in window.days and window.start <= clock < window.end
    # Past midnight: the evening of a listed day, or the early hours after one.
    yesterday = DAYS[(local.weekday() - 1) % 7]
    return (today in window.days and clock >= window.start) or (
        yesterday in window.days and clock < window.end
    )


def _next(window: Window, now: datetime) -> datetime | None:
    zone = ZoneInfo(window.timezone)
    local = now.astimezone(zone)
    if window.cron is not None:
        nxt: datetime = croniter(window.cron, local).get_next(datetime)
        return nxt.astimezone(ZoneInfo("UTC"))
    assert window.days is not None and window.start is not None
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if DAYS[day.weekday()] in window.days:
            opening = datetime.combine(day, window.start, tzinfo=zone)
            if opening > local:
                return opening.astimezone(ZoneInfo("UTC"))
    return None
