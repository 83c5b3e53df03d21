"""bot.chat_sources.add: the check of a chat's new source over real loopback HTTP, into a real
store: feeds, autodiscovery, every refusal, sharing, the limit, removal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.chat_sources import add_source, remove_source
from bot.config import ChatSourcesSettings, PollingSettings, Settings
from bot.core import Core, build_index, build_registry
from bot.matching import parse_query
from bot.sources import SourceState
from bot.sources.fetch import Fetcher
from bot.store import Store
from tests.fakes.feedserver import FeedServer

CHAT, OTHER = 501, 502


def rss(title: str, n: int, host: str = "https://news.example") -> bytes:
    items = "".join(
        f"<item><title>{title} story {i}</title><link>{host}/{title}/{i}</link>"
        f"<guid>{title}-{i}</guid></item>"
        for i in range(n)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>{host}</link><description>d</description>{items}</channel></rss>"
    ).encode()


def html_page(*hrefs: str) -> bytes:
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="Feed {i}" href="{h}">'
        for i, h in enumerate(hrefs)
    )
    return f"<!doctype html><html><head>{links}</head><body>page</body></html>".encode()


def make_core(store: Store, *, per_chat: int = 3, enabled: bool = True,
              allow: tuple[str, ...] = ("127.0.0.1",)) -> Core:
    settings = Settings(
        polling=PollingSettings(allow_hosts=list(allow), timeout_seconds=3, max_body_bytes=20_000),
        chat_sources=ChatSourcesSettings(per_chat=per_chat, enabled=enabled),
        sources=[],
    )
    return Core(settings=settings, store=store, index=build_index(store),
                registry=build_registry(store, settings))


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


@pytest.fixture
async def core(store) -> AsyncIterator[Core]:
    made = make_core(store)
    made.fetcher = Fetcher(made.settings.polling)
    yield made
    await made.fetcher.close()


async def test_a_feed_is_added_with_its_first_poll_recorded(core, feeds, tmp_path):
    feeds.add("/technode.xml", rss("TechNode", 20), etag='"v1"')
    outcome = await add_source(core, CHAT, feeds.url("/technode.xml"))
    assert outcome.status == "added" and outcome.ok and not outcome.shared
    assert outcome.headlines == 20
    entry = outcome.entry
    assert entry is not None
    assert (entry.slug, entry.title, entry.own) == ("technode", "TechNode", True)
    assert entry.chats == {CHAT}
    assert core.registry.own(CHAT) == [entry] and core.registry.own(OTHER) == []
    state = SourceState.from_dict(core.store.source_state(entry.state_name))
    assert state.polls == 1 and state.etag == '"v1"' and len(state.last_ids) == 20
    assert state.next_poll_at is not None
    stored = core.store.latest(50, lambda h: h.source_id == "technode")
    assert len(stored) == 20 and {h.id for h in stored} == set(state.last_ids)
    assert all(h.id.startswith("chat:technode#") and h.source == "TechNode" for h in stored)
    assert all(h.url_key.startswith("chat:technode#") for h in stored)
    # durable: a reopened store has the same registry and state
    core.store.close()
    again = Store.open(tmp_path / "store")
    try:
        reopened = make_core(again)
        assert [e.slug for e in reopened.registry.own(CHAT)] == ["technode"]
        assert again.source_state(entry.state_name)["polls"] == 1
    finally:
        again.close()


async def test_a_typed_url_without_scheme_and_an_opml_title(core, feeds):
    feeds.add("/f.xml", rss("Whatever", 2).replace(b"<title>Whatever</title><link>", b"<link>"))
    url = feeds.url("/f.xml").removeprefix("http://")
    outcome = await add_source(core, CHAT, url, title="My  Own Name")
    # no scheme: https is tried first; the loopback server speaks http only
    assert outcome.status == "refused" and outcome.reason == "unreachable"
    outcome = await add_source(core, CHAT, "http://" + url, title="My  Own Name")
    # a feed without a title of its own takes the outline's
    assert outcome.entry is not None and outcome.entry.title == "My Own Name"
    assert outcome.entry.slug == "my-own-name"


async def test_a_shared_feed_is_named_by_itself_not_by_the_chat_that_came_first(core, feeds):
    """Chats adding one URL share its entry, so its name is the feed's own title: another
    chat never sees the name a chat gave it in its OPML file."""
    feeds.add("/f.xml", rss("Public Feed Title", 2))
    first = await add_source(core, CHAT, feeds.url("/f.xml"), title="Alice secret dossier")
    second = await add_source(core, OTHER, feeds.url("/f.xml"))
    assert first.entry is not None and second.entry is not None and second.shared
    assert first.entry.title == second.entry.title == "Public Feed Title"
    assert second.entry.slug == "public-feed-title"


async def test_a_page_with_one_feed_adds_that_feed(core, feeds):
    feeds.add("/feed.xml", rss("Pandaily", 3))
    feeds.add("/", html_page("/feed.xml"), content_type="text/html")
    outcome = await add_source(core, CHAT, feeds.url("/"))
    assert outcome.status == "added" and outcome.headlines == 3
    assert outcome.entry is not None and outcome.entry.url == feeds.url("/feed.xml")


async def test_a_page_with_two_feeds_asks_to_choose_and_stores_nothing(core, feeds):
    feeds.add("/", html_page("/a.xml", "b.xml"), content_type="text/html")
    before = core.store.stats()
    outcome = await add_source(core, CHAT, feeds.url("/"))
    assert outcome.status == "choose"
    assert [c.url for c in outcome.candidates] == [feeds.url("/a.xml"), feeds.url("/b.xml")]
    assert [c.title for c in outcome.candidates] == ["Feed 0", "Feed 1"]
    assert core.store.stats() == before and core.registry.own(CHAT) == []
    assert feeds.count("/a.xml") == 0  # nothing fetched before the choice
    # OPML import: no discovery
    outcome = await add_source(core, CHAT, feeds.url("/"), discover_feeds=False)
    assert outcome.reason == "not_a_feed"


async def test_refusals_each_with_its_reason_and_nothing_stored(core, feeds, internal):
    feeds.add("/page", b"<html><body>no feeds</body></html>", content_type="text/html")
    feeds.add("/missing", status=404)
    feeds.add("/big", rss("Big", 400))  # over the 20,000-byte cap
    feeds.redirect("/loop-a", "/loop-b", status=302)
    feeds.redirect("/loop-b", "/loop-a", status=302)
    feeds.redirect("/to-internal", f"http://127.0.0.2:{internal.port}/feed", status=302)
    feeds.add("/bomb-page", html_page(f"http://127.0.0.2:{internal.port}/x"),
              content_type="text/html")
    before = core.store.stats()
    cases = {
        "/page": "not_a_feed",
        "/missing": "unreachable",
        "/big": "too_large",
        "/loop-a": "redirect_loop",
        "/to-internal": "forbidden_address",
        "/bomb-page": "forbidden_address",
    }
    for path, reason in cases.items():
        outcome = await add_source(core, CHAT, feeds.url(path))
        assert (outcome.status, outcome.reason) == ("refused", reason), (path, outcome)
        assert outcome.detail
    direct = await add_source(core, CHAT, f"http://127.0.0.2:{internal.port}/feed")
    assert direct.reason == "forbidden_address" and "loopback" in direct.detail
    for bad in ("", "ftp://x.example/f", "http://user:pw@x.example/f", "not a url", "http://",
                "华为", "<b>x</b>", "https://<b>x</b>"):  # words are no host names
        assert (await add_source(core, CHAT, bad)).reason == "bad_url", bad
    long = await add_source(core, CHAT, "https://example.com/" + "x" * 3000)
    assert long.reason == "url_too_long" and long.detail == "3,020 characters"
    assert internal.connections == 0
    assert core.store.stats() == before and core.registry.own(CHAT) == []


async def test_allow_hosts_lets_an_internal_host_through(store, internal):
    internal.add("/feed", rss("Intranet", 2))
    core = make_core(store, allow=("127.0.0.2",))
    async with Fetcher(core.settings.polling) as fetcher:
        core.fetcher = fetcher
        outcome = await add_source(core, CHAT, f"http://127.0.0.2:{internal.port}/feed")
    assert outcome.status == "added"


async def test_disabled_limit_and_already_added(core, feeds, store):
    for name in ("a", "b", "c", "d"):
        feeds.add(f"/{name}.xml", rss(name.upper() + "feed", 1))
    for name in ("a", "b", "c"):
        assert (await add_source(core, CHAT, feeds.url(f"/{name}.xml"))).ok
    again = await add_source(core, CHAT, feeds.url("/a.xml") + "/")  # the same feed
    assert again.reason == "already_added" and again.entry is not None
    assert again.entry.slug == "afeed"
    full = await add_source(core, CHAT, feeds.url("/d.xml"))
    assert full.reason == "limit_reached" and "3" in full.detail
    assert feeds.count("/d.xml") == 0  # refused before any fetch
    off = make_core(store, enabled=False)
    off.fetcher = core.fetcher
    assert (await add_source(off, OTHER, feeds.url("/d.xml"))).reason == "disabled"


async def test_an_operator_source_is_already_there(store, feeds):
    feeds.add("/op.xml", rss("Op", 1))
    settings = Settings(sources=[{"name": "Operator Feed", "url": feeds.url("/op.xml")}],
                        polling=PollingSettings(allow_hosts=["127.0.0.1"]))
    core = Core(settings=settings, store=store, index=build_index(store),
                registry=build_registry(store, settings))
    async with Fetcher(settings.polling) as core.fetcher:
        outcome = await add_source(core, CHAT, feeds.url("/op.xml"))
    assert outcome.reason == "already_added" and outcome.entry is not None
    assert outcome.entry.slug == "operator-feed" and not outcome.entry.own


async def test_two_chats_share_one_entry_and_one_fetch(core, feeds):
    feeds.add("/shared.xml", rss("Shared", 4))
    first, second = await asyncio.gather(
        add_source(core, CHAT, feeds.url("/shared.xml")),
        add_source(core, OTHER, feeds.url("/shared.xml")),
    )
    assert first.ok and second.ok
    assert first.entry is not None and second.entry is not None
    assert second.entry.slug == first.entry.slug == "shared"
    assert core.registry.get("shared").chats == {CHAT, OTHER}
    assert len(core.registry.chat_sources()) == 1
    third = await add_source(core, 503, feeds.url("/shared.xml"))
    assert third.shared and third.headlines == 4
    assert feeds.count("/shared.xml") <= 2  # the racing pair may both check; the third does not


async def test_remove_source_says_which_keywords_went(core, feeds):
    feeds.add("/r.xml", rss("Removable", 2))
    added = await add_source(core, CHAT, feeds.url("/r.xml"))
    assert added.ok
    await add_source(core, OTHER, feeds.url("/r.xml"))
    feeds.add("/o.xml", rss("Other", 2))
    assert (await add_source(core, CHAT, feeds.url("/o.xml"))).ok
    kept = ["AI -source:removable", "chip source:other source:removable", "eVTOL"]
    for text in ("source:removable", "chip source:removable", *kept):
        core.subscribe(CHAT, parse_query(text))
    gone = remove_source(core, CHAT, "Removable")  # by title, any case
    assert gone.entry is not None and gone.entry.chats == {OTHER}
    # only the keywords that applied in it alone go; the others match what they did
    assert set(gone.removed_queries) == {"source:removable", "chip source:removable"}
    assert sorted(core.store.subscriptions(CHAT)) == sorted(kept)
    assert len(core.index) == 3
    assert core.store.source_state("chat:removable")  # still polled for OTHER
    assert remove_source(core, CHAT, "removable").entry is None  # not CHAT's any more
    last = remove_source(core, OTHER, feeds.url("/r.xml"))  # by URL
    assert last.entry is not None and last.entry.chats == frozenset()
    assert core.store.source_state("chat:removable") == {}
    tombstone = core.registry.get("removable")
    assert tombstone is not None and not tombstone.visible_to(CHAT)
    # the same URL again: a fresh check, the old slug
    again = await add_source(core, CHAT, feeds.url("/r.xml"))
    assert again.ok and again.entry is not None and again.entry.slug == "removable"


async def test_joining_a_shared_feed_whose_polls_fail_checks_it_first(core, feeds):
    """A URL another chat has is joined without a fetch, unless its last poll failed: then
    it is checked like a first add, and a feed that is gone is refused, saying why."""
    feeds.add("/d.xml", rss("Dead", 3))
    assert (await add_source(core, CHAT, feeds.url("/d.xml"))).ok
    name = "chat:dead"
    state = SourceState.from_dict(core.store.source_state(name))
    state.failures, state.last_error, state.last_status = 40, "HTTP 404", 404
    core.store.set_source_state(name, state.to_dict() | {"config_url": feeds.url("/d.xml")})
    feeds.add("/d.xml", b"gone", status=404)
    refused = await add_source(core, OTHER, feeds.url("/d.xml"))
    assert refused.status == "refused" and refused.reason == "unreachable"
    assert "404" in refused.detail and core.registry.get("dead").chats == {CHAT}
    feeds.add("/d.xml", rss("Dead", 3))  # back: the check passes and the chat joins
    fetched = feeds.count("/d.xml")
    joined = await add_source(core, OTHER, feeds.url("/d.xml"))
    assert joined.ok and joined.shared and feeds.count("/d.xml") == fetched + 1
    assert core.registry.get("dead").chats == {CHAT, OTHER}


async def test_an_add_under_way_when_the_group_becomes_a_supergroup_lands_there(core, feeds):
    """The group migrates while /addsource fetches: the source is the supergroup's (it was
    stored under the dead group id, polled for nobody)."""
    feeds.add("/m.xml", rss("Mig", 2))
    gate = asyncio.Event()
    get = core.fetcher.get

    async def held(*args, **kwargs):
        await gate.wait()
        return await get(*args, **kwargs)

    core.fetcher.get = held
    task = asyncio.create_task(add_source(core, CHAT, feeds.url("/m.xml")))
    await asyncio.sleep(0.05)
    new = -100123
    core.store.migrate_chat(CHAT, new)
    core.move_chat(CHAT, new)
    gate.set()
    outcome = await task
    assert outcome.ok and outcome.entry is not None and outcome.entry.chats == {new}
    assert [e.slug for e in core.registry.own(new)] == ["mig"] and not core.registry.own(CHAT)
    again = await add_source(core, CHAT, feeds.url("/m.xml"))  # a late press, old id
    assert again.reason == "already_added"
