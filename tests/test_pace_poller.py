"""Pacing inside the poller: real feed server, real store, a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.config import load_settings
from bot.matching import MatchIndex
from bot.poller import Poller, build_scheduler
from bot.sources import SourceState
from bot.sources.fetch import Fetcher
from bot.store import Store
from tests.e2e.conftest import Feed, Item
from tests.fakes.feedserver import FeedServer

START = datetime(2025, 11, 20, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


def make_poller(tmp_path, store, sources, clock, polling=()):
    lines = [
        "[polling]",
        "interval_seconds = 300",
        "min_interval_seconds = 60",
        "max_interval_seconds = 3600",
        "timeout_seconds = 3",
        *polling,
        "[storage]",
        f'path = "{tmp_path / "data"}"',
    ]
    for name, url, *rest in sources:
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"', "fetch_summaries = false"]
        lines += list(rest)
    (tmp_path / "c.toml").write_text("\n".join(lines))
    settings = load_settings(tmp_path / "c.toml", environ={})
    return Poller(settings, store, MatchIndex(), Fetcher(settings.polling), clock=clock)


def items(n: int, every: timedelta, newest: datetime, prefix: str = "s") -> list[Item]:
    return [
        Item(f"Story {prefix}{i}", f"https://e.com/{prefix}{i}", published=newest - i * every)
        for i in range(n)
    ]


def state(store, name) -> SourceState:
    return SourceState.from_dict(store.source_state(name))


async def test_the_interval_follows_the_rate_and_is_kept_with_its_reason(tmp_path, feeds):
    clock = Clock(START)
    store = Store.open(tmp_path / "data", clock=clock)
    busy = Feed(feeds, "/busy.xml", items(20, timedelta(minutes=2), START))
    quiet = Feed(feeds, "/quiet.xml", items(3, timedelta(days=3), START - timedelta(hours=30), "q"))
    sources = [("Busy", busy.url), ("Quiet", quiet.url)]
    poller = make_poller(tmp_path, store, sources, clock, polling=["requests_per_hour = 1000"])
    await poller.poll_all()
    b, q = state(store, "Busy"), state(store, "Quiet")
    assert b.watching_since == START
    assert b.interval == 60 and b.next_poll_at == START + timedelta(seconds=60)
    assert b.interval_reason == "every 1m: 30 new/h (floor)"
    assert q.interval == 3600 and q.interval_reason.endswith("(ceiling)")
    await poller.fetcher.close()

    # with the default budget (what 300 s for both would cost: 24 an hour), Busy gets what
    # Quiet, at its ceiling, leaves
    poller = make_poller(tmp_path, store, sources, clock)
    decision = poller.pace.decide("Busy", START.timestamp(), replan=True)
    assert decision.interval == pytest.approx(3600 / 23, rel=0.01)
    assert decision.reason == "every 2m37s: 30 new/h (budget)"
    await poller.fetcher.close()
    store.close()


async def test_a_not_modified_answer_is_paced_too(tmp_path, store, feeds):
    clock = Clock(START)
    feeds.add("/f.xml", b"", status=200)
    feed = Feed(feeds, "/f.xml", items(20, timedelta(minutes=2), START))
    feeds.routes["/f.xml"].etag = '"v1"'
    feeds.routes["/f.xml"].headers = {"Cache-Control": "max-age=600"}
    poller = make_poller(tmp_path, store, [("F", feed.url)], clock)
    await poller.poll_all()
    clock.now += timedelta(minutes=10)
    [result] = await poller.poll_all()
    assert result.status == "not_modified"
    s = state(store, "F")
    assert s.interval == 600 and s.interval_reason.endswith("hint max-age 10m")
    assert s.next_poll_at == clock.now + timedelta(seconds=600)
    await poller.fetcher.close()


async def test_the_history_in_the_store_survives_a_restart(tmp_path, feeds):
    clock = Clock(START)
    busy = Feed(feeds, "/busy.xml", items(10, timedelta(minutes=20), START - timedelta(minutes=5)))
    store = Store.open(tmp_path / "data", clock=clock)
    poller = make_poller(tmp_path, store, [("Busy", busy.url)], clock)
    await poller.poll_all()
    for step in range(1, 7):  # two hours: a new story every 20 minutes
        clock.now = START + timedelta(minutes=20 * step)
        busy.add(*items(1, timedelta(0), clock.now, f"n{step}"))
        await poller.poll_all()
    before = state(store, "Busy")
    decided = poller.pace.decide("Busy", clock.now.timestamp())
    await poller.fetcher.close()
    store.close()

    store = Store.open(tmp_path / "data", clock=clock)
    again = make_poller(tmp_path, store, [("Busy", busy.url)], clock)
    after = state(store, "Busy")
    assert (after.interval, after.interval_reason) == (before.interval, before.interval_reason)
    assert after.next_poll_at == before.next_poll_at  # not polled at once after a restart
    assert again.tick() == []
    # the rebuilt scheduler knows the same history
    assert again.pace.decide("Busy", clock.now.timestamp()) == decided
    assert again.pace.profile("Busy", clock.now.timestamp()).items == 16
    await again.fetcher.close()
    store.close()


async def test_the_undated_listing_of_a_first_poll_is_not_news(tmp_path, store, feeds):
    clock = Clock(START)
    links = "".join(
        f'<a href="https://www.caixinglobal.com/2025-11-20/story-{i}.html">Story {i}</a>'
        for i in range(20)
    )
    feeds.add("/tech/", f"<html><body>{links}</body></html>", content_type="text/html")
    poller = make_poller(
        tmp_path,
        store,
        [("Page", feeds.url("/tech/"), 'type = "html"', 'link_selector = "a"')],
        clock,
    )
    await poller.poll_all()
    s = state(store, "Page")
    assert s.polls == 1 and "no new items" in s.interval_reason
    assert poller.pace.profile("Page", START.timestamp()).items == 0
    await poller.fetcher.close()


async def test_a_fixed_source_keeps_its_interval(tmp_path, store, feeds):
    clock = Clock(START)
    busy = Feed(feeds, "/busy.xml", items(20, timedelta(minutes=2), START))
    poller = make_poller(tmp_path, store, [("Busy", busy.url, "interval_seconds = 120")], clock)
    await poller.poll_all()
    s = state(store, "Busy")
    assert s.interval == 120 and s.interval_reason == "every 2m: fixed in config"
    await poller.fetcher.close()


async def test_the_budget_defaults_to_what_fixed_intervals_spend(tmp_path, store, feeds):
    clock = Clock(START)
    sources = [(f"S{i}", feeds.url(f"/{i}.xml")) for i in range(3)]
    fixed = ("F", feeds.url("/f.xml"), "interval_seconds = 60")
    poller = make_poller(tmp_path, store, [*sources, fixed], clock)
    await poller.fetcher.close()
    assert poller.settings.requests_per_hour == 3 * 12 + 60
    assert poller.pace.budget == 96
    poller = make_poller(tmp_path, store, sources, clock, polling=["requests_per_hour = 20"])
    assert poller.pace.budget == 20
    await poller.fetcher.close()


def test_headline_times_come_from_the_store(store):
    from bot.models import Headline

    old = Headline("A", "a0", "Old", "https://e.com/0", published=START - timedelta(days=9))
    dated = Headline("A", "a1", "Dated", "https://e.com/1", published=START - timedelta(hours=1))
    other = Headline("B", "b1", "Other", "https://e.com/2", published=START)
    store.add_headlines([old, dated, other])
    seen = list(store.headline_times(START - timedelta(days=7)))
    assert [(name, published) for name, published, _ in seen] == [
        ("A", (START - timedelta(hours=1)).timestamp()),
        ("B", START.timestamp()),
    ]
    assert all(isinstance(first_seen, float) for _, _, first_seen in seen)


def test_build_scheduler_treats_a_source_polled_before_pacing_as_watched(tmp_path, store):
    (tmp_path / "c.toml").write_text(
        '[[sources]]\nname = "Old"\nurl = "https://e.com/feed"\n'
        '[[sources]]\nname = "New"\nurl = "https://e.com/feed2"\n'
    )
    settings = load_settings(tmp_path / "c.toml", environ={})
    states = {"Old": SourceState(polls=40)}  # a state written before pacing existed
    pace = build_scheduler(settings, store, states, START)
    assert pace.decide("Old", START.timestamp()).reason == "every 1h: no new items in 7d (ceiling)"
    assert pace.decide("New", START.timestamp()).reason == "every 1m: no history yet"


async def test_check_says_how_often_the_bot_polls_and_why(tmp_path, feeds):
    from bot.__main__ import describe, pace_reasons

    clock = Clock(START)
    store = Store.open(tmp_path / "data", clock=clock)
    busy = Feed(feeds, "/busy.xml", items(20, timedelta(minutes=2), START - timedelta(minutes=1)))
    feeds.routes["/busy.xml"].headers = {"Cache-Control": "max-age=90"}
    sources = [("Busy", busy.url), ("New", feeds.url("/new.xml"))]
    poller = make_poller(tmp_path, store, sources[:1], clock, polling=["requests_per_hour = 999"])
    await poller.poll_all()
    recorded = state(store, "Busy").interval_reason
    assert recorded == "every 1m30s: 31 new/h, hint max-age 1m30s"
    await poller.fetcher.close()
    store.close()

    # check, later, beside the stopped bot: the store's history, this fetch's hints and items
    Feed(feeds, "/new.xml", items(6, timedelta(minutes=10), START, "x"))
    clock.now = START + timedelta(minutes=1)
    checker = make_poller(tmp_path / "c", Store.open(tmp_path / "c"), sources, clock,
                          polling=["requests_per_hour = 999"])
    results = await checker.poll_all()
    await checker.fetcher.close()
    reader = Store.read_only(tmp_path / "data")
    reasons = pace_reasons(checker.settings, reader, results, clock.now)
    assert reasons == {
        "Busy": "every 1m30s: 30 new/h, hint max-age 1m30s",
        "New": "every 1m: 7.1 new/h (floor)",  # 6 items in the 51 minutes it covers
    }
    line = describe("Busy", results[0], reader, reasons["Busy"])
    assert line.endswith("(every 1m30s: 30 new/h, hint max-age 1m30s)")
    reader.close()


async def test_a_hint_counts_from_the_answer_not_from_the_start_of_the_poll(
    tmp_path, store, feeds
):
    from tests.e2e.conftest import rss
    from tests.fakes.feedserver import Route

    clock = Clock(START)
    body = rss(items(20, timedelta(minutes=2), START - timedelta(minutes=1)))

    def slow_answer(_request):  # the answer comes 100 s after the poll began
        clock.now = START + timedelta(seconds=100)
        return Route(body=body, headers={"Cache-Control": "max-age=600"})

    feeds.add("/slow.xml", handler=slow_answer)
    poller = make_poller(tmp_path, store, [("Slow", feeds.url("/slow.xml"))], clock)
    await poller.poll_all()
    s = state(store, "Slow")
    assert s.interval == 600
    assert s.next_poll_at == START + timedelta(seconds=700)
    await poller.fetcher.close()
