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
* renders one alert with :func:`render_alert` and several with :func:`render_batch` (one
  compact list, split at headline boundaries under 4096 characters);
* sends with a bounded pool of workers over a round-robin queue of chats: a worker takes the
  next chat, sends *one* message for it and puts the chat back at the end of the queue if it
  has more.  A chat with a long backlog therefore never holds up the others; the
  :class:`~bot.delivery.pacing.Pacer` does all the timing (sends carry
  ``rate_limit_args=BULK`` so command replies overtake them).

Errors, per message:

* ``RetryAfter`` (the Pacer gave up retrying): release back to ``pending``; retried in the
  next drain, which is scheduled for after ``retry_after``.  When this (or a network or
  other error that releases) hits a message split into pieces after some of them were
  delivered, only the remaining pieces are kept, in memory, for the next drain; their alerts
  stay ``sending`` meanwhile (so a restart drops them rather than resending).
* ``ChatMigrated``: release, ``store.migrate_chat(old, new)``, ``on_migrated(old, new)`` and
  deliver to the new id in the same drain -- by the new id's own work item if it has one in
  this drain (never two senders for one chat).  Before each message the Deliverer also checks
  that its alerts are still ``pending``: one no longer pending is not sent again.
* ``Forbidden`` (blocked, kicked, deactivated) and ``BadRequest`` "chat not found": the chat
  is set inactive, its alerts are dropped (``"blocked"`` / ``"chat_not_found"``) and
  ``on_gone(chat_id)`` is called.
* ``BadRequest`` "can't parse entities": resent as plain text (:func:`html_to_plain`).
* ``BadRequest`` "message is too long" (should never happen; logged as an error): resent
  split, one alert per message, or as plain-text parts.
* Any other ``BadRequest``: the alerts are dropped (``"rejected"``) and logged.
* ``TimedOut`` while waiting for the answer: the outcome is unknown, so the alerts are
  dropped as ``"unknown_outcome"`` (not resent: Telegram may already show it) and logged.
  A connect or pool timeout means nothing left the machine: handled as a network error.
* Other ``NetworkError`` (connection refused or reset): retried after 0.5 s, 1 s, 2 s; then
  released back to ``pending`` for the next drain.
* Any other error: released and logged.

Sync or async ``on_migrated(old_id, new_id)`` / ``on_gone(chat_id)`` callbacks are both fine.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram import InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import schedule
from bot.buttons import alert_keyboard, mute_keyboard
from bot.delivery.format import (
    PlainMatch,
    QueryText,
    html_to_plain,
    render_batch_parts,
    split_plain,
)
from bot.delivery.pacing import BULK, retry_after_seconds
from bot.i18n import language_for
from bot.matching import QueryError, parse_query
from bot.metrics import Metrics
from bot.models import Alert, Headline, utcnow

