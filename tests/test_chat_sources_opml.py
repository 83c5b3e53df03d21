"""bot/chat_sources/opml.py: reading the OPML files feed readers export, refusing unsafe or
wrong files with a reason, and writing OPML 2.0 that reads back the same."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.chat_sources.opml import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_OUTLINES,
    OpmlError,
    OpmlFeed,
    clean_text,
    parse_opml,
    write_opml,
)

FIXTURES = Path(__file__).parent / "fixtures" / "opml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def refusal(data: bytes | str) -> str:
    with pytest.raises(OpmlError) as caught:
        parse_opml(data.encode() if isinstance(data, str) else data)
    assert str(caught.value)  # a plain English reason for logs
    return caught.value.code


# ---------------------------------------------------------------- what readers export


def test_feedly_export_nested_folders():
    doc = parse_opml(fixture("feedly.opml"))
    assert doc.title == "Anna subscriptions in feedly Cloud"
    assert [f.url for f in doc.feeds] == [
        "https://technode.com/feed/",
        "https://pandaily.com/feed/",
        "https://kr-asia.com/feed",
        "https://www.scmp.com/rss/36/feed",
        "https://restofworld.org/feed/latest/",
        "https://feeds.arstechnica.com/arstechnica/index",
        "https://www.theverge.com/rss/index.xml",
    ]
    technode = doc.feeds[0]
    assert technode == OpmlFeed(
        url="https://technode.com/feed/",
        title="TechNode",
        html_url="https://technode.com",
        folder="China tech",
    )
    assert doc.feeds[-1].title == "The Verge - All Posts"  # whitespace collapsed
    assert doc.feeds[-1].folder == ""
    assert doc.skipped == () and doc.duplicates == 0


def test_inoreader_entities_duplicates_and_cjk():
    doc = parse_opml(fixture("inoreader.opml"))
    urls = [f.url for f in doc.feeds]
    assert "https://hnrss.org/newest?q=battery&points=50" in urls  # &amp; decoded
    assert urls.count("https://electrek.co/feed/") == 1  # listed in two folders: once
    assert doc.duplicates == 1
    titles = {f.title for f in doc.feeds}
    assert {"Tom's Hardware", "36氪"} <= titles
    assert doc.feeds[0].folder == "EV & batteries"


def test_netnewswire_deep_folders_and_comment():
    doc = parse_opml(fixture("netnewswire.opml"))
    assert [(f.title, f.folder) for f in doc.feeds] == [
        ("Daring Fireball", ""),
        ("Stratechery by Ben Thompson", "Reading"),
        ("ChinaTalk", "Reading / Deep"),
    ]


def test_thunderbird_namespaced_attributes_are_ignored():
    doc = parse_opml(fixture("thunderbird.opml"))
    assert doc.title == "Thunderbird OPML Export - News & Blogs"
    assert [f.url for f in doc.feeds] == [
        "https://www.caixinglobal.com/rss/tech.xml",
        "https://lwn.net/headlines/rss",
    ]


def test_latin1_declared_encoding():
    doc = parse_opml(fixture("latin1.opml"))
    assert doc.title == "Café feeds"
    assert doc.feeds[0].title == "Le Monde Pixels é"


def test_spec_example_with_notes_links_and_bad_urls():
    doc = parse_opml(fixture("spec2.opml"))
    by_title = {f.title: f for f in doc.feeds}
    assert by_title["CNET News.com"].url == "http://news.com.com/2547-1_3-0-5.xml"
    assert by_title["Podcast (a feed: scheme)"].url == "http://example.org/podcast.xml"
    blog = by_title["Blog with no feed URL"]
    assert blog.url == "https://blog.example.com/" and blog.page_only
    assert not by_title["CNET News.com"].page_only
    assert "A note: feeds worth reading" not in by_title  # a note, not a feed
    assert sorted((s.title, s.reason) for s in doc.skipped) == [
        ("Empty", "no_url"),
        ("Local file", "not_web"),
        ("Script", "not_web"),
    ]


def test_utf8_bom_utf16_and_windows_1252():
    body = '<opml version="2.0"><body><outline text="Ünï" xmlUrl="https://a.example/f"/></body></opml>'
    assert parse_opml(b"\xef\xbb\xbf" + body.encode()).feeds[0].title == "Ünï"
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + body).encode("utf-16")
    assert parse_opml(utf16).feeds[0].title == "Ünï"
    cp1252 = ('<?xml version="1.0" encoding="windows-1252"?>' + body.replace("Ünï", "“q”"))
    assert parse_opml(cp1252.encode("cp1252")).feeds[0].title == "“q”"


def test_attribute_names_any_case_and_title_falls_back_to_text_then_host():
    data = (
        '<opml><body><outline TEXT="Lower" xmlurl="https://a.example/feed"/>'
        '<outline xmlUrl="https://b.example/rss"/></body></opml>'
    )
    doc = parse_opml(data.encode())
    assert [(f.title, f.url) for f in doc.feeds] == [
        ("Lower", "https://a.example/feed"),
        ("b.example", "https://b.example/rss"),
    ]


def test_titles_are_cleaned_and_capped_urls_checked():
    long_title = "x" * 1000
    data = (
        "<opml><body>"
        f'<outline text="{long_title}" xmlUrl="https://a.example/f"/>'
        '<outline text="tab&#9;and&#10;newline\u200b" xmlUrl="https://b.example/f"/>'
        f'<outline text="too long url" xmlUrl="https://c.example/{"p" * 3000}"/>'
        '<outline text="no host" xmlUrl="https:///feed"/>'
        '<outline text="space" xmlUrl="https://d.example/a b"/>'
        '<outline text="bad v6" xmlUrl="http://[::1/feed"/>'
        "</body></opml>"
    )
    doc = parse_opml(data.encode())
    assert len(doc.feeds[0].title) <= 200
    assert doc.feeds[1].title == "tab and newline"
    assert sorted((s.title, s.reason) for s in doc.skipped) == [
        ("bad v6", "not_web"),
        ("no host", "not_web"),
        ("space", "not_web"),
        ("too long url", "too_long"),
    ]


def test_a_file_without_feeds_is_not_an_error():
    doc = parse_opml(b'<opml version="2.0"><head/><body/></opml>')
    assert doc.feeds == () and doc.title == ""


# ---------------------------------------------------------------- refused, safely


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml><body><outline text="&lol9;" xmlUrl="https://a.example/f"/></body></opml>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<opml><body><outline text="&secret;" xmlUrl="https://a.example/f"/></body></opml>"""

PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY % remote SYSTEM "http://127.0.0.1:1/evil.dtd"> %remote;]>
<opml><body/></opml>"""

EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE opml SYSTEM "http://127.0.0.1:1/opml.dtd">
<opml><body/></opml>"""

PLAIN_DOCTYPE = '<?xml version="1.0"?><!DOCTYPE opml><opml><body/></opml>'


@pytest.mark.parametrize(
    "data", [BILLION_LAUGHS, XXE, PARAMETER_ENTITY, EXTERNAL_DTD, PLAIN_DOCTYPE]
)
def test_dtds_and_entities_are_refused(data: str):
    assert refusal(data) == "forbidden"


def test_undefined_entity_is_not_xml():
    assert refusal('<opml><body><outline text="&nope;"/></body></opml>') == "not_xml"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"just some text",
        b'<opml version="2.0"><body><outline text="a" xmlUrl="https://a.example/f">',
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"<opml><body></opml>",
        b"<opml/><opml/>",
    ],
)
def test_broken_or_binary_files_are_not_xml(data: bytes):
    assert refusal(data) == "not_xml"


def test_other_xml_is_not_opml():
    assert refusal("<html><body><p>hello</p></body></html>") == "not_opml"
    assert refusal(b"<html><body><p>Not closed") == "not_opml"  # told at its root
    assert refusal('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>') == "not_opml"


@pytest.mark.parametrize(
    "root",
    [
        '<rss version="2.0"><channel><title>t</title></channel></rss>',
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>',
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
    ],
)
def test_a_feed_sent_as_a_file_says_so(root: str):
    assert refusal(root) == "is_feed"


def test_huge_file_is_refused_before_parsing():
    big = b"<opml><body>" + b" " * MAX_BYTES + b"</body></opml>"
    with pytest.raises(OpmlError) as caught:
        parse_opml(big)
    assert caught.value.code == "too_large"
    assert caught.value.arguments["limit"] == MAX_BYTES


def test_too_many_outlines():
    outlines = "".join(
        f'<outline text="f{i}" xmlUrl="https://a.example/{i}"/>' for i in range(MAX_OUTLINES + 1)
    )
    data = f"<opml><body>{outlines}</body></opml>".encode()
    assert len(data) < MAX_BYTES
    assert refusal(data) == "too_many"
    fewer = f"<opml><body>{outlines[: outlines.rindex('<outline')]}</body></opml>"
    assert len(parse_opml(fewer.encode()).feeds) == MAX_OUTLINES


def test_too_deep():
    deep = '<outline text="d">' * (MAX_DEPTH + 1) + "</outline>" * (MAX_DEPTH + 1)
    assert refusal(f"<opml><body>{deep}</body></opml>") == "too_deep"


def test_errors_carry_codes_the_handlers_can_word():
    err = OpmlError("too_large", limit=10)
    assert err.code == "too_large" and err.arguments == {"limit": 10}
    assert "10" in str(err)


# ---------------------------------------------------------------- writing


def test_write_opml_2_0_reads_back():
    feeds = [
        OpmlFeed(url="https://technode.com/feed/", title="TechNode"),
        OpmlFeed(url="https://hnrss.org/newest?q=a&points=5", title='Q&A <"news">'),
        OpmlFeed(url="https://36kr.com/feed", title="36氪", html_url="https://36kr.com/"),
    ]
    when = datetime(2026, 12, 2, 8, 30, tzinfo=UTC)
    data = write_opml(feeds, title="newsbot: sources of Li Wei", created=when)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    assert b"<dateCreated>Wed, 02 Dec 2026 08:30:00 GMT</dateCreated>" in data
    assert b'type="rss"' in data
    doc = parse_opml(data)
    assert doc.title == "newsbot: sources of Li Wei"
    assert list(doc.feeds) == feeds


def test_write_drops_characters_xml_cannot_hold():
    feeds = [OpmlFeed(url="https://a.example/f", title="bell\x07 and \ufffe nul\x00")]
    doc = parse_opml(write_opml(feeds, title="t\x01"))
    assert doc.feeds[0].title == "bell and nul"
    assert doc.title == "t"


_title_chars = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
_paths = st.text("abcxyz0123456789-_/.%~?=&;:@+", max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(st.tuples(_title_chars, _paths), max_size=8))
def test_round_trip_property(entries: list[tuple[str, str]]):
    """What write_opml writes parses back to the same URLs, and each title as clean_text
    shows it (the host when nothing is left)."""
    feeds = [
        OpmlFeed(url=f"https://h{i}.example/{path}", title=title)
        for i, (title, path) in enumerate(entries)
    ]
    doc = parse_opml(write_opml(feeds, title="x"))
    assert [f.url for f in doc.feeds] == [f.url for f in feeds]
    for i, (written, read) in enumerate(zip(feeds, doc.feeds, strict=True)):
        assert read.title == (clean_text(written.title) or f"h{i}.example")
    assert parse_opml(write_opml(list(doc.feeds), title="x")).feeds == doc.feeds
