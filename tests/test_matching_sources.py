"""source:NAME and -source:NAME: parsing, the index's per-source entries, scopes."""

from __future__ import annotations

import pytest

from bot.matching import MatchIndex, QueryError, parse_query


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("source:Caixin", "source:caixin"),
        ("Nexperia source:caixin", "Nexperia source:caixin"),
        ("source:caixin Nexperia", "Nexperia source:caixin"),
        ("AI -source:hn", "AI -source:hn"),
        ("eVTOL OR AI source:b source:a", "eVTOL OR AI source:a source:b"),
        ('"a source:x phrase"', '"a source:x phrase"'),
    ],
)
def test_display_form_is_canonical_and_parses_back(text: str, shown: str) -> None:
    q = parse_query(text)
    assert q.text == shown
    assert parse_query(q.text).key == q.key


def test_scope_is_part_of_the_key() -> None:
    assert parse_query("AI").key != parse_query("AI source:caixin").key
    assert parse_query("AI source:caixin").key != parse_query("AI -source:caixin").key
    assert parse_query("AI source:CAIXIN").key == parse_query("source:caixin AI").key


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("source:", "q_bad_source"),
        ("AI source:a_b", "q_bad_source"),
        ("-source:hn", "q_only_excluded"),
        ("source:caixin -rumor", "q_source_excludes"),
        ("AI source:a source:b source:c source:d source:e source:f", "q_too_many_sources"),
    ],
)
def test_bad_source_parts_are_refused(text: str, code: str) -> None:
    with pytest.raises(QueryError) as info:
        parse_query(text)
    assert info.value.code == code


def test_query_find_checks_the_scope_when_the_source_is_known() -> None:
    q = parse_query("AI source:caixin")
    assert q.find("AI news", source="caixin") is not None
    assert q.find("AI news", source="hn") is None
    assert q.find("AI news") is not None  # source unknown: not checked (delivery highlights)
    whole = parse_query("source:caixin")
    m = whole.find("Anything at all", source="caixin")
    assert m is not None and m.title_spans == ()
    assert whole.find("Anything", source="hn") is None


def test_index_whole_source_scoped_and_excluded() -> None:
    ix = MatchIndex()
    ix.add(1, parse_query("source:caixin"))
    ix.add(2, parse_query("AI source:caixin"))
    ix.add(3, parse_query("AI -source:hn"))
    ix.add(4, parse_query("AI"))
    assert set(ix.match("AI rises", "", "caixin")) == {1, 2, 3, 4}
    assert set(ix.match("AI rises", "", "hn")) == {4}
    assert set(ix.match("AI rises", "", "scmp")) == {3, 4}
    assert set(ix.match("Rain in Beijing", "", "caixin")) == {1}
    assert ix.match("Rain in Beijing", "", "hn") == {}
    [m] = ix.match("Rain", "", "caixin")[1]
    assert m.query.text == "source:caixin" and m.title_spans == ()


def test_index_drops_whole_source_entries_with_their_last_chat() -> None:
    ix = MatchIndex()
    q = parse_query("source:caixin")
    ix.add(1, q)
    ix.add(2, q)
    ix.remove(1, q.key)
    assert set(ix.match("x", "", "caixin")) == {2}
    ix.remove(2, q.key)
    assert ix.match("x", "", "caixin") == {} and len(ix) == 0
    ix.add(5, q)
    ix.move_chat(5, -5)
    assert set(ix.match("x", "", "caixin")) == {-5}


def test_index_agrees_with_query_find_on_scoped_queries() -> None:
    texts = ["AI source:a", "AI -source:b", "source:a", "eVTOL OR AI source:b", "AI"]
    ix = MatchIndex()
    for n, text in enumerate(texts):
        ix.add(n, parse_query(text))
    for source in ("a", "b", "c"):
        for title in ("AI and eVTOL", "nothing here", "eVTOLs"):
            got = {c for c, _ in ix.match(title, "", source).items()}
            want = {
                n for n, text in enumerate(texts)
                if parse_query(text).find(title, source=source) is not None
            }
            assert got == want, (source, title)


def test_find_in_a_stored_headline_of_an_unknown_source_honours_the_scope() -> None:
    """``/latest source:caixin`` and inline mode: a headline whose source the registry no
    longer knows is no headline of caixin (nor does ``-source:hn`` vouch for it)."""
    assert parse_query("source:caixin").find_in("Old story", "", None) is None
    assert parse_query("AI -source:hn").find_in("AI story", "", None) is None
    assert parse_query("AI").find_in("AI story", "", None) is not None
    assert parse_query("AI source:caixin").find_in("AI story", "", "caixin") is not None
    assert parse_query("AI -source:hn").find_in("AI story", "", "hn") is None


def test_list_says_never_matches_only_when_no_source_of_a_keyword_is_left() -> None:
    """/list, after source ``blog`` went: a keyword only in it never matches; one that leaves
    it out, or applies in another source too, matches what it did and says only that."""
    from bot.handlers.subscriptions import list_body

    queries = ["AI source:blog", "AI -source:blog", "chip source:blog source:caixin", "eVTOL"]
    text = "\n".join(list_body("en", queries, usable={"caixin", "hn"}))
    rows = text.splitlines()[1:]
    assert rows[0].endswith("source blog removed: this never matches")
    assert rows[1].endswith("(source blog removed)") and "never" not in rows[1]
    assert rows[2].endswith("(source blog removed)") and "never" not in rows[2]
    assert rows[3] == "4. eVTOL"


@pytest.mark.parametrize("text", ["source:caixin -source:caixin", "AI source:hn -source:HN"])
def test_a_source_both_asked_for_and_left_out_is_refused(text: str) -> None:
    """It followed the whole source (or the keyword in it), the exclusion silently dropped."""
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert caught.value.code == "q_source_both"


@pytest.mark.parametrize(("text", "shown"), [
    ("AI 🚀", "AI"), ("eVTOL ✈️", "eVTOL"), ("👨\u200d💻 developers", "developers"),
    ('"flying 🚗 car"', '"flying car"'), ("华为 🚀", "华为"),
])
def test_emoji_in_a_keyword_are_left_out_as_headlines_are_read(text: str, shown: str) -> None:
    """A headline's words are read without emoji: a keyword kept them and never matched."""
    query = parse_query(text)
    assert query.text == shown
    assert query.find(f"News: {shown.strip(chr(34))} 🚀 today") is not None
    assert parse_query(query.text).key == query.key  # stable once stored


def test_a_keyword_of_emoji_alone_is_empty() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("🚀 ✈️")
    assert caught.value.code == "q_empty"
