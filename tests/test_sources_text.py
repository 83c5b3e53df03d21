"""Titles, summaries, dates and identity rules of bot.sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.sources.identity import absolute_link, canonical_link, headline_id
from bot.sources.text import clean_title, html_to_text, parse_date

NOW = datetime(2025, 11, 20, 4, 0, tzinfo=UTC)  # 12:00 in Beijing
CST8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("raw", "is_html", "expected"),
    [
        ("AT&amp;T Deal", True, "AT&T Deal"),
        ("AT&amp;amp;T", True, "AT&amp;T"),  # double-escaped in the source: decoded once only
        ("AT&T Deal", False, "AT&T Deal"),
        ("AT&amp;T as plain text", False, "AT&amp;T as plain text"),
        ("  Many\n   spaces\t here ", True, "Many spaces here"),
        ("<b>Bold</b> &lt;div&gt; news", True, "Bold <div> news"),
        ("Stray <b>bold</b> tag", False, "Stray bold tag"),
        ("Caf&eacute; &#8220;quoted&#8221;", True, "Café “quoted”"),
    ],
)
def test_clean_title(raw: str, is_html: bool, expected: str) -> None:
    assert clean_title(raw, is_html=is_html) == expected


def test_html_to_text_drops_markup_and_scripts() -> None:
    html = "<p>The <b>deal</b> &amp; its <a href='/x'>terms</a>.</p><p>Next</p><script>x()</script>"
    assert html_to_text(html) == "The deal & its terms. Next"
    assert html_to_text("") == ""
    assert html_to_text("no markup   at all") == "no markup at all"


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        (
            "Mon, 01 Apr 2024 07:52:00 CST",
            "Asia/Shanghai",
            datetime(2024, 4, 1, 7, 52, tzinfo=CST8),
        ),
        (
            "Mon, 01 Apr 2024 07:52:00 CST",
            "America/Chicago",
            datetime(2024, 4, 1, 7, 52, tzinfo=timezone(timedelta(hours=-6))),
        ),
        (
            "Mon, 01 Apr 2024 07:52:00 +0200",
            "Asia/Shanghai",
            datetime(2024, 4, 1, 5, 52, tzinfo=UTC),
        ),
        ("Mon, 01 Apr 2024 07:52:00 GMT", "Asia/Shanghai", datetime(2024, 4, 1, 7, 52, tzinfo=UTC)),
        ("Mon, 01 Apr 2024 07:52:00", "Asia/Shanghai", datetime(2024, 4, 1, 7, 52, tzinfo=CST8)),
        ("2025-11-19 18:30", "Asia/Shanghai", datetime(2025, 11, 19, 18, 30, tzinfo=CST8)),
        ("2025-11-19 18:30:12", "Asia/Shanghai", datetime(2025, 11, 19, 18, 30, 12, tzinfo=CST8)),
        ("2024-01-01T10:00:00Z", "Asia/Shanghai", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("2024-01-01T10:00:00", "Asia/Shanghai", datetime(2024, 1, 1, 10, tzinfo=CST8)),
        ("2024-01-01T10:00:00", "UTC", datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("Dec 20, 2019 02:35 PM", "Asia/Shanghai", datetime(2019, 12, 20, 14, 35, tzinfo=CST8)),
        ("1763520000000", "Asia/Shanghai", datetime(2025, 11, 19, 2, 40, tzinfo=UTC)),
        (1763520000000, "Asia/Shanghai", datetime(2025, 11, 19, 2, 40, tzinfo=UTC)),
        ("04月01日 07:52", "Asia/Shanghai", datetime(2025, 4, 1, 7, 52, tzinfo=CST8)),
        # no year and later in the year than "now": it was last year
        ("12月31日 07:52", "Asia/Shanghai", datetime(2024, 12, 31, 7, 52, tzinfo=CST8)),
        ("2024年03月05日 09:00", "Asia/Shanghai", datetime(2024, 3, 5, 9, 0, tzinfo=CST8)),
    ],
)
def test_parse_date(value: object, tz: str, expected: datetime) -> None:
    got = parse_date(value, tz, NOW)  # type: ignore[arg-type]
    assert got is not None and got.tzinfo is not None
    assert got == expected


@pytest.mark.parametrize("value", [None, "", "not a date", "2100-01-01 00:00", "0000-00-00"])
def test_parse_date_absent_garbage_or_future_is_none(value: str | None) -> None:
    assert parse_date(value, "Asia/Shanghai", NOW) is None


def test_parse_date_a_few_minutes_ahead_is_kept() -> None:
    soon = (NOW + timedelta(minutes=2)).isoformat()
    assert parse_date(soon, "UTC", NOW) == NOW + timedelta(minutes=2)
    later = (NOW + timedelta(hours=1)).isoformat()
    assert parse_date(later, "UTC", NOW) is None


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (
            "HTTPS://Example.COM:443/a/b?utm_source=x&id=3&fbclid=z#frag",
            "https://example.com/a/b?id=3",
        ),
        ("http://Example.com:80", "http://example.com/"),
        ("http://example.com:8080/x?gclid=1&utm_medium=m", "http://example.com:8080/x"),
        ("https://example.com/Path/Case?b=2&a=1", "https://example.com/Path/Case?b=2&a=1"),
        ("ftp://example.com/x", ""),
        ("/relative", ""),
        ("", ""),
    ],
)
def test_canonical_link(url: str, key: str) -> None:
    assert canonical_link(url) == key


def test_absolute_link() -> None:
    assert absolute_link("/x/y", "https://a.example/feed") == "https://a.example/x/y"
    assert absolute_link("javascript:alert(1)", "https://a.example/") == ""
    assert absolute_link("mailto:x@y", "https://a.example/") == ""
    assert absolute_link("https://b.example/z", "https://a.example/") == "https://b.example/z"


def test_headline_id_rules() -> None:
    assert headline_id("S", "guid-1", "https://e.com/a", "T") == "S#guid-1"
    assert headline_id("S", "", "https://E.com/a?utm_source=x", "T") == "https://e.com/a"
    by_hash = headline_id("S", None, "", "Title")
    assert by_hash.startswith("S#sha1:")
    assert by_hash == headline_id("S", None, None, "Title")
    assert by_hash != headline_id("Other", None, None, "Title")
    assert by_hash != headline_id("S", None, None, "Other title")


def test_lone_surrogates_replaced_in_every_cleaned_text() -> None:
    from bot.sources.text import clean_text, collapse

    lone = "cut \ud83d here \udc00"
    assert collapse(lone) == "cut \ufffd here \ufffd"
    assert clean_text(lone) == "cut \ufffd here \ufffd"
    assert clean_title(lone, is_html=False) == "cut \ufffd here \ufffd"
    assert html_to_text("<b>cut</b> \ud83d") == "cut \ufffd"
    assert collapse("whole \U0001f600") == "whole \U0001f600"


def test_cap_summary_cuts_at_a_word_boundary() -> None:
    from bot.sources.text import cap_summary

    assert cap_summary("short text", 20) == "short text"
    assert cap_summary("one two three four", 12) == "one two…"
    assert len(cap_summary("x" * 50, 10)) == 10  # no space at all (e.g. Chinese): a hard cut
    assert cap_summary("a " + "汉" * 50, 10) == "a " + "汉" * 7 + "…"  # a far-back space is ignored
