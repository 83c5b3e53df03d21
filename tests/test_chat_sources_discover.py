"""bot.chat_sources.discover: feeds of every kind, pages naming feeds, and neither."""

from __future__ import annotations

import json

from bot.chat_sources.discover import MAX_CANDIDATES, discover, feed_links

PAGE = "https://example.com/news/index.html"

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>TechNode</title>
<link>https://technode.com/</link><description>d</description>
<item><title>One</title><link>https://technode.com/1</link></item>
<item><title>Two</title><link>https://technode.com/2</link></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom &amp; Co</title><id>urn:x</id><updated>2026-01-01T00:00:00Z</updated>
<entry><title>A</title><id>urn:a</id><link href="https://a.example/1"/>
<updated>2026-01-01T00:00:00Z</updated></entry></feed>"""
RDF = b"""<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://r.example/"><title>RDF feed</title>
<link>https://r.example/</link><description>d</description></channel>
<item rdf:about="https://r.example/1"><title>R1</title><link>https://r.example/1</link></item>
</rdf:RDF>"""
JSON_FEED = json.dumps({
    "version": "https://jsonfeed.org/version/1.1", "title": "JSON news",
    "items": [{"id": "1", "url": "https://j.example/1", "title": "J1"}],
}).encode()


def page(*links: str, base: str = "") -> bytes:
    head = (f'<base href="{base}">' if base else "") + "".join(links)
    html = f"<!DOCTYPE html><html><head><title>p</title>{head}</head><body>hi</body></html>"
    return html.encode()


def test_every_kind_of_feed_is_a_feed_with_its_title():
    for body, title, count in (
        (RSS, "TechNode", 2), (ATOM, "Atom & Co", 1), (RDF, "RDF feed", 1),
        (JSON_FEED, "JSON news", 1),
    ):
        found = discover(body, "https://example.com/feed", "application/xml")
        assert found.kind == "feed", (title, found.detail)
        assert found.report is not None
        assert found.report.title == title
        assert len(found.report.headlines) == count


def test_a_page_names_its_feeds_resolved_against_the_page_url():
    body = page(
        '<link rel="alternate" type="application/rss+xml" title="All news" href="/feed.xml">',
        '<link rel="Alternate stylesheet" type="application/atom+xml" href="atom.xml">',
        '<link rel="alternate" type="application/feed+json" href="//cdn.example.com/f.json">',
        '<link rel="alternate" type="text/html" href="/other.html">',  # not a feed
        '<link rel="stylesheet" type="application/rss+xml" href="/nope.xml">',  # not alternate
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">',
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml#again">',  # a repeat
    )
    found = discover(body, PAGE, "text/html; charset=utf-8")
    assert found.kind == "page"
    assert [(c.url, c.title, c.kind) for c in found.candidates] == [
        ("https://example.com/feed.xml", "All news", "rss"),
        ("https://example.com/news/atom.xml", "", "atom"),
        ("https://cdn.example.com/f.json", "", "json"),
    ]


def test_base_href_and_the_cap_on_candidates():
    links = [
        f'<link rel="alternate" type="application/rss+xml" href="f{i}.xml">' for i in range(9)
    ]
    found = discover(page(*links, base="https://other.example/feeds/"), PAGE, "text/html")
    assert len(found.candidates) == MAX_CANDIDATES
    assert found.candidates[0].url == "https://other.example/feeds/f0.xml"


def test_a_page_without_feed_links_and_garbage_are_not_feeds():
    assert discover(page(), PAGE, "text/html").kind == "none"
    assert discover(b"", PAGE).kind == "none"
    assert discover(b"\x00\xff garbage \x89PNG", PAGE, "image/png").kind == "none"
    assert discover(b'{"items": 3}', PAGE, "application/json").kind == "none"
    assert discover(b"<?xml version='1.0'?><svg/>", PAGE, "image/svg+xml").kind == "none"


def test_a_feed_served_as_html_is_still_a_feed():
    found = discover(RSS, "https://example.com/feed", "text/html")
    assert found.kind == "feed"


def test_feed_links_never_raise_on_broken_html():
    assert feed_links(b"<html><head><link rel=alternate type=application/rss+xml href=", PAGE) == ()
    assert feed_links("<link rel='alternate' type='application/rss+xml' href='/ü.xml'>".encode(),
                      PAGE)[0].url == "https://example.com/ü.xml"
