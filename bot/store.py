"""The newsbot store: in-memory tables, an fsync'd append-only journal, TinyDB snapshots.

Why this design
---------------
TinyDB's default ``JSONStorage`` re-reads and rewrites the whole file on every operation, so a
single ``/follow`` costs the size of the whole database (about 700 ms at 100,000 chats).  Here
every table lives in memory (plain dicts plus the indexes the bot needs) and reads never touch
the disk.  A mutating call first turns itself into a small list of *operations*, applies them to
memory and appends them as **one JSON line** ``{"seq": n, "ops": [...]}`` to ``journal.jsonl``,
then ``fdatasync``s the file before returning: a confirmed write survives ``kill -9`` (and power
loss) the next instant, and costs one small append whatever the size of the database.  Several
writes can share one line and one fsync with ``with store.batch():``.

Periodically (every ``compact_every`` journal records, default 20,000, and on ``close()``) the
whole state is written as a **TinyDB database file** ``newsbot.json`` through a TinyDB storage
class that writes atomically (temporary file, fsync, ``os.replace``, fsync of the directory).
The snapshot's ``meta`` table records the application name, the schema version and the last
journal sequence number it contains; the journal is then truncated.  A crash at any point
leaves either the old snapshot plus the full journal, or the new snapshot plus a journal whose
lines are all already in it (skipped by sequence number on replay).

On open: take an exclusive, non-blocking ``flock`` on ``newsbot.lock`` (a second process gets
``StoreLockedError``); load the snapshot through TinyDB; check it is ours and of a known schema
version (older versions are migrated, after a ``.bak`` copy; a newer version, a foreign or an
unparsable file raises ``StoreCorruptError`` and nothing is written over it); replay the
journal lines with ``seq`` above the snapshot's, requiring consecutive sequence numbers.  A
last line that is incomplete or unparsable is a write torn by a crash (it was never
acknowledged): it is logged and cut off.  Any other unparsable line is corruption and is
refused.  Alerts left in ``sending`` (the process died mid-send, outcome unknown) are logged
and dropped, never resent.

Operations are encoded to JSON *before* they are applied, and memory is updated from the
decoded JSON, so the state in memory is exactly what a replay will rebuild (tuples become lists,
non-JSON values and text that is not valid Unicode, such as a lone surrogate, are refused up
front with TypeError/ValueError without touching the store).

Concurrency: **one writer**.  The store is meant to be used from the single asyncio thread of
the bot; its methods are synchronous and short (a write is one append + fsync, typically well
under a few milliseconds), and never interleave because nothing in them awaits.  It is not
thread-safe.  The lock file prevents a second process.  A compaction blocks the caller for the
time it takes to write the snapshot (about a second at 100,000 chats), once per
``compact_every`` writes.

Retention: ``prune()`` drops headlines (which are also the seen-ids, keyed by first-seen time)
older than ``retention``, and outbox records older than ``retention`` *only when their headline
is gone too*, so the "ever enqueued" guard of a (chat, headline) pair lives at least as long as
the headline's seen-id: a pruned outbox record can never let an alert be enqueued twice.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import gc
import itertools
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from bot.models import Alert, Chat, Headline, utcnow

__all__ = [
    "SCHEMA_VERSION",
    "Store",
    "StoreCorruptError",
    "StoreError",
    "StoreLockedError",
]

log = logging.getLogger("bot.store")

APP_NAME = "newsbot"
SCHEMA_VERSION = 2
SNAPSHOT_NAME = "newsbot.json"
JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "newsbot.lock"
DEFAULT_COMPACT_EVERY = 20_000
#: how many of the newest headlines ``Store.latest`` examines at most (its ``scan``)
DEFAULT_LATEST_SCAN = 5_000

PENDING, SENDING, SENT, DROPPED = "pending", "sending", "sent", "dropped"
_TERMINAL = (SENT, DROPPED)
_TABLES = ("meta", "chats", "headlines", "sources", "outbox")


class StoreError(Exception):
    """Base class of the store's errors."""


