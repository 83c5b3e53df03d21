"""Rendering: escaping, bolding, cutting, batching, limits; checked by a strict HTML reading."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.format import (
    PlainMatch,
    QueryText,
    plain_matches,
    render_alert,
    render_batch,
    render_batch_parts,
    render_latest,
)
from bot.delivery.lengths import (
    MAX_MESSAGE_CHARS,
    cut_text,
    cut_utf16,
    html_to_plain,
    split_plain,
    utf16_len,
)
from bot.models import Headline

try:  # the shared strict fake, when it is there, is the judge of record
    from tests.fakes.telegram import visible_text as fake_visible_text
except Exception:  # pragma: no cover - before the fake lands
    fake_visible_text = None

ALLOWED = {"a", "b", "i", "strong", "em", "u", "s", "code", "pre", "tg-spoiler", "blockquote"}


class StrictReader(HTMLParser):
    """Telegram's HTML rules, strictly: known tags only, balanced, <a> needs an href."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        assert tag in ALLOWED, f"tag <{tag}> not allowed"
        if tag == "a":
            assert dict(attrs).get("href"), "<a> without href"
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def visible(markup: str) -> str:
    # Raw text between tags may hold only &lt; &gt; &amp; &quot; &#...; entities and no bare <>&
    bare = re.sub(r"<(/?)(a|b|i)( href=\"[^\"]*\")?>", "", markup)
    assert "<" not in bare and ">" not in bare, "unescaped < or >"
    for amp in re.finditer(r"&", bare):
        assert re.match(r"&(lt|gt|amp|quot|#x?[0-9a-fA-F]+);", bare[amp.start():]), bare
    reader = StrictReader()
    reader.feed(markup)
    reader.close()
    assert not reader.stack, f"unclosed {reader.stack}"
    text = "".join(reader.text)
    if fake_visible_text is not None:
        assert fake_visible_text(markup) == text.strip()
    return text


def headline(title="Joby flies an eVTOL", summary="", **kw) -> Headline:
    base = {
        "source": "TechNode",
        "id": "h1",
        "title": title,
        "link": "https://example.com/a?x=1&y=2",
        "published": datetime(2024, 5, 1, 14, 3, tzinfo=UTC),
        "summary": summary,
    }
    base.update(kw)
    return Headline(**base)


def match(query, title_spans=(), summary_spans=()):
    return PlainMatch(QueryText(query), tuple(title_spans), tuple(summary_spans))


def test_alert_has_every_part():
    h = headline(summary="Joby Aviation flew its electric air taxi over Manhattan.", paid=True)
    out = render_alert(h, [match("eVTOL", [(14, 19)])])
    assert out.startswith(
        '<a href="https://example.com/a?x=1&amp;y=2">Joby flies an <b>eVTOL</b></a>'
    )
    text = visible(out)
    assert "TechNode" in text
    assert "2024-05-01 14:03 UTC" in text
    assert "paid" in text
    assert "Joby Aviation flew its electric air taxi over Manhattan." in text
    assert "https://example.com/a?x=1&y=2" in text
    assert text.rstrip().endswith("Matched: eVTOL")


def test_alert_in_chat_timezone():
    out = render_alert(headline(), [], tz=ZoneInfo("Asia/Shanghai"))
    assert "2024-05-01 22:03 CST" in visible(out)


def test_not_paid_not_marked_and_no_time_when_unknown():
    text = visible(render_alert(headline(published=None), []))
    assert "paid" not in text
    assert "UTC" not in text


@pytest.mark.parametrize(
    "title",
    ['AT&T <b>buys</b> "T-Mobile" & \'Sprint\'', "a < b > c &amp; d", "&lt;script&gt;", "&#x41;"],
)
def test_special_characters_arrive_intact(title):
    out = render_alert(headline(title=title, summary=title), [match(title)])
    text = visible(out)
    assert title in text
    assert text.count(title) == 3  # title, summary, "Matched: ..."


def test_overlapping_spans_are_merged():
    h = headline(title="export control rules")
    out = render_alert(h, [match("export", [(0, 6)]), match("export control", [(0, 14)]),
                           match("control rules", [(7, 20)])])
    assert "<a href=\"https://example.com/a?x=1&amp;y=2\"><b>export control rules</b></a>" in out
    assert "Matched: export, export control, control rules" in visible(out)


def test_spans_out_of_range_are_clamped():
    out = render_alert(headline(title="abc"), [match("q", [(1, 99), (-5, 1), (50, 60)])])
    assert "<b>abc</b>" in out


def test_summary_cut_at_sentence_boundary():
    summary = "First sentence here. " * 30
    out = render_alert(headline(summary=summary), [], summary_chars=100)
    line = visible(out).split("\n")[2]
    assert len(line) <= 100
    assert line.endswith("here. …")


def test_summary_cut_at_word_boundary_when_no_sentence():
    summary = "word " * 200
    line = visible(render_alert(headline(summary=summary), [], summary_chars=50)).split("\n")[2]
    assert len(line) <= 50
    assert line.endswith("word…")


