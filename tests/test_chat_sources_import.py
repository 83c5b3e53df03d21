"""bot/chat_sources/importer.py: an OPML file's feeds through the real add_source, over
loopback HTTP into a real store: added, already there, refused by reason, the limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.chat_sources import add_source
from bot.chat_sources.importer import NOT_TRIED, import_feeds, tries
from bot.chat_sources.opml import parse_opml, write_opml
from bot.config import ChatSourcesSettings, PollingSettings, Settings, SourceConfig
from bot.core import Core, build_index, build_registry
from bot.sources import SourceState
from bot.sources.fetch import Fetcher
from tests.fakes.feedserver import FeedServer
from tests.test_chat_sources_add import html_page, rss

CHAT = 601


def opml(*outlines: tuple[str, str] | str) -> bytes:
    """An OPML file: ("title", "url") outlines with xmlUrl, a bare string as raw XML."""
    body = "".join(
        o if isinstance(o, str) else f'<outline type="rss" text="{o[0]}" xmlUrl="{o[1]}"/>'
        for o in outlines
    )
    return f'<?xml version="1.0"?><opml version="1.0"><body>{body}</body></opml>'.encode()


@pytest.fixture
def feeds():
    with FeedServer() as server:
        yield server


async def _core(store, per_chat: int, operator: list[SourceConfig] | None = None) -> Core:
    settings = Settings(
        polling=PollingSettings(allow_hosts=["127.0.0.1"], timeout_seconds=3),
        chat_sources=ChatSourcesSettings(per_chat=per_chat),
        sources=operator or [],
    )
    made = Core(settings=settings, store=store, index=build_index(store),
                registry=build_registry(store, settings))
    made.fetcher = Fetcher(settings.polling)
    return made


@pytest.fixture
async def core(store) -> AsyncIterator[Core]:
    made = await _core(store, per_chat=5)
    yield made
    assert made.fetcher is not None
    await made.fetcher.close()


async def test_feeds_are_added_named_by_their_own_titles_else_the_outlines(core, feeds):
    """A feed's own title names it (chats that add the URL later share the name), the
    outline's only a feed without one."""
    for name in ("a", "b", "c"):
        feeds.add(f"/{name}.xml", rss(name.upper(), 3))
    feeds.add("/b.xml", rss("B", 3).replace(b"<title>B</title><link>", b"<link>"))
    data = opml(("Alpha news", feeds.url("/a.xml")), ("Beta", feeds.url("/b.xml")),
                f'<outline type="rss" xmlUrl="{feeds.url("/c.xml")}"/>')
    report = await import_feeds(core, CHAT, parse_opml(data))
    assert [(f.title, e.title) for f, e in report.added] == [
        ("Alpha news", "A"), ("Beta", "Beta"), ("127.0.0.1", "C"),
    ]
    assert report.total == 3 and not report.already and not report.refused
    own = core.registry.own(CHAT)
    assert {e.url for e in own} == {feeds.url(f"/{n}.xml") for n in "abc"}
    for entry in own:  # each with its first poll recorded
        assert SourceState.from_dict(core.store.source_state(entry.state_name)).polls == 1


async def test_already_there_refused_by_reason_and_bad_urls(core, feeds, internal):
    feeds.add("/a.xml", rss("A", 2))
    feeds.add("/page.html", html_page("/a.xml"), content_type="text/html")
    feeds.add("/two.html", html_page("/x.xml", "/y.xml"), content_type="text/html")
    feeds.add("/notfeed.html", b"<html><body>hi</body></html>", content_type="text/html")
    await add_source(core, CHAT, feeds.url("/a.xml"))
    data = opml(
        ("A again", feeds.url("/a.xml")),
        ("Missing", feeds.url("/missing.xml")),
        ("A page", feeds.url("/notfeed.html")),  # an xmlUrl that is a page: not a feed
        f'<outline text="Blog" htmlUrl="{feeds.url("/two.html")}"/>',  # a page with two feeds
        ("Intranet", internal.url("/feed")),
        ("Script", "javascript:alert(1)"),
    )
    report = await import_feeds(core, CHAT, parse_opml(data))
    assert [f.title for f in report.already] == ["A again"]
    assert report.added == []
    assert {reason: [f.title for f in fs] for reason, fs in report.refused.items()} == {
        "bad_url": ["Script"],
        "unreachable": ["Missing"],
        "not_a_feed": ["A page"],
        "several_feeds": ["Blog"],
        "forbidden_address": ["Intranet"],
    }
    assert internal.connections == 0


async def test_a_page_naming_one_feed_is_followed(core, feeds):
    feeds.add("/b.xml", rss("B", 2))
    feeds.add("/blog.html", html_page("/b.xml"), content_type="text/html")
    data = opml(f'<outline text="Blog" htmlUrl="{feeds.url("/blog.html")}"/>')
    report = await import_feeds(core, CHAT, parse_opml(data))
    [(feed, entry)] = report.added
    assert feed.page_only and entry.url == feeds.url("/b.xml")


