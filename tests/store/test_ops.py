"""The store's table of journal operations, and the public question "does it accept writes?".

Every operation a public write emits must be registered (or the next open could not replay
it), every registered one must be emitted by some write (no dead names), and a journal record
naming no known operation, or a malformed one, must be refused as corruption with a clear
message -- never an AttributeError, and never by touching the files.
"""

from __future__ import annotations

import gc
import json
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.store.journal as journal_mod
from bot.models import Alert, Headline, Post, PostEntry
from bot.store import JOURNAL_NAME, Store, StoreCorruptError, StoreError
from bot.store.journal import Journal
from bot.store.tables import Tables

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _registered() -> set[str]:
    journal = Journal(Path("/nonexistent/journal.jsonl"), lambda op: None, lambda: None)
    return set(Tables(journal, lambda: T0).ops)


def _journal_op_names(path: Path) -> set[str]:
    names = set()
    for line in (path / JOURNAL_NAME).read_bytes().splitlines():
        names.update(op[0] for op in json.loads(line)["ops"])
    return names


def _every_write(s: Store) -> None:
    h = Headline(source="s", id="h1", title="t", link="https://x/1")
    a = Alert(-1, "h1", ("q",), created=T0)
    s.upsert_chat(-1, kind="group", title="G")
    s.set_active(-1, False)
    s.set_setting(-1, "lang", "en")
    s.add_subscription(-1, "q")
    s.remove_subscription(-1, "q")
    s.add_subscription(-1, "q")
    s.add_headlines([h])
    s.set_source_state("A", {"polls": 1})
    s.set_source_state("B", {"polls": 1})
    s.prune_sources({"A"})
    s.put_registry_entry("a", {"slug": "a", "url": "https://a/", "kind": "chat", "chats": [-1]})
    s.put_registry_entry("b", {"slug": "b", "url": "https://b/"})
    s.remove_registry_entry("b")
    s.enqueue([a])
    s.mark_sending([a])
    s.release([a])
    s.mark_sent([a])
    s.set_stories([("h1", "s1", T0.timestamp())])
    s.put_posts([Post(-1, 7, "alert", (PostEntry("s1", ("h1",), ("q",)),), sent=T0)])
    s.migrate_chat(-1, -100)
    s.prune(T0 + timedelta(days=365))


def test_every_write_emits_registered_ops_and_every_op_is_emitted(tmp_path: Path) -> None:
    path = tmp_path / "data"
    s = Store.open(path, clock=lambda: T0)
    try:
        _every_write(s)
        emitted = _journal_op_names(path)
    finally:
        s._release()  # a crash: the next open must replay every one of them
        s._closed = True
    assert emitted == _registered()
    s = Store.open(path)
    try:
        assert s.subscriptions(-100) == ["q"] and s.chat(-1) is None
        assert s.source_names() == ["A"] and not s.is_seen("h1")
    finally:
        s.close()


def _store_with_record(path: Path, ops_json: bytes) -> bytes:
    """A closed store whose journal ends with one more record carrying ``ops_json``."""
    s = Store.open(path)
    s.add_subscription(1, "a")
    s._release()
    s._closed = True
    journal = path / JOURNAL_NAME
    seq = json.loads(journal.read_bytes().splitlines()[-1])["seq"] + 1
    content = journal.read_bytes() + b'{"seq":%d,"ops":%b}\n' % (seq, ops_json)
    journal.write_bytes(content)
    return content


@pytest.mark.parametrize(
    ("ops", "says"),
    [
        (b'[["zap",1]]', "unknown store operation 'zap'"),
        (b'[["_op_chat",{"id":1}]]', "unknown store operation '_op_chat'"),
        (b"[[5,1]]", "unknown store operation 5"),
        (b"[[]]", "not a store operation"),
        (b'["sub+"]', "not a store operation"),
        (b'[["sub+",1]]', "TypeError"),
        (b'[["chat",5]]', "cannot be applied"),
        (b'[["hl","not a doc",1.0]]', "cannot be applied"),
    ],
    ids=["unknown", "method-name", "number", "empty", "bare-name", "arity", "chat-int", "hl-str"],
)
def test_a_bad_operation_in_the_journal_is_corruption(tmp_path: Path, ops: bytes, says: str
                                                      ) -> None:
    path = tmp_path / "data"
    content = _store_with_record(path, ops)
    with pytest.raises(StoreCorruptError, match="record 2 cannot be applied") as info:
        Store.open(path)
    assert says in str(info.value)
    assert (path / JOURNAL_NAME).read_bytes() == content  # left untouched
    with pytest.raises(StoreCorruptError):
        Store.read_only(path)


def test_accepts_writes_and_check_writable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    path = tmp_path / "data"
    s = Store.open(path)
    assert s.accepts_writes()
    s.check_writable()  # no exception
    peek = Store.read_only(path)
    assert not peek.accepts_writes()
    with pytest.raises(StoreError, match="read-only"):
        peek.check_writable()

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_mod.os, "fdatasync", full_disk)
    with pytest.raises(StoreError, match="cannot write the journal"):
        s.add_subscription(1, "a")
    monkeypatch.undo()
    assert not s.accepts_writes()
    with pytest.raises(StoreError, match="earlier journal write failed"):
        s.check_writable()
    with pytest.raises(StoreError, match="earlier journal write failed"):
        s.add_subscription(1, "b")
    s.close()
    assert not s.accepts_writes()
    s = Store.open(path)  # reopened: writes again
    try:
        assert s.accepts_writes() and s.add_subscription(1, "b")
    finally:
        s.close()
    assert not s.accepts_writes()
    with pytest.raises(StoreError, match="closed"):
        s.check_writable()


@pytest.mark.parametrize("how", ["close", "crash"])
def test_a_closed_store_is_freed_without_the_garbage_collector(tmp_path: Path, how: str
                                                               ) -> None:
    """The tables of a closed store go with its last reference (no cycle keeps them until a
    GC pass): reopening a large store must not hold two copies in memory."""
    s = Store.open(tmp_path / "data")
    s.add_subscription(1, "a")
    tables = weakref.ref(s._tables)
    enabled = gc.isenabled()
    gc.disable()
    try:
        if how == "close":
            s.close()
        else:
            s._release()
        del s
        assert tables() is None
    finally:
        if enabled:
            gc.enable()
