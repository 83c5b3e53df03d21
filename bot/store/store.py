"""``Store``: the one front the bot talks to, wiring the durable machinery to the tables.

Opening: take the lock (``lock.py``); drop a compaction's leftover temporary file; load the
snapshot (``snapshot.py``, migrating an old schema with ``migrations.py``) into the tables
(``tables.py``); replay the journal after it (``replay.py``), cutting a torn last line; open the
journal for appending (``journal.py``); compact a new or migrated store at once; drop alerts
left in ``sending``.  Every public method below is one line handing the call to its table.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.matching.query import Query
from bot.models import Alert, Chat, Headline, Post, utcnow
from bot.store import lock, snapshot
from bot.store.compaction import DEFAULT_COMPACT_EVERY, Compaction
from bot.store.durable import JOURNAL_NAME, SNAPSHOT_NAME, fsync_dir
from bot.store.errors import StoreCorruptError, StoreError
from bot.store.headlines import DEFAULT_LATEST_SCAN
from bot.store.journal import Journal
from bot.store.migrations import SCHEMA_VERSION
from bot.store.replay import replay
from bot.store.tables import Tables

log = logging.getLogger("bot.store")  # one logger for the whole package


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Loading creates millions of objects and no cycles: skip the collector's passes."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if gc_was_enabled:
            gc.enable()


class Store:
    """Journaled, in-memory store of chats, subscriptions, headlines, source state and outbox.

    Open with :meth:`Store.open` (or :meth:`Store.read_only`); see ``bot/store/__init__.py``
    for the design.  One writer: use it from one thread; it is not thread-safe.
    """

    def __init__(
        self,
        path: Path,
        *,
        retention: timedelta,
        compact_every: int,
        clock: Callable[[], datetime],
    ) -> None:
        self.path = path
        self.retention = retention
        self._compaction = Compaction(compact_every)
        self.compact_every = self._compaction.every
        self._clock = clock
        self._lock_fd: int | None = None
        self._closed = False
        self._journal = Journal(path / JOURNAL_NAME, self._apply, self._committed)
        self._tables = Tables(self._journal, clock)

    def _apply(self, op: list[Any]) -> Any:
        return self._tables.apply(op)

    # ------------------------------------------------------------------ open / close

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        retention: timedelta = timedelta(days=30),
        compact_every: int = DEFAULT_COMPACT_EVERY,
        clock: Callable[[], datetime] = utcnow,
    ) -> Store:
        """Open (creating if needed) the store in directory ``path``.

        Raises ``StoreLockedError`` when another process uses it and ``StoreCorruptError``
        when a file in it is not a readable newsbot store of a known version.
        """
        path = Path(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StoreError(f"store path {path} exists and is not a directory") from exc
        except OSError as exc:  # e.g. a volume owned by another user
            raise StoreError(
                f"cannot create the store directory {path} ([storage] path): {exc.strerror}"
            ) from exc
        store = cls(path, retention=retention, compact_every=compact_every, clock=clock)
        store._lock_fd = lock.acquire(path)
        try:
            with _no_gc():
                store._load()
        except BaseException:
            store._release()
            raise
        return store

    @classmethod
    def read_only(
        cls,
        path: str | Path,
        *,
        retention: timedelta = timedelta(days=30),
        clock: Callable[[], datetime] = utcnow,
    ) -> Store:
        """The store's data for inspection (``python -m bot check``): takes no lock and writes
        nothing, so it works beside a running bot (and may be a moment behind it).  A missing
        directory reads as an empty store.  Every write raises ``StoreError``."""
        path = Path(path)
        store = cls(path, retention=retention, compact_every=DEFAULT_COMPACT_EVERY, clock=clock)
        store._journal.read_only = True
        snap = path / SNAPSHOT_NAME
        with _no_gc():
            if snap.exists():
                seq, _ = snapshot.load(snap, store._tables.load, backup=False)
                store._journal.seq = replay(path / JOURNAL_NAME, seq, store._tables.apply).seq
        return store

    def _load(self) -> None:
        snap = self.path / SNAPSHOT_NAME
        journal = self._journal.path
        snapshot.remove_leftover(snap)
        fresh = not snap.exists()
        snap_seq, migrated_from = 0, None
        if not fresh:
            snap_seq, migrated_from = snapshot.load(snap, self._tables.load, backup=True)
        elif journal.exists() and journal.stat().st_size > 0:
            # a new store writes its snapshot before its first journal line: this journal is
            # either foreign or lost its snapshot; either way, do not touch it
            raise StoreCorruptError(
                f"{journal} exists but {snap} does not; refusing to open the store (files left "
                "untouched). Restore the snapshot or move the journal away."
            )
        done = replay(journal, snap_seq, self._tables.apply)
        self._journal.seq = done.seq
        if done.torn:
            log.warning(
                "store %s: ignoring an incomplete last journal line (%d bytes, a write torn "
                "by a crash, never acknowledged)", self.path, done.torn,
            )
        self._journal.open_for_append(done.good_end if done.torn else None)
        self._journal.records = done.records
        if fresh or migrated_from is not None:
            if migrated_from is not None:
                log.warning("store %s: migrated schema %d -> %d", self.path, migrated_from,
                            SCHEMA_VERSION)
            self.compact()
        fsync_dir(self.path)
        self._drop_stale_sending()

    def _drop_stale_sending(self) -> None:
        stale = self._tables.outbox.stale_sending()
        if not stale:
            return
        for alert in stale:
            log.warning(
                "alert %s was being sent when the bot stopped; its outcome is unknown, so it "
                "is dropped and not resent", alert.key,
            )
        self.drop(stale, "outcome unknown: the bot stopped while sending")

    def _release(self) -> None:
        self._journal.close()
        if self._lock_fd is not None:
            lock.release(self._lock_fd)
            self._lock_fd = None

    def close(self) -> None:
        """Commit, write a final snapshot, release the lock.  Idempotent."""
        if self._closed:
            return
        try:
            if self._journal.failed is None and self._lock_fd is not None:
                if self._journal.queued:
                    self._journal.commit()
                if self._journal.records:
                    self.compact()
        finally:
            self._closed = True
            self._release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing

    @contextlib.contextmanager
    def batch(self) -> Iterator[Store]:
        """Group the writes inside into one journal record and one fsync.

        Reads inside see the writes at once.  The writes become durable when the outermost
        ``batch`` exits -- also when it exits with an exception (what was applied is kept).
        """
        with self._journal.batch():
            yield self

    def flush(self) -> None:
        """Make the ``durable=False`` writes durable: one record, one fsync (a no-op when
        there are none, and when writes are refused)."""
        if not self._closed and self._journal.refusal() is None:
            self._journal.flush()

    def check_writable(self) -> None:
        """Raise ``StoreError`` saying why when writes are refused (read-only, closed, or after
        a failed journal write)."""
        self._journal.check_writable()

    def accepts_writes(self) -> bool:
        """True while the store is open for writing and no durable write has failed."""
        return self._journal.refusal() is None

    def compact(self) -> None:
        """Write the whole state as a TinyDB snapshot, then empty the journal."""
        if self._journal.batching:
            return  # the batch commits first; compaction waits for the next threshold/close
        self._journal.check_writable()
        self._compaction.run(self._write_snapshot, self._journal)

    def _write_snapshot(self) -> None:
        snapshot.write(self.path / SNAPSHOT_NAME, self._journal.seq, self._clock(),
                       self._tables.snapshot())

    def _committed(self) -> None:
        if not self._compaction.due(self._journal.records):
            return
        try:
            self.compact()
        except Exception:
            # the write is durable already; a failed compaction (disk full, or a bug) only
            # delays the next one and must never fail the write
            log.exception("store %s: compaction failed; will retry later", self.path)
            self._compaction.postpone(self._journal.records)

    # ------------------------------------------------------------------ chats

    def chat(self, chat_id: int) -> Chat | None:
        """A copy of the chat, or None."""
        return self._tables.chats.get(chat_id)

    def chats(self) -> list[Chat]:
        """Copies of every chat."""
        return self._tables.chats.all()

    def upsert_chat(self, chat_id: int, *, kind: str, title: str = "") -> Chat:
        """Create or update a chat and mark it active (e.g. on /start); keeps its settings."""
        return self._tables.chats.upsert(chat_id, kind=kind, title=title)

    def set_active(self, chat_id: int, active: bool) -> None:
        """Turn delivery to a chat on or off (blocked, kicked, gone; /start)."""
        self._tables.chats.set_active(chat_id, active)

    def set_setting(self, chat_id: int, key: str, value: Any) -> None:
        """Set one of the chat's settings to a JSON value (creating the chat if needed)."""
        self._tables.chats.set_setting(chat_id, key, value)

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """Move a chat (group upgraded to supergroup) with its settings, subscriptions and
        outbox records (pending alerts and the already-enqueued guard) to ``new_id``."""
        self._tables.chats.migrate(old_id, new_id)

    # ------------------------------------------------------------------ subscriptions

    def subscriptions(self, chat_id: int) -> list[str]:
        """The chat's query texts, in the order they were added."""
        return self._tables.subscriptions.of(chat_id)

    def all_subscriptions(self) -> Iterator[tuple[int, str]]:
        """Every (chat id, query text)."""
        return self._tables.subscriptions.all()

    def add_subscription(self, chat_id: int, query: str) -> bool:
        """Follow ``query`` in the chat; False if it is followed already."""
        return self._tables.subscriptions.add(chat_id, query)

    def remove_subscription(self, chat_id: int, query: str) -> bool:
        """Unfollow ``query``; False if it was not followed."""
        return self._tables.subscriptions.remove(chat_id, query)

    # ------------------------------------------------------------------ headlines

    def is_seen(self, headline_id: str, url_key: str = "") -> bool:
        """True when the id, or the story's ``url_key``, was seen (within retention)."""
        return self._tables.headlines.is_seen(headline_id, url_key)

    def add_headlines(self, headlines: Iterable[Headline]) -> None:
        """Mark headlines seen and keep them for /latest (known ids keep their first version)."""
        self._tables.headlines.add(headlines)

    def headline(self, headline_id: str) -> Headline | None:
        """The stored headline, or None."""
        return self._tables.headlines.get(headline_id)

    def first_seen(self, headline_id: str) -> datetime | None:
        """When the headline was first seen, or None."""
        return self._tables.headlines.first_seen(headline_id)

    def headline_times(self, since: datetime) -> Iterator[tuple[str, float | None, float]]:
        """``(source, published, first seen)`` (POSIX times) of every headline published (or,
        undated, first seen) since ``since``, oldest first: each source's publishing history,
        from which its polls are paced."""
        return self._tables.headlines.times(since.timestamp())

    def headline_counts(self, since: datetime) -> Counter[str]:
        """Headlines per source (``source_id``, else ``source``) since ``since``."""
        return self._tables.headlines.counts(since.timestamp())

    def headlines_since(self, since: datetime) -> Iterator[Headline]:
        """Every headline published (or, undated, first seen) since ``since``, oldest first."""
        return self._tables.headlines.since(since.timestamp())

    def latest(
        self,
        limit: int,
        where: Callable[[Headline], bool] | None = None,
        *,
        scan: int | None = DEFAULT_LATEST_SCAN,
    ) -> list[Headline]:
        """Newest first, at most ``limit``, examining at most ``scan`` (see Headlines.latest)."""
        return self._tables.headlines.latest(limit, where, scan=scan)

    def search(
        self, query: Query, limit: int, where: Callable[[Headline], bool]
    ) -> list[Headline]:
        """Newest first, at most ``limit`` headlines passing ``where`` among those the term
        index finds for ``query`` (see Headlines.search): fast however many are stored."""
        return self._tables.headlines.search(query, limit, where)

    # ------------------------------------------------------------------ sources

    def source_state(self, name: str) -> dict:
        """A copy of the source's state; ``{}`` when unknown."""
        return self._tables.sources.state(name)

    def set_source_state(self, name: str, state: dict, *, durable: bool = True) -> None:
        """Replace the source's state (a JSON object).  ``durable=False``: in memory at once,
        on disk with the next write or :meth:`flush` -- for a state whose loss in a crash only
        means an earlier poll (a 304's), so thousands of 304s share one fsync."""
        self._tables.sources.set_state(name, state, durable=durable)

    def source_names(self) -> list[str]:
        """Names of the sources with a state."""
        return self._tables.sources.names()

    def forget_source_state(self, name: str) -> None:
        """Forget one source's state (no-op when unknown)."""
        self._tables.sources.remove(name)

    def prune_sources(self, keep: set[str]) -> int:
        """Forget the state of sources no longer configured; return how many were dropped."""
        return self._tables.sources.prune(keep)

    # ------------------------------------------------------------------ source registry

    def registry_entries(self) -> list[dict[str, Any]]:
        """Every source-registry entry (``bot.sources.registry.SourceEntry.to_dict``)."""
        return self._tables.registry.entries()

    def put_registry_entry(self, slug: str, entry: dict[str, Any]) -> None:
        """Store (replace) the registry entry of ``slug``."""
        self._tables.registry.put(slug, entry)

    def remove_registry_entry(self, slug: str) -> None:
        self._tables.registry.remove(slug)

    # ------------------------------------------------------------------ outbox

    def enqueue(self, alerts: Iterable[Alert]) -> int:
        """Add alerts to the outbox; a (chat, headline) pair ever enqueued is skipped."""
        return self._tables.outbox.enqueue(alerts)

    def pending(self, chat_id: int | None = None) -> list[Alert]:
        """Alerts waiting to be sent (not those being sent), oldest first."""
        return self._tables.outbox.pending(chat_id)

    def pending_chats(self) -> list[int]:
        """Chats with pending alerts."""
        return self._tables.outbox.pending_chats()

    def alert_state(self, chat_id: int, headline_id: str) -> str | None:
        """``pending``, ``sending``, ``sent``, ``dropped``; None if never enqueued (or pruned)."""
        return self._tables.outbox.state(chat_id, headline_id)

    def mark_sending(self, alerts: Iterable[Alert]) -> None:
        """``pending`` -> ``sending``, just before the send."""
        self._tables.outbox.mark_sending(alerts)

    def mark_sent(self, alerts: Iterable[Alert]) -> None:
        """``pending`` or ``sending`` -> ``sent``: Telegram confirmed it."""
        self._tables.outbox.mark_sent(alerts)

    def release(self, alerts: Iterable[Alert]) -> None:
        """``sending`` -> ``pending``: the send surely failed (e.g. a network error before
        Telegram got it, or a 429), so the alert may be tried again."""
        self._tables.outbox.release(alerts)

    def drop(self, alerts: Iterable[Alert], reason: str) -> None:
        """``pending`` or ``sending`` -> ``dropped``, with the reason."""
        self._tables.outbox.drop(alerts, reason)

    def sent_since(self, since: datetime) -> int:
        """How many alerts Telegram confirmed at or after ``since`` (scans the outbox)."""
        return self._tables.outbox.sent_since(since)

    # ------------------------------------------------------------------ stories, posts

    def story_of(self, headline_id: str) -> str | None:
        """The story id of a stored headline, or None (not filed, or [stories] off)."""
        return self._tables.stories.story_of(headline_id)

    def story_members(self, story_id: str) -> list[str]:
        """The headline ids of a story, in the order they were filed."""
        return self._tables.stories.members(story_id)

    def story_rows(self, since: datetime) -> Iterator[tuple[str, str, float]]:
        """``(headline id, story id, when)`` placed at or after ``since``, oldest first."""
        return self._tables.stories.since(since.timestamp())

    def story_top(self) -> int:
        """The highest story number ever filed (new stories are numbered above it)."""
        return self._tables.stories.top

    def set_stories(self, rows: Iterable[tuple[str, str, float]]) -> None:
        """File ``(headline id, story id, when)`` rows; a headline keeps its first story."""
        self._tables.stories.put(rows)

    def post_of_story(self, chat_id: int, story_id: str) -> Post | None:
        """The newest alert message showing the story in the chat, or None."""
        return self._tables.posts.of_story(chat_id, story_id)

    def put_posts(self, posts: Iterable[Post]) -> None:
        """Remember (or replace) alert messages Telegram confirmed, with what they show."""
        self._tables.posts.put(posts)

    # ------------------------------------------------------------------ retention, stats

    def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Drop headlines (seen-ids) first seen more than ``retention`` ago, outbox records
        older than that whose headline is gone, the story rows of the headlines gone and
        posts older than that.  Returns counts per table."""
        cutoff = (now or self._clock()).timestamp() - self.retention.total_seconds()
        return self._tables.prune(cutoff)

    def stats(self) -> dict[str, int]:
        """Row counts per table, plus the journal's records and sequence number."""
        return {
            **self._tables.stats(),
            "journal_records": self._journal.records,
            "seq": self._journal.seq,
        }

