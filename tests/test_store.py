"""Unit tests of bot.store: the contract API, persistence, journal, snapshots, lock, retention."""

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

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hl(hid: str, published: datetime | None = None, url_key: str = "", title: str = "") -> Headline:
    return Headline(source="src", id=hid, title=title or f"title {hid}", link=f"https://x/{hid}",
                    url_key=url_key, published=published)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(store_dir: Path, clock: Clock):
    s = Store.open(store_dir, clock=clock)
    yield s
    s.close()


def reopen(s: Store, clock: Clock | None = None, **kw) -> Store:
    s.close()
    return Store.open(s.path, clock=clock or Clock(), **kw)


def crash_reopen(s: Store, clock: Clock | None = None, **kw) -> Store:
    """Simulate a crash: release the OS resources without committing or compacting."""
    s._release()
    s._closed = True
    return Store.open(s.path, clock=clock or Clock(), **kw)


# ---------------------------------------------------------------------------- chats


def test_chats_upsert_settings_active_persist(store: Store) -> None:
    assert store.chat(5) is None
    chat = store.upsert_chat(5, kind="group", title="Team")
    assert (chat.id, chat.kind, chat.title, chat.active) == (5, "group", "Team", True)
    store.set_setting(5, "lang", "en")
    store.set_setting(5, "tz", {"name": "Asia/Shanghai"})
    store.set_active(5, False)
    assert store.chat(5).active is False
    # upsert keeps settings and title (when none given) and reactivates
    chat = store.upsert_chat(5, kind="supergroup")
    assert chat.active is True and chat.title == "Team" and chat.kind == "supergroup"
    assert chat.settings == {"lang": "en", "tz": {"name": "Asia/Shanghai"}}
    # returned chats are copies: mutating them does not touch the store
    chat.settings["lang"] = "zh"
    assert store.chat(5).settings["lang"] == "en"
    store.upsert_chat(6, kind="private")
    assert sorted(c.id for c in store.chats()) == [5, 6]
    s2 = crash_reopen(store)
    try:
        assert s2.chat(5).settings == {"lang": "en", "tz": {"name": "Asia/Shanghai"}}
        assert s2.chat(5).kind == "supergroup"
        assert sorted(c.id for c in s2.chats()) == [5, 6]
    finally:
        s2.close()


def test_non_json_setting_refused_without_change(store: Store) -> None:
    store.upsert_chat(1, kind="private")
    with pytest.raises(TypeError):
        store.set_setting(1, "bad", object())
    assert store.chat(1).settings == {}
    store.set_setting(1, "ok", 1)  # store still usable
    assert store.chat(1).settings == {"ok": 1}


# ---------------------------------------------------------------------------- subscriptions


def test_subscriptions_order_and_duplicates(store: Store) -> None:
    assert store.add_subscription(1, "eVTOL") is True
    assert store.add_subscription(1, "AI") is True
    assert store.add_subscription(1, "eVTOL") is False
    assert store.add_subscription(2, "华为") is True
    assert store.subscriptions(1) == ["eVTOL", "AI"]
    assert store.subscriptions(3) == []
    assert sorted(store.all_subscriptions()) == [(1, "AI"), (1, "eVTOL"), (2, "华为")]
    assert store.remove_subscription(1, "eVTOL") is True
    assert store.remove_subscription(1, "eVTOL") is False
    assert store.remove_subscription(9, "x") is False
    assert store.chat(2) is not None  # subscribing creates the chat
    with pytest.raises(ValueError):
        store.add_subscription(1, "")
    s2 = crash_reopen(store)
    try:
        assert s2.subscriptions(1) == ["AI"]
        assert s2.subscriptions(2) == ["华为"]
    finally:
        s2.close()


