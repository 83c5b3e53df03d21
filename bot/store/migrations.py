"""Schema versions of the snapshot and the migrations between them.

A snapshot of an older version is copied to ``newsbot.json.v<N>.bak`` (once, and never by a
read-only store) and migrated in memory; the store then writes a snapshot of the current
version.  A newer version, or an old one without a migration, is refused untouched.

To change the layout of a table: bump ``SCHEMA_VERSION``, add ``_migrate_v<N>_to_v<N+1>``
rewriting the raw TinyDB tables (``{table: {doc_id: doc}}``) and register it in ``_MIGRATIONS``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.store.durable import fsync_dir
from bot.store.errors import StoreCorruptError

SCHEMA_VERSION = 2

RawTables = dict[str, dict[str, Any]]


def _migrate_v1_to_v2(tables: RawTables) -> None:
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


_MIGRATIONS: dict[int, Callable[[RawTables], None]] = {1: _migrate_v1_to_v2}


def check_version(snap: Path, version: int) -> None:
    """Refuse a snapshot this code cannot read (newer, or old without a migration)."""
    if version > SCHEMA_VERSION or (version < SCHEMA_VERSION and version not in _MIGRATIONS):
        raise StoreCorruptError(
            f"{snap} has schema version {version}; this newsbot knows versions up to "
            f"{SCHEMA_VERSION}. Refusing to open it (left untouched): upgrade newsbot."
        )


def upgrade(snap: Path, tables: RawTables, version: int, *, backup: bool) -> int | None:
    """Migrate the raw ``tables`` read from ``snap`` (of ``version``) to ``SCHEMA_VERSION``.

    Returns the version migrated from, or None when it was current.  With ``backup``, the
    file is first copied to ``<snap>.v<version>.bak`` unless that copy exists.
    """
    check_version(snap, version)
    if version == SCHEMA_VERSION:
        return None
    migrated_from = version
    bak = snap.with_name(f"{snap.name}.v{version}.bak")
    if backup and not bak.exists():
        shutil.copy2(snap, bak)
        fsync_dir(snap.parent)
    while version < SCHEMA_VERSION:
        _MIGRATIONS[version](tables)
        version += 1
    return migrated_from
