"""bot.store by table: chats, subscriptions, headlines, sources, the outbox, migration,
retention; one write, one journal line."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.models import Alert
from bot.store import (
    JOURNAL_NAME,
    Store,
)
from tests.store.conftest import T0, Clock, crash_reopen, hl, reopen

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
