"""The newsbot store: in-memory tables, an fsync'd append-only journal, TinyDB snapshots.

Why this design
---------------
TinyDB's default ``JSONStorage`` re-reads and rewrites the whole file on every operation, so a
single ``/follow`` costs the size of the whole database (about 700 ms at 100,000 chats).  Here
every table lives in memory (plain dicts plus the indexes the bot needs) and reads never touch
the disk.  A mutating call turns itself into a small list of *operations*, applies them to
memory and appends them as **one JSON line** to ``journal.jsonl``, then ``fdatasync``s the file
before returning: a confirmed write survives ``kill -9`` (and power loss) the next instant, and
costs one small append whatever the size of the database.  Periodically the whole state is
written as a **TinyDB database file** ``newsbot.json`` (atomically) and the journal emptied.

Where things are
----------------
The front, :class:`Store` (``store.py``), is all the rest of the bot uses.  Behind it:

* durable machinery: ``lock.py`` (one writer), ``journal.py`` (the write path: encode, apply,
  append + fdatasync, batches), ``replay.py`` (the journal on open, torn tail), ``snapshot.py``
  (the TinyDB file, atomic write, meta checks), ``migrations.py`` (schema versions, ``.bak``),
  ``compaction.py`` (when and how the journal becomes a snapshot), ``durable.py`` (file
  primitives and names), ``errors.py``;
* tables, one module each: ``chats.py``, ``subscriptions.py``, ``headlines.py``,
  ``sources.py``, ``outbox.py``; ``tables.py`` holds them together with the table of journal
  operations and the snapshot layout.

Concurrency: **one writer**.  The store is meant to be used from the single asyncio thread of
the bot; its methods are synchronous and short, and never interleave because nothing in them
awaits.  It is not thread-safe.  The lock file prevents a second process.

Retention: ``prune()`` drops headlines (which are also the seen-ids, keyed by first-seen time)
older than ``retention``, and outbox records older than ``retention`` *only when their headline
is gone too*, so the "ever enqueued" guard of a (chat, headline) pair lives at least as long as
the headline's seen-id: a pruned outbox record can never let an alert be enqueued twice.
"""

from bot.store.compaction import DEFAULT_COMPACT_EVERY
from bot.store.durable import APP_NAME, JOURNAL_NAME, LOCK_NAME, SNAPSHOT_NAME
from bot.store.errors import StoreCorruptError, StoreError, StoreLockedError
from bot.store.headlines import DEFAULT_LATEST_SCAN
from bot.store.migrations import SCHEMA_VERSION
from bot.store.store import Store

__all__ = [
    "APP_NAME",
    "DEFAULT_COMPACT_EVERY",
    "DEFAULT_LATEST_SCAN",
    "JOURNAL_NAME",
    "LOCK_NAME",
    "SCHEMA_VERSION",
    "SNAPSHOT_NAME",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
]