async def test_up_to_the_limit_in_the_files_order_and_the_rest_not_fetched(store, feeds):
    core = await _core(store, per_chat=4)
    try:
        for n in range(10):
            feeds.add(f"/f{n}.xml", rss(f"F{n}", 2))
        feeds.add("/bad.xml", b"not a feed at all", content_type="text/plain")
        # a refusal early in the file leaves its slot to the next feed
        outlines = [("Bad", feeds.url("/bad.xml"))] + [
            (f"F{n}", feeds.url(f"/f{n}.xml")) for n in range(10)
        ]
        report = await import_feeds(core, CHAT, parse_opml(opml(*outlines)))
        assert [f.title for f, _ in report.added] == ["F0", "F1", "F2", "F3"]
        assert [f.title for f in report.refused["limit_reached"]] == [f"F{n}" for n in range(4, 10)]
        assert [f.title for f in report.refused["not_a_feed"]] == ["Bad"]
        assert all(feeds.count(f"/f{n}.xml") == 0 for n in range(4, 10))
        assert len(core.registry.own(CHAT)) == 4
        # the same file again: all there or refused by the limit, nothing fetched
        fetched = len(feeds.requests)
        again = await import_feeds(core, CHAT, parse_opml(opml(*outlines)))
        assert [f.title for f in again.already] == ["F0", "F1", "F2", "F3"]
        assert len(again.refused["limit_reached"]) == 7  # Bad too: no room left to try it
        assert len(feeds.requests) == fetched
    finally:
        assert core.fetcher is not None
        await core.fetcher.close()


async def test_an_operators_source_counts_as_already_there(store, feeds):
    feeds.add("/op.xml", rss("Op", 2))
    core = await _core(store, 5, [SourceConfig(name="Operator feed", url=feeds.url("/op.xml"))])
    try:
        report = await import_feeds(core, CHAT, parse_opml(opml(("Op", feeds.url("/op.xml")))))
        assert [f.title for f in report.already] == ["Op"] and report.added == []
    finally:
        assert core.fetcher is not None
        await core.fetcher.close()


async def test_what_export_writes_imports_as_already_there(core, feeds):
    feeds.add("/a.xml", rss("A", 2))
    feeds.add("/b.xml", rss("B", 2))
    first = await import_feeds(
        core, CHAT, parse_opml(opml(("A", feeds.url("/a.xml")), ("B", feeds.url("/b.xml"))))
    )
    assert len(first.added) == 2
    from bot.chat_sources.opml import OpmlFeed

    written = write_opml(
        [OpmlFeed(e.url, e.title) for e in core.registry.own(CHAT)], title="export"
    )
    again = await import_feeds(core, CHAT, parse_opml(written))
    assert [f.title for f in again.already] == ["A", "B"] and again.added == []


async def test_an_import_fetches_a_bounded_number_of_feeds(store, feeds):
    """60 dead addresses and a limit of 3: the import stops fetching after tries(3) = 10 and
    refuses the rest unfetched, saying why (it fetched all 60: a file made the bot a prober)."""
    core = await _core(store, per_chat=3)
    try:
        for n in range(60):
            feeds.add(f"/nf{n}.xml", b"<html><body>no feed</body></html>",
                      content_type="text/html")
        feeds.add("/good.xml", rss("Good", 2))
        outlines = [(f"N{n}", feeds.url(f"/nf{n}.xml")) for n in range(60)]
        outlines.append(("Good", feeds.url("/good.xml")))
        report = await import_feeds(core, CHAT, parse_opml(opml(*outlines)))
        fetched = sum(feeds.count(f"/nf{n}.xml") for n in range(60)) + feeds.count("/good.xml")
        assert fetched == tries(3) == 10
        assert len(report.refused["not_a_feed"]) == 10
        assert [f.title for f in report.refused[NOT_TRIED]] == [
            *(f"N{n}" for n in range(10, 60)), "Good"]
        assert report.total == 61 and report.added == []
    finally:
        assert core.fetcher is not None
        await core.fetcher.close()


async def test_the_operators_feeds_and_shared_ones_use_up_no_tries(store, feeds):
    """A reader's export lists the operator's 10 feeds and 10 another chat has: they are
    already there or joined, fetched never, and the chat's own new feed is still tried."""
    ops = [SourceConfig(name=f"Op{n}", type="rss", url=f"https://op{n}.example/feed")
           for n in range(10)]
    core = await _core(store, per_chat=12, operator=ops)
    try:
        for n in range(10):
            feeds.add(f"/s{n}.xml", rss(f"S{n}", 1))
            assert (await add_source(core, CHAT + 1, feeds.url(f"/s{n}.xml"))).ok
        feeds.add("/mine.xml", rss("Mine", 2))
        outlines = [(f"Op{n}", f"https://op{n}.example/feed") for n in range(10)]
        outlines += [(f"S{n}", feeds.url(f"/s{n}.xml")) for n in range(10)]
        outlines += [("Dead", feeds.url(f"/dead{n}.xml")) for n in range(9)]
        outlines.append(("Mine", feeds.url("/mine.xml")))
        assert tries(12) == 24
        report = await import_feeds(core, CHAT, parse_opml(opml(*outlines)))
        assert len(report.already) == 10 and NOT_TRIED not in report.refused, report.refused
        assert [f.title for f, _ in report.added] == [*(f"S{n}" for n in range(10)), "Mine"]
        assert len(report.refused["unreachable"]) == 9
    finally:
        assert core.fetcher is not None
        await core.fetcher.close()
