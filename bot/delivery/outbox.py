"""Deliverer: drains the store's outbox to Telegram, fairly, batched, and never twice.

Life of an alert (states are the store's): ``pending`` -> ``mark_sending`` once the Pacer has
granted the send its slot, just before the request leaves (its ``granted`` callback) ->
``mark_sent`` once Telegram confirmed it.  If the process dies in between, the store
drops the alert as "outcome unknown" on the next open (never resent: Telegram may have it).

One drain (:meth:`Deliverer.deliver_pending`):

* takes every pending alert, grouped per chat (oldest first);
* drops alerts of unknown/inactive chats (``"inactive"``), every alert of a chat paused now
  (``/pause``, "Mute 1 day": ``"paused"``, even those held for a digest or quiet hours),
  alerts none of whose queries the chat still follows (``/unfollow``: ``"unfollowed"``; an
  alert with some left is shown with those only), alerts older than ``max_age``
  (``"expired"``) and alerts whose headline is gone (``"missing"``);
* folds reports of a story the chat was already alerted to into that alert (an edit that
  adds the source, :mod:`bot.delivery.fold`), and renders the rest one entry per story: one
  alert with :func:`render_alert` and several with :func:`render_batch` (one compact list,
  split at headline boundaries under 4096 characters);
* sends with a bounded pool of workers over a round-robin queue of chats: a worker takes the
  next chat, sends *one* message for it and puts the chat back at the end of the queue if it
  has more.  A chat with a long backlog therefore never holds up the others; the
  :class:`~bot.delivery.pacing.Pacer` does all the timing (sends carry
  ``rate_limit_args=BULK`` so command replies overtake them).

What is done about each answer Telegram gives (sent, flood control, a migrated chat, a
blocked or missing chat, entity errors, too long, rejected, timed out, network errors) is the
table in :mod:`bot.delivery.outcomes`.  After a ``ChatMigrated`` the drain delivers to the new
id in the same drain -- by the new id's own work item if it has one in this drain (never two
senders for one chat).  Before each message the Deliverer also checks that its alerts are
still ``pending``: one no longer pending is not sent again.

Which alerts go out and as which messages: :mod:`bot.delivery.plan`; what each drain records
(the report, drops, releases, the rest of a split message): :mod:`bot.delivery.ledger`.

Sync or async ``on_migrated(old_id, new_id)`` / ``on_gone(chat_id)`` callbacks are both fine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.delivery.fold import Folder
from bot.delivery.ledger import ChatWork, DeliveryReport, Ledger, Part
from bot.delivery.outcomes import Sender
from bot.delivery.plan import Planner
from bot.metrics import Metrics
from bot.models import Alert, utcnow
from bot.story_keeper import StoryKeeper

__all__ = ["Deliverer", "DeliveryReport"]

log = logging.getLogger(__name__)


@dataclass
class _Drain:
    queue: deque[ChatWork]
    report: DeliveryReport
    works: dict[int, ChatWork]  # chat id -> its one work item in this drain


class Deliverer:
    """Drains the outbox; see the module docstring.

    Wire it in ``post_init``: ``deliverer = Deliverer(app.bot, store, ...)``,
    ``asyncio.create_task(deliverer.run())``, call ``deliverer.wake()`` whenever alerts were
    enqueued, and ``await deliverer.stop()`` in ``post_stop``/``post_shutdown``.
    """

    def __init__(
        self,
        bot: Any,
        store: Any,
        *,
        max_age: timedelta = timedelta(hours=24),
        summary_chars: int = 300,
        on_migrated: Callable[[int, int], Any] | None = None,
        on_gone: Callable[[int], Any] | None = None,
        clock: Callable[[], datetime] = utcnow,
        workers: int = 64,
        tick_seconds: float = 30.0,
        network_retries: int = 3,
        backoff_base: float = 0.5,
        metrics: Metrics | None = None,
        stories: StoryKeeper | None = None,
        max_sources: int = 3,
    ) -> None:
        self.bot = bot
        self.store = store
        self.workers = max(1, workers)
        self.tick_seconds = tick_seconds
        self.metrics = metrics or Metrics()
        self.total = DeliveryReport()
        self.ledger = Ledger(store, self.metrics)
        folder = Folder(
            store,
            story_of=stories.story_of if stories is not None else lambda _: None,
            window=stories.window if stories is not None else timedelta(0),
            max_sources=max_sources,
            summary_chars=summary_chars,
        )
        self.planner = Planner(store, self.ledger, folder, clock=clock, max_age=max_age)
        self.sender = Sender(bot, store, self.ledger, on_migrated=on_migrated,
                             on_gone=on_gone, network_retries=network_retries,
                             backoff_base=backoff_base, tick_seconds=tick_seconds)
        self._wake = asyncio.Event()
        self._stopping = False
        self._running = False
        self._done: asyncio.Event | None = None
        self._drain_lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ loop

    def wake(self) -> None:
        """Ask for a drain now (call after enqueueing alerts)."""
        self._wake.set()

    async def run(self) -> None:
        """Drain, then wait for :meth:`wake` or the periodic tick; until :meth:`stop`."""
        self._running = True
        self._done = asyncio.Event()
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self.deliver_pending()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("delivery drain failed; retrying on the next tick")
                    self.metrics.error("delivery_drain")
                if self._stopping:
                    break
                timeout = self.tick_seconds
                retry_in = self.ledger.take_retry()
                if retry_in is not None:
                    timeout = min(timeout, max(0.05, retry_in))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=timeout)
        finally:
            self._running = False
            self._done.set()

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the messages in flight, start no new ones, and let :meth:`run` return."""
        self._stopping = True
        self._wake.set()
        if self._running and self._done is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), timeout=grace)

    # ------------------------------------------------------------------ one drain

    async def deliver_pending(self) -> DeliveryReport:
        """One full drain of the outbox; returns what it did."""
        if self._drain_lock is None:
            self._drain_lock = asyncio.Lock()
        async with self._drain_lock:
            # every report.errors[kind] += 1 also counts as errors_total{kind="delivery_..."}
            report = DeliveryReport(errors=self.metrics.error_tally("delivery"))
            works = {chat_id: ChatWork(chat_id, alerts)
                     for chat_id, alerts in self._pending_by_chat().items()}
            report.chats = len(works)
            drain = _Drain(deque(works.values()), report, works)
            if drain.queue:
                await self._run_workers(drain)
                log.info(
                    "delivery: %d messages, %d alerts to %d chats (batching saved %d); "
                    "dropped %s; errors %s",
                    report.messages_sent, report.alerts_delivered, report.chats,
                    report.batched_saved, dict(report.dropped), dict(report.errors),
                )
            self.total.merge(report)
            return report

    def _pending_by_chat(self) -> dict[int, list[Alert]]:
        """Every pending alert by chat, oldest first; chats with the rest of a split message."""
        by_chat: dict[int, list[Alert]] = {}
        for alert in self.store.pending():
            by_chat.setdefault(alert.chat_id, []).append(alert)
        for chat_id in list(self.ledger.unfinished):
            by_chat.setdefault(chat_id, [])
        return by_chat

    async def _run_workers(self, drain: _Drain) -> None:
        tasks = [
            asyncio.create_task(self._worker(drain))
            for _ in range(min(self.workers, len(drain.queue)))
        ]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            raise

    async def _worker(self, drain: _Drain) -> None:
        queue = drain.queue
        while queue and not self._stopping:
            work = queue.popleft()
            try:
                more = await self._step(work, drain)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery to chat %s failed", work.chat_id)
                self.metrics.error("delivery_unexpected")
                more = False
            if more:
                queue.append(work)
            else:
                work.done = True

    async def _step(self, work: ChatWork, drain: _Drain) -> bool:
        """Send the chat's next message; True if the chat has more to send this drain."""
        parts = self._parts(work, drain.report)
        if not parts:
            return False
        part = parts.popleft()
        if not self._owed(work, part):
            return work.replan or bool(parts)
        old_id = work.chat_id
        outcome = await self.sender.send_part(work, part, drain.report)
        if outcome == "migrated":
            return self._migrated(work, old_id, drain)
        if outcome == "stop":
            return False
        return bool(work.parts) or work.replan

    def _parts(self, work: ChatWork, report: DeliveryReport) -> deque[Part]:
        """The chat's planned messages; planned anew on its first turn or when asked to."""
        if work.replan:
            work.replan = False
            work.alerts = self.store.pending(work.chat_id)
            work.parts = None
        if work.parts is None:
            work.parts = self.planner.plan(work, report)
        return work.parts

    def _owed(self, work: ChatWork, part: Part) -> bool:
        """Send only what is still owed: another work item (a migration into this id) may
        have sent or dropped some of these alerts since the plan was made.  When only some
        are, the chat is planned anew (``work.replan``)."""
        if part.delivered:
            return True
        still = [a for a in part.alerts
                 if self.store.alert_state(work.chat_id, a.headline_id) == "pending"]
        if len(still) == len(part.alerts):
            return True
        log.info("chat %s: %d of %d alert(s) of the next message no longer pending",
                 work.chat_id, len(part.alerts) - len(still), len(part.alerts))
        if still:  # render the rest anew
            work.replan = True
        return False

    def _migrated(self, work: ChatWork, old_id: int, drain: _Drain) -> bool:
        """The chat moved to ``work.chat_id``: one work item goes on for the new id."""
        if drain.works.get(old_id) is work:
            del drain.works[old_id]
        other = drain.works.get(work.chat_id)
        if other is not None and other is not work:
            # The new id has its own work item in this drain: it sends everything
            # (its own alerts and the moved ones), this one stops.
            other.replan = True
            if other.done:
                other.done = False
                drain.queue.append(other)
            return False
        drain.works[work.chat_id] = work
        work.replan = True  # rebuild from the store: the alerts now belong to the new id
        return work.migrations <= 3
