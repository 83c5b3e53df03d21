"""What one drain works on and what it writes down: the report, the chat's work item, its
messages (``Part``), and the :class:`Ledger` that records an alert's fate in the store and
the metrics (dropped, released, sent; the rest of a split message kept for later; when the
next drain is due).  Planning (:mod:`bot.delivery.plan`), the Telegram outcomes
(:mod:`bot.delivery.outcomes`) and the drain (:mod:`bot.delivery.outbox`) share it."""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.metrics import Metrics
from bot.models import Alert, Post

__all__ = ["ChatWork", "DeliveryReport", "Ledger", "Part"]

log = logging.getLogger("bot.delivery.outbox")  # the drain's one logger, as before the split


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
    edited: int = 0  # messages edited to add later reports of their stories
    dropped: Counter[str] = field(default_factory=Counter)  # alerts, by reason
    errors: Counter[str] = field(default_factory=Counter)  # Telegram/network errors, by kind

    def merge(self, other: DeliveryReport) -> None:
        for name in ("chats", "messages_sent", "alerts_delivered", "batched_saved",
                     "released", "migrated", "gone", "plain_resends", "edited"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.dropped.update(other.dropped)
        self.errors.update(other.errors)


@dataclass
class Part:
    """One message to send (several texts after a split), and the alerts it carries."""

    alerts: list[Alert]
    texts: list[str]  # usually one; several after a split
    html: bool = True
    preview: bool = True  # a single alert may show the article preview; batches do not
    markup: InlineKeyboardMarkup | None = None  # buttons: unfollow, mute
    delivered: int = 0  # texts Telegram confirmed (popped from ``texts``)
    counted: int = 0  # of those, already counted in a report and the metrics
    # what the message shows, stored once Telegram confirms it (with its message id), so a
    # later report of one of its stories edits it; ``edit``: this part IS that edit
    post: Post | None = None
    edit: bool = False


@dataclass
class ChatWork:
    """One chat's turn in a drain."""

    chat_id: int
    alerts: list[Alert]
    parts: deque[Part] | None = None  # built on the chat's first turn
    migrations: int = 0
    replan: bool = False  # re-read the chat's pending alerts before its next message
    done: bool = False  # no longer in the queue (nor in flight) this drain


class Ledger:
    """Records in the store and the metrics what became of each alert and message."""

    def __init__(self, store: Any, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics
        self.retry_in: float | None = None  # when the next drain is due, if sooner than a tick
        # chat id -> the rest of a split message some pieces of which Telegram confirmed;
        # its alerts stay "sending" (a restart drops them: never resent, maybe incomplete)
        self.unfinished: dict[int, Part] = {}

    def drop(self, alerts: Sequence[Alert], reason: str, report: DeliveryReport) -> None:
        if alerts:
            self.store.drop(alerts, reason)
            report.dropped[reason] += len(alerts)

    def release(self, alerts: Sequence[Alert], report: DeliveryReport) -> None:
        self.store.release(alerts)
        report.released += len(alerts)

    def release_part(self, chat_id: int, part: Part, report: DeliveryReport) -> None:
        """The send surely failed: back to ``pending``; but if some pieces of a split message
        went out, keep only the rest (in memory, alerts still ``sending``) for a later drain,
        so what Telegram already has is not sent again."""
        if not part.delivered:
            self.release(part.alerts, report)
            return
        log.warning("chat %s: %d piece(s) of a split message delivered, %d kept for later",
                    chat_id, part.delivered, len(part.texts))
        self.count_messages(part, report, 0)
        self.unfinished[chat_id] = part

    def sent(self, alerts: list[Alert], part: Part, report: DeliveryReport,
             message_id: int | None = None) -> None:
        """Every text of ``part`` confirmed: its ``alerts`` are sent; the post of a message
        sent whole (one HTML text, ``message_id``) or edited is kept, in the same commit."""
        post = part.post
        if post is not None and not part.edit:
            whole = part.html and part.delivered == 1
            post = (dataclasses.replace(post, message_id=message_id)
                    if whole and message_id is not None else None)
        with self.store.batch():
            self.store.mark_sent(alerts)
            if post is not None:
                self.store.put_posts([post])
        if part.edit:
            part.counted = part.delivered
            self.metrics.edited(len(alerts))
            report.edited += 1
        else:
            self.count_messages(part, report, len(alerts))
            report.batched_saved += max(0, len(alerts) - part.delivered)
        report.alerts_delivered += len(alerts)

    def count_messages(self, part: Part, report: DeliveryReport, alerts: int) -> None:
        messages = part.delivered - part.counted
        part.counted = part.delivered
        self.metrics.sent(messages, alerts)
        report.messages_sent += messages

    def schedule_retry(self, seconds: float) -> None:
        if self.retry_in is None or seconds < self.retry_in:
            self.retry_in = seconds

    def take_retry(self) -> float | None:
        """When the next drain is due (and forget it), if sooner than a tick."""
        seconds, self.retry_in = self.retry_in, None
        return seconds
