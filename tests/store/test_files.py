"""bot.store on disk: journal replay, torn and corrupt lines, snapshots and schema, the
lock, compaction failures, bad text and caps."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tinydb import TinyDB

from bot.models import Alert, Headline
from bot.store import (
    JOURNAL_NAME,
    SCHEMA_VERSION,
    SNAPSHOT_NAME,
    Store,
    StoreCorruptError,
    StoreError,
    StoreLockedError,
)
from tests.store.conftest import REPO, T0, Clock, crash_reopen, hl, reopen

# ---------------------------------------------------------------------------- files on disk


def test_journal_replay_without_snapshot_update(store: Store) -> None:
    store.add_subscription(1, "a")
    snap_before = (store.path / SNAPSHOT_NAME).read_bytes()
    store.add_subscription(1, "b")
    store.set_source_state("s", {"n": 1})
    assert (store.path / SNAPSHOT_NAME).read_bytes() == snap_before  # writes never touch it
    s2 = crash_reopen(store)
    try:
        assert s2.subscriptions(1) == ["a", "b"] and s2.source_state("s") == {"n": 1}
    finally:
        s2.close()


def test_compaction_threshold_and_stale_lines_skipped(store_dir: Path) -> None:
    s = Store.open(store_dir, compact_every=5)
    for i in range(12):
        s.add_subscription(1, f"q{i}")
    journal = store_dir / JOURNAL_NAME
    assert len(journal.read_bytes().splitlines()) < 5
    meta = json.loads((store_dir / SNAPSHOT_NAME).read_text())["meta"]
    assert next(iter(meta.values()))["seq"] >= 10
    # a crash between snapshot and journal truncation leaves old lines: they are skipped
    old_lines = journal.read_bytes()
    s.compact()
    journal.write_bytes(old_lines)
    s = crash_reopen(s)
    try:
        assert s.subscriptions(1) == [f"q{i}" for i in range(12)]
    finally:
        s.close()


def test_torn_last_line_ignored_and_cut(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.add_subscription(1, "a")
    journal = store.path / JOURNAL_NAME
    store._release()
    store._closed = True
    good = journal.read_bytes()
    journal.write_bytes(good + b'{"seq":99,"ops":[["sub+",1,"tor')
    with caplog.at_level(logging.WARNING, logger="bot.store"):
        s2 = Store.open(store.path)
    try:
        assert s2.subscriptions(1) == ["a"]
        assert "torn" in caplog.text
        assert journal.read_bytes() == good
        s2.add_subscription(1, "b")  # appends cleanly after the cut
    finally:
        s2._release()
    s3 = Store.open(store.path)
    try:
        assert s3.subscriptions(1) == ["a", "b"]
    finally:
        s3.close()


def test_complete_but_unterminated_last_line_is_not_acknowledged(store: Store) -> None:
    store.add_subscription(1, "a")
    journal = store.path / JOURNAL_NAME
    store._release()
    store._closed = True
    line = json.loads(journal.read_bytes().splitlines()[-1])
    extra = json.dumps({"seq": line["seq"] + 1, "ops": [["sub+", 1, "b"]]}).encode()
    journal.write_bytes(journal.read_bytes() + extra)  # no newline: fsync never returned
    s2 = Store.open(store.path)
    try:
        assert s2.subscriptions(1) == ["a"]
    finally:
        s2.close()


def test_corrupt_middle_journal_line_refused(store: Store) -> None:
    store.add_subscription(1, "a")
    store.add_subscription(1, "b")
    journal = store.path / JOURNAL_NAME
    store._release()
    store._closed = True
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[0] = b"garbage\n"
    bad = b"".join(lines)
    journal.write_bytes(bad)
    with pytest.raises(StoreCorruptError, match="unreadable record"):
        Store.open(store.path)
    assert journal.read_bytes() == bad


def test_journal_gap_refused(store: Store) -> None:
    store.add_subscription(1, "a")
    store.close()
    journal = store.path / JOURNAL_NAME
    journal.write_bytes(b'{"seq":50,"ops":[["sub+",1,"x"]]}\n')
    with pytest.raises(StoreCorruptError, match="missing"):
        Store.open(store.path)


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe\x00", b'{"_default": {"1": {"name": "x"}}}', b"[1, 2]",
     b'{"meta": {"1": {"app": "otherapp", "schema": 2, "seq": 0}}}'],
    ids=["broken-json", "binary", "foreign-tinydb", "json-list", "other-app"],
)
def test_corrupt_or_foreign_snapshot_refused_and_untouched(store_dir: Path, content: bytes) -> None:
    store_dir.mkdir()
    snap = store_dir / SNAPSHOT_NAME
    snap.write_bytes(content)
    with pytest.raises(StoreCorruptError, match="refus"):
        Store.open(store_dir)
    assert snap.read_bytes() == content
    # the lock was released: a retry fails for the same reason, not the lock
    with pytest.raises(StoreCorruptError):
        Store.open(store_dir)


def test_newer_schema_refused(store: Store) -> None:
    store.close()
    snap = store.path / SNAPSHOT_NAME
    data = json.loads(snap.read_text())
    data["meta"]["1"]["schema"] = SCHEMA_VERSION + 1
    snap.write_text(json.dumps(data))
    before = snap.read_bytes()
    with pytest.raises(StoreCorruptError, match="schema version"):
        Store.open(store.path)
    assert snap.read_bytes() == before


def test_migration_from_v1(store_dir: Path) -> None:
    """A v1 store (subscriptions in their own TinyDB table) opens and is rewritten as v2."""
    store_dir.mkdir()
    snap = store_dir / SNAPSHOT_NAME
    db = TinyDB(snap)
    db.table("meta").insert({"app": "newsbot", "schema": 1, "seq": 2})
    db.table("chats").insert({"id": 1, "kind": "group", "title": "G", "active": True,
                              "settings": {"lang": "en"}})
    db.table("subscriptions").insert_multiple([
        {"chat_id": 1, "query": "AI"}, {"chat_id": 1, "query": "chip"},
        {"chat_id": 7, "query": "eVTOL"}, {"chat_id": 1, "query": "AI"},
    ])
    db.table("sources").insert({"name": "caixin", "state": {"polls": 2}})
    db.close()
    v1 = snap.read_bytes()
    (store_dir / JOURNAL_NAME).write_bytes(b'{"seq":3,"ops":[["sub+",7,"drone"]]}\n')
    s = Store.open(store_dir)
    try:
        assert s.subscriptions(1) == ["AI", "chip"]
        assert s.subscriptions(7) == ["eVTOL", "drone"]
        assert s.chat(1).settings == {"lang": "en"} and s.chat(7) is not None
        assert s.source_state("caixin") == {"polls": 2}
    finally:
        s.close()
    assert (store_dir / f"{SNAPSHOT_NAME}.v1.bak").read_bytes() == v1
    data = json.loads(snap.read_text())
    assert data["meta"]["1"]["schema"] == SCHEMA_VERSION and "subscriptions" not in data
    s = Store.open(store_dir)
    try:
        assert s.subscriptions(7) == ["eVTOL", "drone"]
    finally:
        s.close()


def test_leftover_tmp_snapshot_removed(store: Store) -> None:
    store.add_subscription(1, "a")
    store.close()
    tmp = store.path / (SNAPSHOT_NAME + ".tmp")
    tmp.write_bytes(b'{"half": ')
    s = Store.open(store.path)
    try:
        assert not tmp.exists() and s.subscriptions(1) == ["a"]
    finally:
        s.close()


def test_path_that_is_a_file(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        Store.open(f)


# ---------------------------------------------------------------------------- lock


def test_lock_same_process(store: Store) -> None:
    with pytest.raises(StoreLockedError, match="another newsbot process"):
        Store.open(store.path)
    store.close()
    Store.open(store.path).close()  # released on close


def test_lock_other_process(store: Store) -> None:
    code = (
        "import sys\n"
        "from bot.store import Store, StoreLockedError\n"
        "try:\n"
        "    Store.open(sys.argv[1])\n"
        "except StoreLockedError as e:\n"
        "    print('LOCKED', e); sys.exit(3)\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(store.path)], cwd=REPO,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 3, res.stderr
    assert "another newsbot process" in res.stdout and str(store.path) in res.stdout
    store.close()
    res = subprocess.run([sys.executable, "-c", code, str(store.path)], cwd=REPO,
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr


def test_closed_store_refuses_writes(store: Store) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.add_subscription(1, "a")


def test_context_manager(store_dir: Path) -> None:
    with Store.open(store_dir) as s:
        s.add_subscription(1, "a")
    with Store.open(store_dir) as s:
        assert s.subscriptions(1) == ["a"]


def test_journal_without_snapshot_refused_and_untouched(store_dir: Path) -> None:
    store_dir.mkdir()
    journal = store_dir / JOURNAL_NAME
    journal.write_bytes(b"someone else's log line\n")
    with pytest.raises(StoreCorruptError, match="does not"):
        Store.open(store_dir)
    assert journal.read_bytes() == b"someone else's log line\n"
    assert not (store_dir / SNAPSHOT_NAME).exists()


def test_failed_compaction_does_not_fail_the_durable_write(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.store.snapshot as store_mod

    s = Store.open(store_dir, compact_every=3)
    real = store_mod._atomic_write

    def full_disk(path: Path, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod, "_atomic_write", full_disk)
    for i in range(5):
        assert s.add_subscription(1, f"q{i}") is True  # no exception: each write is durable
    assert "compaction failed" in caplog.text
    monkeypatch.setattr(store_mod, "_atomic_write", real)
    s = crash_reopen(s)
    try:
        assert s.subscriptions(1) == [f"q{i}" for i in range(5)]
    finally:
        s.close()


def test_compaction_error_never_writes_a_half_snapshot(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.store.outbox as store_mod

    store.add_subscription(1, "a")
    store.enqueue([Alert(1, "h", ("a",))])
    before = (store.path / SNAPSHOT_NAME).read_bytes()

    def boom(self) -> dict:
        raise RuntimeError("bug while building the snapshot")

    monkeypatch.setattr(store_mod._OutRec, "to_doc", boom)
    with pytest.raises(RuntimeError):
        store.compact()
    assert (store.path / SNAPSHOT_NAME).read_bytes() == before
    monkeypatch.undo()
    s2 = crash_reopen(store)
    try:
        assert s2.subscriptions(1) == ["a"] and s2.alert_state(1, "h") == "pending"
    finally:
        s2.close()


def test_read_only_sees_the_data_of_a_running_store_and_writes_nothing(tmp_path):
    from bot.store import StoreError

    path = tmp_path / "data"
    assert Store.read_only(path).chats() == []  # a missing store reads as empty
    assert not path.exists()

    live = Store.open(path)
    try:
        live.add_subscription(5, "eVTOL")
        live.set_source_state("S", {"failures": 2, "last_error": "HTTP 500"})
        before = {p.name: p.read_bytes() for p in path.iterdir()}
        peek = Store.read_only(path)  # beside the running store: no lock needed
        assert peek.subscriptions(5) == ["eVTOL"]
        assert peek.source_state("S")["last_error"] == "HTTP 500"
        with pytest.raises(StoreError, match="read-only"):
            peek.add_subscription(5, "Nexperia")
        peek.close()
        assert {p.name: p.read_bytes() for p in path.iterdir()} == before
        live.add_subscription(5, "Nexperia")  # the live store is unaffected
    finally:
        live.close()


def test_sent_since_counts_confirmed_alerts_by_time(tmp_path):
    now = [datetime(2026, 11, 26, 12, tzinfo=UTC)]
    store = Store.open(tmp_path / "data", clock=lambda: now[0])
    try:
        alerts = [Alert(c, "h1", ("q",)) for c in (1, 2, 3)]
        store.add_headlines([hl("h1")])
        store.enqueue(alerts)
        store.mark_sent(alerts[:1])
        now[0] += timedelta(hours=25)
        store.mark_sent(alerts[1:2])
        store.drop(alerts[2:], "blocked")
        assert store.sent_since(now[0] - timedelta(hours=24)) == 1
        assert store.sent_since(now[0] - timedelta(hours=48)) == 2
    finally:
        store.close()


# ---------------------------------------------------------------------------- bad text, caps

LONE = json.loads('"\\ud83d"')  # a summary cut mid-emoji by a Java-style API


def test_lone_surrogate_headline_refused_up_front_store_stays_consistent(
    store: Store, clock: Clock
) -> None:
    store.add_headlines([hl("ok1")])
    bad = Headline(source="src", id="bad", title="cut " + LONE, link="https://x/bad")
    with pytest.raises(ValueError, match="surrogate"):
        store.add_headlines([bad])
    assert store.headline("bad") is None and not store.is_seen("bad")  # memory untouched
    assert [h.id for h in store.latest(10)] == ["ok1"]
    store.add_headlines([hl("ok2")])  # later writes work
    store.compact()  # snapshots can still be written
    s2 = reopen(store, clock)
    try:
        assert sorted(h.id for h in s2.latest(10)) == ["ok1", "ok2"]
    finally:
        s2.close()


def test_lone_surrogate_setting_refused_close_and_reopen_equal(store: Store) -> None:
    store.upsert_chat(1, kind="private")
    store.set_setting(1, "lang", "en")
    with pytest.raises(ValueError, match="surrogate"):
        store.set_setting(1, "note", LONE)
    with pytest.raises(ValueError):
        store.set_source_state("S", {"last_error": "x" + LONE})
    assert store.chat(1).settings == {"lang": "en"}
    assert store.source_state("S") == {}
    store.set_setting(1, "ok", 1)
    before = (store.chats(), store.stats()["headlines"])
    store.close()  # does not raise
    s2 = Store.open(store.path)
    try:
        assert (s2.chats(), s2.stats()["headlines"]) == before
        assert s2.chat(1).settings == {"lang": "en", "ok": 1}
    finally:
        s2.close()


def test_compaction_bug_of_any_kind_does_not_fail_the_durable_write(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    s = Store.open(store_dir, compact_every=2)

    def boom() -> None:
        raise RuntimeError("bug in compaction")

    monkeypatch.setattr(s, "compact", boom)
    for i in range(4):
        assert s.add_subscription(1, f"q{i}") is True
    assert "compaction failed" in caplog.text
    monkeypatch.undo()
    s = crash_reopen(s)
    try:
        assert s.subscriptions(1) == [f"q{i}" for i in range(4)]
    finally:
        s.close()


def test_latest_where_scan_is_capped(store: Store) -> None:
    store.add_headlines(
        [hl(f"h{i:03d}", published=T0 - timedelta(minutes=i)) for i in range(300)]
    )
    calls = 0

    def nothing(h: Headline) -> bool:
        nonlocal calls
        calls += 1
        return False

    assert store.latest(5, where=nothing, scan=100) == []
    assert calls == 100
    # the newest ``scan`` headlines are the ones examined
    got = store.latest(5, where=lambda h: h.id in ("h050", "h250"), scan=100)
    assert [h.id for h in got] == ["h050"]
    assert [h.id for h in store.latest(5, where=lambda h: h.id == "h250", scan=None)] == ["h250"]
    # default cap: a where matching nothing looks at no more than DEFAULT_LATEST_SCAN headlines
    from bot.store import DEFAULT_LATEST_SCAN

    assert 1000 <= DEFAULT_LATEST_SCAN <= 10_000
    calls = 0
    store.latest(5, where=nothing)
    assert calls == 300


def test_an_unusable_store_directory_is_a_clear_store_error():
    from bot.store import StoreError

    # /proc refuses new directories to everyone, root included (as a foreign-owned volume
    # refuses the bot's user): the bot must say which setting to fix, not crash.
    with pytest.raises(StoreError, match=r"\[storage\] path"):
        Store.open(Path("/proc/self/newsbot-data"))