def test_summary_bold_survives_the_cut():
    summary = "The eVTOL market grows. " + "More text follows here. " * 40 + "eVTOL again"
    spans = [(4, 9), (len(summary) - 11, len(summary) - 6)]
    out = render_alert(headline(summary=summary), [match("eVTOL", (), spans)])
    assert "The <b>eVTOL</b> market grows." in out
    assert out.count("<b>") == 1


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("one two three four", 10, "one two…"),
        ("abcdefghijklmnop", 8, "abcdefg…"),
        ("Hi. There is more text", 12, "Hi. There…"),
        ("A sentence ends. And more", 20, "A sentence ends. …"),
    ],
)
def test_cut_text(text, limit, expected):
    assert cut_text(text, limit) == expected
    assert len(cut_text(text, limit)) <= limit


@given(st.text(min_size=0, max_size=400), st.integers(min_value=1, max_value=250))
def test_cut_utf16_fits_telegrams_count(text, limit):
    cut = cut_utf16(text, limit)
    assert utf16_len(cut) <= limit or len(cut) <= 1
    if utf16_len(text) <= limit:
        assert cut == text  # untouched when it fits, newlines and all


def test_cut_utf16_counts_astral_characters_twice():
    text = "Remove test-feed? " + "🚀" * 150
    cut = cut_utf16(text, 200)
    assert utf16_len(cut) <= 200 and cut.startswith("Remove test-feed? 🚀") and cut.endswith("…")


def test_huge_everything_stays_under_limit():
    h = headline(title='"&' * 5000, summary="<>" * 5000, source="&" * 500,
                 link="https://example.com/" + "a" * 1000)
    out = render_alert(h, [match('"&' * 500, [(0, 10000)])], summary_chars=1000)
    assert len(out) < MAX_MESSAGE_CHARS
    visible(out)


def test_bad_link_is_not_linked():
    out = render_alert(headline(link="javascript:alert(1)"), [])
    assert "<a " not in out
    visible(out)


def test_batch_single_keeps_full_form():
    h = headline(summary="Summary text.")
    assert render_batch([(h, [match("eVTOL")])]) == [render_alert(h, [match("eVTOL")])]


def test_batch_is_compact_list_with_links():
    items = [(headline(title=f"Story {i} & co", id=f"h{i}", link=f"https://e.com/{i}"),
              [match("co", [(len(f"Story {i} & "), len(f"Story {i} & co"))])]) for i in range(3)]
    (out,) = render_batch(items)
    lines = out.split("\n")
    assert len(lines) == 4  # heading + one line per headline
    assert "3 new headlines" in visible(lines[0])
    for i, line in enumerate(lines[1:]):
        assert f'<a href="https://e.com/{i}">Story {i} &amp; <b>co</b></a>' in line
        assert "TechNode" in line
        assert "(co)" in line


def test_batch_splits_at_headline_boundaries_under_limit():
    items = [
        (headline(title=f"Headline number {i} " + "x" * 200, id=f"h{i}",
                  link=f"https://example.com/{i}"), [match("x")])
        for i in range(60)
    ]
    parts = render_batch_parts(items)
    assert len(parts) > 1
    seen = [i for _, indices in parts for i in indices]
    assert seen == list(range(60))
    for text, indices in parts:
        assert len(text) < MAX_MESSAGE_CHARS
        body = visible(text)
        assert len(body) < MAX_MESSAGE_CHARS
        for i in indices:
            assert f"Headline number {i} " in body
    assert [t for t, _ in parts] == render_batch(items)


def test_latest():
    hs = [headline(title=f"T{i} <&>", id=f"h{i}") for i in range(5)]
    out = render_latest(hs, "Latest <5>")
    text = visible(out)
    assert text.startswith("Latest <5>")
    assert all(f"{i + 1}. T{i} <&>" in text for i in range(5))
    many = [headline(title="y" * 300, id=f"h{i}") for i in range(100)]
    assert len(render_latest(many, "Latest")) < MAX_MESSAGE_CHARS


def test_html_to_plain():
    h = headline(title="A & B", summary="x < y")
    plain = html_to_plain(render_batch([(h, []), (h, [])])[0])
    assert "A & B (https://example.com/a?x=1&y=2)" in plain
    assert "<" not in plain.replace("x < y", "")
    assert html_to_plain(render_alert(h, [])).startswith("A & B (https://example.com/a?x=1&y=2)")


def test_split_plain():
    text = "\n".join(f"line {i} " + "z" * 100 for i in range(100))
    parts = split_plain(text, 1000)
    assert all(len(p) <= 1000 for p in parts)
    assert "\n".join(parts) == text
    assert all(len(p) <= 50 for p in split_plain("q" * 120, 50))


def test_plain_matches():
    assert [m.query.text for m in plain_matches(["a", "b"])] == ["a", "b"]


text_strategy = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400
)


