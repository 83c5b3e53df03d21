"""The poller and the chats' own sources, over real loopback HTTP into a real store: one fetch
per URL however many chats added it, alerts to those chats only, the check's first poll as the
only record of old items, the STRICT fetch policy, the health notices, removal mid-poll."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat_sources import add_source, remove_source
from bot.chat_sources.health import FAILING_FOR, RARE_EVERY, Notice
from bot.config import ChatSourcesSettings, PollingSettings, Settings
from bot.core import Core, build_index, build_registry
from bot.matching import parse_query
from bot.poller import Poller
from bot.sources import SourceState
from bot.sources.fetch import Fetcher
from bot.store import Store
from tests.fakes.feedserver import FeedServer

A, B, C = 601, 602, 603  # A and B add the source; C follows the same keyword without it


def rss(items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{title}</title><link>https://tn.example/{guid}</link>"
        f"<guid>{guid}</guid><description>About {title}.</description></item>"
        for guid, title in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>TechNode</title>'
        f"<link>https://tn.example</link><description>d</description>{body}</channel></rss>"
    ).encode()


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def core(store: Store, clock: Clock) -> AsyncIterator[Core]:
    settings = Settings(
        polling=PollingSettings(
            allow_hosts=["127.0.0.1"], timeout_seconds=3, interval_seconds=60,
            min_interval_seconds=60, max_interval_seconds=600,
        ),
        chat_sources=ChatSourcesSettings(per_chat=5),
        sources=[],
    )
    made = Core(settings=settings, store=store, index=build_index(store),
                registry=build_registry(store, settings), clock=clock)
    made.fetcher = Fetcher(settings.polling)
    yield made
    await made.fetcher.close()


def poller_for(core: Core, notices: list[Notice] | None = None) -> Poller:
    assert core.fetcher is not None
    kept = notices if notices is not None else []
    return Poller(core.settings, core.store, core.index, core.fetcher, clock=core.clock,
                  registry=core.registry, on_notice=kept.append)


def follow(core: Core, chat_id: int, text: str) -> None:
    core.store.upsert_chat(chat_id, kind="private")
    core.store.add_subscription(chat_id, text)
    core.index.add(chat_id, parse_query(text))


def alerted(core: Core) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for alert in core.store.pending():
        headline = core.store.headline(alert.headline_id)
        assert headline is not None
        out.setdefault(alert.chat_id, []).append(headline.title)
    return out


async def added(core: Core, chat_id: int, url: str) -> str:
    outcome = await add_source(core, chat_id, url)
    assert outcome.ok, outcome
    assert outcome.entry is not None
    return outcome.entry.state_name


async def test_two_chats_one_fetch_alerts_to_those_chats_only(core, feeds, clock):
    route = feeds.add("/tn.xml", rss([("1", "Nexperia halts wafer supply")]), etag='"v1"')
    url = feeds.url("/tn.xml")
    name = await added(core, A, url)
    assert await added(core, B, url) == name  # shared: one entry
    assert feeds.count("/tn.xml") == 1  # the second add did not fetch
    for chat in (A, B, C):
        follow(core, chat, "Nexperia")
    poller = poller_for(core)
    assert poller.tick() == []  # the check was the first poll; next one an interval later
    clock.advance(seconds=61)
    route.body = rss([("1", "Nexperia halts wafer supply"), ("2", "Nexperia China unit hits back")])
    route.etag = '"v2"'
    started = poller.tick()
    assert started == [name]
    await poller.join()
    assert feeds.count("/tn.xml") == 2  # one fetch for both chats
    assert alerted(core) == {A: ["Nexperia China unit hits back"],
                             B: ["Nexperia China unit hits back"]}
    # the headline lives in the source's own namespace, so C's operator sources may still
    # bring the same article as new
    headline = core.store.headline(core.store.pending()[0].headline_id)
    assert headline is not None and headline.id.startswith(name + "#")
    assert headline.source == "TechNode" and headline.source_id == "technode"
    assert not core.store.is_seen("2", "tn.example/2")


async def test_a_conditional_get_and_the_due_time_kept_in_memory(core, feeds, clock):
    feeds.add("/tn.xml", rss([("1", "One")]), etag='"v1"')
    name = await added(core, A, feeds.url("/tn.xml"))
    poller = poller_for(core)
    clock.advance(seconds=61)
    assert poller.tick() == [name]
    await poller.join()
    assert feeds.requests_for("/tn.xml")[-1].headers.get("If-None-Match") == '"v1"'
    state = SourceState.from_dict(core.store.source_state(name))
    assert state.last_status == 304 and state.next_poll_at is not None
    assert state.next_poll_at > clock.now
    assert poller.tick() == []  # not due again until then
    clock.now = state.next_poll_at
    assert poller.tick() == [name]
    await poller.join()


async def test_a_source_a_chat_removes_is_no_longer_polled(core, feeds, clock):
    feeds.add("/tn.xml", rss([("1", "One")]))
    name = await added(core, A, feeds.url("/tn.xml"))
    poller = poller_for(core)
    remove_source(core, A, "technode")
    clock.advance(seconds=61)
    assert poller.tick() == []
    assert core.store.source_state(name) == {}


async def test_removed_during_its_poll_its_state_stays_gone(core, feeds, clock):
    route = feeds.add("/tn.xml", rss([("1", "One")]))
    name = await added(core, A, feeds.url("/tn.xml"))
    follow(core, A, "Two")
    poller = poller_for(core)
    clock.advance(seconds=61)
    route.body, route.delay = rss([("1", "One"), ("2", "Two")]), 0.5
    assert poller.tick() == [name]
    remove_source(core, A, "technode")
    await poller.join()
    assert core.store.source_state(name) == {}
    assert core.store.pending() == []  # nobody has the source any more


async def test_a_chat_source_is_held_to_the_strict_policy(core, feeds, clock):
    feeds.add("/tn.xml", rss([("1", "One")]))
    name = await added(core, A, feeds.url("/tn.xml"))
    core.settings.polling.allow_hosts.clear()  # the operator no longer allows loopback
    assert core.fetcher is not None
    await core.fetcher.close()
    core.fetcher = Fetcher(core.settings.polling)
    poller = poller_for(core)
    clock.advance(seconds=61)
    before = feeds.count("/tn.xml")
    poller.tick()
    await poller.join()
    assert feeds.count("/tn.xml") == before  # never fetched
    state = SourceState.from_dict(core.store.source_state(name))
    assert state.failures == 1 and (state.last_error or "").startswith("refused")


async def test_failing_for_a_day_is_told_once_then_polled_rarely_and_recovery_once(
    core, feeds, clock
):
    route = feeds.add("/tn.xml", rss([("1", "One")]))
    name = await added(core, A, feeds.url("/tn.xml"))
    notices: list[Notice] = []
    poller = poller_for(core, notices)
    route.status = 404
    polls = 0
    start = clock.now
    while clock.now - start < FAILING_FOR + timedelta(hours=13):
        state = SourceState.from_dict(core.store.source_state(name))
        assert state.next_poll_at is not None
        clock.now = max(state.next_poll_at, clock.now)
        if poller.tick():
            polls += 1
            await poller.join()
    assert [n.kind for n in notices] == ["failing"]
    assert notices[0].reason == "gone" and notices[0].entry.chats == {A}
    state = SourceState.from_dict(core.store.source_state(name))
    assert state.reported_failing is not None
    assert state.next_poll_at is not None
    assert state.next_poll_at - clock.now >= RARE_EVERY - timedelta(seconds=1)
    route.status = 200
    clock.now = state.next_poll_at
    assert poller.tick() == [name]
    await poller.join()
    assert [n.kind for n in notices] == ["failing", "recovered"]
    assert SourceState.from_dict(core.store.source_state(name)).reported_failing is None


async def test_many_due_at_once_run_a_few_slots_at_a_time_back_to_back(core, feeds, clock):
    for n in range(5):
        feeds.add(f"/f{n}.xml", rss([(f"{n}", f"Story {n}")]))
    for chat, n in zip((A, A, A, B, B), range(5), strict=True):
        await added(core, chat, feeds.url(f"/f{n}.xml"))
    core.settings.polling.max_in_flight = 1
    poller = poller_for(core)
    clock.advance(seconds=61)
    from bot.poller import OWN_POLLS_PER_SLOT

    first = poller.tick()
    assert len(first) == OWN_POLLS_PER_SLOT == 4
    assert poller.tick() == []  # the room is taken until they finish
    await poller.join()  # the fifth started as soon as one of them ended, not a tick later
    assert [feeds.count(f"/f{n}.xml") for n in range(5)] == [2] * 5  # the check, one poll
    assert poller.tick() == []


async def test_turned_off_by_the_operator_they_are_kept_but_not_polled(core, feeds, clock):
    feeds.add("/tn.xml", rss([("1", "One")]))
    name = await added(core, A, feeds.url("/tn.xml"))
    core.settings.chat_sources.enabled = False
    poller = poller_for(core)
    clock.advance(hours=2)
    assert poller.tick() == [] and await poller.poll_all() == []
    assert feeds.count("/tn.xml") == 1  # the check only
    assert core.store.source_state(name)["polls"] == 1  # kept for when they are back


async def test_chat_sources_are_paced_outside_the_operators_budget(core, feeds, clock):
    feeds.add("/tn.xml", rss([("1", "One")]), etag='"v1"')
    name = await added(core, A, feeds.url("/tn.xml"))
    poller = poller_for(core)
    clock.advance(seconds=61)
    assert poller.tick() == [name]
    await poller.join()
    assert name in poller.own.pace.names()  # its own scheduler decided its interval ...
    assert name not in poller.pace.names()  # ... not the operator's budgeted one
    state = SourceState.from_dict(core.store.source_state(name))
    assert state.interval is not None and 60 <= state.interval <= 600
