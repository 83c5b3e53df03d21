"""One poll cycle against a real feed server, a real store and the real matching index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_settings
from bot.matching import MatchIndex, parse_query
from bot.poller import Poller
from bot.sources.fetch import Fetcher
from bot.store import Store
from tests.e2e.conftest import Feed, Item, rss
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


def make_poller(tmp_path, store, sources, clock=None, allow_hosts=()):
    lines = [
        "[polling]",
        "interval_seconds = 1",
        "min_interval_seconds = 1",
        "max_interval_seconds = 1",
        "timeout_seconds = 3",
        f"allow_hosts = {list(allow_hosts)!r}".replace("'", '"'),
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


async def test_an_unexpected_error_backs_off_instead_of_polling_every_tick(
    tmp_path, store, feeds, monkeypatch
):
    feed = Feed(feeds, "/a.xml")
    now = datetime.now(UTC)
    poller, _, _ = make_poller(tmp_path, store, [("A", feed.url)], clock=lambda: now)

    async def broken(*args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("bot.poller.poll_source", broken)
    assert await poller.poll(poller.sources["A"]) is None
    state = store.source_state("A")
    assert state["failures"] == 1 and "a bug" in state["last_error"]
    assert poller.tick() == []  # not due again at the next tick
    await poller.fetcher.close()


async def test_a_story_stored_by_another_source_during_summary_fetch_is_not_alerted_twice(
    tmp_path, store, feeds
):
    # B's items have no summary, so B fetches the article page, which is slow; meanwhile A
    # stores the same story (same canonical link) and alerts it.
    # The article lives on another host name, so its slow fetch does not hold up A's feed
    # (a loopback name, so it must be allowed: it is not the feeds' own host).
    link = f"http://localhost:{feeds.port}/story.html"
    feeds.add("/story.html", "<html><head><meta name='description' content='x'></head></html>",
              content_type="text/html", delay=1.0)
    a, b = Feed(feeds, "/a.xml"), Feed(feeds, "/b.xml")
    poller, index, _ = make_poller(
        tmp_path, store, [("B", b.url), ("A", a.url)], allow_hosts=["localhost"]
    )
    for name in ("A", "B"):
        poller.sources[name] = poller.sources[name].model_copy(update={"fetch_summaries": True})
    follow(store, index, USER, "Nexperia")
    await poller.poll_all()
    a.add(Item("Nexperia Halts Wafer Supply", link + "?utm_source=a", summary="From A", guid="a"))
    b.add(Item("Nexperia Halts Wafer Supply", link, guid="b"))
    await poller.poll_all()
    assert len(store.pending(USER)) == 1
    await poller.fetcher.close()


async def test_new_sources_are_spread_over_the_whole_interval(tmp_path, store, feeds):
    now = datetime.now(UTC)
    urls = [(f"S{n}", feeds.url(f"/{n}.xml")) for n in range(4)]
    lines = ["[polling]", "interval_seconds = 400", "[storage]", f'path = "{tmp_path}"']
    for name, url in urls:
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"']
    (tmp_path / "s.toml").write_text("\n".join(lines))
    settings = load_settings(tmp_path / "s.toml", environ={})
    Poller(settings, store, MatchIndex(), Fetcher(settings.polling), clock=lambda: now)
    offsets = sorted(
        (datetime.fromisoformat(store.source_state(name)["next_poll_at"]) - now).total_seconds()
        for name, _ in urls
    )
    assert offsets == [0, 100, 200, 300]


async def test_a_store_that_refuses_writes_does_not_make_the_poller_hammer_sources(
    tmp_path, store, feeds
):
    feed = Feed(feeds, "/a.xml")
    now = datetime.now(UTC)
    poller, _, _ = make_poller(tmp_path, store, [("A", feed.url)], clock=lambda: now)
    store._journal.failed = OSError("No space left on device")  # as after a failed journal write
    await poller.poll(poller.sources["A"])
    assert feeds.count("/a.xml") == 1
    assert poller.tick() == []  # backing off in memory, though the store could not record it
    await poller.fetcher.close()


async def test_a_healthy_sources_304_shares_the_next_ticks_fsync(tmp_path, store, feeds):
    """A 304 changes only times and counts: its state is written without a commit of its own
    and made durable by the next tick; a 200, an error, and the 304 that ends a run of errors
    are durable at once."""
    journal = store.path / "journal.jsonl"

    def records() -> int:
        return len(journal.read_bytes().splitlines())

    body = rss([Item("One", "https://e.com/1")])
    feeds.add("/a.xml", body, etag='"v1"', content_type="application/rss+xml")
    now = datetime.now(UTC)  # a frozen clock: the tick below starts no poll of its own
    poller, _, _ = make_poller(tmp_path, store, [("A", feeds.url("/a.xml"))], clock=lambda: now)
    source = poller.sources["A"]
    await poller.poll(source)  # 200: headlines and state in one durable batch
    first = records()
    assert store.source_state("A")["last_status"] == 200
    await poller.poll(source)  # 304
    assert store.source_state("A")["last_status"] == 304  # in memory at once
    assert records() == first  # ... on disk with the next tick
    assert poller.tick() == []
    assert records() == first + 1
    feeds.add("/a.xml", status=500)
    await poller.poll(source)
    assert records() == first + 2 and store.source_state("A")["failures"] == 1
    feeds.add("/a.xml", body, etag='"v1"', content_type="application/rss+xml")
    await poller.poll(source)  # a 304 that ends the failures: durable at once
    assert records() == first + 3 and store.source_state("A")["failures"] == 0
    await poller.fetcher.close()