class StoreLockedError(StoreError):
    """Another process holds the store's lock."""


class StoreCorruptError(StoreError):
    """A file in the store directory is unreadable, foreign, or of an unknown version."""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _read_snapshot_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise StoreError(f"cannot read the store snapshot {path}: {exc}") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreCorruptError(
            f"{path} is not a readable newsbot store snapshot ({exc}); refusing to open it. "
            "The file was left untouched: restore it from a backup or move it away."
        ) from exc
    if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
        raise StoreCorruptError(
            f"{path} is JSON but not a TinyDB database; refusing to open it (left untouched)."
        )
    return data


class _SnapshotStorage(Storage):
    """TinyDB storage for snapshots.

    ``mode="r"``: reads (and caches) the file once, refuses to write.  ``mode="w"``: starts
    empty, keeps TinyDB's writes in memory and writes the file atomically on ``close()``, so a
    snapshot is written exactly once, whole, and never half-way over the previous one.
    """

    def __init__(self, path: str | Path, mode: str = "r") -> None:
        super().__init__()
        self._path = Path(path)
        self._mode = mode
        self._data: dict[str, Any] | None = None

    def read(self) -> dict[str, Any] | None:
        if self._mode == "r" and self._data is None:
            self._data = _read_snapshot_file(self._path)
        return self._data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if self._mode != "w":
            raise StoreError("snapshot opened read-only")
        self._data = data

    def discard(self) -> None:
        self._data = None

    def close(self) -> None:
        if self._mode == "w" and self._data is not None:
            _atomic_write(self._path, _dumps(self._data).encode("utf-8"))
            self._data = None


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


def _migrate_v1_to_v2(tables: dict[str, dict[str, Any]]) -> None:
    """Schema 1 kept subscriptions in their own table of ``{chat_id, query}`` documents (the
    plain-TinyDB layout); schema 2 keeps each chat's queries, in order, in its ``subs`` list."""
    chats = tables.setdefault("chats", {})
    by_id = {int(doc["id"]): doc for doc in chats.values()}
    for doc in by_id.values():
        doc.setdefault("subs", [])
    next_id = max((int(k) for k in chats), default=0) + 1
    subs_table = tables.pop("subscriptions", {})
    for doc_id in sorted(subs_table, key=int):
        sub = subs_table[doc_id]
        cid = int(sub["chat_id"])
        if cid not in by_id:
            by_id[cid] = {"id": cid, "kind": "private", "title": "", "active": True,
                          "settings": {}, "subs": []}
            chats[str(next_id)] = by_id[cid]
            next_id += 1
        if sub["query"] not in by_id[cid]["subs"]:
            by_id[cid]["subs"].append(sub["query"])


_MIGRATIONS: dict[int, Callable[[dict[str, dict[str, Any]]], None]] = {1: _migrate_v1_to_v2}


