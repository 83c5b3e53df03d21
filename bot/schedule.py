"""When a chat wants its alerts: instant, digests at local times, quiet hours, pauses.

Pure functions over a chat's settings (``Chat.settings``) and a time, so they are easy to test
with any clock and hold no state a restart could lose.  The settings keys are:

- ``timezone``: an IANA name (default ``UTC``);
- ``digest``: a list of ``"HH:MM"`` local times; empty or absent means instant delivery;
- ``quiet``: ``["HH:MM", "HH:MM"]``, a local window (it may wrap past midnight) in which
  nothing is sent; what matched meanwhile arrives as one message when it ends;
- ``paused_until``: an ISO time; until then, new headlines are not collected for the chat.

``release_at(settings, created)`` is when an alert created at ``created`` may go out.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

MAX_DIGESTS = 6
MAX_PAUSE = timedelta(days=30)

_CLOCK = re.compile(r"^([01]?\d|2[0-3])(?::([0-5]\d))?$")
_DURATION = re.compile(r"(\d+)\s*(d|h|m)", re.IGNORECASE)


class ScheduleError(ValueError):
    """A time, window, duration or zone the user typed is not valid.  ``code`` names the
    reason and ``arguments`` its values (``code="err_zone", arguments={"text": "Mars"}``); the
    handlers say it in the chat's language.  ``str(error)`` is the reason in plain English."""

    #: The English reason of each code (``str()``); the chat's words live in ``bot.i18n``.
    MESSAGES: ClassVar[dict[str, str]] = {
        "err_clock": "'{text}' is not a time of day; write it as HH:MM, e.g. 08:00",
        "err_no_times": "give at least one time, e.g. /digest 08:00 18:00",
        "err_many_digests": "at most {limit} digests a day",
        "err_quiet_form": "write quiet hours as START-END, e.g. /quiet 23:00-07:00",
        "err_quiet_same": "quiet hours must start and end at different times",
        "err_duration": "'{text}' is not a duration; write e.g. 30m, 8h or 2d",
        "err_too_long": "at most 30 days",
        "err_zero": "the duration must be more than zero",
        "err_zone": "'{text}' is not a time zone I know; use a name like Asia/Shanghai, "
        "Europe/Berlin or America/New_York",
    }

    def __init__(self, code: str, **arguments: Any) -> None:
        self.code = code
        self.arguments = arguments
        super().__init__(self.MESSAGES[code].format(**arguments))


def parse_clock(text: str) -> time:
    """``"8"``, ``"08:00"``, ``"18:30"`` -> a time of day."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise ScheduleError("err_clock", text=text)
    return time(int(match.group(1)), int(match.group(2) or 0))


def format_clock(value: time) -> str:
    return value.strftime("%H:%M")


def parse_digest_times(words: list[str]) -> list[str]:
    """``["08:00", "18:00"]`` -> the same, normalised, sorted and without repeats."""
    if not words:
        raise ScheduleError("err_no_times")
    if len(words) > MAX_DIGESTS:
        raise ScheduleError("err_many_digests", limit=MAX_DIGESTS)
    times = sorted({parse_clock(word) for word in words})
    return [format_clock(t) for t in times]


def parse_quiet(text: str) -> list[str]:
    """``"23:00-07:00"`` -> ``["23:00", "07:00"]``."""
    parts = re.split(r"\s*(?:-|–|to)\s*", text.strip())
    if len(parts) != 2 or not all(parts):
        raise ScheduleError("err_quiet_form")
    start, end = parse_clock(parts[0]), parse_clock(parts[1])
    if start == end:
        raise ScheduleError("err_quiet_same")
    return [format_clock(start), format_clock(end)]


def parse_duration(text: str) -> timedelta:
    """``"8h"``, ``"30m"``, ``"2d"``, ``"1h30m"`` -> a duration of at most 30 days."""
    compact = text.strip().replace(" ", "")
    parts = _DURATION.findall(compact)
    if not compact or not parts or "".join(n + u for n, u in parts) != compact:
        raise ScheduleError("err_duration", text=text)
    unit = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
    if any(len(n) > 6 for n, _ in parts):  # a million minutes is already far past the cap
        raise ScheduleError("err_too_long")
    total = sum((int(n) * unit[u.lower()] for n, u in parts), timedelta())
    if total <= timedelta(0):
        raise ScheduleError("err_zero")
    if total > MAX_PAUSE:
        raise ScheduleError("err_too_long")
    return total


@lru_cache(maxsize=1)
def _zones_by_folded_name() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def parse_timezone(text: str) -> str:
    """An IANA zone name in any case (``asia/shanghai``) -> its proper spelling."""
    name = _zones_by_folded_name().get(text.strip().casefold())
    if name is None:
        raise ScheduleError("err_zone", text=text)
    return name


def zone(settings: dict[str, Any]) -> tzinfo:
    try:
        return ZoneInfo(settings.get("timezone") or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def paused_until(settings: dict[str, Any], now: datetime) -> datetime | None:
    raw = settings.get("paused_until")
    if not raw:
        return None
    try:
        until = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        return None
    return until if until > now else None


def _clocks(values: Any) -> list[time]:
    out = []
    for value in values or ():
        try:
            out.append(parse_clock(str(value)))
        except ScheduleError:
            continue
    return out


def _next_digest(local: datetime, digests: list[time]) -> datetime:
    """The first digest time strictly after ``local`` (an aware local datetime)."""
    for day in range(2):
        date = (local + timedelta(days=day)).date()
        for at in sorted(digests):
            candidate = datetime.combine(date, at, tzinfo=local.tzinfo)
            if candidate > local:
                return candidate
    raise AssertionError("unreachable: some digest time falls within two days")


def quiet_end(settings: dict[str, Any], moment: datetime) -> datetime | None:
    """If ``moment`` falls in the chat's quiet hours, when they end; else ``None``."""
    window = _clocks(settings.get("quiet"))
    if len(window) != 2:
        return None
    start, end = window
    local = moment.astimezone(zone(settings))
    now = local.time()
    inside = start <= now < end if start < end else (now >= start or now < end)
    if not inside:
        return None
    end_at = datetime.combine(local.date(), end, tzinfo=local.tzinfo)
    if end_at <= local:
        end_at += timedelta(days=1)
    return end_at


def release_at(settings: dict[str, Any], created: datetime) -> datetime:
    """When an alert created at ``created`` may be sent to a chat with these settings."""
    when = created
    digests = _clocks(settings.get("digest"))
    if digests:
        when = _next_digest(created.astimezone(zone(settings)), digests)
    end = quiet_end(settings, when)
    return end if end is not None else when


def is_instant(settings: dict[str, Any]) -> bool:
    return not _clocks(settings.get("digest"))


def is_due(settings: dict[str, Any], created: datetime, now: datetime) -> bool:
    """May an alert created at ``created`` go out ``now``?  Never inside quiet hours."""
    return release_at(settings, created) <= now and quiet_end(settings, now) is None
