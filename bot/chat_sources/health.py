"""A chat's own source that stops working: told to its chats once, polled more rarely, and
its recovery announced once.

Pure (no I/O, no Telegram): the poller calls :func:`after_poll` on the state of a chat's own
source after each poll, before it saves that state, so what was told is saved with the poll
(a restart neither repeats a notice nor loses one that was decided: the notice is sent after
the state holding ``reported_failing`` is durable).

* **failing**: the source has failed every poll for ``FAILING_FOR`` (a day): since the first
  failed poll of the run (``failing_since``), so a bot that was down for days, then meets one
  failure, says nothing yet;
  ``reported_failing`` is set, and from then on it is polled at most every ``RARE_EVERY``
  (6 hours) until it works again;
* **recovered**: a poll succeeds (200 or 304) while ``reported_failing`` is set; it is
  cleared.
A source that fails and recovers within the day is never mentioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.sources import SourceState
from bot.sources.registry import SourceEntry

__all__ = ["FAILING_FOR", "RARE_EVERY", "Notice", "after_poll", "reason_code"]

FAILING_FOR = timedelta(days=1)
RARE_EVERY = timedelta(hours=6)


@dataclass(frozen=True, slots=True)
class Notice:
    """What to tell the chats of ``entry`` (``entry.chats``)."""

    kind: str  # "failing" | "recovered"
    entry: SourceEntry
    reason: str  # failing: reason_code(state); recovered: ""
    detail: str  # failing: the last error as recorded ("HTTP 404", "timed out after 60 s")
    since: datetime  # failing: the run's first failed poll; recovered: when it was reported


def reason_code(state: SourceState) -> str:
    """Why the source fails, as a code the chat's language words: ``gone`` (404, 410),
    ``http`` (another status), ``forbidden`` (the address policy), ``not_a_feed``,
    ``too_large``, ``timeout``, else ``unreachable``."""
    error = (state.last_error or "").lower()
    if error.startswith("refused"):
        return "forbidden"
    if error.startswith(("parse error", "empty body")):
        return "not_a_feed"
    if state.last_status in (404, 410):
        return "gone"
    if state.last_status is not None and state.last_status != 200:
        return "http"
    if "byte cap" in error or "too large" in error:
        return "too_large"
    if "timed out" in error or "timeout" in error:
        return "timeout"
    return "unreachable"


def failing_since(state: SourceState) -> datetime | None:
    """When the run of failed polls began, if the source fails now (``SourceState.failed``
    dates it)."""
    if state.failures <= 0:
        return None
    return state.failing_since or state.last_success_at or state.watching_since


def after_poll(entry: SourceEntry, state: SourceState, now: datetime) -> Notice | None:
    """Review a chat source's state after a poll: the notice owed (``state`` is changed to
    record it) and, while it is reported failing, its next poll moved to ``RARE_EVERY`` on."""
    reported = state.reported_failing
    since = failing_since(state)
    if since is None:
        if reported is None:
            return None
        state.reported_failing = None
        return Notice("recovered", entry, "", "", reported)
    if reported is None and now - since >= FAILING_FOR:
        state.reported_failing = reported = now
        notice: Notice | None = Notice(
            "failing", entry, reason_code(state), state.last_error or "", since
        )
    else:
        notice = None
    if reported is not None:
        rare = now + RARE_EVERY
        if state.next_poll_at is None or state.next_poll_at < rare:
            state.next_poll_at = rare
    return notice
