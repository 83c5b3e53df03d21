"""Sending one message (a :class:`~bot.delivery.ledger.Part`) and what is done about each
answer Telegram gives.  :func:`classify` names the outcome; :data:`OUTCOMES` maps each name to
the one short method that handles it:

* ``sent``: the text is confirmed; the next piece of a split message follows, and once all
  are confirmed the alerts are ``sent``.
* ``retry_after`` (``RetryAfter``, the Pacer gave up retrying): release back to ``pending``;
  retried in the next drain, which is scheduled for after ``retry_after``.  When this (or a
  network or other error that releases) hits a message split into pieces after some of them
  were delivered, only the remaining pieces are kept, in memory, for the next drain; their
  alerts stay ``sending`` meanwhile (so a restart drops them rather than resending).
* ``migrated`` (``ChatMigrated``): release, ``store.migrate_chat(old, new)``,
  ``on_migrated(old, new)``; the drain then delivers to the new id.
* ``blocked`` (``Forbidden``: blocked, kicked, deactivated) and ``chat_not_found``
  (``BadRequest`` "chat not found"): the chat is set inactive, its alerts are dropped
  (``"blocked"`` / ``"chat_not_found"``) and ``on_gone(chat_id)`` is called.
* ``entities`` (``BadRequest`` "can't parse entities"): resent as plain text
  (:func:`html_to_plain`).
* ``too_long`` (``BadRequest`` "message is too long"; should never happen, logged as an
  error): resent split into plain-text parts.
* ``rejected`` (any other ``BadRequest``): the alerts are dropped (``"rejected"``), logged.
* ``unknown_outcome`` (``TimedOut`` while waiting for the answer): the alerts are dropped as
  ``"unknown_outcome"`` (not resent: Telegram may already show it) and logged; but an
  edit's are released, as an edit sent twice shows nothing twice ("not modified").  A
  connect or pool timeout means nothing left the machine: handled as a network error.
* ``network`` (other ``NetworkError``: connection refused or reset): retried after 0.5 s,
  1 s, 2 s; then released back to ``pending`` for the next drain.
* ``other`` (any other ``TelegramError``): released and logged.
* ``edit_failed`` (any ``BadRequest`` but "chat not found" to an edit, ``part.edit``: the
  message was deleted, cannot be edited, or the new text was refused): nothing else is sent
  for those reports; they are dropped (``"edit_failed"``), and a message that is gone is
  marked so in its post (later reports of its stories are not sent either).  "Message is
  not modified" means it shows them already: they count as sent.

Each handler returns what the drain does next: :data:`NEXT` (send ``part.texts[0]``: the next
piece, the same after a back-off, or its plain or split form), ``"ok"`` (this message is
settled: the chat's next one), ``"stop"`` (nothing more for this chat in this drain) or
``"migrated"``.  Alerts become ``sending`` only in the slot the Pacer granted
(``rate_limit_args["granted"]``), so a crash leaves in doubt only a request in flight.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from telegram import LinkPreviewOptions
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

from bot.delivery.ledger import ChatWork, DeliveryReport, Ledger, Part
from bot.delivery.lengths import html_to_plain, split_plain
from bot.delivery.pacing import BULK, retry_after_seconds
from bot.models import Alert

__all__ = ["NEXT", "OUTCOMES", "Sender", "call", "classify"]

log = logging.getLogger("bot.delivery.outbox")  # the drain's one logger, as before the split

NEXT = "next"  # send part.texts[0] (what it now is)


def is_connect_failure(exc: BaseException) -> bool:
    """True when ``exc`` surely happened before the request reached the server."""
    cause = exc.__cause__
    return isinstance(cause, (httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ConnectError))


def classify(exc: TelegramError | None, part: Part) -> str:
    """The name in :data:`OUTCOMES` of Telegram's answer ``exc`` (None: success)."""
    if exc is None:
        return "sent"
    if isinstance(exc, RetryAfter):
        return "retry_after"
    if isinstance(exc, ChatMigrated):
        return "migrated"
    if isinstance(exc, Forbidden):
        return "blocked"
    if isinstance(exc, TimedOut) and not is_connect_failure(exc):
        return "unknown_outcome"
    if isinstance(exc, BadRequest):
        message = exc.message.lower()
        if "chat not found" in message:
            return "chat_not_found"
        if part.edit:
            return "edit_failed"
        if "parse entities" in message and part.html:
            return "entities"
        if "too long" in message:
            return "too_long"
        return "rejected"
    if isinstance(exc, NetworkError):  # a connect or pool timeout included
        return "network"
    return "other"


