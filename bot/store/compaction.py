"""Compaction: when the journal is folded into a fresh snapshot, and how.

Every ``every`` journal records (and on close, and after opening a new or migrated store) the
whole state is written as a snapshot, then the journal is emptied.  A crash in between leaves
the new snapshot plus journal lines that are all already in it (skipped by sequence number on
replay).  A compaction blocks the caller for the time it takes to write the snapshot (about a
second at 100,000 chats).  A failed compaction only postpones the next one: the write that
triggered it is durable already and must not fail.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from bot.store.journal import Journal

DEFAULT_COMPACT_EVERY = 20_000


class Compaction:
    """The schedule of compactions of one store."""

    def __init__(self, every: int) -> None:
        self.every = max(1, every)
        self._at = self.every

    def due(self, records: int) -> bool:
        """True when a journal of ``records`` records should be compacted."""
        return records >= self._at

    def postpone(self, records: int) -> None:
        """A compaction failed: try again ``every`` records from now."""
        self._at = records + self.every

    def run(self, write_snapshot: Callable[[], None], journal: Journal) -> None:
        """Write the snapshot, then empty the journal."""
        gc_was_enabled = gc.isenabled()
        gc.disable()  # the snapshot is millions of fresh objects and no cycles
        try:
            write_snapshot()
        finally:
            if gc_was_enabled:
                gc.enable()
        journal.truncate()
        self._at = self.every
