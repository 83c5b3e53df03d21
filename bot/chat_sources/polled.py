"""The chats' own sources as the poller sees them: which are due, and how often each is polled.

There may be 20,000 of them (1,000 chats with 20 each), so the poller does not read each one's
state from the store at every tick as it does for the operator's few.  Their due times are
kept here, in memory: read once from the store when a source first appears in the registry
(the ``/addsource`` check stored its state as after a first poll), and set after each poll.
The registry's ``version`` says when sources came or went (an add, a remove, a migration).
A heap orders them by due time, so finding the due ones costs nothing for those not due, and
the poller can start the next as soon as one ends (not only at its once-a-second tick).

Each is paced from what its own polls find (``bot.sources.pace``): as often as it publishes,
between ``[polling] min_interval_seconds`` and ``max_interval_seconds``, and never sooner than
its hints (ttl, ``Retry-After``, ``Cache-Control``) allow.  The operator's budget
(``requests_per_hour``) stays the operator's sources' own: chats adding sources never slow the
operator's polls down.  The publishing history in the store is learnt at start.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Container
from datetime import datetime, timedelta

from bot.chat_sources.own import is_own_id
from bot.config import Settings
from bot.sources import SourceState
from bot.sources.pace import Scheduler
from bot.sources.registry import CHAT_STATE_PREFIX, Registry, SourceEntry
from bot.store import Store

__all__ = ["OwnSources"]


class OwnSources:
    """Due times and pacing of every chat source some chat still has."""

    def __init__(self, settings: Settings, store: Store, registry: Registry,
                 now: datetime) -> None:
        polling = settings.polling
        self.store = store
        self.registry = registry
        self.pace = Scheduler(
            floor=polling.min_interval_seconds, ceiling=polling.max_interval_seconds
        )
        self._due: dict[str, datetime | None] = {}  # state name -> next poll (None: now)
        self._entries: dict[str, SourceEntry] = {}
        # (due, token, name): an entry is current while its token is the name's latest
        self._heap: list[tuple[float, int, str]] = []
        self._token: dict[str, int] = {}
        self._tokens = itertools.count()
        self._version = -1
        self._learn_history(now)

    def _learn_history(self, now: datetime) -> None:
        """What the stored headlines of chat sources say about how often each publishes."""
        since = now - timedelta(seconds=self.pace.window)
        for headline in self.store.headlines_since(since):
            if headline.source_id and is_own_id(headline.id) and headline.published:
                when = headline.published.timestamp()
                self.pace.observe(f"{CHAT_STATE_PREFIX}{headline.source_id}", when, when)

    def __len__(self) -> int:
        self.sync()
        return len(self._due)

    def sync(self) -> None:
        """Take in the sources added since the last look, forget the removed ones."""
        if self.registry.version == self._version:
            return
        self._version = self.registry.version
        entries = {e.state_name: e for e in self.registry.chat_sources() if e.chats}
        for name in self._due.keys() - entries.keys():
            del self._due[name]
            del self._token[name]
        self._entries = entries
        for name in entries.keys() - self._due.keys():
            state = SourceState.from_dict(self.store.source_state(name))
            self._due[name] = state.next_poll_at
            self._push(name)
            since = state.watching_since.timestamp() if state.watching_since else None
            self.pace.add(name, watching_since=since, hints=state.hints)

    def _push(self, name: str) -> None:
        when = self._due[name]
        token = self._token[name] = next(self._tokens)
        heapq.heappush(self._heap, (when.timestamp() if when else -math.inf, token, name))

    def take(self, now: datetime, busy: Container[str], room: int) -> list[SourceEntry]:
        """At most ``room`` sources whose poll has come, out of the queue until ``set_due``
        puts them back (after their poll); those in ``busy`` are left for later."""
        self.sync()
        out: list[SourceEntry] = []
        later: list[str] = []
        heap, limit = self._heap, now.timestamp()
        while heap and len(out) < room and heap[0][0] <= limit:
            _, token, name = heapq.heappop(heap)
            if self._token.get(name) != token:
                continue  # superseded by a later set_due, or removed
            if name in busy:
                later.append(name)
            else:
                out.append(self._entries[name])
        for name in later:
            self._push(name)
        return out

    def entry(self, state_name: str) -> SourceEntry | None:
        """The source as the registry has it now (its chats may have changed during a poll);
        None once no chat has it."""
        self.sync()
        return self._entries.get(state_name)

    def due_at(self, state_name: str) -> datetime | None:
        return self._due.get(state_name)

    def set_due(self, state_name: str, when: datetime | None) -> None:
        """The source's next poll (back in the queue)."""
        if state_name in self._due:
            self._due[state_name] = when
            self._push(state_name)
