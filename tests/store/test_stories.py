"""The stories and posts tables: rows survive a crash (journal) and a snapshot, go with their
headlines, story numbers never repeat, posts follow a chat's migration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tinydb import TinyDB

from bot.models import Headline, Post, PostEntry
from bot.store import SNAPSHOT_NAME, Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hl(hid: str) -> Headline:
    return Headline(source="src", id=hid, title=f"title {hid}", link=f"https://x/{hid}")


def crash(s: Store) -> None:
    s._release()
    s._closed = True


def test_story_rows_survive_a_crash_and_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "data"
    s = Store.open(path, clock=Clock())
    t = T0.timestamp()
    with s.batch():
        s.add_headlines([hl("a"), hl("b"), hl("c")])
        s.set_stories([("a", "s1", t), ("b", "s2", t + 60), ("c", "s1", t + 30)])
    s.set_stories([("a", "s9", t)])  # a headline keeps its first story
    crash(s)
    s = Store.open(path, clock=Clock())
    assert s.story_of("a") == "s1" and s.story_of("zz") is None
    assert s.story_members("s1") == ["a", "c"]
    assert [row[0] for row in s.story_rows(T0)] == ["a", "c", "b"]
    assert [row[0] for row in s.story_rows(T0 + timedelta(seconds=31))] == ["b"]
    assert s.story_top() == 2
    s.close()  # a snapshot
    s = Store.open(path, clock=Clock())
    try:
        assert s.story_members("s1") == ["a", "c"] and s.story_top() == 2
        assert s.stats()["stories"] == 3
    finally:
        s.close()


def test_stories_go_with_their_headlines_and_numbers_are_not_reused(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "data"
    s = Store.open(path, clock=clock, retention=timedelta(days=30))
    s.add_headlines([hl("old")])
    s.set_stories([("old", "s7", T0.timestamp())])
    clock.now = T0 + timedelta(days=20)
    s.add_headlines([hl("new")])
    s.set_stories([("new", "s3", clock.now.timestamp())])
    clock.now = T0 + timedelta(days=31)
    assert s.prune() == {"headlines": 1, "outbox": 0, "stories": 1, "posts": 0}
    assert s.story_of("old") is None and s.story_members("s7") == []
    assert s.story_top() == 7
    s.close()
    s = Store.open(path, clock=clock)
    try:
        assert s.story_top() == 7 and s.story_of("new") == "s3"
    finally:
        s.close()


def _post(chat: int, message: int, *entries: tuple[str, tuple[str, ...]],
          sent: datetime = T0) -> Post:
    return Post(chat, message, "alert" if len(entries) == 1 else "batch",
                tuple(PostEntry(story, hids, ("q",)) for story, hids in entries), sent=sent)


def test_posts_by_story_replaced_kept_pruned(tmp_path: Path) -> None:
    clock = Clock()
    path = tmp_path / "data"
    s = Store.open(path, clock=clock, retention=timedelta(days=30))
    s.put_posts([_post(-5, 10, ("s1", ("a",)), ("s2", ("b",)))])
    assert s.post_of_story(-5, "s1").message_id == 10
    assert s.post_of_story(-5, "s2").message_id == 10
    assert s.post_of_story(-6, "s1") is None
    folded = _post(-5, 10, ("s1", ("a", "c")), ("s2", ("b",)))
    s.put_posts([folded])
    assert s.post_of_story(-5, "s1").entries[0].headlines == ("a", "c")
    later = _post(-5, 11, ("s1", ("d",)), sent=T0 + timedelta(days=4))
    s.put_posts([later])
    assert s.post_of_story(-5, "s1").message_id == 11  # the newest message of the story
    assert s.post_of_story(-5, "s2").message_id == 10
    crash(s)
    s = Store.open(path, clock=clock, retention=timedelta(days=30))
    assert s.post_of_story(-5, "s1").message_id == 11
    clock.now = T0 + timedelta(days=2)
    s.put_posts([_post(9, 3, ("s1", ("a",)))])
    s.close()
    s = Store.open(path, clock=clock, retention=timedelta(days=30))
    try:
        assert s.post_of_story(-5, "s1").message_id == 11
        clock.now = T0 + timedelta(days=31)
        assert s.prune()["posts"] == 2  # untouched for 30 days; the third is newer
        assert s.post_of_story(-5, "s2") is None and s.post_of_story(9, "s1") is not None
    finally:
        s.close()


def test_a_migrated_group_leaves_its_posts_behind(tmp_path: Path) -> None:
    """The supergroup is a chat of its own: the old messages are not edited through it."""
    s = Store.open(tmp_path / "data", clock=Clock())
    try:
        s.put_posts([_post(-5, 10, ("s1", ("a",)))])
        s.migrate_chat(-5, -1005)
        assert s.post_of_story(-5, "s1") is None and s.post_of_story(-1005, "s1") is None
    finally:
        s.close()


def test_a_snapshot_written_before_stories_has_none(tmp_path: Path) -> None:
    path = tmp_path / "data"
    s = Store.open(path)
    s.add_headlines([hl("a")])
    s.close()
    snap = path / SNAPSHOT_NAME
    data = json.loads(snap.read_text())
    del data["stories"], data["posts"]
    snap.write_text(json.dumps(data))
    s = Store.open(path)
    try:
        assert s.headline("a") is not None and s.story_of("a") is None
        assert s.story_top() == 0 and s.post_of_story(1, "s1") is None
        s.set_stories([("a", "s1", T0.timestamp())])
    finally:
        s.close()
    assert "stories" in TinyDB(snap).tables()
