"""bot.chat_sources.own: what the /addsource check records is what later polls compare with,
so nothing the check saw is ever new again (and nothing new is taken for seen)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.chat_sources.discover import discover
from bot.chat_sources.own import own_headlines, renamed, source_config
from bot.sources import parse_body
from bot.sources.registry import CHAT, SourceEntry

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>TechNode</title>
<link>https://technode.example/</link><description>d</description>
<item><title>With a guid</title><link>https://technode.example/a</link><guid>g-1</guid></item>
<item><title>A permalink guid</title><guid isPermaLink="true">https://technode.example/b</guid></item>
<item><title>Only a link</title><link>https://technode.example/c?utm_source=x</link></item>
</channel></rss>"""


def test_the_check_and_a_poll_give_the_same_ids():
    entry = SourceEntry("technode", "https://technode.example/feed", "TechNode", CHAT,
                        chats=frozenset({1}))
    found = discover(FEED, entry.url, "application/rss+xml", NOW)
    assert found.kind == "feed" and found.report is not None
    checked = renamed(entry, found.report.headlines)
    report = parse_body(source_config(entry), FEED, entry.url, NOW, "application/rss+xml")
    polled = own_headlines(entry, report.headlines)
    assert [(h.id, h.url_key) for h in checked] == [(h.id, h.url_key) for h in polled]
    assert len({h.id for h in checked}) == 3
    assert all(h.id.startswith("chat:technode#") for h in checked)
    assert all(h.url_key.startswith("chat:technode#") or not h.url_key for h in checked)
    assert {h.source for h in checked} == {"TechNode"}
    assert {h.source_id for h in checked} == {"technode"}