def test_every_write_is_one_journal_line_and_batch_is_one(store: Store) -> None:
    journal = store.path / JOURNAL_NAME
    before = len(journal.read_bytes().splitlines())
    store.add_subscription(1, "a")
    store.add_subscription(1, "b")
    assert len(journal.read_bytes().splitlines()) == before + 2
    with store.batch():
        for q in "cdefg":
            store.add_subscription(1, q)
        assert store.subscriptions(1)[-1] == "g"  # reads see the batch at once
        with store.batch():  # nested
            store.set_setting(1, "k", 1)
        assert len(journal.read_bytes().splitlines()) == before + 2
    lines = journal.read_bytes().splitlines()
    assert len(lines) == before + 3
    assert len(json.loads(lines[-1])["ops"]) == 6
    seqs = [json.loads(line)["seq"] for line in lines]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_a_write_not_durable_waits_for_the_next_commit_or_flush(store: Store) -> None:
    journal = store.path / JOURNAL_NAME
    before = len(journal.read_bytes().splitlines())
    for n in range(50):  # fifty 304s of a poll cycle
        store.set_source_state(f"s{n}", {"polls": n}, durable=False)
    assert store.source_state("s49") == {"polls": 49}  # in memory at once
    assert len(journal.read_bytes().splitlines()) == before  # no line, no fsync yet
    lost = crash_reopen(store)  # a crash now loses them (nothing else)
    try:
        assert lost.source_state("s0") == {}
        lost.set_source_state("a", {"polls": 1}, durable=False)
        lost.set_source_state("b", {"polls": 2}, durable=False)
        lost.flush()
        lost.flush()  # nothing queued: no empty record
        lost.set_source_state("c", {"polls": 3}, durable=False)
        lost.add_subscription(1, "AI")  # a durable write commits what waits before it
        lines = (lost.path / JOURNAL_NAME).read_bytes().splitlines()
        assert [len(json.loads(line)["ops"]) for line in lines[-2:]] == [2, 2]
        kept = crash_reopen(lost)
    finally:
        lost.close()
    try:
        assert [kept.source_state(n) for n in "abc"] == [{"polls": 1}, {"polls": 2},
                                                         {"polls": 3}]
        assert kept.subscriptions(1) == ["AI"]
        kept.set_source_state("d", {"polls": 4}, durable=False)
    finally:
        kept.close()  # a clean close commits it
    with Store.open(store.path, clock=Clock()) as again:
        assert again.source_state("d") == {"polls": 4}


def test_a_compaction_takes_the_queued_304_states_with_it(store: Store) -> None:
    """The snapshot holds what ``durable=False`` writes applied, so the journal forgets them:
    nothing of theirs is committed after the snapshot, and they survive a crash."""
    store.set_source_state("a", {"polls": 1}, durable=False)
    store.compact()
    store.flush()  # nothing left to commit
    assert (store.path / JOURNAL_NAME).read_bytes() == b""
    kept = crash_reopen(store)
    try:
        assert kept.source_state("a") == {"polls": 1}
    finally:
        kept.close()


def test_batch_commits_what_was_applied_on_exception(store: Store) -> None:
    with pytest.raises(RuntimeError), store.batch():
        store.add_subscription(1, "kept")
        raise RuntimeError("boom")
    s2 = crash_reopen(store)
    try:
        assert s2.subscriptions(1) == ["kept"]
    finally:
        s2.close()


# ---------------------------------------------------------------------------- headlines


def test_headlines_seen_latest_order(store: Store, clock: Clock) -> None:
    store.add_headlines([hl("a", T0 - timedelta(hours=3), url_key="x.com/a"),
                         hl("b", T0 - timedelta(hours=1))])
    clock.now = T0 + timedelta(minutes=1)
    store.add_headlines([hl("c"), hl("d", T0 - timedelta(hours=2))])  # c: no date -> first seen
    assert store.is_seen("a") and store.is_seen("zz", "x.com/a") and not store.is_seen("zz")
    assert not store.is_seen("zz", "")
    assert [h.id for h in store.latest(10)] == ["c", "b", "d", "a"]
    assert [h.id for h in store.latest(2)] == ["c", "b"]
    assert store.latest(0) == []
    assert [h.id for h in store.latest(5, where=lambda h: h.id in "ad")] == ["d", "a"]
    assert store.headline("a") == hl("a", T0 - timedelta(hours=3), url_key="x.com/a")
    assert store.headline("nope") is None
    # adding a known id again keeps the first version
    store.add_headlines([hl("a", title="changed")])
    assert store.headline("a").title == "title a"
    s2 = crash_reopen(store)
    try:
        assert [h.id for h in s2.latest(10)] == ["c", "b", "d", "a"]
        assert s2.is_seen("zz", "x.com/a")
        assert s2.first_seen("c") == T0 + timedelta(minutes=1)
    finally:
        s2.close()
    s3 = Store.open(store.path)  # from the snapshot written by close
    try:
        assert [h.id for h in s3.latest(10)] == ["c", "b", "d", "a"]
    finally:
        s3.close()


