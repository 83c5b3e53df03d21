"""One poll cycle against a real feed server, a real store and the real matching index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_settings
from bot.matching import MatchIndex, parse_query
from bot.poller import Poller
from bot.sources.fetch import Fetcher
from bot.store import Store
from tests.e2e.conftest import Feed, Item
from tests.fakes.feedserver import FeedServer

USER = 7
OTHER = 8


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "data")
    yield store
    store.close()


def make_poller(tmp_path, store, sources, clock=None):
    lines = [
        "[polling]",
        "interval_seconds = 1",
        "timeout_seconds = 3",
        "[storage]",
        f'path = "{tmp_path / "data"}"',
    ]
    for name, url in sources:
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"', "fetch_summaries = false"]
    (tmp_path / "c.toml").write_text("\n".join(lines))
    settings = load_settings(tmp_path / "c.toml", environ={})
    index = MatchIndex()
    woken = []
    fetcher = Fetcher(settings.polling)
    kwargs = {"clock": clock} if clock else {}
    poller = Poller(settings, store, index, fetcher, on_alerts=lambda: woken.append(1), **kwargs)
    return poller, index, woken


def follow(store, index, chat_id, text):
    store.upsert_chat(chat_id, kind="private")
    store.add_subscription(chat_id, text)
    index.add(chat_id, parse_query(text))


async def test_first_poll_records_and_alerts_nobody(tmp_path, store, feeds):
    feed = Feed(feeds, "/a.xml", [Item("eVTOL maker flies", "https://e.com/1")])
    poller, index, woken = make_poller(tmp_path, store, [("A", feed.url)])
    follow(store, index, USER, "eVTOL")
    await poller.poll_all()
    assert store.is_seen(store.latest(1)[0].id)
    assert store.pending() == [] and woken == []

    feed.add(Item("Second eVTOL maker flies", "https://e.com/2"))
    await poller.poll_all()
    [alert] = store.pending()
    assert alert.chat_id == USER and alert.queries == ("eVTOL",)
    assert woken == [1]
    await poller.fetcher.close()


async def test_same_story_from_two_sources_is_alerted_once(tmp_path, store, feeds):
    a = Feed(feeds, "/a.xml")
    b = Feed(feeds, "/b.xml")
    poller, index, _ = make_poller(tmp_path, store, [("A", a.url), ("B", b.url)])
    follow(store, index, USER, "Nexperia")
    await poller.poll_all()
    a.add(
        Item(
            "Nexperia Halts Wafer Supply",
            "https://www.caixinglobal.com/2025-11-01/x.html",
            guid="a-1",
        )
    )
    b.add(
        Item(
            "Nexperia Halts Wafer Supply",
            "https://WWW.caixinglobal.com/2025-11-01/x.html?utm_source=rss#top",
            guid="b-9",
        )
    )
    await poller.poll_all()
    assert len(store.pending(USER)) == 1
    await poller.poll_all()  # and polling again changes nothing
    assert len(store.pending(USER)) == 1
    await poller.fetcher.close()


async def test_back_dated_items_and_inactive_chats_get_no_alert(tmp_path, store, feeds):
    feed = Feed(feeds, "/a.xml")
    poller, index, _ = make_poller(tmp_path, store, [("A", feed.url)])
    follow(store, index, USER, "Tencent")
    follow(store, index, OTHER, "Tencent")
    store.set_active(OTHER, False)
    await poller.poll_all()
    feed.add(
        Item(
            "Tencent old news", "https://e.com/old", published=datetime.now(UTC) - timedelta(days=3)
        ),
        Item("Tencent fresh news", "https://e.com/new"),
    )
    await poller.poll_all()
    pending = store.pending()
    assert [store.headline(a.headline_id).title for a in pending] == ["Tencent fresh news"]
    assert {a.chat_id for a in pending} == {USER}
    assert store.headline(pending[0].headline_id).published is not None
    await poller.fetcher.close()


async def test_failing_source_is_recorded_and_backs_off(tmp_path, store, feeds):
    feeds.add("/down.xml", status=500)
    now = datetime.now(UTC)
    poller, _, _ = make_poller(
        tmp_path, store, [("Down", feeds.url("/down.xml"))], clock=lambda: now
    )
    [result] = await poller.poll_all()
    assert result.status == "error"
    state = store.source_state("Down")
    assert state["failures"] == 1 and state["last_error"]
    assert poller.tick() == []  # backing off: not due again at once
    await poller.fetcher.close()
