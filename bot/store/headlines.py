"""The headlines table: every headline seen (its id is the seen-id), newest-first for /latest.

Journal operation: ``["hl", doc, first_seen]`` (a known id keeps its first version); ``prune``
drops old headlines (:meth:`Headlines.op_prune`, applied by ``bot/store/tables.py``).  In a
snapshot a headline is one document of the ``headlines`` table with its ``first_seen`` time.

Indexes: ``url_key`` -> ids (the same story from another source counts as seen), and a
timeline sorted by (published time, or first-seen time when the source gave none; arrival).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from bot.matching.query import Query
from bot.models import Headline
from bot.store.journal import Journal
from bot.store.search import SearchIndex

#: how many of the newest headlines ``Store.latest`` examines at most (its ``scan``)
DEFAULT_LATEST_SCAN = 5_000
#: how many candidates of the term index ``Store.search`` checks at most (about 40 ms)
DEFAULT_SEARCH_CHECKS = 1_000


class Headlines:
    """Headlines by id with their first-seen time (a POSIX timestamp)."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self._clock = clock
        self._by_id: dict[str, tuple[Headline, float]] = {}
        self._urls: dict[str, set[str]] = {}
        self._timeline: list[tuple[float, int, str]] = []
        self._tick = 0
        self._entries: dict[int, tuple[float, int, str]] = {}  # tick -> its timeline entry
        self._ticks: dict[str, int] = {}  # headline id -> tick
        self._search = SearchIndex()

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, headline_id: str) -> bool:
        return headline_id in self._by_id

    # ------------------------------------------------------------------ reads

    def is_seen(self, headline_id: str, url_key: str = "") -> bool:
        return headline_id in self._by_id or bool(url_key and url_key in self._urls)

    def get(self, headline_id: str) -> Headline | None:
        entry = self._by_id.get(headline_id)
        return entry[0] if entry else None

    def first_seen(self, headline_id: str) -> datetime | None:
        entry = self._by_id.get(headline_id)
        return datetime.fromtimestamp(entry[1], UTC) if entry else None

    def latest(
        self,
        limit: int,
        where: Callable[[Headline], bool] | None = None,
        *,
        scan: int | None = DEFAULT_LATEST_SCAN,
    ) -> list[Headline]:
        """Newest first by published time (first-seen time when the source gave none).

        ``scan`` caps how many of the newest headlines are examined (``where`` is called at
        most ``scan`` times), so a ``where`` that matches nothing costs a bounded time instead
        of a walk over every stored headline; ``None`` examines them all.  Fewer than
        ``limit`` results may therefore come back although older matches exist.
        """
        out: list[Headline] = []
        if limit <= 0:
            return out
        timeline: Iterable[tuple[float, int, str]] = reversed(self._timeline)
        if scan is not None:
            timeline = itertools.islice(timeline, max(scan, 0))
        for _, _, hid in timeline:
            headline = self._by_id[hid][0]
            if where is None or where(headline):
                out.append(headline)
                if len(out) >= limit:
                    break
        return out

    def search(
        self,
        query: Query,
        limit: int,
        where: Callable[[Headline], bool],
        *,
        checks: int = DEFAULT_SEARCH_CHECKS,
    ) -> list[Headline]:
        """Newest first, the headlines that pass ``where`` among the term index's candidates
        for ``query`` (``where`` is called at most ``checks`` times); a query the index cannot
        narrow is a bounded scan, as :meth:`latest`."""
        ticks = self._search.candidates(query)
        if ticks is None:
            return self.latest(limit, where, scan=checks)
        out: list[Headline] = []
        entries = sorted((self._entries[t] for t in ticks), reverse=True)
        for _, _, hid in itertools.islice(entries, max(checks, 0)):
            headline = self._by_id[hid][0]
            if where(headline):
                out.append(headline)
                if len(out) >= limit:
                    break
        return out

    def times(self, since: float) -> Iterator[tuple[str, float | None, float]]:
        """``(source, published, first seen)`` of every headline published (or, undated,
        first seen) at or after ``since``, oldest first."""
        start = bisect.bisect_left(self._timeline, (since,))
        for _, _, hid in self._timeline[start:]:
            headline, first_seen = self._by_id[hid]
            published = headline.published.timestamp() if headline.published else None
            yield headline.source, published, first_seen

    def counts(self, since: float) -> Counter[str]:
        """How many headlines each source (its ``source_id``, else its ``source`` name)
        brought that were published (or, undated, first seen) at or after ``since``."""
        start = bisect.bisect_left(self._timeline, (since,))
        found: Counter[str] = Counter()
        for _, _, hid in self._timeline[start:]:
            headline = self._by_id[hid][0]
            found[headline.source_id or headline.source] += 1
        return found

    def since(self, since: float) -> Iterator[Headline]:
        """Every headline published (or, undated, first seen) at or after ``since``, oldest
        first."""
        start = bisect.bisect_left(self._timeline, (since,))
        for _, _, hid in self._timeline[start:]:
            yield self._by_id[hid][0]

    # ------------------------------------------------------------------ writes

    def add(self, headlines: Iterable[Headline]) -> None:
        """Mark new headlines seen, first seen now; known ids are skipped."""
        now = self._clock().timestamp()
        with self._journal.batch():
            for headline in headlines:
                if headline.id not in self._by_id:
                    self._journal.write(["hl", headline.to_dict(), now])

    # ------------------------------------------------------------------ operations

    def _put(self, headline: Headline, first_seen: float) -> None:
        self._by_id[headline.id] = (headline, first_seen)
        if headline.url_key:
            self._urls.setdefault(headline.url_key, set()).add(headline.id)
        when = headline.published.timestamp() if headline.published else first_seen
        self._tick += 1
        entry = (when, self._tick, headline.id)
        self._entries[self._tick] = entry
        self._ticks[headline.id] = self._tick
        self._search.add(self._tick, headline.title, headline.summary, headline.source_id)
        if not self._timeline or entry > self._timeline[-1]:
            self._timeline.append(entry)
        else:
            bisect.insort(self._timeline, entry)

    def op_add(self, doc: dict[str, Any], first_seen: float) -> None:
        if doc["id"] not in self._by_id:
            self._put(Headline.from_dict(doc), first_seen)

    def op_prune(self, cutoff: float) -> int:
        """``prune``: drop headlines first seen before ``cutoff``; return how many."""
        old = [hid for hid, (_, seen) in self._by_id.items() if seen < cutoff]
        gone = [self._ticks.pop(hid) for hid in old]
        for tick in gone:
            del self._entries[tick]
        self._search.remove(gone)
        for hid in old:
            headline, _ = self._by_id.pop(hid)
            ids = self._urls.get(headline.url_key)
            if ids is not None:
                ids.discard(hid)
                if not ids:
                    del self._urls[headline.url_key]
        if old:
            self._timeline = [e for e in self._timeline if e[2] in self._by_id]
        return len(old)

    # ------------------------------------------------------------------ snapshot

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in docs:
            self._put(Headline.from_dict(doc), float(doc["first_seen"]))

    def docs(self) -> Iterator[dict[str, Any]]:
        for headline, first_seen in self._by_id.values():
            doc = headline.to_dict()
            doc["first_seen"] = first_seen
            yield doc