# ---------------------------------------------------------------------------- sources


def test_source_state_and_prune_sources(store: Store) -> None:
    assert store.source_state("caixin") == {}
    store.set_source_state("caixin", {"etag": "W/1", "polls": 3, "last_ids": ["a", "b"]})
    store.set_source_state("old", {"polls": 1})
    state = store.source_state("caixin")
    state["polls"] = 99  # a copy
    assert store.source_state("caixin")["polls"] == 3
    assert store.prune_sources({"caixin", "new"}) == 1
    assert store.source_state("old") == {}
    s2 = crash_reopen(store)
    try:
        assert s2.source_state("caixin") == {"etag": "W/1", "polls": 3, "last_ids": ["a", "b"]}
        assert s2.source_names() == ["caixin"]
    finally:
        s2.close()


# ---------------------------------------------------------------------------- outbox


def test_outbox_lifecycle(store: Store, clock: Clock) -> None:
    a1 = Alert(1, "h1", ("AI",), created=T0)
    a2 = Alert(1, "h2", ("AI",), created=T0 + timedelta(seconds=1))
    b1 = Alert(2, "h1", ("chip",), created=T0 - timedelta(seconds=1))
    assert store.enqueue([a2, a1, b1, a1]) == 3
    assert store.pending(1) == [a1, a2]
    assert store.pending() == [b1, a1, a2]
    assert store.pending(3) == []
    store.mark_sending([a1])
    assert store.pending(1) == [a2]
    assert store.alert_state(1, "h1") == "sending"
    store.release([a1])
    assert store.pending(1) == [a1, a2]
    store.mark_sending([a1])
    store.mark_sent([a1])
    store.drop([b1], "blocked")
    assert store.pending() == [a2]
    assert store.alert_state(1, "h1") == "sent" and store.alert_state(2, "h1") == "dropped"
    assert store.alert_state(9, "h1") is None
    store.release([a1])  # not sending: no effect
    store.mark_sending([b1])  # dropped: no effect
    assert store.alert_state(1, "h1") == "sent" and store.alert_state(2, "h1") == "dropped"
    # ever enqueued: never again, whatever the state
    assert store.enqueue([a1, b1, a2]) == 0
    s2 = crash_reopen(store)
    try:
        assert s2.enqueue([a1, b1, a2]) == 0
        assert s2.pending() == [a2]
        assert s2.alert_state(1, "h1") == "sent"
    finally:
        s2.close()


def test_enqueue_dedup_across_restart_and_snapshot(store: Store) -> None:
    alerts = [Alert(c, "h", ("q",)) for c in range(5)]
    assert store.enqueue(alerts) == 5
    s2 = reopen(store)
    try:
        assert s2.enqueue(alerts) == 0
        assert s2.enqueue([Alert(9, "h", ("q",))]) == 1
    finally:
        s2.close()


