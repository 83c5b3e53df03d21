"""Planning one chat's turn: which of its pending alerts go out now, and as which messages.

:meth:`Planner.plan` takes the chat's pending alerts (and the rest of a split message kept
from an earlier drain) and, in this order:

* drops every one of them for an unknown or inactive chat (``"inactive"``) or a chat paused
  now (``/pause``, "Mute 1 day": ``"paused"``, even those held for a digest or quiet hours);
* sorts the rest (:class:`_Triage`): none of its queries still followed (``/unfollow``:
  ``"unfollowed"``; an alert with some left is shown with those only), older than
  ``max_age`` counted from its release (``"expired"``), held by a digest or quiet hours
  (a drain is scheduled for the first one due), headline gone (``"missing"``), or fresh;
* sorts the fresh ones by story (:mod:`bot.delivery.fold`): a story the chat was alerted
  to lately edits that message (``"edit_failed"``: its message is gone; ``"folded"``: the
  edit would change nothing; a report the message holds already, from an edit whose answer
  was lost, folds into it whatever its age; a message that cannot show one more report, not
  even as "+N more", leaves it to a new alert); the rest are rendered one entry per story, one
  alert with its buttons, several as one compact list (split at headline boundaries under
  4096 characters).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import schedule
from bot.delivery.fold import Folder
from bot.delivery.ledger import ChatWork, DeliveryReport, Ledger, Part
from bot.i18n import language_for
from bot.matching import QueryError, parse_query
from bot.models import Alert, Chat, Headline

__all__ = ["Planner"]

log = logging.getLogger("bot.delivery.outbox")  # the drain's one logger, as before the split


@dataclass
class _Triage:
    """A chat's pending alerts sorted by what happens to them in this drain."""

    settings: dict[str, Any]
    following: set[str]  # keys of the queries the chat follows now
    now: datetime
    cutoff: datetime  # released before this: expired
    fresh: list[tuple[Alert, Headline]] = field(default_factory=list)
    expired: list[Alert] = field(default_factory=list)
    missing: list[Alert] = field(default_factory=list)
    unfollowed: list[Alert] = field(default_factory=list)
    held: list[datetime] = field(default_factory=list)  # when each held alert is due

    def file(self, alert: Alert, headline_of: Callable[[str], Headline | None]) -> None:
        # /unfollow since it was queued: only the queries still followed count
        # (compared by query key: /unfollow eVTOL then /follow evtol still follows it)
        queries = tuple(q for q in alert.queries if _query_key(q) in self.following)
        if not queries:
            self.unfollowed.append(alert)
            return
        if queries != alert.queries:
            alert = dataclasses.replace(alert, queries=queries)  # same key, fewer queries
        # A digest or quiet hours hold an alert: its age counts from its release.
        release = schedule.release_at(self.settings, alert.created)
        if release < self.cutoff:
            self.expired.append(alert)
        elif not schedule.is_due(self.settings, alert.created, self.now):
            quiet_end = schedule.quiet_end(self.settings, self.now)
            self.held.append(max(release, quiet_end or release))
        elif (headline := headline_of(alert.headline_id)) is None:
            self.missing.append(alert)
        else:
            self.fresh.append((alert, headline))


class Planner:
    """Builds a chat's messages for one drain; see the module docstring."""

    def __init__(self, store: Any, ledger: Ledger, folder: Folder, *,
                 clock: Callable[[], datetime], max_age: timedelta) -> None:
        self.store = store
        self.ledger = ledger
        self.folder = folder
        self.clock = clock
        self.max_age = max_age

    def plan(self, work: ChatWork, report: DeliveryReport) -> deque[Part]:
        """The chat's messages, the rest of a split message first; drops what is not owed."""
        chat = self.store.chat(work.chat_id)
        rest = self._resume(work.chat_id)
        if chat is None or not chat.active:
            return self._drop_all(work, rest, "inactive", report)
        now = self.clock()
        if schedule.paused_until(chat.settings, now) is not None:
            # /pause or "Mute 1 day" since they were queued: held, backlog, all skipped
            return self._drop_all(work, rest, "paused", report)
        triage = self._triage(work, chat, now)
        self._settle(work.chat_id, triage, report)
        parts = deque(rest)
        if triage.fresh:
            parts.extend(self._render(chat, triage.fresh, report, now))
        return parts

    def _resume(self, chat_id: int) -> list[Part]:
        """The rest of a split message kept from an earlier drain, if still ours."""
        unfinished = self.ledger.unfinished.pop(chat_id, None)
        if unfinished is None:
            return []
        # still ours? (nothing else moves "sending" alerts)
        unfinished.alerts = [
            a for a in unfinished.alerts
            if self.store.alert_state(chat_id, a.headline_id) == "sending"
        ]
        return [unfinished] if unfinished.alerts else []

    def _drop_all(self, work: ChatWork, rest: list[Part], reason: str,
                  report: DeliveryReport) -> deque[Part]:
        self.ledger.drop(work.alerts + [a for p in rest for a in p.alerts], reason, report)
        return deque()

    def _triage(self, work: ChatWork, chat: Chat, now: datetime) -> _Triage:
        following = _query_keys(self.store.subscriptions(work.chat_id))
        triage = _Triage(chat.settings, following, now, now - self.max_age)
        for alert in work.alerts:
            triage.file(alert, self.store.headline)
        return triage

    def _settle(self, chat_id: int, triage: _Triage, report: DeliveryReport) -> None:
        """Drop what is no longer owed; schedule a drain for the first held alert."""
        if triage.expired:
            log.info("chat %s: %d alerts older than %s not delivered", chat_id,
                     len(triage.expired), self.max_age)
            self.ledger.drop(triage.expired, "expired", report)
        if triage.missing:
            self.ledger.drop(triage.missing, "missing", report)
        if triage.unfollowed:
            self.ledger.drop(triage.unfollowed, "unfollowed", report)
        if triage.held:  # wake up when the first held alert is due
            due = (min(triage.held) - triage.now).total_seconds()
            self.ledger.schedule_retry(max(0.05, due))

    def _render(self, chat: Chat, fresh: list[tuple[Alert, Headline]],
                report: DeliveryReport, now: datetime) -> list[Part]:
        """Edits of the messages whose stories got new reports, then the new messages."""
        tz = schedule.zone(chat.settings)
        lang = language_for(chat.settings, chat.settings.get("lang_hint"))
        folds, gone, entries = self.folder.sort(chat.id, fresh, now)
        if gone:
            log.info("chat %s: %d report(s) of stories whose alert is gone not sent",
                     chat.id, len(gone))
            self.ledger.drop(gone, "edit_failed", report)
        parts = []
        for fold in folds:
            part = self.folder.edit_part(chat, fold, tz=tz, lang=lang)
            if part == "anew":
                more, held = self.folder.anew(fold)
                entries.extend(more)
                self.ledger.drop(held, "folded", report)
            elif isinstance(part, str):
                self.ledger.drop([a for a, _ in fold.pairs], part, report)
            else:
                parts.append(part)
        if entries:
            parts.extend(self.folder.new_parts(chat, entries, tz=tz, lang=lang, now=now))
        return parts


def _query_key(text: str) -> str:
    try:
        return parse_query(text).key
    except QueryError:
        return text  # a stored text that no longer parses is only itself


def _query_keys(texts: Sequence[str]) -> set[str]:
    return {_query_key(text) for text in texts}
