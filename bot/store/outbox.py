"""The outbox table: every alert ever enqueued, with its delivery state.

States: ``pending`` -> ``sending`` (just before the send) -> ``sent``, or ``dropped`` (with a
reason); ``sending`` -> ``pending`` again when the send surely failed (:meth:`Outbox.release`).
A (chat, headline) pair is enqueued at most once for the life of its record, whatever the
state.  Alerts left in ``sending`` by a crash have an unknown outcome: on open they are dropped,
never resent (:meth:`Outbox.stale_sending`).

Journal operations: ``["enq", alert_doc, now]`` and ``["st", key, state, now, reason]``; a
``mig`` moves a chat's records (:meth:`Outbox.op_move`) and ``prune`` drops old ones
(:meth:`Outbox.op_prune`).  In a snapshot a record is one document of the ``outbox`` table: the
alert's fields plus ``state``, ``updated``, ``reason`` and ``n`` (its enqueue order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from bot.models import Alert
from bot.store.journal import Journal

PENDING, SENDING, SENT, DROPPED = "pending", "sending", "sent", "dropped"


class _OutRec:
    """One outbox record: the alert, its state and when that state was set."""

    __slots__ = ("alert", "n", "reason", "state", "updated")

    def __init__(self, alert: Alert, state: str, updated: float, reason: str, n: int) -> None:
        self.alert = alert
        self.state = state
        self.updated = updated
        self.reason = reason
        self.n = n

    def to_doc(self) -> dict[str, Any]:
        doc = self.alert.to_dict()
        doc.update(state=self.state, updated=self.updated, reason=self.reason, n=self.n)
        return doc


class Outbox:
    """Records by alert key, with indexes of the pending (by chat) and the sending ones."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self._clock = clock
        self._by_key: dict[str, _OutRec] = {}
        self._pending: dict[int, dict[str, None]] = {}  # chat -> keys, insertion-ordered
        self._sending: dict[str, None] = {}
        self._n = 0

    def __len__(self) -> int:
        return len(self._by_key)

    def pending_count(self) -> int:
        return sum(len(p) for p in self._pending.values())

    # ------------------------------------------------------------------ reads

    def pending(self, chat_id: int | None = None) -> list[Alert]:
        """Alerts waiting to be sent (not those being sent), oldest first."""
        if chat_id is None:
            keys: Iterable[str] = (k for ks in self._pending.values() for k in ks)
        else:
            keys = self._pending.get(chat_id, {})
        recs = sorted((self._by_key[k] for k in keys), key=lambda r: (r.alert.created, r.n))
        return [r.alert for r in recs]

    def pending_chats(self) -> list[int]:
        """Chats with pending alerts."""
        return list(self._pending)

    def state(self, chat_id: int, headline_id: str) -> str | None:
        """``pending``, ``sending``, ``sent``, ``dropped``; None if never enqueued (or pruned)."""
        rec = self._by_key.get(f"{chat_id}|{headline_id}")
        return rec.state if rec else None

    def sent_since(self, since: datetime) -> int:
        """How many alerts Telegram confirmed at or after ``since`` (scans the outbox)."""
        cutoff = since.timestamp()
        return sum(1 for r in self._by_key.values() if r.state == SENT and r.updated >= cutoff)

    def stale_sending(self) -> list[Alert]:
        """Alerts in ``sending``: after an open, those whose send outcome is unknown."""
        return [self._by_key[k].alert for k in self._sending]

    # ------------------------------------------------------------------ writes

    def enqueue(self, alerts: Iterable[Alert]) -> int:
        """Add alerts to the outbox; a (chat, headline) pair ever enqueued is skipped."""
        now = self._clock().timestamp()
        added = 0
        with self._journal.batch():
            for alert in alerts:
                if alert.key not in self._by_key:
                    self._journal.write(["enq", alert.to_dict(), now])
                    added += 1
        return added

    def transition(self, alerts: Iterable[Alert], state: str, allowed: tuple[str, ...],
                   reason: str = "") -> None:
        """Set ``state`` on those of ``alerts`` that are in one of the ``allowed`` states."""
        now = self._clock().timestamp()
        with self._journal.batch():
            for alert in alerts:
                rec = self._by_key.get(alert.key)
                if rec is not None and rec.state in allowed:
                    self._journal.write(["st", alert.key, state, now, reason])

    def mark_sending(self, alerts: Iterable[Alert]) -> None:
        self.transition(alerts, SENDING, (PENDING,))

    def mark_sent(self, alerts: Iterable[Alert]) -> None:
        self.transition(alerts, SENT, (PENDING, SENDING))

    def release(self, alerts: Iterable[Alert]) -> None:
        """``sending`` -> ``pending``: the send surely failed, so it may be tried again."""
        self.transition(alerts, PENDING, (SENDING,))

    def drop(self, alerts: Iterable[Alert], reason: str) -> None:
        self.transition(alerts, DROPPED, (PENDING, SENDING), reason)

    # ------------------------------------------------------------------ operations

    def _put(self, rec: _OutRec) -> None:
        key = rec.alert.key
        self._by_key[key] = rec
        if rec.state == PENDING:
            self._pending.setdefault(rec.alert.chat_id, {})[key] = None
        elif rec.state == SENDING:
            self._sending[key] = None

    def _unindex(self, key: str, rec: _OutRec) -> None:
        if rec.state == PENDING:
            chat_pending = self._pending.get(rec.alert.chat_id)
            if chat_pending is not None:
                chat_pending.pop(key, None)
                if not chat_pending:
                    del self._pending[rec.alert.chat_id]
        elif rec.state == SENDING:
            self._sending.pop(key, None)

    def op_enqueue(self, doc: dict[str, Any], now: float) -> None:
        alert = Alert.from_dict(doc)
        if alert.key not in self._by_key:
            self._n += 1
            self._put(_OutRec(alert, PENDING, now, "", self._n))

    def op_state(self, key: str, state: str, now: float, reason: str) -> None:
        rec = self._by_key.get(key)
        if rec is None:
            return
        self._unindex(key, rec)
        rec.state, rec.updated, rec.reason = state, now, reason
        self._put(rec)

    def op_move(self, old: int, new: int) -> None:
        """``mig``: re-key the old chat's records; a headline the new chat has keeps its own."""
        for key in [k for k, r in self._by_key.items() if r.alert.chat_id == old]:
            rec = self._by_key.pop(key)
            self._unindex(key, rec)
            moved = Alert(new, rec.alert.headline_id, rec.alert.queries, rec.alert.created)
            if moved.key in self._by_key:
                continue  # the new chat already has this headline: keep that one
            rec.alert = moved
            self._put(rec)

    def op_prune(self, cutoff: float, seen: Callable[[str], bool]) -> int:
        """``prune``: drop records untouched since ``cutoff`` whose headline is not ``seen``
        any more (so the enqueue guard outlives the seen-id); return how many."""
        gone = [
            key for key, rec in self._by_key.items()
            if rec.updated < cutoff and not seen(rec.alert.headline_id)
        ]
        for key in gone:
            self._unindex(key, self._by_key.pop(key))
        return len(gone)

    # ------------------------------------------------------------------ snapshot

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in sorted(docs, key=lambda d: d["n"]):
            rec = _OutRec(Alert.from_dict(doc), doc["state"], float(doc["updated"]),
                          doc.get("reason", ""), int(doc["n"]))
            self._put(rec)
            self._n = max(self._n, rec.n)

    def docs(self) -> Iterator[dict[str, Any]]:
        return (rec.to_doc() for rec in self._by_key.values())
