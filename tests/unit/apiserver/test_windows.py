"""Deployment windows: cron minutes, weekday ranges (also past midnight), time zones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rollway.apiserver.schemas.apps import Window
from rollway.apiserver.services.windows import is_open, next_opening

# 2026-11-23 is a Monday.
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def window(**fields: object) -> Window:
    return Window.model_validate(fields)


def test_no_windows_means_always_open() -> None:
    assert is_open([], MONDAY_10)
    assert next_opening([], MONDAY_10) is None


@pytest.mark.parametrize(("hour", "expected"), [(8, False), (9, True), (16, True), (17, False)])
def test_cron_windows_allow_the_minutes_they_match(hour: int, expected: bool) -> None:
    office = window(cron="* 9-16 * * mon-fri")
    assert is_open([office], MONDAY_10.replace(hour=hour, minute=30)) is expected


def test_cron_next_opening() -> None:
    office = window(cron="* 9-16 * * mon-fri")
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
    assert next_opening([office], friday_evening) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_day_ranges_use_their_time_zone() -> None:
    paris = window(days=["mon"], start="11:00", end="12:00", timezone="Europe/Paris")
    assert is_open([paris], MONDAY_10.replace(minute=30))  # 11:30 in Paris
    assert not is_open([paris], MONDAY_10.replace(hour=11, minute=30))  # 12:30 in Paris


def test_ranges_past_midnight_cover_the_early_hours_of_the_next_day() -> None:
    night = window(days=["sun"], start="22:00", end="04:00")
    assert is_open([night], datetime(2026, 11, 22, 23, 0, tzinfo=UTC))  # Sunday night
    assert is_open([night], datetime(2026, 11, 23, 3, 59, tzinfo=UTC))  # Monday early
    assert not is_open([night], datetime(2026, 11, 23, 4, 0, tzinfo=UTC))
    assert not is_open([night], datetime(2026, 11, 23, 23, 0, tzinfo=UTC))  # Monday night


def test_next_opening_is_the_earliest_of_all_windows() -> None:
    windows = [window(days=["wed"], start="09:00", end="10:00"), window(cron="0 6 * * tue")]
    assert next_opening(windows, MONDAY_10) == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"cron": "* * * * *", "days": ["mon"], "start": "09:00", "end": "10:00"},
        {"days": ["mon"], "start": "09:00"},
        {"days": ["mon"], "start": "09:00", "end": "09:00"},
        {"cron": "61 * * * *"},
        {"cron": "* * * * * *"},
        {"cron": "* * * * *", "timezone": "Nowhere/City"},
        {"days": ["monday"], "start": "09:00", "end": "10:00"},
    ],
)
def test_malformed_windows_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        window(**fields)