__all__ = ["Deliverer", "DeliveryReport"]

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    """What one drain did."""

    chats: int = 0  # chats that had pending alerts
    messages_sent: int = 0  # messages Telegram confirmed
    alerts_delivered: int = 0  # alerts marked sent
    batched_saved: int = 0  # messages saved by batching (alerts delivered - messages used)
    released: int = 0  # alerts put back to pending for a later drain
    migrated: int = 0  # chats moved to a new id
    gone: int = 0  # chats set inactive (blocked, kicked, not found)
    plain_resends: int = 0  # messages resent as plain text after an entity error
    dropped: Counter[str] = field(default_factory=Counter)  # alerts, by reason
    errors: Counter[str] = field(default_factory=Counter)  # Telegram/network errors, by kind

    def merge(self, other: DeliveryReport) -> None:
        for name in ("chats", "messages_sent", "alerts_delivered", "batched_saved",
                     "released", "migrated", "gone", "plain_resends"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped.update(other.dropped)
        self.errors.update(other.errors)


@dataclass
class _Part:
    alerts: list[Alert]
    texts: list[str]  # usually one; several after a split
    html: bool = True
    preview: bool = True  # a single alert may show the article preview; batches do not
    markup: InlineKeyboardMarkup | None = None  # buttons: unfollow, mute
    delivered: int = 0  # texts Telegram confirmed (popped from ``texts``)
    counted: int = 0  # of those, already counted in a report and the metrics


@dataclass
class _ChatWork:
    chat_id: int
    alerts: list[Alert]
    parts: deque[_Part] | None = None  # built on the chat's first turn
    migrations: int = 0
    replan: bool = False  # re-read the chat's pending alerts before its next message
    done: bool = False  # no longer in the queue (nor in flight) this drain


@dataclass
class _Drain:
    queue: deque[_ChatWork]
    report: DeliveryReport
    works: dict[int, _ChatWork]  # chat id -> its one work item in this drain


def _is_connect_failure(exc: BaseException) -> bool:
    """True when ``exc`` surely happened before the request reached the server."""
    cause = exc.__cause__
    return isinstance(cause, (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError))


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
    ) -> None:
        self.bot = bot
        self.store = store
        self.max_age = max_age
        self.summary_chars = summary_chars
        self.on_migrated = on_migrated
        self.on_gone = on_gone
        self.clock = clock
        self.workers = max(1, workers)
        self.tick_seconds = tick_seconds
        self.network_retries = network_retries
        self.backoff_base = backoff_base
        self.metrics = metrics or Metrics()
        self.total = DeliveryReport()
        self._wake = asyncio.Event()
        self._stopping = False
        self._running = False
        self._done: asyncio.Event | None = None
        self._drain_lock: asyncio.Lock | None = None
        self._retry_in: float | None = None
        # chat id -> the rest of a split message some pieces of which Telegram confirmed;
        # its alerts stay "sending" (a restart drops them: never resent, maybe incomplete)
        self._unfinished: dict[int, _Part] = {}

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
                if self._retry_in is not None:
                    timeout = min(timeout, max(0.05, self._retry_in))
                    self._retry_in = None
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
            by_chat: dict[int, list[Alert]] = {}
            for alert in self.store.pending():
                by_chat.setdefault(alert.chat_id, []).append(alert)
            for chat_id in list(self._unfinished):
                by_chat.setdefault(chat_id, [])
            report.chats = len(by_chat)
            works = {chat_id: _ChatWork(chat_id, alerts) for chat_id, alerts in by_chat.items()}
            queue: deque[_ChatWork] = deque(works.values())
            drain = _Drain(queue, report, works)
            if queue:
                tasks = [
                    asyncio.create_task(self._worker(drain))
                    for _ in range(min(self.workers, len(queue)))
                ]
                try:
                    await asyncio.gather(*tasks)
                except BaseException:
                    for task in tasks:
                        task.cancel()
                    raise
                log.info(
                    "delivery: %d messages, %d alerts to %d chats (batching saved %d); "
                    "dropped %s; errors %s",
                    report.messages_sent, report.alerts_delivered, report.chats,
                    report.batched_saved, dict(report.dropped), dict(report.errors),
                )
            self.total.merge(report)
            return report

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

    def _plan(self, work: _ChatWork, report: DeliveryReport) -> deque[_Part]:
        chat = self.store.chat(work.chat_id)
        unfinished = self._unfinished.pop(work.chat_id, None)
        if unfinished is not None:  # still ours? (nothing else moves "sending" alerts)
            unfinished.alerts = [
                a for a in unfinished.alerts
                if self.store.alert_state(work.chat_id, a.headline_id) == "sending"
            ]
            if not unfinished.alerts:
                unfinished = None
        rest = [unfinished] if unfinished is not None else []
        if chat is None or not chat.active:
            self._drop(work.alerts + [a for p in rest for a in p.alerts], "inactive", report)
            return deque()
        now = self.clock()
        if schedule.paused_until(chat.settings, now) is not None:
            # /pause or "Mute 1 day" since they were queued: held, backlog, all skipped
            self._drop(work.alerts + [a for p in rest for a in p.alerts], "paused", report)
            return deque()
        following = _query_keys(self.store.subscriptions(work.chat_id))
        cutoff = now - self.max_age
        fresh: list[tuple[Alert, Headline]] = []
        expired: list[Alert] = []
        missing: list[Alert] = []
        unfollowed: list[Alert] = []
        held: list[datetime] = []
        for alert in work.alerts:
            # /unfollow since it was queued: only the queries still followed count
            # (compared by query key: /unfollow eVTOL then /follow evtol still follows it)
            queries = tuple(q for q in alert.queries if _query_key(q) in following)
            if not queries:
                unfollowed.append(alert)
                continue
            if queries != alert.queries:
                alert = dataclasses.replace(alert, queries=queries)  # same key, fewer queries
            # A digest or quiet hours hold an alert: its age counts from its release.
            release = schedule.release_at(chat.settings, alert.created)
            if release < cutoff:
                expired.append(alert)
                continue
            if not schedule.is_due(chat.settings, alert.created, now):
                held.append(max(release, schedule.quiet_end(chat.settings, now) or release))
                continue
            headline = self.store.headline(alert.headline_id)
            if headline is None:
                missing.append(alert)
            else:
                fresh.append((alert, headline))
        if expired:
            log.info("chat %s: %d alerts older than %s not delivered", work.chat_id,
                     len(expired), self.max_age)
            self._drop(expired, "expired", report)
        if missing:
            self._drop(missing, "missing", report)
        if unfollowed:
            self._drop(unfollowed, "unfollowed", report)
        if held:  # wake up when the first held alert is due
            self._schedule_retry(max(0.05, (min(held) - now).total_seconds()))
        if not fresh:
            return deque(rest)
        tz = schedule.zone(chat.settings)
        lang = language_for(chat.settings, chat.settings.get("lang_hint"))
        items = [(h, _matches(a, h)) for a, h in fresh]
        parts = deque(rest)  # the rest of a split message first
        for text, indices in render_batch_parts(
            items, summary_chars=self.summary_chars, tz=tz, lang=lang
        ):
            if chat.kind == "channel":
                markup = None  # anyone in a channel could press them
            elif len(fresh) == 1:
                keyed = [(m.query.text, m.query.key) for m in items[0][1] if _has_key(m)]
                markup = alert_keyboard(lang, keyed)
            else:
                markup = mute_keyboard(lang)
            parts.append(
                _Part([fresh[i][0] for i in indices], [text], preview=len(fresh) == 1,
                      markup=markup)
            )
        return parts

    async def _step(self, work: _ChatWork, drain: _Drain) -> bool:
        """Send the chat's next message; True if the chat has more to send this drain."""
        report = drain.report
        if work.replan:
            work.replan = False
            work.alerts = self.store.pending(work.chat_id)
            work.parts = None
        if work.parts is None:
            work.parts = self._plan(work, report)
        if not work.parts:
            return False
        part = work.parts.popleft()
        # Send only what is still owed: another work item (a migration into this id) may
        # have sent or dropped some of these alerts since the plan was made.
        still = [a for a in part.alerts
                 if self.store.alert_state(work.chat_id, a.headline_id) == "pending"]
        if not part.delivered and len(still) < len(part.alerts):
            log.info("chat %s: %d of %d alert(s) of the next message no longer pending",
                     work.chat_id, len(part.alerts) - len(still), len(part.alerts))
            if still:  # render the rest anew
                work.replan = True
                return True
            return bool(work.parts)
        old_id = work.chat_id
        outcome = await self._send_part(work, part, report)
        if outcome == "migrated":
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
        if outcome == "stop":
            return False
        return bool(work.parts) or work.replan

    # ------------------------------------------------------------------ one message

    async def _send_part(self, work: _ChatWork, part: _Part, report: DeliveryReport) -> str:
        """Send one part; returns "ok", "stop" (nothing more for this chat) or "migrated"."""
        alerts = part.alerts
        marked = part.delivered > 0  # the rest of a split message: already "sending"

        def granted() -> None:
            """Called by the Pacer in the granted slot: only a request leaving now is in doubt
            if the process dies, not the ones still waiting for their turn."""
            nonlocal marked
            if not marked:
                self.store.mark_sending(alerts)
                marked = True

        attempt = 0
        while part.texts:
            text = part.texts[0]
            try:
                await self.bot.send_message(
                    chat_id=work.chat_id,
                    text=text,
                    parse_mode=ParseMode.HTML if part.html else None,
                    link_preview_options=LinkPreviewOptions(is_disabled=not part.preview),
                    reply_markup=part.markup,
                    rate_limit_args={**BULK, "granted": granted},
                )
            except RetryAfter as exc:
                wait = retry_after_seconds(exc)
                report.errors["retry_after"] += 1
                log.warning("chat %s: flood control (retry after %s s); will retry",
                            work.chat_id, wait)
                self._release_part(work, part, report)
                self._schedule_retry(wait + 0.5)
                return "stop"
            except ChatMigrated as exc:
                report.errors["migrated"] += 1
                old, new = work.chat_id, int(exc.new_chat_id)
                log.info("chat %s migrated to %s; moving it", old, new)
                if not part.delivered:
                    self.store.release(alerts)
                self.store.migrate_chat(old, new)
                if part.delivered:  # the rest of the message goes to the new id
                    part.alerts = [dataclasses.replace(a, chat_id=new) for a in alerts]
                    self._unfinished[new] = part
                await _call(self.on_migrated, old, new)
                work.chat_id = new
                work.migrations += 1
                report.migrated += 1
                return "migrated"
            except Forbidden as exc:
                report.errors["forbidden"] += 1
                await self._gone(work, alerts, "blocked", str(exc), report)
                return "stop"
            except TimedOut as exc:
                if _is_connect_failure(exc):
                    if await self._backoff(work, exc, attempt, part, report):
                        attempt += 1
                        continue
                    return "stop"
                report.errors["timed_out"] += 1
                log.warning(
                    "chat %s: send timed out, outcome unknown; %d alert(s) not resent: %s",
                    work.chat_id, len(alerts), [a.headline_id for a in alerts],
                )
                self._drop(alerts, "unknown_outcome", report)
                return "ok"
            except BadRequest as exc:
                message = exc.message.lower()
                if "chat not found" in message:
                    report.errors["chat_not_found"] += 1
                    await self._gone(work, alerts, "chat_not_found", exc.message, report)
                    return "stop"
                if "parse entities" in message and part.html:
                    report.errors["entities"] += 1
                    log.error("chat %s: Telegram refused our HTML (%s); resending as plain "
                              "text", work.chat_id, exc.message)
                    plain = "\n\n".join(html_to_plain(t) for t in part.texts)
                    part.texts = split_plain(plain)
                    part.html = False
                    report.plain_resends += 1
                    continue
                if "too long" in message:
                    report.errors["too_long"] += 1
                    log.error("chat %s: message of %d characters was too long; splitting",
                              work.chat_id, len(text))
                    rest = part.texts[1:]
                    plain = html_to_plain(text) if part.html else text
                    pieces = split_plain(plain, 3000)
                    if len(pieces) == 1:  # never loop: cut hard
                        pieces = [plain[:3000], plain[3000:]]
                    part.texts = [p for p in pieces if p.strip()] + rest
                    part.html = False
                    continue
                report.errors["bad_request"] += 1
                log.error("chat %s: Telegram rejected the message (%s); %d alert(s) dropped",
                          work.chat_id, exc.message, len(alerts))
                self._drop(alerts, "rejected", report)
                return "ok"
            except NetworkError as exc:
                if await self._backoff(work, exc, attempt, part, report):
                    attempt += 1
                    continue
                return "stop"
            except TelegramError as exc:
                report.errors[type(exc).__name__] += 1
                log.error("chat %s: %s; alerts kept for a later drain", work.chat_id, exc)
                self._release_part(work, part, report)
                self._schedule_retry(self.tick_seconds)
                return "stop"
            part.texts.pop(0)
            part.delivered += 1
            attempt = 0
        self.store.mark_sent(alerts)
        self._count_messages(part, report, len(alerts))
        report.alerts_delivered += len(alerts)
        report.batched_saved += max(0, len(alerts) - part.delivered)
        return "ok"

    async def _backoff(self, work: _ChatWork, exc: Exception, attempt: int,
                       part: _Part, report: DeliveryReport) -> bool:
        """Sleep before a retry (True) or give up and release the alerts (False)."""
        report.errors["network"] += 1
        if attempt >= self.network_retries:
            log.warning("chat %s: network error (%s) after %d retries; kept for later",
                        work.chat_id, exc, attempt)
            self._release_part(work, part, report)
            self._schedule_retry(self.backoff_base * 2 ** (attempt + 1))
            return False
        delay = self.backoff_base * 2**attempt
        log.info("chat %s: network error (%s); retry in %.1f s", work.chat_id, exc, delay)
        await asyncio.sleep(delay)
        return True

    async def _gone(self, work: _ChatWork, alerts: Sequence[Alert], reason: str,
                    detail: str, report: DeliveryReport) -> None:
        log.warning("chat %s is gone (%s): set inactive, pending alerts dropped",
                    work.chat_id, detail)
        self._drop(list(alerts) + self.store.pending(work.chat_id), reason, report)
        work.parts = deque()
        self.store.set_active(work.chat_id, False)
        report.gone += 1
        await _call(self.on_gone, work.chat_id)

    def _drop(self, alerts: Sequence[Alert], reason: str, report: DeliveryReport) -> None:
        if alerts:
            self.store.drop(alerts, reason)
            report.dropped[reason] += len(alerts)

    def _release(self, alerts: Sequence[Alert], report: DeliveryReport) -> None:
        self.store.release(alerts)
        report.released += len(alerts)

    def _release_part(self, work: _ChatWork, part: _Part, report: DeliveryReport) -> None:
        """The send surely failed: back to ``pending``; but if some pieces of a split message
        went out, keep only the rest (in memory, alerts still ``sending``) for a later drain,
        so what Telegram already has is not sent again."""
        if not part.delivered:
            self._release(part.alerts, report)
            return
        log.warning("chat %s: %d piece(s) of a split message delivered, %d kept for later",
                    work.chat_id, part.delivered, len(part.texts))
        self._count_messages(part, report, 0)
        self._unfinished[work.chat_id] = part

    def _count_messages(self, part: _Part, report: DeliveryReport, alerts: int) -> None:
        messages = part.delivered - part.counted
        part.counted = part.delivered
        self.metrics.sent(messages, alerts)
        report.messages_sent += messages

    def _schedule_retry(self, seconds: float) -> None:
        if self._retry_in is None or seconds < self._retry_in:
            self._retry_in = seconds


# ---------------------------------------------------------------------- helpers


def _query_key(text: str) -> str:
    try:
        return parse_query(text).key
    except QueryError:
        return text  # a stored text that no longer parses is only itself


def _query_keys(texts: Sequence[str]) -> set[str]:
    return {_query_key(text) for text in texts}


def _has_key(match: Any) -> bool:
    """A real ``Match`` (not the plain stand-in used when re-matching failed)."""
    return isinstance(getattr(getattr(match, "query", None), "key", None), str)


def _matches(alert: Alert, headline: Headline) -> list[Any]:
    """The alert's queries, re-run on the headline for the spans to bold."""
    out: list[Any] = []
    for text in alert.queries:
        try:
            found = parse_query(text).find(headline.title, headline.summary)
        except QueryError:
            found = None
        except Exception:  # a matcher bug must not stop delivery
            log.exception("re-matching %r failed", text)
            found = None
        out.append(found if found is not None else PlainMatch(QueryText(text)))
    return out


async def _call(callback: Callable[..., Any] | None, *args: Any) -> None:
    if callback is None:
        return
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("delivery callback %r failed", callback)
