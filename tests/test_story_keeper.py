"""StoryKeeper: every stored headline gets its story, kept in the store, found again after a
restart; the poller files new headlines with it and wakes delivery once per tick."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import StoriesSettings, load_settings
from bot.matching import MatchIndex, parse_query
from bot.models import Headline
from bot.poller import Poller
from bot.sources.fetch import Fetcher
from bot.store import Store
from bot.story_keeper import StoryKeeper, story_headlines
from tests.e2e.conftest import Feed, Item
from tests.fakes.feedserver import FeedServer

T0 = datetime(2025, 10, 21, 8, 0, tzinfo=UTC)

HALT = "Nexperia halts wafer supply to its China unit"
HALT_2 = "Nexperia halts wafer supplies to China unit as chip dispute deepens"
HALT_3 = "Dutch chipmaker Nexperia halts wafer supply to China unit"
RESUME = "Nexperia China chip supplies to resume"


def h(hid: str, title: str, source: str, minutes: float = 0) -> Headline:
    return Headline(source=source, id=hid, title=title, link=f"https://{source}.example/{hid}",
                    published=T0 + timedelta(minutes=minutes))


def file(store: Store, keeper: StoryKeeper, *headlines: Headline, now: datetime = T0
         ) -> dict[str, str]:
    with store.batch():
        store.add_headlines(headlines)
        return keeper.file(headlines, now)


def test_reports_of_one_story_share_its_id_and_a_new_development_does_not(tmp_path: Path
                                                                          ) -> None:
    store = Store.open(tmp_path / "data", clock=lambda: T0)
    keeper = StoryKeeper(store)
    keeper.load(T0)
    got = file(store, keeper, h("a", HALT, "Caixin"), h("b", HALT_2, "SCMP", 5),
               now=T0 + timedelta(minutes=5))
    assert got["a"] == got["b"]
    [resume] = file(store, keeper, h("c", RESUME, "Caixin", 60),
                    now=T0 + timedelta(minutes=60)).values()
    assert resume != got["a"]
    assert store.story_of("b") == got["a"] and keeper.story_of("c") == resume
    assert [x.id for x in story_headlines(store, got["a"])] == ["a", "b"]
    store.close()


def test_a_report_after_a_restart_joins_its_story(tmp_path: Path) -> None:
    path = tmp_path / "data"
    store = Store.open(path, clock=lambda: T0)
    keeper = StoryKeeper(store)
    keeper.load(T0)
    first = file(store, keeper, h("a", HALT, "Caixin"))["a"]
    other = file(store, keeper, h("x", "Xiaomi ships its first electric SUV", "Pandaily"))["x"]
    store.close()

    later = T0 + timedelta(hours=20)
    store = Store.open(path, clock=lambda: later)
    keeper = StoryKeeper(store)
    assert keeper.load(later) == 2
    got = file(store, keeper, h("b", HALT_3, "TechNode", 20 * 60), now=later)
    assert got["b"] == first
    new = file(store, keeper, h("y", "Baidu opens robotaxi service in Dubai", "KrASIA",
                                20 * 60 + 1), now=later)["y"]
    assert new not in (first, other)  # a new number, above every kept one
    store.close()


def test_reports_beyond_the_window_are_not_restored(tmp_path: Path) -> None:
    path = tmp_path / "data"
    store = Store.open(path, clock=lambda: T0)
    keeper = StoryKeeper(store, StoriesSettings(window_hours=24))
    keeper.load(T0)
    first = file(store, keeper, h("a", HALT, "Caixin"))["a"]
    store.close()
    later = T0 + timedelta(hours=30)
    store = Store.open(path, clock=lambda: later)
    keeper = StoryKeeper(store, StoriesSettings(window_hours=24))
    assert keeper.load(later) == 0
    got = file(store, keeper, h("b", HALT_3, "TechNode", 30 * 60), now=later)["b"]
    assert got != first
    store.close()


def test_headlines_stored_without_a_story_are_filed_at_start(tmp_path: Path) -> None:
    """A store written before stories were kept (or with [stories] off)."""
    path = tmp_path / "data"
    store = Store.open(path, clock=lambda: T0)
    off = StoryKeeper(store, StoriesSettings(enabled=False))
    assert off.load(T0) == 0
    assert file(store, off, h("a", HALT, "Caixin"), h("b", HALT_2, "SCMP", 1)) == {}
    assert store.story_of("a") is None and off.story_of("a") is None
    store.close()
    store = Store.open(path, clock=lambda: T0)
    keeper = StoryKeeper(store)
    assert keeper.load(T0 + timedelta(minutes=2)) == 2
    assert store.story_of("a") == store.story_of("b") is not None
    store.close()
    store = Store.open(path)  # the rows were written
    try:
        assert store.story_of("a") is not None
    finally:
        store.close()


def test_a_report_from_the_future_is_placed_now(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data", clock=lambda: T0)
    keeper = StoryKeeper(store)
    keeper.load(T0)
    file(store, keeper, h("a", HALT, "Caixin", 10 * 24 * 60))  # a wrong clock: 10 days ahead
    [(_, _, when)] = list(store.story_rows(T0 - timedelta(hours=1)))
    assert when == T0.timestamp()
    assert file(store, keeper, h("b", HALT_2, "SCMP", 1), now=T0 + timedelta(minutes=1))["b"] \
        == store.story_of("a")
    store.close()


# ---------------------------------------------------------------------------- the poller


def _poller(tmp_path: Path, store: Store, sources: list[tuple[str, str]]):
    lines = ["[polling]", "interval_seconds = 1", "min_interval_seconds = 1",
             "max_interval_seconds = 1", "timeout_seconds = 3"]
    for name, url in sources:
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"', "fetch_summaries = false"]
    (tmp_path / "c.toml").write_text("\n".join(lines))
    settings = load_settings(tmp_path / "c.toml", environ={})
    index = MatchIndex()
    woken: list[int] = []
    keeper = StoryKeeper(store, settings.stories)
    keeper.load()
    poller = Poller(settings, store, index, Fetcher(settings.polling),
                    on_alerts=lambda: woken.append(1), stories=keeper)
    return poller, index, woken


async def test_the_poller_files_every_new_headline_and_wakes_once_per_tick(tmp_path: Path
                                                                           ) -> None:
    store = Store.open(tmp_path / "data")
    with FeedServer() as feeds:
        a, b = Feed(feeds, "/a.xml"), Feed(feeds, "/b.xml")
        poller, index, woken = _poller(tmp_path, store, [("Caixin", a.url), ("SCMP", b.url)])
        store.upsert_chat(7, kind="private")
        store.add_subscription(7, "Nexperia")
        index.add(7, parse_query("Nexperia"))
        await poller.poll_all()  # first polls: recorded
        a.add(Item(HALT, "https://caixin.example/1"))
        b.add(Item(HALT_2, "https://scmp.example/1"))
        for source in poller.sources.values():  # both due in the same tick
            store.set_source_state(source.name, {**store.source_state(source.name),
                                                 "next_poll_at": None})
        assert len(poller.tick()) == 2
        await asyncio.gather(*poller._tasks.values())
        await asyncio.sleep(0)  # the tasks' done callbacks
        assert woken == [1]  # one wake for the tick, after both polls
        ids = [alert.headline_id for alert in store.pending()]
        assert len(ids) == 2 and store.story_of(ids[0]) == store.story_of(ids[1]) is not None
        await poller.fetcher.close()
    store.close()
