"""bot/chat_sources/health.py: a chat source failing a day is reported once and polled every
6 hours; its recovery is announced once; the state that says so survives a round trip."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.chat_sources.health import FAILING_FOR, RARE_EVERY, after_poll, reason_code
from bot.sources import SourceState
from bot.sources.registry import CHAT, SourceEntry

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ENTRY = SourceEntry("technode", "https://technode.com/feed/", "TechNode", CHAT,
                    chats=frozenset({1, 2}))


def failed(state: SourceState, at: datetime, error: str = "HTTP 404", status: int | None = 404):
    state.failed(at)
    state.last_error, state.last_status = error, status
    state.next_poll_at = at + timedelta(hours=1)  # the ordinary back-off
    return state


def succeeded(state: SourceState, at: datetime) -> SourceState:
    state.failures, state.last_error, state.last_status = 0, None, 200
    state.failing_since = None
    state.last_success_at, state.next_poll_at = at, at + timedelta(minutes=5)
    return state


def test_a_day_of_failures_is_reported_once_then_polled_rarely():
    state = SourceState(polls=1, last_success_at=T0 - timedelta(minutes=5))
    hour = timedelta(hours=1)
    for n in range(24):  # failing for less than a day: nothing said, ordinary back-off
        now = T0 + n * hour
        assert after_poll(ENTRY, failed(state, now), now) is None
        assert state.next_poll_at == now + hour and state.reported_failing is None
    now = T0 + FAILING_FOR
    notice = after_poll(ENTRY, failed(state, now), now)
    assert notice is not None and notice.kind == "failing"
    assert (notice.reason, notice.detail, notice.since) == ("gone", "HTTP 404", T0)
    assert notice.entry.chats == {1, 2}
    assert state.reported_failing == now and state.next_poll_at == now + RARE_EVERY
    # restored from the store (a restart): still reported, nothing said again
    state = SourceState.from_dict(state.to_dict())
    assert state.reported_failing == now
    later = now + RARE_EVERY
    assert after_poll(ENTRY, failed(state, later), later) is None
    assert state.next_poll_at == later + RARE_EVERY
    # it works again: announced once, ordinary pace
    back = later + RARE_EVERY
    notice = after_poll(ENTRY, succeeded(state, back), back)
    assert notice is not None and notice.kind == "recovered" and notice.since == now
    assert state.reported_failing is None and state.next_poll_at == back + timedelta(minutes=5)
    assert after_poll(ENTRY, succeeded(state, back), back) is None


def test_a_failure_shorter_than_a_day_is_never_mentioned():
    state = SourceState(polls=1, last_success_at=T0)
    now = T0 + timedelta(hours=23, minutes=59)
    assert after_poll(ENTRY, failed(state, now), now) is None
    assert after_poll(ENTRY, succeeded(state, now), now) is None
    assert state.reported_failing is None


def test_an_old_state_without_the_field_reads_as_not_reported():
    data = SourceState(polls=1, last_success_at=T0).to_dict()
    del data["reported_failing"]
    assert SourceState.from_dict(data).reported_failing is None


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        ("HTTP 404", 404, "gone"),
        ("HTTP 410", 410, "gone"),
        ("HTTP 503, Retry-After 120 s", 503, "http"),
        ("HTTP 500", 500, "http"),
        ("refused: 10.0.0.5 is a private address (not in [polling] allow_hosts)", None,
         "forbidden"),
        ("parse error: not a feed", 200, "not_a_feed"),
        ("empty body", 200, "not_a_feed"),
        ("body exceeds the 5000000 byte cap (decoded); cut off", None, "too_large"),
        ("timed out after 60 s", None, "timeout"),
        ("timeout (ReadTimeout)", None, "timeout"),
        ("ConnectError: [Errno -2] Name or service not known", None, "unreachable"),
    ],
)
def test_reasons(error: str, status: int | None, code: str):
    assert reason_code(SourceState(failures=3, last_error=error, last_status=status)) == code


def test_one_failure_after_days_of_downtime_is_no_day_of_failures():
    """The bot was down (or chat sources off) for two days: the first poll since fails once.
    The run of failures began now, so nothing is said yet and the pace stays ordinary."""
    state = SourceState(polls=5, last_success_at=T0 - timedelta(days=2))
    assert after_poll(ENTRY, failed(state, T0), T0) is None
    assert state.failing_since == T0 and state.next_poll_at == T0 + timedelta(hours=1)
    state = SourceState.from_dict(state.to_dict())  # the run's start survives a restart
    later = T0 + FAILING_FOR
    notice = after_poll(ENTRY, failed(state, later), later)
    assert notice is not None and notice.kind == "failing" and notice.since == T0
    assert state.failing_since == T0  # kept through the run


def test_a_run_begun_before_runs_were_dated_counts_from_the_last_success():
    """A state saved by an older bot, failing already: its run began after its last success,
    so the notice comes when the day since that is up, not a day after the upgrade."""
    data = SourceState(polls=1, failures=3, last_success_at=T0 - timedelta(days=3)).to_dict()
    del data["failing_since"]
    state = SourceState.from_dict(data)
    assert state.failing_since is None
    notice = after_poll(ENTRY, failed(state, T0), T0)
    assert state.failing_since == T0 - timedelta(days=3) and state.failures == 4
    assert notice is not None and notice.kind == "failing"
    never = SourceState(failures=2, watching_since=T0 - timedelta(days=2)).to_dict()
    del never["failing_since"]  # one that never worked: failing since it was first watched
    state = SourceState.from_dict(never)
    state.failed(T0)
    assert state.failing_since == T0 - timedelta(days=2)
