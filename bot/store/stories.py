"""The stories table: the story id of every stored headline (``bot.stories`` decides it).

A row is (headline id, story id, when): ``when`` is the POSIX time the same-story rule placed
the report at (its published time, never later than its arrival).  The rows of the last
window rebuild the rule's :class:`~bot.stories.StoryIndex` at start (``bot/story_keeper.py``),
so a report that arrives after a restart still finds its story; the rest serve ``/latest``
and the ``stories`` command (a story's reports, with their sources).

Journal operation: ``["sty", headline_id, story_id, when]`` (a headline keeps its first
story).  ``prune`` drops the rows whose headline went (:meth:`StoriesTable.op_prune`, applied
by ``bot/store/tables.py`` right after the headlines), so stories live exactly as long as
their headlines.  In a snapshot a row is one document ``{headline, story, when}`` of the
``stories`` table, plus one document ``{top, when: 0}``; a snapshot without that table
(written before stories were kept) has no rows, and the keeper files the headlines of the
window again at start.

Story ids (``s<n>``) never repeat: :attr:`top` is the highest number ever filed (kept across
pruning and in the snapshot), and the keeper numbers new stories above it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

from bot.store.journal import Journal


def story_number(story_id: str) -> int:
    """``n`` of a story id ``s<n>``; 0 for any other form."""
    if story_id[:1] == "s" and story_id[1:].isdigit():
        return int(story_id[1:])
    return 0


class StoriesTable:
    """Story rows by headline, each story's headlines in the order filed, a time index."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._by_headline: dict[str, tuple[str, float]] = {}
        self._members: dict[str, dict[str, None]] = {}
        self._times: list[tuple[float, str]] = []  # (when, headline id), sorted
        self.top = 0  # the highest story number of any row kept

    def __len__(self) -> int:
        return len(self._by_headline)

    # ------------------------------------------------------------------ reads

    def story_of(self, headline_id: str) -> str | None:
        row = self._by_headline.get(headline_id)
        return row[0] if row is not None else None

    def members(self, story_id: str) -> list[str]:
        """The story's headline ids, in the order they were filed."""
        return list(self._members.get(story_id, ()))

    def since(self, since: float) -> Iterator[tuple[str, str, float]]:
        """``(headline id, story id, when)`` of the rows placed at or after ``since``,
        oldest first."""
        start = bisect.bisect_left(self._times, (since, ""))
        for when, hid in self._times[start:]:
            yield hid, self._by_headline[hid][0], when

    # ------------------------------------------------------------------ writes

    def put(self, rows: Iterable[tuple[str, str, float]]) -> None:
        """File ``(headline id, story id, when)`` rows; a headline with a story keeps it."""
        with self._journal.batch():
            for hid, story, when in rows:
                if hid not in self._by_headline:
                    self._journal.write(["sty", hid, story, float(when)])

    # ------------------------------------------------------------------ operations

    def op_put(self, hid: str, story: str, when: float) -> None:
        if not isinstance(hid, str) or not isinstance(story, str) or not story:
            raise ValueError(f"bad story row {hid!r} {story!r}")
        if hid in self._by_headline:
            return
        when = float(when)
        self._by_headline[hid] = (story, when)
        self._members.setdefault(story, {})[hid] = None
        entry = (when, hid)
        if not self._times or entry > self._times[-1]:
            self._times.append(entry)
        else:
            bisect.insort(self._times, entry)
        self.top = max(self.top, story_number(story))

    def op_prune(self, kept: Any) -> int:
        """``prune``: drop the rows whose headline is no longer ``kept`` (a container of
        headline ids); return how many.  :attr:`top` stays: ids are never reused."""
        gone = [hid for hid in self._by_headline if hid not in kept]
        for hid in gone:
            story, _ = self._by_headline.pop(hid)
            members = self._members[story]
            del members[hid]
            if not members:
                del self._members[story]
        if gone:
            self._times = [e for e in self._times if e[1] in self._by_headline]
        return len(gone)

    # ------------------------------------------------------------------ snapshot

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in sorted(docs, key=lambda d: float(d["when"])):
            if "top" in doc and "headline" not in doc:
                self.top = max(self.top, int(doc["top"]))
                continue
            self.op_put(doc["headline"], doc["story"], doc["when"])

    def docs(self) -> Iterator[dict[str, Any]]:
        yield {"top": self.top, "when": 0.0}
        for when, hid in self._times:
            yield {"headline": hid, "story": self._by_headline[hid][0], "when": when}