class Store:
    """Journaled, in-memory store of chats, subscriptions, headlines, source state and outbox.

    Open with :meth:`Store.open`; see the module docstring for the on-disk design.
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
        self.compact_every = max(1, compact_every)
        self._compact_at = self.compact_every
        self._clock = clock
        self._lock_fd: int | None = None
        self._journal_fd: int | None = None
        self._seq = 0
        self._journal_records = 0
        self._batch_depth = 0
        self._batch_ops: list[bytes] = []  # encoded ops, UTF-8
        self._failed: BaseException | None = None
        self._closed = False
        self._read_only = False
        # tables and indexes
        self._chats: dict[int, Chat] = {}
        self._subs: dict[int, list[str]] = {}
        self._headlines: dict[str, tuple[Headline, float]] = {}
        self._urls: dict[str, set[str]] = {}
        self._timeline: list[tuple[float, int, str]] = []
        self._tick = 0
        self._sources: dict[str, dict[str, Any]] = {}
        self._outbox: dict[str, _OutRec] = {}
        self._pending: dict[int, dict[str, None]] = {}
        self._sending: dict[str, None] = {}
        self._out_n = 0

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
        store._lock()
        gc_was_enabled = gc.isenabled()
        gc.disable()  # loading creates millions of objects and no cycles: skip the GC passes
        try:
            store._load()
        except BaseException:
            store._release()
            raise
        finally:
            if gc_was_enabled:
                gc.enable()
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
        store._read_only = True
        snap = path / SNAPSHOT_NAME
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            if snap.exists():
                store._seq, _ = store._load_snapshot(snap)
                store._replay(path / JOURNAL_NAME, store._seq)
        finally:
            if gc_was_enabled:
                gc.enable()
        return store

    def _lock(self) -> None:
        lock_path = self.path / LOCK_NAME
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # e.g. a read-only or foreign-owned volume
            raise StoreError(
                f"cannot use the store directory {self.path} ([storage] path): {exc.strerror}"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = ""
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            os.close(fd)
            if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                who = f" (pid {holder})" if holder else ""
                raise StoreLockedError(
                    f"another newsbot process{who} is using {self.path}; stop it first, or "
                    "point [storage] path at another directory"
                ) from exc
            raise StoreError(f"cannot lock {lock_path}: {exc}") from exc
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd

    def _release(self) -> None:
        if self._journal_fd is not None:
            os.close(self._journal_fd)
            self._journal_fd = None
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _load(self) -> None:
        snap = self.path / SNAPSHOT_NAME
        journal = self.path / JOURNAL_NAME
        tmp = snap.with_name(snap.name + ".tmp")
        if tmp.exists():  # a compaction died before its rename: the old snapshot is intact
            tmp.unlink()
        snap_seq = 0
        migrated_from: int | None = None
        if snap.exists():
            snap_seq, migrated_from = self._load_snapshot(snap)
        elif journal.exists() and journal.stat().st_size > 0:
            # a new store writes its snapshot before its first journal line: this journal is
            # either foreign or lost its snapshot; either way, do not touch it
            raise StoreCorruptError(
                f"{journal} exists but {snap} does not; refusing to open the store (files left "
                "untouched). Restore the snapshot or move the journal away."
            )
        self._seq = snap_seq
        replayed, good_end, torn = self._replay(journal, snap_seq)
        fresh = not snap.exists()
        self._journal_fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if torn:
            log.warning(
                "store %s: ignoring an incomplete last journal line (%d bytes, a write torn "
                "by a crash, never acknowledged)", self.path, torn,
            )
            os.ftruncate(self._journal_fd, good_end)
            os.fsync(self._journal_fd)
        self._journal_records = replayed
        if fresh or migrated_from is not None:
            if migrated_from is not None:
                log.warning("store %s: migrated schema %d -> %d", self.path, migrated_from,
                            SCHEMA_VERSION)
            self.compact()
        _fsync_dir(self.path)
        self._drop_stale_sending()

    def _load_snapshot(self, snap: Path) -> tuple[int, int | None]:
        db = TinyDB(snap, storage=_SnapshotStorage, mode="r")
        try:
            tables = db.storage.read() or {}
            metas = db.table("meta").all()
            if len(metas) != 1 or metas[0].get("app") != APP_NAME:
                raise StoreCorruptError(
                    f"{snap} is not a newsbot store (no newsbot meta record); refusing to open "
                    "it and leaving it untouched. Point [storage] path at another directory."
                )
            meta = metas[0]
            version = meta.get("schema")
            seq = meta.get("seq")
            if not isinstance(version, int) or not isinstance(seq, int) or seq < 0:
                raise StoreCorruptError(f"{snap}: bad meta record {dict(meta)!r}; refusing it")
            if version > SCHEMA_VERSION or (version < SCHEMA_VERSION
                                            and version not in _MIGRATIONS):
                raise StoreCorruptError(
                    f"{snap} has schema version {version}; this newsbot knows versions up to "
                    f"{SCHEMA_VERSION}. Refusing to open it (left untouched): upgrade newsbot."
                )
            migrated_from = None
            if version < SCHEMA_VERSION:
                migrated_from = version
                backup = snap.with_name(f"{snap.name}.v{version}.bak")
                if not self._read_only and not backup.exists():
                    shutil.copy2(snap, backup)
                    _fsync_dir(self.path)
                # migrations rewrite the raw tables TinyDB read, in memory
                while version < SCHEMA_VERSION:
                    _MIGRATIONS[version](tables)
                    version += 1
            try:
                self._build(db)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreCorruptError(
                    f"{snap}: a record does not fit schema {SCHEMA_VERSION} ({exc!r}); "
                    "refusing to open it (left untouched)"
                ) from exc
            return seq, migrated_from
        finally:
            db.close()

    def _build(self, db: TinyDB) -> None:
        intern = sys.intern
        for doc in db.table("chats").all():
            chat = Chat.from_dict(doc)
            self._chats[chat.id] = chat
            subs = [intern(q) for q in doc.get("subs", [])]
            if subs:
                self._subs[chat.id] = subs
        for doc in db.table("headlines").all():
            self._put_headline(Headline.from_dict(doc), float(doc["first_seen"]))
        for doc in db.table("sources").all():
            self._sources[doc["name"]] = doc["state"]
        docs = sorted(db.table("outbox").all(), key=lambda d: d["n"])
        for doc in docs:
            rec = _OutRec(Alert.from_dict(doc), doc["state"], float(doc["updated"]),
                          doc.get("reason", ""), int(doc["n"]))
            self._put_out(rec)
            self._out_n = max(self._out_n, rec.n)

    def _replay(self, journal: Path, snap_seq: int) -> tuple[int, int, int]:
        """Apply journal lines after ``snap_seq``; return (lines replayed, end of the last good
        line, bytes of a torn tail)."""
        if not journal.exists():
            return 0, 0, 0
        raw = journal.read_bytes()
        pos = 0
        replayed = 0
        last_seq: int | None = None
        lines = raw.split(b"\n")
        for i, line in enumerate(lines):
            is_last = i == len(lines) - 1 or (i == len(lines) - 2 and lines[-1] == b"")
            end = pos + len(line) + (1 if i < len(lines) - 1 else 0)
            if not line:
                if i != len(lines) - 1:
                    raise StoreCorruptError(f"{journal}: empty line at byte {pos}; refusing it")
                break
            try:
                rec = json.loads(line.decode("utf-8"))
                seq, ops = rec["seq"], rec["ops"]
                if not isinstance(seq, int) or not isinstance(ops, list):
                    raise ValueError("bad record")
                unterminated = i == len(lines) - 1
            except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
                if is_last:
                    return replayed, pos, len(raw) - pos
                raise StoreCorruptError(
                    f"{journal}: unreadable record at byte {pos} ({exc}); refusing to open the "
                    "store (files left untouched)"
                ) from exc
            if unterminated:  # complete JSON but no newline: the append never finished
                return replayed, pos, len(raw) - pos
            if last_seq is not None and seq != last_seq + 1:
                raise StoreCorruptError(
                    f"{journal}: sequence jumps from {last_seq} to {seq} at byte {pos}"
                )
            last_seq = seq
            if seq > snap_seq:
                if seq != self._seq + 1:
                    raise StoreCorruptError(
                        f"{journal}: record {seq} follows {self._seq}: records are missing "
                        "(was the snapshot replaced?); refusing to open the store"
                    )
                try:
                    for op in ops:
                        self._apply(op)
                except (KeyError, TypeError, ValueError, IndexError) as exc:
                    raise StoreCorruptError(
                        f"{journal}: record {seq} cannot be applied ({exc!r})"
                    ) from exc
                self._seq = seq
                replayed += 1
            pos = end
        return replayed, pos, 0

    def _drop_stale_sending(self) -> None:
        stale = [self._outbox[k].alert for k in self._sending]
        if not stale:
            return
        for alert in stale:
            log.warning(
                "alert %s was being sent when the bot stopped; its outcome is unknown, so it "
                "is dropped and not resent", alert.key,
            )
        self.drop(stale, "outcome unknown: the bot stopped while sending")

    def close(self) -> None:
        """Commit, write a final snapshot, release the lock.  Idempotent."""
        if self._closed:
            return
        try:
            if self._failed is None and self._lock_fd is not None:
                if self._batch_ops:
                    self._commit()
                if self._journal_records:
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
        self._check_writable()
        self._batch_depth += 1
        try:
            yield self
        finally:
            self._batch_depth -= 1
            if self._batch_depth == 0 and self._batch_ops:
                self._commit()

    def _check_writable(self) -> None:
        if self._read_only:
            raise StoreError("this store was opened read-only")
        if self._closed:
            raise StoreError("the store is closed")
        if self._failed is not None:
            raise StoreError(
                f"an earlier journal write failed ({self._failed!r}); the store refuses "
                "further writes until it is reopened"
            )

    def _do(self, op: list[Any]) -> Any:
        """Encode ``op``, apply its decoded form to memory, queue it for the journal."""
        self._check_writable()
        text = _dumps(op)
        try:
            data = text.encode("utf-8")  # before memory changes: a bad value is refused here
        except UnicodeEncodeError as exc:
            raise ValueError(
                "refused a store write: its text is not valid Unicode (a lone surrogate "
                f"{text[exc.start:exc.end]!r}); nothing was changed"
            ) from exc
        result = self._apply(json.loads(text))
        self._batch_ops.append(data)
        return result

    def _flush(self) -> None:
        if self._batch_depth == 0 and self._batch_ops:
            self._commit()

    def _commit(self) -> None:
        ops, self._batch_ops = self._batch_ops, []
        seq = self._seq + 1
        line = b'{"seq":%d,"ops":[%b]}\n' % (seq, b",".join(ops))
        assert self._journal_fd is not None
        try:
            _write_all(self._journal_fd, line)
            os.fdatasync(self._journal_fd)
        except OSError as exc:
            self._failed = exc
            raise StoreError(f"cannot write the journal in {self.path}: {exc}") from exc
        self._seq = seq
        self._journal_records += 1
        if self._journal_records >= self._compact_at:
            try:
                self.compact()
            except Exception:
                # the write above is durable; a failed compaction (disk full, or a bug) only
                # delays the next one and must never fail the write
                log.exception("store %s: compaction failed; will retry later", self.path)
                self._compact_at = self._journal_records + self.compact_every

    def compact(self) -> None:
        """Write the whole state as a TinyDB snapshot, then empty the journal."""
        if self._batch_depth:
            return  # the batch commits first; compaction waits for the next threshold/close
        self._check_writable()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._write_snapshot()
        finally:
            if gc_was_enabled:
                gc.enable()
        assert self._journal_fd is not None
        os.ftruncate(self._journal_fd, 0)
        os.fsync(self._journal_fd)
        self._journal_records = 0
        self._compact_at = self.compact_every

    def _write_snapshot(self) -> None:
        snap = self.path / SNAPSHOT_NAME
        db = TinyDB(snap, storage=_SnapshotStorage, mode="w")
        try:
            db.table("meta").insert({
                "app": APP_NAME, "schema": SCHEMA_VERSION, "seq": self._seq,
                "written": self._clock().astimezone(UTC).isoformat(),
            })
            chat_docs = []
            for cid, chat in self._chats.items():
                doc = chat.to_dict()
                doc["subs"] = self._subs.get(cid, [])
                chat_docs.append(doc)
            db.table("chats").insert_multiple(chat_docs)
            hl_docs = []
            for headline, first_seen in self._headlines.values():
                doc = headline.to_dict()
                doc["first_seen"] = first_seen
                hl_docs.append(doc)
            db.table("headlines").insert_multiple(hl_docs)
            db.table("sources").insert_multiple(
                {"name": name, "state": state} for name, state in self._sources.items()
            )
            db.table("outbox").insert_multiple(rec.to_doc() for rec in self._outbox.values())
        except BaseException:
            db.storage.discard()  # never write a half-built snapshot
            raise
        finally:
            db.close()  # the atomic write happens here

    # ------------------------------------------------------------------ applying operations

    def _apply(self, op: list[Any]) -> Any:
        kind = op[0]
        handler = getattr(self, "_op_" + kind.replace("+", "_add").replace("-", "_del"))
        return handler(*op[1:])

    def _op_chat(self, doc: dict[str, Any]) -> None:
        chat = Chat.from_dict(doc)
        self._chats[chat.id] = chat

    def _ensure_chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = Chat(id=chat_id)
        return chat

    def _op_sub_add(self, chat_id: int, query: str) -> None:
        self._ensure_chat(chat_id)
        subs = self._subs.setdefault(chat_id, [])
        if query not in subs:
            subs.append(sys.intern(query))

    def _op_sub_del(self, chat_id: int, query: str) -> None:
        subs = self._subs.get(chat_id)
        if subs and query in subs:
            subs.remove(query)
            if not subs:
                del self._subs[chat_id]

    def _op_mig(self, old: int, new: int) -> None:
        old_chat = self._chats.pop(old, None)
        if old_chat is not None:
            new_chat = self._chats.get(new)
            if new_chat is None:
                old_chat.id = new
                self._chats[new] = old_chat
            else:
                new_chat.settings = {**old_chat.settings, **new_chat.settings}
                new_chat.title = new_chat.title or old_chat.title
        old_subs = self._subs.pop(old, [])
        if old_subs:
            subs = self._subs.setdefault(new, [])
            subs.extend(q for q in old_subs if q not in subs)
        for key in [k for k, r in self._outbox.items() if r.alert.chat_id == old]:
            rec = self._outbox.pop(key)
            self._unindex(key, rec)
            moved = Alert(new, rec.alert.headline_id, rec.alert.queries, rec.alert.created)
            if moved.key in self._outbox:
                continue  # the new chat already has this headline: keep that one
            rec.alert = moved
            self._put_out(rec)

    def _put_headline(self, headline: Headline, first_seen: float) -> None:
        self._headlines[headline.id] = (headline, first_seen)
        if headline.url_key:
            self._urls.setdefault(headline.url_key, set()).add(headline.id)
        when = headline.published.timestamp() if headline.published else first_seen
        self._tick += 1
        entry = (when, self._tick, headline.id)
        if not self._timeline or entry > self._timeline[-1]:
            self._timeline.append(entry)
        else:
            bisect.insort(self._timeline, entry)

    def _op_hl(self, doc: dict[str, Any], first_seen: float) -> None:
        if doc["id"] not in self._headlines:
            self._put_headline(Headline.from_dict(doc), first_seen)

    def _op_src(self, name: str, state: dict[str, Any]) -> None:
        self._sources[name] = state

    def _op_src_del(self, name: str) -> None:
        self._sources.pop(name, None)

    def _put_out(self, rec: _OutRec) -> None:
        key = rec.alert.key
        self._outbox[key] = rec
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

    def _op_enq(self, doc: dict[str, Any], now: float) -> None:
        alert = Alert.from_dict(doc)
        if alert.key not in self._outbox:
            self._out_n += 1
            self._put_out(_OutRec(alert, PENDING, now, "", self._out_n))

    def _op_st(self, key: str, state: str, now: float, reason: str) -> None:
        rec = self._outbox.get(key)
        if rec is None:
            return
        self._unindex(key, rec)
        rec.state, rec.updated, rec.reason = state, now, reason
        self._put_out(rec)

    def _op_prune(self, cutoff: float) -> dict[str, int]:
        old = [hid for hid, (_, seen) in self._headlines.items() if seen < cutoff]
        for hid in old:
            headline, _ = self._headlines.pop(hid)
            ids = self._urls.get(headline.url_key)
            if ids is not None:
                ids.discard(hid)
                if not ids:
                    del self._urls[headline.url_key]
        if old:
            self._timeline = [e for e in self._timeline if e[2] in self._headlines]
        gone = [
            key for key, rec in self._outbox.items()
            if rec.updated < cutoff and rec.alert.headline_id not in self._headlines
        ]
        for key in gone:
            self._unindex(key, self._outbox.pop(key))
        return {"headlines": len(old), "outbox": len(gone)}

    # ------------------------------------------------------------------ chats

    def chat(self, chat_id: int) -> Chat | None:
        chat = self._chats.get(chat_id)
        return Chat.from_dict(chat.to_dict()) if chat is not None else None

    def chats(self) -> list[Chat]:
        return [Chat.from_dict(c.to_dict()) for c in self._chats.values()]

    def upsert_chat(self, chat_id: int, *, kind: str, title: str = "") -> Chat:
        """Create or update a chat and mark it active (e.g. on /start); keeps its settings."""
        current = self._chats.get(chat_id)
        doc = current.to_dict() if current else Chat(id=chat_id).to_dict()
        new = {**doc, "kind": kind, "title": title or doc["title"], "active": True}
        if current is None or new != doc:
            self._do(["chat", new])
            self._flush()
        chat = self.chat(chat_id)
        assert chat is not None
        return chat

    def set_active(self, chat_id: int, active: bool) -> None:
        current = self._chats.get(chat_id)
        if current is not None and current.active == active:
            return
        doc = current.to_dict() if current else Chat(id=chat_id).to_dict()
        doc["active"] = active
        self._do(["chat", doc])
        self._flush()

    def set_setting(self, chat_id: int, key: str, value: Any) -> None:
        current = self._chats.get(chat_id)
        doc = current.to_dict() if current else Chat(id=chat_id).to_dict()
        doc["settings"][key] = value
        self._do(["chat", doc])
        self._flush()

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """Move a chat (group upgraded to supergroup) with its settings, subscriptions and
        outbox records (pending alerts and the already-enqueued guard) to ``new_id``."""
        if old_id == new_id:
            return
        self._do(["mig", old_id, new_id])
        self._flush()

    # ------------------------------------------------------------------ subscriptions

    def subscriptions(self, chat_id: int) -> list[str]:
        return list(self._subs.get(chat_id, ()))

    def all_subscriptions(self) -> Iterator[tuple[int, str]]:
        for chat_id, subs in list(self._subs.items()):
            for query in list(subs):
                yield chat_id, query

    def add_subscription(self, chat_id: int, query: str) -> bool:
        if not isinstance(query, str) or not query:
            raise ValueError("a subscription query must be a non-empty string")
        if query in self._subs.get(chat_id, ()):
            return False
        self._do(["sub+", chat_id, query])
        self._flush()
        return True

    def remove_subscription(self, chat_id: int, query: str) -> bool:
        if query not in self._subs.get(chat_id, ()):
            return False
        self._do(["sub-", chat_id, query])
        self._flush()
        return True

    # ------------------------------------------------------------------ headlines

    def is_seen(self, headline_id: str, url_key: str = "") -> bool:
        return headline_id in self._headlines or bool(url_key and url_key in self._urls)

    def add_headlines(self, headlines: Iterable[Headline]) -> None:
        now = self._clock().timestamp()
        with self.batch():
            for headline in headlines:
                if headline.id not in self._headlines:
                    self._do(["hl", headline.to_dict(), now])

    def headline(self, headline_id: str) -> Headline | None:
        entry = self._headlines.get(headline_id)
        return entry[0] if entry else None

    def first_seen(self, headline_id: str) -> datetime | None:
        entry = self._headlines.get(headline_id)
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
            headline = self._headlines[hid][0]
            if where is None or where(headline):
                out.append(headline)
                if len(out) >= limit:
                    break
        return out

    # ------------------------------------------------------------------ sources

    def source_state(self, name: str) -> dict:
        state = self._sources.get(name)
        return json.loads(_dumps(state)) if state is not None else {}

    def set_source_state(self, name: str, state: dict) -> None:
        self._do(["src", name, state])
        self._flush()

    def source_names(self) -> list[str]:
        return list(self._sources)

    def prune_sources(self, keep: set[str]) -> int:
        """Forget the state of sources no longer configured; return how many were dropped."""
        gone = [name for name in self._sources if name not in keep]
        with self.batch():
            for name in gone:
                self._do(["src-", name])
        return len(gone)

    # ------------------------------------------------------------------ outbox

    def enqueue(self, alerts: Iterable[Alert]) -> int:
        """Add alerts to the outbox; a (chat, headline) pair ever enqueued is skipped."""
        now = self._clock().timestamp()
        added = 0
        with self.batch():
            for alert in alerts:
                if alert.key not in self._outbox:
                    self._do(["enq", alert.to_dict(), now])
                    added += 1
        return added

    def pending(self, chat_id: int | None = None) -> list[Alert]:
        """Alerts waiting to be sent (not those being sent), oldest first."""
        if chat_id is None:
            keys: Iterable[str] = (k for ks in self._pending.values() for k in ks)
        else:
            keys = self._pending.get(chat_id, {})
        recs = sorted((self._outbox[k] for k in keys), key=lambda r: (r.alert.created, r.n))
        return [r.alert for r in recs]

    def pending_chats(self) -> list[int]:
        """Chats with pending alerts."""
        return list(self._pending)

    def alert_state(self, chat_id: int, headline_id: str) -> str | None:
        """``pending``, ``sending``, ``sent``, ``dropped``; None if never enqueued (or pruned)."""
        rec = self._outbox.get(f"{chat_id}|{headline_id}")
        return rec.state if rec else None

    def _transition(self, alerts: Iterable[Alert], state: str, allowed: tuple[str, ...],
                    reason: str = "") -> None:
        now = self._clock().timestamp()
        with self.batch():
            for alert in alerts:
                rec = self._outbox.get(alert.key)
                if rec is not None and rec.state in allowed:
                    self._do(["st", alert.key, state, now, reason])

    def mark_sending(self, alerts: Iterable[Alert]) -> None:
        self._transition(alerts, SENDING, (PENDING,))

    def mark_sent(self, alerts: Iterable[Alert]) -> None:
        self._transition(alerts, SENT, (PENDING, SENDING))

    def release(self, alerts: Iterable[Alert]) -> None:
        """``sending`` -> ``pending``: the send surely failed (e.g. a network error before
        Telegram got it, or a 429), so the alert may be tried again."""
        self._transition(alerts, PENDING, (SENDING,))

    def drop(self, alerts: Iterable[Alert], reason: str) -> None:
        self._transition(alerts, DROPPED, (PENDING, SENDING), reason)

    # ------------------------------------------------------------------ retention

    def prune(self, now: datetime | None = None) -> dict[str, int]:
        """Drop headlines (seen-ids) first seen more than ``retention`` ago, and outbox
        records older than that whose headline is gone.  Returns counts per table."""
        cutoff = (now or self._clock()).timestamp() - self.retention.total_seconds()
        result = self._do(["prune", cutoff])
        self._flush()
        return result

    def sent_since(self, since: datetime) -> int:
        """How many alerts Telegram confirmed at or after ``since`` (scans the outbox)."""
        cutoff = since.timestamp()
        return sum(1 for r in self._outbox.values() if r.state == "sent" and r.updated >= cutoff)

    def stats(self) -> dict[str, int]:
        return {
            "chats": len(self._chats),
            "subscriptions": sum(len(s) for s in self._subs.values()),
            "headlines": len(self._headlines),
            "sources": len(self._sources),
            "outbox": len(self._outbox),
            "pending": sum(len(p) for p in self._pending.values()),
            "journal_records": self._journal_records,
            "seq": self._seq,
        }
