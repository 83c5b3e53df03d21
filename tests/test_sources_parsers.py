"""Feed, JSON Feed, Caixin JSON/JSONP and HTML listing readers, on fixtures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.config import _CAIXIN_FIELDS, default_sources
from bot.sources import ParseError, parse_body
from bot.sources.feeds import parse_feed
from bot.sources.jsonapi import parse_json_api, resolve, strip_jsonp
from bot.sources.pages import extract_summary, parse_listing

FIX = Path(__file__).parent / "fixtures" / "sources"
NOW = datetime(2025, 11, 20, 4, 0, tzinfo=UTC)
CST8 = timezone(timedelta(hours=8))
SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "cx-tech-page.txt"


def read(name: str) -> bytes:
    return (FIX / name).read_bytes()


def by_title(headlines: list) -> dict:
    return {h.title: h for h in headlines}


def test_rss_rules() -> None:
    report = parse_feed(
        read("rss_rules.xml"), "https://news.example.com/rss", "S", "Asia/Shanghai", NOW
    )
    items = by_title(report.headlines)
    att = items["AT&T Deal Approved by Regulators"]
    assert att.id == "S#news-1001"
    assert att.url_key == "https://news.example.com/2024/att-deal?id=7"
    assert att.published == datetime(2024, 4, 1, 7, 52, tzinfo=CST8)  # CST on a Chinese source
    assert att.summary == "The deal & its terms."
    assert att.tags == ("Telecom", "M&A")
    rel = items["Bold claims about <div> tags"]
    assert rel.link == "https://news.example.com/2024/relative-story"
    assert rel.id == rel.url_key == rel.link  # no guid: the canonical link
    assert rel.published == datetime(2024, 4, 1, 9, 0, tzinfo=CST8)  # naive: source timezone
    assert items["From The Future"].published is None
    assert items["No Date At All"].published is None
    assert items["No Date At All"].url_key == "https://news.example.com/nodate?page=2"
    untitled = [h for h in report.headlines if h.link.endswith("/micro/1")]
    assert untitled and untitled[0].title.startswith("A microblog post")
    assert report.skipped == 1  # the item without any link
    for h in report.headlines:
        assert h.link.startswith(("http://", "https://"))
        assert "<" not in h.summary and "&amp;" not in h.title


def test_atom_xml_base_and_html_titles() -> None:
    report = parse_feed(
        read("atom_xmlbase.xml"), "https://blog.example.org/feed", "A", "Europe/Berlin", NOW
    )
    first, second = report.headlines
    assert first.title == "Café & Code"
    assert first.link == "https://blog.example.org/base/posts/cafe-code.html"
    assert first.summary == "Plain text & ampersand with <tags> shown literally."
    assert first.published == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert second.link == "https://other.example.net/article/2"
    assert second.summary == "Content only, no summary."
    assert second.published is not None and second.published.utcoffset() == timedelta(hours=1)


def test_rdf() -> None:
    report = parse_feed(read("rdf_feed.rdf"), "https://rdf.example.com/rss", "R", "UTC", NOW)
    assert [h.title for h in report.headlines] == ["RDF Story One", "RDF Story Two"]
    assert report.headlines[0].published == datetime(2024, 2, 1, 3, 0, tzinfo=UTC)


def test_json_feed() -> None:
    report = parse_feed(
        read("jsonfeed.json"), "https://json.example.com/feed.json", "J", "Asia/Shanghai", NOW
    )
    assert [h.title for h in report.headlines] == ["AT&T in JSON Feed", "Relative JSON link"]
    first, second = report.headlines
    assert first.id == "J#jf-1" and first.url_key == "https://json.example.com/posts/1"
    assert first.tags == ("telecom", "5G") and first.summary == "Summary text"
    assert second.link == "https://json.example.com/posts/2"
    assert second.summary == "Hello world"
    assert second.published == datetime(2024, 5, 2, 8, 0, tzinfo=CST8)
    assert report.skipped == 1


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>Not a feed</p></body></html>",
        b"\x00\xff\xfe\x00garbage" * 50,
        b"{broken json",
        b'{"just": "json"}',
    ],
)
def test_not_a_feed_raises_parse_error(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(body, "https://x.example/feed", "X")


def test_broken_prefixed_corpus_feed_is_recovered() -> None:
    report = parse_feed(
        read("corpus_7ef13a42fa7e177a.xml"), "https://dylanharris.org/feed-me.rss", "D"
    )
    assert len(report.headlines) == read("corpus_7ef13a42fa7e177a.xml").count(b"<rss:item>")
    assert report.headlines[0].title == "jenni tucker"


@pytest.mark.parametrize("name", ["corpus_c8ffd33cfd9f8891.xml", "corpus_d597083ccac7f99a.xml"])
def test_copied_corpus_feeds(name: str) -> None:
    body = read(name)
    report = parse_feed(body, "https://example.org/index.xml", "C")
    assert len(report.headlines) == body.count(b"<item>") > 0
    assert all(h.title and h.link.startswith("https://") for h in report.headlines)


# --------------------------------------------------------------------------- Caixin


def seed_titles() -> list[str]:
    text = SEED.read_text(encoding="utf-8") if SEED.exists() else ""
    if not text:
        pytest.skip("../shared/seeds is absent")
    return [line.strip() for line in text.split("LATEST\n", 1)[1].splitlines() if line.strip()][:20]


@pytest.mark.parametrize("name", ["caixin_homeInterface.json", "caixin_homeInterface.jsonp"])
def test_caixin_json_and_jsonp(name: str) -> None:
    report = parse_json_api(
        read(name),
        "https://gateway.caixin.com/api/extapi/homeInterface.jsp",
        "CX",
        _CAIXIN_FIELDS,
        "datas",
        "Asia/Shanghai",
        NOW,
    )
    hs = report.headlines
    assert report.skipped == 1  # the item without a link
    assert [h.title for h in hs[:20]] == seed_titles()
    first = hs[0]
    assert first.id == "CX#102386000"
    assert first.link.startswith("https://www.caixinglobal.com/2025-11-20/")  # http upgraded
    assert first.published == datetime(2025, 11, 20, 10, 5, tzinfo=CST8)
    assert first.summary.startswith("Caixin summary 0 of “Investors")
    assert "  " not in first.summary
    assert first.tags == ("Tech", "Investor")  # as in the fixture
    assert hs[1].tags == ("CX-Tech", "Nexperia") and hs[1].paid and not first.paid
    assert hs[2].published == datetime(2025, 11, 19, 22, 30, tzinfo=CST8)  # "11月19日 22:30"
    assert hs[2].summary == ""
    assert hs[4].published == datetime(2025, 11, 19, 2, 40, tzinfo=UTC)  # epoch ms
    assert hs[7].published is None and hs[8].published is None  # bad / empty time
    att = hs[-1]
    assert att.title == "AT&T and China Mobile Sign 5G Deal"
    assert att.summary == "Roaming & 5G"
    assert all(h.link.startswith("https://") for h in hs)


def test_caixin_default_source_reads_the_fixture() -> None:
    source = next(s for s in default_sources() if s.type == "json")
    report = parse_body(source, read("caixin_homeInterface.jsonp"), source.url, NOW)
    assert len(report.headlines) == 21


def test_jsonp_and_paths() -> None:
    assert strip_jsonp('cb({"a": 1});') == '{"a": 1}'
    assert strip_jsonp("/**/ jQuery_1.x ( [1] )") == "[1]"
    assert strip_jsonp('{"a": 1}') == '{"a": 1}'
    item = {"a": {"b": [{"n": "x"}, {"n": "y"}, {}]}, "attr": 5, "k": ""}
    assert resolve(item, "a.b[].n") == ["x", "y"]
    assert resolve(item, "a.b[1].n") == "y"
    assert resolve(item, "attr=5") is True
    assert resolve(item, "attr=4") is False
    assert resolve(item, "k|a.b[0].n") == "x"
    assert resolve(item, "missing") is None


@pytest.mark.parametrize("body", [b"not json", b"cb(not json);", b'{"maxes": 0}', b"<html></html>"])
def test_caixin_bad_bodies_raise(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_json_api(body, "https://gateway.caixin.com/x", "CX", _CAIXIN_FIELDS, "datas")


def test_caixin_html_listing_fallback() -> None:
    source = next(s for s in default_sources() if s.type == "html")
    report = parse_body(source, read("caixin_tech_page.html"), source.url, NOW)
    hs = report.headlines
    assert [h.title for h in hs[:20]] == seed_titles()
    assert len(hs) == 21  # one headline per article although each has an image link too
    assert hs[-1].title == "Relative & Resolved Story"
    assert (
        hs[-1].link == "https://www.caixinglobal.com/2025-11-17/relative-link-story-102391111.html"
    )
    assert all("utm_" not in h.url_key for h in hs)
    # the same story from the JSON API has the same url_key: alerted once
    api = parse_json_api(
        read("caixin_homeInterface.json"),
        "https://gateway.caixin.com/x",
        "CX",
        _CAIXIN_FIELDS,
        "datas",
        "Asia/Shanghai",
        NOW,
    )
    assert {h.url_key for h in hs[:20]} == {h.url_key for h in api.headlines[:20]}


def test_listing_errors() -> None:
    with pytest.raises(ParseError):
        parse_listing(
            b"<html><body><a href='/x'>x</a></body></html>", "https://e.com/", "P", "a.headline"
        )
    with pytest.raises(ParseError):
        parse_listing(b'{"a": 1}', "https://e.com/", "P", "a")


def test_article_summary() -> None:
    assert extract_summary(read("caixin_article.html")).startswith(
        "Touted as a way to make society safer, sophisticated facial recognition systems are"
    )
    assert "&amp;" not in extract_summary(read("caixin_article.html"))
    assert extract_summary(read("caixin_article_no_meta.html")).startswith(
        "Touted as a way to make society safer, sophisticated facial recognition systems that"
    )
    assert (
        extract_summary(b"<html><head><meta name='description' content='Meta  desc'></head></html>")
        == "Meta desc"
    )
    assert extract_summary(b"<html><body><p>short</p></body></html>") == ""


# ---------------------------------------------------------------------------- lone surrogates, caps


def _storable(h) -> None:
    """Every text of the headline encodes as UTF-8 (what the store requires)."""
    for value in (h.id, h.title, h.link, h.url_key, h.summary, *h.tags):
        value.encode("utf-8")


def test_json_api_lone_surrogates_become_replacement_characters() -> None:
    report = parse_json_api(
        read("caixin_lone_surrogate.json"),
        "https://gateway.caixin.com/x",
        "CX",
        _CAIXIN_FIELDS,
        "datas",
        "Asia/Shanghai",
        NOW,
    )
    first, second = report.headlines
    for h in report.headlines:
        _storable(h)
    assert first.title == "Rocket Startup Raises Funds \ufffd"
    assert first.summary == "A summary cut mid-emoji by the API \ufffd"
    assert first.tags == ("Tech\ufffd", "Space")
    assert "\ufffd" not in second.summary and second.summary.endswith("\U0001f600")


def test_json_feed_lone_surrogates_cleaned() -> None:
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": ['
        b'{"id": "a\\ud83d", "url": "https://e.com/a", "title": "T \\udc00x",'
        b' "summary": "S \\ud83d", "tags": ["t\\ud83d"]}]}'
    )
    (h,) = parse_feed(body, "https://e.com/feed.json", "J", "UTC", NOW).headlines
    _storable(h)
    assert (h.id, h.title, h.summary) == ("J#a\ufffd", "T \ufffdx", "S \ufffd")
    assert h.tags == ("t\ufffd",)


def test_rss_surrogate_character_reference_does_not_block_the_feed() -> None:
    report = parse_feed(read("rss_surrogate_refs.xml"), "https://news.example.com/rss", "S",
                        "UTC", NOW)
    titles = [h.title for h in report.headlines]
    assert titles == ["First Good Story", "Cut Mid-Emoji \ufffd", "Last Good Story"]
    for h in report.headlines:
        _storable(h)
    bad = report.headlines[1]
    assert bad.id == "S#id-\ufffd-2"
    assert bad.summary == "Summary cut \ufffd here \ufffd and in HTML \ufffd too"
    assert bad.tags == ("Tech\ufffd",)
    assert report.headlines[0].summary == "Fine text \U0001f600 with a whole emoji."


LONG = " ".join(f"word{i}" for i in range(600))  # ~4,500 characters


def _capped(summary: str) -> None:
    from bot.sources.text import SUMMARY_MAX_CHARS

    assert SUMMARY_MAX_CHARS == 1000
    assert 500 < len(summary) <= 1000
    assert summary.endswith("…")
    assert LONG.startswith(summary[:-1])
    assert LONG[len(summary) - 1] == " "  # cut at a word boundary


def test_summaries_are_capped_everywhere() -> None:
    rss = (
        "<rss version='2.0'><channel><title>t</title><item><title>T</title>"
        f"<link>https://e.com/1</link><description>{LONG}</description></item>"
        "</channel></rss>"
    ).encode()
    _capped(parse_feed(rss, "https://e.com/rss", "S", "UTC", NOW).headlines[0].summary)
    atom = (
        "<feed xmlns='http://www.w3.org/2005/Atom'><title>t</title><entry><title>T</title>"
        f"<link href='https://e.com/1'/><id>x</id><summary>{LONG}</summary></entry></feed>"
    ).encode()
    _capped(parse_feed(atom, "https://e.com/atom", "S", "UTC", NOW).headlines[0].summary)
    jf = (
        '{"version": "https://jsonfeed.org/version/1.1", "items": '
        f'[{{"url": "https://e.com/1", "title": "T", "summary": "{LONG}"}}]}}'
    ).encode()
    _capped(parse_feed(jf, "https://e.com/f.json", "S", "UTC", NOW).headlines[0].summary)
    api = f'{{"datas": [{{"desc": "T", "link": "https://e.com/1", "summ": "{LONG}"}}]}}'.encode()
    _capped(
        parse_json_api(api, "https://e.com/x", "S", _CAIXIN_FIELDS, "datas").headlines[0].summary
    )
    page = f"<html><head><meta property='og:description' content='{LONG}'></head></html>"
    _capped(extract_summary(page.encode()))
    paragraph = f"<html><body><p>{LONG}</p></body></html>"
    _capped(extract_summary(paragraph.encode()))