def test_sending_dropped_on_open(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    a, b = Alert(1, "h1", ("q",)), Alert(1, "h2", ("q",))
    store.enqueue([a, b])
    store.mark_sending([a])
    with caplog.at_level(logging.WARNING, logger="bot.store"):
        s2 = crash_reopen(store)
    try:
        assert s2.alert_state(1, "h1") == "dropped"
        assert s2.pending() == [b]
        assert any("1|h1" in r.getMessage() and r.name == "bot.store" for r in caplog.records)
        assert s2.enqueue([a]) == 0
    finally:
        s2.close()
    s3 = Store.open(store.path)
    try:
        assert s3.alert_state(1, "h1") == "dropped"
    finally:
        s3.close()


def test_migrate_chat(store: Store) -> None:
    store.upsert_chat(-100, kind="group", title="G")
    store.set_setting(-100, "lang", "en")
    store.add_subscription(-100, "AI")
    store.add_subscription(-100, "chip")
    a = Alert(-100, "h1", ("AI",))
    sent = Alert(-100, "h0", ("AI",))
    store.enqueue([sent, a])
    store.mark_sent([sent])
    store.migrate_chat(-100, -1001)
    assert store.chat(-100) is None
    assert store.subscriptions(-100) == []
    new = store.chat(-1001)
    assert new.settings == {"lang": "en"} and new.title == "G"
    assert store.subscriptions(-1001) == ["AI", "chip"]
    assert [p.chat_id for p in store.pending()] == [-1001]
    assert store.pending(-1001)[0].headline_id == "h1"
    assert store.alert_state(-1001, "h0") == "sent"
    assert store.enqueue([Alert(-1001, "h0", ("AI",))]) == 0  # the guard moved too
    assert sorted(store.all_subscriptions()) == [(-1001, "AI"), (-1001, "chip")]
    s2 = crash_reopen(store)
    try:
        assert s2.subscriptions(-1001) == ["AI", "chip"] and s2.chat(-100) is None
        assert [p.headline_id for p in s2.pending(-1001)] == ["h1"]
    finally:
        s2.close()


def test_migrate_chat_into_existing(store: Store) -> None:
    store.add_subscription(1, "a")
    store.add_subscription(2, "b")
    store.add_subscription(2, "a")
    store.set_setting(1, "x", 1)
    store.set_setting(2, "x", 2)
    store.enqueue([Alert(1, "h", ("a",)), Alert(2, "h", ("a",)), Alert(1, "k", ("a",))])
    store.migrate_chat(1, 2)
    assert store.subscriptions(2) == ["b", "a"]
    assert store.chat(2).settings == {"x": 2}
    assert sorted(a.headline_id for a in store.pending(2)) == ["h", "k"]


# ---------------------------------------------------------------------------- retention


def test_prune_by_age_keeps_guard_consistent(store_dir: Path) -> None:
    clock = Clock(T0)
    s = Store.open(store_dir, clock=clock, retention=timedelta(days=30))
    s.add_headlines([hl("old", T0)])
    s.enqueue([Alert(1, "old", ("q",)), Alert(2, "old", ("q",))])
    s.mark_sent([Alert(1, "old", ("q",))])
    clock.now = T0 + timedelta(days=20)
    s.add_headlines([hl("new", T0 + timedelta(days=20))])
    s.enqueue([Alert(1, "new", ("q",))])
    s.mark_sent([Alert(1, "new", ("q",))])
    # day 31: "old" is past retention; its sent record too; "new" stays
    clock.now = T0 + timedelta(days=31)
    s.drop([Alert(2, "old", ("q",))], "late")  # this record was touched recently
    counts = s.prune()
    assert counts == {"headlines": 1, "outbox": 1, "stories": 0, "posts": 0}
    assert not s.is_seen("old") and s.is_seen("new")
    assert [h.id for h in s.latest(10)] == ["new"]
    assert s.alert_state(1, "old") is None
    assert s.alert_state(2, "old") == "dropped"  # updated within retention: kept
    assert s.alert_state(1, "new") == "sent"
    s = crash_reopen(s, clock)
    try:
        assert not s.is_seen("old") and s.alert_state(1, "old") is None
        # prune with an explicit time
        assert s.prune(T0 + timedelta(days=80)) == {"headlines": 1, "outbox": 2, "stories": 0,
                                                     "posts": 0}
        assert s.stats()["headlines"] == 0 and s.stats()["outbox"] == 0
    finally:
        s.close()


def test_prune_keeps_outbox_record_while_headline_is_seen(store: Store, clock: Clock) -> None:
    store.enqueue([Alert(1, "h", ("q",))])
    store.mark_sent([Alert(1, "h", ("q",))])
    clock.now = T0 + timedelta(days=10)
    store.add_headlines([hl("h")])  # first seen later than the record's last update
    clock.now = T0 + timedelta(days=35)
    assert store.prune() == {"headlines": 0, "outbox": 0, "stories": 0, "posts": 0}
    assert store.enqueue([Alert(1, "h", ("q",))]) == 0


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
