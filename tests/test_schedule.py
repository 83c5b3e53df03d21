"""Digest times, quiet hours and pauses, in the chat's own time zone, with any clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import (
    ScheduleError,
    is_due,
    parse_clock,
    parse_digest_times,
    parse_duration,
    parse_quiet,
    parse_timezone,
    paused_until,
    quiet_end,
    release_at,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8", time(8)), ("08:00", time(8)), ("18:30", time(18, 30)), (" 0:05 ", time(0, 5))],
)
def test_parse_clock(text, expected):
    assert parse_clock(text) == expected


@pytest.mark.parametrize("text", ["24:00", "8:60", "eight", "", "8:5", "-1"])
def test_parse_clock_refuses(text):
    with pytest.raises(ScheduleError, match="HH:MM"):
        parse_clock(text)


def test_digest_times_are_sorted_and_deduplicated():
    assert parse_digest_times(["18:00", "8", "08:00"]) == ["08:00", "18:00"]
    with pytest.raises(ScheduleError):
        parse_digest_times([])
    with pytest.raises(ScheduleError, match="at most"):
        parse_digest_times([f"{h}:00" for h in range(7)])


def test_parse_quiet():
    assert parse_quiet("23:00-07:00") == ["23:00", "07:00"]
    assert parse_quiet("22 – 6:30") == ["22:00", "06:30"]
    for bad in ("23:00", "23:00-23:00", "-07:00", "late-early"):
        with pytest.raises(ScheduleError):
            parse_quiet(bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8h", timedelta(hours=8)),
        ("30m", timedelta(minutes=30)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1H", timedelta(hours=1)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "8", "h", "0h", "31d", "8h tomorrow", "-2h", "1000000000d", "9" * 400 + "m"]
)
def test_parse_duration_refuses(text):
    with pytest.raises(ScheduleError):
        parse_duration(text)


def test_parse_timezone_any_case():
    assert parse_timezone("asia/shanghai") == "Asia/Shanghai"
    assert parse_timezone("UTC") == "UTC"
    with pytest.raises(ScheduleError, match="Asia/Shanghai"):
        parse_timezone("Mars/Olympus")


def test_instant_chat_gets_alerts_at_once():
    created = sh(26, 10)
    assert release_at({}, created) == created
    assert is_due({}, created, created)


def test_digest_releases_at_the_next_local_digest_time():
    settings = {"timezone": "Asia/Shanghai", "digest": ["08:00", "18:00"]}
    assert release_at(settings, sh(26, 7, 59)) == sh(26, 8)
    assert release_at(settings, sh(26, 8)) == sh(26, 18)  # strictly after
    assert release_at(settings, sh(26, 19)) == sh(27, 8)  # tomorrow morning
    # 08:00 in Shanghai is 00:00 UTC
    created = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert release_at(settings, created) == datetime(2026, 11, 26, 0, 0, tzinfo=UTC)
    assert not is_due(settings, created, sh(26, 7, 59))
    assert is_due(settings, created, sh(26, 8))


def test_quiet_hours_wrap_midnight_and_hold_until_they_end():
    settings = {"timezone": "Asia/Shanghai", "quiet": ["23:00", "07:00"]}
    assert quiet_end(settings, sh(26, 22, 59)) is None
    assert quiet_end(settings, sh(26, 23)) == sh(27, 7)
    assert quiet_end(settings, sh(27, 3)) == sh(27, 7)
    assert quiet_end(settings, sh(27, 7)) is None
    assert release_at(settings, sh(26, 23, 30)) == sh(27, 7)
    # created just before the quiet hours but not yet sent: still held while they last
    assert not is_due(settings, sh(26, 22, 59), sh(26, 23, 1))
    assert is_due(settings, sh(26, 22, 59), sh(27, 7))


def test_quiet_hours_within_one_day():
    settings = {"quiet": ["12:00", "13:00"]}  # UTC
    noon = datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
    assert quiet_end(settings, noon) == datetime(2026, 11, 26, 13, tzinfo=UTC)
    assert quiet_end(settings, noon + timedelta(hours=1)) is None


def test_digest_inside_quiet_hours_moves_to_their_end():
    settings = {"timezone": "Asia/Shanghai", "digest": ["06:00"], "quiet": ["23:00", "07:00"]}
    assert release_at(settings, sh(26, 12)) == sh(27, 7)


def test_pause():
    now = datetime(2026, 11, 26, 10, tzinfo=UTC)
    later = now + timedelta(hours=8)
    assert paused_until({"paused_until": later.isoformat()}, now) == later
    assert paused_until({"paused_until": later.isoformat()}, later) is None
    assert paused_until({"paused_until": "garbage"}, now) is None
    assert paused_until({}, now) is None


def test_bad_stored_values_fall_back_instead_of_crashing():
    settings = {"timezone": "Nowhere/Land", "digest": ["25:00", "x"], "quiet": ["x"]}
    created = datetime(2026, 11, 26, 10, tzinfo=UTC)
    assert release_at(settings, created) == created
