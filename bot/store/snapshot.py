"""Snapshots: the whole state as one TinyDB database file, ``newsbot.json``, written atomically.

The ``meta`` table holds one record: the application name, the schema version, the last
journal sequence number the snapshot contains, and when it was written.  The other tables are
the store's (see ``bot/store/tables.py`` for their layout).  A snapshot is written exactly once,
whole (temporary file, fsync, ``os.replace``, fsync of the directory), never half-way over the
previous one; a leftover temporary file is a compaction that died before its rename.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage

from bot.store import migrations
from bot.store.durable import APP_NAME, dumps, fsync_dir, write_all
from bot.store.errors import StoreCorruptError, StoreError

Docs = Iterable[dict[str, Any]]


def _atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync of the directory."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


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
            _atomic_write(self._path, dumps(self._data).encode("utf-8"))
            self._data = None


def remove_leftover(snap: Path) -> None:
    """Delete the temporary file of a compaction that died before its rename."""
    tmp = snap.with_name(snap.name + ".tmp")
    if tmp.exists():  # the old snapshot is intact
        tmp.unlink()


def _meta(snap: Path, db: TinyDB) -> tuple[int, int]:
    """The snapshot's (schema version, seq), after checking it is a newsbot store."""
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
    return version, seq


def load(snap: Path, build: Callable[[TinyDB], None], *, backup: bool) -> tuple[int, int | None]:
    """Read ``snap``, migrate it if old (``backup``: keep a ``.v<N>.bak`` copy first), and
    hand the database to ``build``.  Returns (seq, the version migrated from or None)."""
    db = TinyDB(snap, storage=_SnapshotStorage, mode="r")
    try:
        tables = db.storage.read() or {}
        version, seq = _meta(snap, db)
        # migrations rewrite the raw tables TinyDB read, in memory
        migrated_from = migrations.upgrade(snap, tables, version, backup=backup)
        try:
            build(db)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreCorruptError(
                f"{snap}: a record does not fit schema {migrations.SCHEMA_VERSION} ({exc!r}); "
                "refusing to open it (left untouched)"
            ) from exc
        return seq, migrated_from
    finally:
        db.close()


def write(snap: Path, seq: int, written: datetime, tables: Iterable[tuple[str, Docs]]) -> None:
    """Write a snapshot of ``tables`` (name, documents) containing journal records to ``seq``.

    The documents are produced while writing; if that fails, nothing is written.
    """
    db = TinyDB(snap, storage=_SnapshotStorage, mode="w")
    storage: Any = db.storage
    try:
        db.table("meta").insert({
            "app": APP_NAME, "schema": migrations.SCHEMA_VERSION, "seq": seq,
            "written": written.astimezone(UTC).isoformat(),
        })
        for name, docs in tables:
            db.table(name).insert_multiple(docs)
    except BaseException:
        storage.discard()  # never write a half-built snapshot
        raise
    finally:
        db.close()  # the atomic write happens here