@dataclass
class _Send:
    """One message on its way: the chat's work item, the part, and the retry count."""

    work: ChatWork
    part: Part
    report: DeliveryReport
    store: Any
    alerts: list[Alert]  # the part's alerts as it started
    marked: bool  # its alerts are "sending" (the rest of a split message: already)
    attempt: int = 0  # network retries of the current text
    message_id: int | None = None  # of the last text Telegram confirmed

    def granted(self) -> None:
        """Called by the Pacer in the granted slot: only a request leaving now is in doubt
        if the process dies, not the ones still waiting for their turn.  An edit's post is
        stored here too, so the store never shows less than Telegram may: the next edit
        renders from it and keeps these links."""
        if not self.marked:
            with self.store.batch():
                self.store.mark_sending(self.alerts)
                if self.part.edit and self.part.post is not None:
                    self.store.put_posts([self.part.post])
            self.marked = True


Handler = Callable[["Sender", _Send, TelegramError | None], Awaitable[str]]


class Sender:
    """Sends one part to one chat and handles each outcome; see the module docstring."""

    def __init__(self, bot: Any, store: Any, ledger: Ledger, *,
                 on_migrated: Callable[[int, int], Any] | None,
                 on_gone: Callable[[int], Any] | None, network_retries: int,
                 backoff_base: float, tick_seconds: float) -> None:
        self.bot = bot
        self.store = store
        self.ledger = ledger
        self.on_migrated = on_migrated
        self.on_gone = on_gone
        self.network_retries = network_retries
        self.backoff_base = backoff_base
        self.tick_seconds = tick_seconds

    async def send_part(self, work: ChatWork, part: Part, report: DeliveryReport) -> str:
        """Send one part; returns "ok", "stop" (nothing more for this chat) or "migrated"."""
        send = _Send(work, part, report, self.store, part.alerts, part.delivered > 0)
        while part.texts:
            try:
                message = await self._send_text(send)
            except TelegramError as exc:
                verdict = await OUTCOMES[classify(exc, part)](self, send, exc)
            else:
                send.message_id = getattr(message, "message_id", None)
                verdict = await OUTCOMES["sent"](self, send, None)
            if verdict != NEXT:
                return verdict
        self.ledger.sent(send.alerts, part, report, send.message_id)
        return "ok"

    async def _send_text(self, send: _Send) -> Any:
        part = send.part
        if part.edit and part.post is not None:  # through the same Pacer, granted alike
            return await self.bot.edit_message_text(
                chat_id=send.work.chat_id,
                message_id=part.post.message_id,
                text=part.texts[0],
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=not part.preview),
                reply_markup=part.markup,
                rate_limit_args={**BULK, "granted": send.granted},
            )
        return await self.bot.send_message(
            chat_id=send.work.chat_id,
            text=part.texts[0],
            parse_mode=ParseMode.HTML if part.html else None,
            link_preview_options=LinkPreviewOptions(is_disabled=not part.preview),
            reply_markup=part.markup,
            rate_limit_args={**BULK, "granted": send.granted},
        )

    # ------------------------------------------------------------------ the outcomes

    async def _sent(self, send: _Send, exc: TelegramError | None) -> str:
        send.part.texts.pop(0)
        send.part.delivered += 1
        send.attempt = 0
        return NEXT

    async def _retry_after(self, send: _Send, exc: TelegramError | None) -> str:
        assert isinstance(exc, RetryAfter)
        wait = retry_after_seconds(exc)
        send.report.errors["retry_after"] += 1
        log.warning("chat %s: flood control (retry after %s s); will retry",
                    send.work.chat_id, wait)
        self.ledger.release_part(send.work.chat_id, send.part, send.report)
        self.ledger.schedule_retry(wait + 0.5)
        return "stop"

    async def _migrated(self, send: _Send, exc: TelegramError | None) -> str:
        assert isinstance(exc, ChatMigrated)
        work, part = send.work, send.part
        send.report.errors["migrated"] += 1
        old, new = work.chat_id, int(exc.new_chat_id)
        log.info("chat %s migrated to %s; moving it", old, new)
        if not part.delivered:
            self.store.release(send.alerts)
        self.store.migrate_chat(old, new)
        if part.delivered:  # the rest of the message goes to the new id
            part.alerts = [dataclasses.replace(a, chat_id=new) for a in send.alerts]
            self.ledger.unfinished[new] = part
        await call(self.on_migrated, old, new)
        work.chat_id = new
        work.migrations += 1
        send.report.migrated += 1
        return "migrated"

    async def _blocked(self, send: _Send, exc: TelegramError | None) -> str:
        send.report.errors["forbidden"] += 1
        await self._gone(send, "blocked", str(exc))
        return "stop"

    async def _chat_not_found(self, send: _Send, exc: TelegramError | None) -> str:
        assert exc is not None
        send.report.errors["chat_not_found"] += 1
        await self._gone(send, "chat_not_found", exc.message)
        return "stop"

    async def _entities(self, send: _Send, exc: TelegramError | None) -> str:
        assert exc is not None
        part = send.part
        send.report.errors["entities"] += 1
        log.error("chat %s: Telegram refused our HTML (%s); resending as plain text",
                  send.work.chat_id, exc.message)
        part.texts = split_plain("\n\n".join(html_to_plain(t) for t in part.texts))
        part.html = False
        send.report.plain_resends += 1
        return NEXT

    async def _too_long(self, send: _Send, exc: TelegramError | None) -> str:
        part = send.part
        text, rest = part.texts[0], part.texts[1:]
        send.report.errors["too_long"] += 1
        log.error("chat %s: message of %d characters was too long; splitting",
                  send.work.chat_id, len(text))
        plain = html_to_plain(text) if part.html else text
        pieces = split_plain(plain, 3000)
        if len(pieces) == 1:  # never loop: cut hard
            pieces = [plain[:3000], plain[3000:]]
        part.texts = [p for p in pieces if p.strip()] + rest
        part.html = False
        return NEXT

    async def _rejected(self, send: _Send, exc: TelegramError | None) -> str:
        assert exc is not None
        send.report.errors["bad_request"] += 1
        log.error("chat %s: Telegram rejected the message (%s); %d alert(s) dropped",
                  send.work.chat_id, exc.message, len(send.alerts))
        self.ledger.drop(send.alerts, "rejected", send.report)
        return "ok"

    async def _unknown_outcome(self, send: _Send, exc: TelegramError | None) -> str:
        alerts = send.alerts
        send.report.errors["timed_out"] += 1
        if send.part.edit:  # an edit is idempotent: sent again, "not modified" if it was
            log.warning("chat %s: edit timed out, outcome unknown; %d report(s) kept for "
                        "a later drain", send.work.chat_id, len(alerts))
            self.ledger.release_part(send.work.chat_id, send.part, send.report)
            self.ledger.schedule_retry(self.tick_seconds)
            return "stop"
        log.warning("chat %s: send timed out, outcome unknown; %d alert(s) not resent: %s",
                    send.work.chat_id, len(alerts), [a.headline_id for a in alerts])
        self.ledger.drop(alerts, "unknown_outcome", send.report)
        return "ok"

    async def _network(self, send: _Send, exc: TelegramError | None) -> str:
        """Sleep before a retry of the same text, or give up and release the alerts."""
        send.report.errors["network"] += 1
        attempt, chat_id = send.attempt, send.work.chat_id
        if attempt >= self.network_retries:
            log.warning("chat %s: network error (%s) after %d retries; kept for later",
                        chat_id, exc, attempt)
            self.ledger.release_part(chat_id, send.part, send.report)
            self.ledger.schedule_retry(self.backoff_base * 2 ** (attempt + 1))
            return "stop"
        delay = self.backoff_base * 2**attempt
        log.info("chat %s: network error (%s); retry in %.1f s", chat_id, exc, delay)
        await asyncio.sleep(delay)
        send.attempt += 1
        return NEXT

    async def _other(self, send: _Send, exc: TelegramError | None) -> str:
        send.report.errors[type(exc).__name__] += 1
        log.error("chat %s: %s; alerts kept for a later drain", send.work.chat_id, exc)
        self.ledger.release_part(send.work.chat_id, send.part, send.report)
        self.ledger.schedule_retry(self.tick_seconds)
        return "stop"

    async def _edit_failed(self, send: _Send, exc: TelegramError | None) -> str:
        assert exc is not None
        part, chat_id = send.part, send.work.chat_id
        message = exc.message.lower()
        if "not modified" in message:  # it shows these reports already
            return await self._sent(send, None)
        send.report.errors["edit_failed"] += 1
        log.warning("chat %s: editing message %s failed (%s); %d report(s) of its stories "
                    "not sent", chat_id, part.post.message_id if part.post else "?",
                    exc.message, len(send.alerts))
        self.ledger.drop(send.alerts, "edit_failed", send.report)
        if part.post is not None and ("not found" in message or "can't be edited" in message):
            self.store.put_posts([dataclasses.replace(part.post, gone=True)])
        return "ok"

    async def _gone(self, send: _Send, reason: str, detail: str) -> None:
        """Blocked, kicked or not found: inactive, and all its pending alerts dropped."""
        work = send.work
        log.warning("chat %s is gone (%s): set inactive, pending alerts dropped",
                    work.chat_id, detail)
        alerts: Sequence[Alert] = list(send.alerts) + self.store.pending(work.chat_id)
        self.ledger.drop(alerts, reason, send.report)
        work.parts = deque()
        self.store.set_active(work.chat_id, False)
        send.report.gone += 1
        await call(self.on_gone, work.chat_id)


OUTCOMES: dict[str, Handler] = {
    "sent": Sender._sent,
    "retry_after": Sender._retry_after,
    "migrated": Sender._migrated,
    "blocked": Sender._blocked,
    "chat_not_found": Sender._chat_not_found,
    "entities": Sender._entities,
    "too_long": Sender._too_long,
    "rejected": Sender._rejected,
    "unknown_outcome": Sender._unknown_outcome,
    "network": Sender._network,
    "other": Sender._other,
    "edit_failed": Sender._edit_failed,
}


async def call(callback: Callable[..., Any] | None, *args: Any) -> None:
    """Run a sync or async ``on_migrated`` / ``on_gone`` callback; its failure is logged."""
    if callback is None:
        return
    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.exception("delivery callback %r failed", callback)