@settings(max_examples=300, deadline=None)
@given(title=text_strategy, summary=st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                                            max_size=600),
       query=text_strategy, data=st.data())
def test_any_text_renders_valid_html_with_title_intact(title, summary, query, data):
    start = data.draw(st.integers(0, len(title)))
    end = data.draw(st.integers(start, len(title)))
    h = headline(title=title, summary=summary)
    m = match(query, [(start, end)], [(0, len(summary) // 2)])
    out = render_alert(h, [m])
    assert len(out) < MAX_MESSAGE_CHARS
    text = visible(out)
    norm_title = " ".join(title.split())
    if len(norm_title) <= 300 and norm_title:
        assert norm_title in text
    (batch_out,) = render_batch([(h, [m]), (headline(title="other", id="2"), [])])
    batch_text = visible(batch_out)
    if len(norm_title) <= 300 and norm_title:
        assert norm_title in batch_text
    plain = html_to_plain(out)
    if norm_title and len(norm_title) <= 300:
        assert norm_title in plain
    assert html.escape(norm_title[:1]) in out


@settings(max_examples=50, deadline=None)
@given(titles=st.lists(text_strategy, min_size=2, max_size=40))
def test_any_batch_splits_under_limit_in_utf16(titles):
    items = [(headline(title=t, id=str(i)), [match(t)]) for i, t in enumerate(titles)]
    parts = render_batch_parts(items)
    assert sorted(i for _, ix in parts for i in ix) == list(range(len(titles)))
    for text, _ in parts:
        assert utf16_len(text) < MAX_MESSAGE_CHARS
        visible(text)


def test_astral_batch_counts_utf16():
    title = "😀" * 290
    items = [(headline(title=title, id=str(i)), []) for i in range(30)]
    parts = render_batch(items)
    assert len(parts) > 2
    for text in parts:
        assert utf16_len(text) < MAX_MESSAGE_CHARS
        if fake_visible_text is not None:
            assert utf16_len(fake_visible_text(text)) <= MAX_MESSAGE_CHARS
    assert all(utf16_len(p) <= 100 for p in split_plain("😀" * 500, 100))


def test_also_with_no_room_for_links_only_counts_them():
    from bot.delivery.also import also_html
    from bot.models import Headline
    lead = Headline(source="A", id="0", title="t", link="https://a.example/0")
    others = [Headline(source=s, id=s, title="t", link=f"https://{s}.example/") for s in "BC"]
    assert also_html(lead, others, max_sources=0) == "Also: +2 more"
    assert also_html(lead, others, max_sources=1).endswith("</a> +1 more")


def _long(i: int, source: str, link_chars: int = 1300):
    from bot.models import Headline
    return Headline(source=source, id=str(i), title="Nexperia halts wafer supply",
                    link="https://news.example.com/" + "a" * link_chars)


def test_long_links_in_also_keep_every_message_under_the_limit():
    from bot.delivery.also import BUDGET, also_html
    from bot.delivery.format import render_post
    lead = _long(0, "A")
    also = also_html(lead, [_long(i, f"S{i}") for i in range(1, 4)])
    assert also == "Also: S1 · S2 · S3"  # URLs too long to link: the names alone
    items = [(lead, plain_matches(["q"])), (_long(9, "B"), plain_matches(["q"]))]
    parts = render_batch_parts(items, also=[also, ""])
    assert max(utf16_len(text) for text, _ in parts) <= MAX_MESSAGE_CHARS
    many = also_html(lead, [_long(i, f"Source {i}", 200) for i in range(1, 30)], max_sources=30)
    assert utf16_len(many) <= BUDGET and many.endswith("more")
    assert utf16_len(render_post(lead, also=many)) <= MAX_MESSAGE_CHARS


def test_an_alert_keeps_its_also_however_long_its_parts():
    from bot.delivery.also import also_html
    from bot.models import Headline
    lead = Headline(source="A" * 200, id="0", title="T " * 400, summary="S " * 2000,
                    link="https://news.example.com/" + "&" * 1400)
    others = [_long(i, f"Source {i}", 200) for i in range(1, 4)]
    texts = [render_alert(lead, plain_matches(["q" * 400]),
                          also=also_html(lead, others[:n])) for n in (1, 2, 3)]
    assert all("Also: " in text and utf16_len(text) <= MAX_MESSAGE_CHARS for text in texts)
    assert len(set(texts)) == 3  # each later report changes the message: it is edited


def test_chinese_labels_take_a_full_width_colon_and_times_are_numbers():
    """An alert in Chinese reads 匹配：, not 匹配: ; /latest's times are the same numbers in
    both languages (they were "01 May", English, under a Chinese heading)."""
    h = headline()
    matches = plain_matches(["eVTOL"])
    assert "匹配：eVTOL" in render_alert(h, matches, lang="zh")
    assert "Matched: eVTOL" in render_alert(h, matches, lang="en")
    latest = render_latest([h], "最新标题")
    assert "05-01 14:03 UTC" in latest and "May" not in latest
