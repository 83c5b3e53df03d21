"""Table-driven tests of the query language (issue 4), positive and negative."""

from __future__ import annotations

import pytest

from bot.matching import Match, MatchIndex, Query, QueryError, fold, parse_query
from bot.matching.normalize import Text

TENCENT = "Tencent’s Profit Rises 19% on Overseas Gaming and AI-Powered Ad Surge"
US_RULE = "U.S. Formally Suspends Sweeping Export Control Rule for One Year After China Trade Talks"
SUMMIT = (
    "Caixin Summit: Design, Commercialization Key to China’s Low-Altitude Economy Taking Off, "
    "Industry Insider Says"
)
EVTOL = "Investors Flock to Chinese eVTOLs Chasing Regulatory Green Lights"
NEX_RUMOR = "Nexperia Denies Rumors of China-EU Deal to Resolve Dispute Over Control"
NEX_POSS = "Nexperia’s Dutch Headquarters Rachets Up Feud"
TAIWAN = "Taiwan Said Mainland and Thailand Talks Stall"

# (query, title, summary, should match, bolded text in title or None)
CASES = [
    # whole words, case-insensitive, never inside another word
    ("AI", TENCENT, "", True, "AI"),
    ("AI", "Baidu Opens AI Cloud", "", True, "AI"),
    ("AI", TAIWAN, "", False, None),
    ("AI", "Mainland investors said", "Thailand, Taiwan", False, None),
    ("ai", TAIWAN, "", False, None),
    ("ai", "Baidu opens an ai cloud", "", True, "ai"),
    ("Tencent", TENCENT, "", True, "Tencent’s"),
    ("profit", TENCENT, "", True, "Profit"),
    ("prof", TENCENT, "", False, None),
    ("gaming", TENCENT, "", True, "Gaming"),
    ("game", TENCENT, "", False, None),
    # plural and possessive forms of the last word
    ("eVTOL", EVTOL, "", True, "eVTOLs"),
    ("evtol", "China’s eVTOL Makers Turn to Hybrid Power", "", True, "eVTOL"),
    ("battery", "Solid-state batteries arrive", "", True, "batteries"),
    ("batteries", "Solid-state batteries arrive", "", True, "batteries"),
    ("box", "Set-top boxes are back", "", True, "boxes"),
    ("Nexperia", NEX_POSS, "", True, "Nexperia’s"),
    ("Nexperia", "Nexperia's unit", "", True, "Nexperia's"),
    ("Nexperia", "Nexperian unit", "", False, None),
    ("chip", "Chipmaker results", "", False, None),
    ("chip", "Chips Act", "", True, "Chips"),
    # acronyms: 2-5 capital letters match only in capitals
    ("US", "let us talk", "", False, None),
    ("US", "US and China", "", True, "US"),
    ("US", US_RULE, "", True, "U.S."),
    ("US", "the uses of AI", "", False, None),
    ("US", "THE USES OF AI", "", False, None),
    ("EU", NEX_RUMOR, "", True, "EU"),
    ("EU", "Eu Yan Sang opens", "", False, None),
    ("TSMC", "TSMC raises prices", "", True, "TSMC"),
    ("TSMC", "tsmc raises prices", "", False, None),
    ("DJI", "DJI drones banned", "", True, "DJI"),
    ("EV", "EVs sell well", "", True, "EVs"),
    ("EV", "EVS sell well", "", False, None),
    ("AI", "Huawei’s Bold AI Bet", "", True, "AI"),
    ("AI", "Pony AI's Debut", "", True, "AI's"),
    # phrases: words in order, any separators of spaces / hyphens
    ("low altitude economy", SUMMIT, "", True, "Low-Altitude Economy"),
    ("low-altitude economy", SUMMIT, "", True, "Low-Altitude Economy"),
    ("export control", US_RULE, "", True, "Export Control"),
    ("export control", "New Export Controls on Chips", "", True, "Export Controls"),
    ("export control", "Export Rule Control", "", False, None),
    ("export control", "Control Export", "", False, None),
    ("export control", "Record export. Control is key", "", False, None),
    ("economy low altitude", SUMMIT, "", False, None),
    ("flying car", "A flying  car  — finally", "", True, "flying  car"),
    ("flying car", "flying–car", "", True, "flying–car"),
    # exact phrases in quotes: no plural / possessive
    ('"export control"', "New Export Controls on Chips", "", False, None),
    ('"export control"', US_RULE, "", True, "Export Control"),
    ('"eVTOL"', EVTOL, "", False, None),
    ('"Nexperia"', NEX_POSS, "", False, None),
    ('"Nexperia"', NEX_RUMOR, "", True, "Nexperia"),
    # OR and exclusions
    ('eVTOL OR "flying car"', EVTOL, "", True, "eVTOLs"),
    ('eVTOL OR "flying car"', "The flying car is here", "", True, "flying car"),
    ('eVTOL OR "flying car"', "Flying cars are here", "", False, None),
    ("Nexperia -rumor", NEX_RUMOR, "", False, None),
    ("Nexperia -rumor", "Nexperia Halts Wafer Supply", "", True, "Nexperia"),
    ("Nexperia -rumor", "Nexperia Halts Wafer Supply", "A rumor says", False, None),
    ('Nexperia -"wafer supply"', "Nexperia Halts Wafer Supply", "", False, None),
    ("Tencent OR Baidu -Apple", "Tencent Says Talks With Apple", "", False, None),
    ("Tencent OR Baidu -Apple", "Baidu Unveils Chip", "", True, "Baidu"),
    # CJK substrings, mixed queries
    ("华为", "华为发布新芯片", "", True, "华为"),
    ("华为", "", "消息称华为将", True, None),
    ("小米汽车", "小米汽车交付量创新高", "", True, "小米汽车"),
    ("小米汽车", "小米手机", "", False, None),
    ("华为 chip", "华为发布新芯片", "", False, None),
    ("华为 chip", "华为 unveils a chip", "", True, "华为"),
    ("华为 chip", "华为发布", "New chips coming", True, "华为"),
    ("华为 OR Huawei", "Huawei’s Bold AI Bet", "", True, "Huawei’s"),
    ("データ", "ﾃﾞｰﾀセンター", "", True, "ﾃﾞｰﾀ"),
    ("テータ", "データセンター", "", False, None),
    ("삼성", "삼성전자 실적", "", True, "삼성"),
    # normalisation: NFKC, casefold, accents (Latin only), quotes
    ("Huawéi", "Huawei Launches Phone", "", True, "Huawei"),
    ("Huawei", "HUAWÉI LAUNCHES", "", True, "HUAWÉI"),
    ("huawei", "Ｈｕａｗｅｉ Ｍａｔｅ", "", True, "Ｈｕａｗｅｉ"),
    ("cafe", "Cafe\u0301 chains", "", True, "Cafe\u0301"),
    ("straße", "STRASSE news", "", True, "STRASSE"),
    ("fine tuning", "ﬁne-tuning models", "", True, "ﬁne-tuning"),
    # symbol keywords: boundary checked only on the alphanumeric side
    ("C++", "C++ 26 is out", "", True, "C++"),
    ("C++", "C# and C are out", "", False, None),
    (".NET", "ASP.NET Core 9", "", True, ".NET"),
    (".NET", "the internet is down", "", False, None),
    ("AT&T", "AT&T buys spectrum", "", True, "AT&T"),
    ("AT&T", "at T-Mobile", "", False, None),
    ("Node.js", "Node.js 22 released", "", True, "Node.js"),
]


@pytest.mark.parametrize(("query", "title", "summary", "expected", "bold"), CASES)
def test_query_language(query: str, title: str, summary: str, expected: bool, bold: str | None):
    m = parse_query(query).find(title, summary)
    assert (m is not None) == expected, (query, title, summary)
    if m is not None:
        assert m.title_spans or m.summary_spans
        if bold is not None:
            assert bold in [title[a:b] for a, b in m.title_spans]


@pytest.mark.parametrize(("query", "title", "summary", "expected", "bold"), CASES)
def test_index_agrees_with_find(query, title, summary, expected, bold):
    ix = MatchIndex()
    q = parse_query(query)
    ix.add(7, q)
    ix.add(8, parse_query("zzzunrelated"))
    got = ix.match(title, summary)
    assert (7 in got) == expected
    if expected:
        assert got[7] == [q.find(title, summary)]
    assert 8 not in got


def test_spans_point_into_original_text_and_summary():
    m = parse_query("AI").find(TENCENT, "Its AI ads grew; AI-Powered search too.")
    assert m is not None
    assert [TENCENT[a:b] for a, b in m.title_spans] == ["AI"]
    assert m.summary_spans == ((4, 6), (17, 19))
    title = "ﬁ ｅＶＴＯＬｓ and Cafe\u0301 AI"
    m = parse_query("evtol OR AI").find(title)
    assert [title[a:b] for a, b in m.title_spans] == ["ｅＶＴＯＬｓ", "AI"]


def test_overlapping_terms_all_bolded():
    m = parse_query("export OR export control OR control rule").find(US_RULE)
    assert [US_RULE[a:b] for a, b in m.title_spans] == ["Export Control Rule"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ('""', "empty"),
        ("!!! ???", "empty"),
        ("-rumor", "not excluded"),
        ('-rumor -"flying car"', "not excluded"),
        ('"flying car', "Unbalanced"),
        ('eVTOL "a" "b', "Unbalanced"),
        ("a OR b OR c OR d OR e OR f OR g OR h OR i OR j OR k", "at most 10"),
        ("华为 小米 比亚迪 蔚来 理想 小鹏 零跑 极氪 问界 腾讯 百度", "at most 10"),
        ("x" * 101, "at most 100"),
        ("eVTOL OR", "OR needs"),
        ("OR eVTOL", "OR needs"),
        ("a OR OR b", "OR needs"),
        ('a OR "" OR b', "OR needs"),
        ('华为" "', "quotes around a whole phrase"),
        ('say"hello world"', "quotes around a whole phrase"),
        ('eVTOL -!" "', "quotes around a whole phrase"),
        (''.join(f'"{c * 8}"-"{c * 7}"' for c in "abcde"), "once spaced out"),
        ("\u202eevil", "control or formatting characters (found U+202E)"),
        ("eVTOL\u200b", "found U+200B"),
        ("a\x07b", "found U+0007"),
        ("soft\u00adhyphen", "found U+00AD"),
        ("\u2066Huawei\u2069", "found U+2066"),
    ],
)
def test_invalid_queries_are_refused_with_reason_and_example(text: str, reason: str):
    with pytest.raises(QueryError) as info:
        parse_query(text)
    message = str(info.value)
    assert reason in message
    assert "for example" in message and "eVTOL" in message


def test_joiners_and_line_breaks_are_not_refused():
    assert parse_query("\u0915\u094d\u200d\u0937").text  # Devanagari with a ZWJ
    assert parse_query("\u0645\u200c\u06cc").text  # Persian with a ZWNJ
    assert parse_query("eVTOL\nNexperia").text == "eVTOL Nexperia"


def test_limits_are_inclusive():
    parse_query("a OR b OR c OR d OR e OR f OR g OR h OR i OR j")
    parse_query("x" * 100)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("eVTOL", "evtol"),
        ("Low  Altitude   Economy", "low altitude economy"),
        ("low-altitude economy", "low altitude economy"),
        ("Huawéi", "HUAWEI"),
        ("Ｈｕａｗｅｉ", "huawei"),
        ("eVTOL OR “flying car”", 'evtol OR "flying  car"'),
        ("“flying car” OR eVTOL", 'eVTOL OR "flying car"'),
        ("Nexperia -rumor", "-Rumor nexperia"),
        ("华为 chip", "chip 华为"),
    ],
)
def test_same_query_same_key(a: str, b: str):
    assert parse_query(a).key == parse_query(b).key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("US", "us"),
        ("eVTOL", '"eVTOL"'),
        ("export control", "control export"),
        ("Nexperia -rumor", "Nexperia rumor"),
        ("a b", "a OR b"),
    ],
)
def test_different_queries_different_keys(a: str, b: str):
    assert parse_query(a).key != parse_query(b).key


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("  eVTOL   OR  “flying   car” ", 'eVTOL OR "flying car"'),
        ("Nexperia   -rumor", "Nexperia -rumor"),
        ("-rumor Nexperia", "Nexperia -rumor"),
        ("Low-Altitude  Economy", "Low-Altitude Economy"),
        ("华为  chip", "华为 chip"),
    ],
)
def test_canonical_text(text: str, shown: str):
    q = parse_query(text)
    assert q.text == shown
    assert parse_query(q.text).key == q.key


def _structure(q: Query) -> tuple[object, ...]:
    """Everything that decides what a query matches (the key alone cannot tell a phrase
    "apple google" from the two words apple and google)."""
    alts = tuple(tuple(t.key for t in alt) for alt in q.alternatives)
    return q.text, q.key, alts, tuple(t.key for t in q.excludes)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # a term with no words is dropped before words are grouped: the display form reads
        # the same as what was typed
        ('Apple "" Google', "Apple Google"),
        ("Apple -! Google", "Apple Google"),
        ('Apple " " Google', "Apple Google"),
        ('eVTOL "" OR Huawei', "eVTOL OR Huawei"),
        ("U.S. -! U.S.", "U.S. U.S."),
        # an exclusion, shown at the end, does not split a phrase either
        ("Apple -rumor Google", "Apple Google -rumor"),
        ("low -rumor altitude economy", "low altitude economy -rumor"),
        ('eVTOL -"flying car" OR 华为', 'eVTOL OR 华为 -"flying car"'),
        # a quoted phrase or CJK text does split: it stays in its place
        ('Apple "x y" Google', 'Apple "x y" Google'),
        ("Apple 华为 Google", "Apple 华为 Google"),
        ('"a"b', '"a" b'),
        ('"a""b"', '"a" "b"'),
        ('-"a b"c', 'c -"a b"'),
        ("Google ..-x - -!-华为 Google", "Google ..-x - Google -!-华为"),
    ],
)
def test_display_form_parses_back_into_the_same_query(text: str, shown: str):
    q = parse_query(text)
    assert q.text == shown
    again = parse_query(q.text)
    assert _structure(again) == _structure(q)
    assert again == q


def test_a_dropped_empty_term_does_not_change_what_matches():
    q = parse_query('Apple "" Google')
    assert _structure(q) == _structure(parse_query("Apple Google"))
    assert q.find("Apple Google deal") is not None
    assert q.find("Google buys Apple") is None  # a phrase, before and after a restart


def test_fold():
    assert fold("Huawéi") == "huawei"
    assert fold("データ") == "データ"
    assert fold("ﾃﾞｰﾀ") == "データ"
    assert fold("Ｔｅｎｃｅｎｔ’s") == "tencent's"


# Kana voiced / semi-voiced sound marks (U+3099 / U+309A, and the half-width U+FF9E /
# U+FF9F that NFKC turns into them): after a kana they voice it; anywhere else they cannot
# combine and are dropped on both sides, like an accent on a Latin letter.
# (text, folded, tokens, the original text of each token)
VOICING = [
    ("デ", "デ", ["デ"], ["デ"]),
    ("ﾃﾞ", "デ", ["デ"], ["ﾃﾞ"]),
    ("テ\u3099", "デ", ["デ"], ["テ\u3099"]),
    ("ﾊﾟ", "パ", ["パ"], ["ﾊﾟ"]),
    ("ﾃﾞｰﾀ", "データ", ["データ"], ["ﾃﾞｰﾀ"]),
    ("ア\u3099", "ア\u3099", ["ア\u3099"], ["ア\u3099"]),  # no precomposed form: kept
    # after a digit
    ("0ﾞ", "0", ["0"], ["0ﾞ"]),
    ("00ﾞ ", "00 ", ["00"], ["00ﾞ"]),
    ("0\u3099", "0", ["0"], ["0\u3099"]),
    ("5ﾟG", "5g", ["5g"], ["5ﾟG"]),
    # after a Latin letter, or another letter
    ("aﾞ", "a", ["a"], ["aﾞ"]),
    ("Aﾟb", "ab", ["ab"], ["Aﾟb"]),
    ("αﾞ", "α", ["α"], ["αﾞ"]),
    ("华ﾞ", "华", ["华"], ["华ﾞ"]),
    # at the start, after a space or a symbol
    ("ﾞa", "a", ["a"], ["a"]),
    ("ﾞ", "", [], []),
    ("x ﾞy", "x y", ["x", "y"], ["x", "y"]),
    ("c+ﾞ", "c+", ["c"], ["c"]),
    # doubled: the second mark has nothing left to voice
    ("0ﾞﾞ", "0", ["0"], ["0ﾞﾞ"]),
    ("ﾃﾞﾞ", "デ", ["デ"], ["ﾃﾞﾞ"]),
    ("デﾞ", "デ", ["デ"], ["デﾞ"]),
    ("ﾊﾟﾟ", "パ", ["パ"], ["ﾊﾟﾟ"]),
    ("ﾞﾞ0ﾟ0", "00", ["00"], ["0ﾟ0"]),
    # any other combining mark: kept in a word of its own script, dropped where it would
    # stand alone or split a token (after a symbol, a space, CJK text, at the start)
    ("0-\u0301 ", "0- ", ["0"], ["0"]),
    ("x \u0301y", "x y", ["x", "y"], ["x", "y"]),
    ("\u0301ab", "ab", ["ab"], ["ab"]),
    ("华\u0301", "华", ["华"], ["华\u0301"]),
    ("ア\u0301", "ア", ["ア"], ["ア\u0301"]),
    ("क्षि", "क्षि", ["क्षि"], ["क्षि"]),
    ("שָׁלוֹם", "שָׁלוֹם", ["שָׁלוֹם"], ["שָׁלוֹם"]),
    ("0\u0301", "0\u0301", ["0\u0301"], ["0\u0301"]),
    # a Hangul vowel jamo combines only with Hangul; after a digit it is a token of its own
    ("0ᅡ", "0ᅡ", ["0", "ᅡ"], ["0", "ᅡ"]),
    ("00ㅏ ", "00ᅡ ", ["00", "ᅡ"], ["00", "ㅏ"]),
    ("ㄱㅏ", "가", ["가"], ["ㄱㅏ"]),
    ("ᄀ\u1161", "가", ["가"], ["ᄀ\u1161"]),
]


@pytest.mark.parametrize(("text", "folded", "toks", "words"), VOICING)
def test_voicing_marks(text: str, folded: str, toks: list[str], words: list[str]):
    assert fold(text) == folded
    t = Text(text)
    tstart, tend = t.offsets()
    assert t.norm == folded
    assert t.toks == toks
    assert [t.original(a, b) for a, b in zip(tstart, tend, strict=True)] == words
    # a query made of each word matches the text, and bolds that word
    for w, a, b in zip(words, tstart, tend, strict=True):
        m = parse_query(w).find(text)
        assert m is not None, (text, w)
        oa, ob = t.original_span(a, b)
        assert any(x <= oa and ob <= y for x, y in m.title_spans)


@pytest.mark.parametrize(
    ("query", "title", "expected", "bold"),
    [
        ("0", "00ﾞ 0ﾞ", True, "0ﾞ"),
        ("0ﾞ", "00ﾞ 0", True, "0"),
        ("00", "00ﾞ", True, "00ﾞ"),
        ("0ﾞ", "00ﾞ", False, None),
        ("a", "aﾞ", True, "aﾞ"),
        ("デ", "ﾃﾞﾞ", True, "ﾃﾞﾞ"),
        ("ﾃﾞ", "データ", True, "デ"),
        ("デ", "テ", False, None),
        ("テ", "デ", False, None),
        ("パ", "ﾊﾞ", False, None),
        ("5G", "5ﾟG rollout", True, "5ﾟG"),
    ],
)
def test_voicing_marks_match_both_ways(query: str, title: str, expected: bool, bold: str | None):
    m = parse_query(query).find(title)
    assert (m is not None) == expected
    if m is not None and bold is not None:
        assert bold in [title[a:b] for a, b in m.title_spans]
    ix = MatchIndex()
    ix.add(1, parse_query(query))
    assert (1 in ix.match(title)) == expected


def test_a_lone_voicing_mark_is_no_keyword():
    with pytest.raises(QueryError):
        parse_query("ﾞ")


def test_query_is_frozen_and_comparable():
    assert parse_query("eVTOL") == parse_query("eVTOL")
    assert isinstance(parse_query("eVTOL"), Query)
    with pytest.raises(AttributeError):
        parse_query("eVTOL").text = "x"  # type: ignore[misc]


def test_index_add_remove_move():
    ix = MatchIndex()
    ai, nex, lae = parse_query("AI"), parse_query("Nexperia -rumor"), parse_query(
        "low altitude economy")
    ix.add(1, ai)
    ix.add(1, nex)
    ix.add(2, ai)
    ix.add(2, parse_query("ai"))  # a different query (no acronym rule)
    ix.add(3, lae)
    ix.add(3, lae)  # idempotent
    assert len(ix) == 5
    assert set(ix.match(TENCENT)) == {1, 2}
    assert len(ix.match(TENCENT)[2]) == 2
    ix.remove(2, ai.key)
    assert len(ix) == 4
    assert [m.query.text for m in ix.match(TENCENT)[2]] == ["ai"]
    ix.remove(2, "no such key")
    ix.remove(99, ai.key)
    ix.move_chat(3, -1003)
    assert set(ix.match(SUMMIT)) == {-1003}
    ix.remove_chat(1)
    assert len(ix) == 2
    assert set(ix.match(TENCENT)) == {2}
    assert ix.match("Nexperia Halts Supply") == {}
    ix.remove_chat(2)
    ix.remove_chat(-1003)
    assert len(ix) == 0
    assert ix.match(TENCENT + " " + SUMMIT) == {}
    # nothing is left behind in the dictionaries after everything is removed
    assert not ix._terms and not ix._grams and not ix._prefixes and not ix._queries


def test_index_keeps_each_chats_own_display_text():
    ix = MatchIndex()
    ix.add(1, parse_query("huawei"))
    ix.add(2, parse_query("Huawei"))
    got = ix.match("Huawei’s Bold AI Bet")
    assert got[1][0].query.text == "huawei"
    assert got[2][0].query.text == "Huawei"
    assert isinstance(got[2][0], Match)


def test_index_move_chat_merges_into_existing():
    ix = MatchIndex()
    ix.add(1, parse_query("AI"))
    ix.add(2, parse_query("AI"))
    ix.add(2, parse_query("eVTOL"))
    ix.move_chat(1, 2)
    assert len(ix) == 2
    assert set(ix.match(TENCENT)) == {2}


def test_cjk_lengths_and_phrases_in_index():
    ix = MatchIndex()
    ix.add(1, parse_query("小米汽车"))
    ix.add(2, parse_query("小米"))
    ix.add(3, parse_query("low altitude"))
    ix.add(4, parse_query("low altitude economy"))
    ix.add(5, parse_query("economy"))
    assert set(ix.match("小米汽车交付")) == {1, 2}
    assert set(ix.match(SUMMIT)) == {3, 4, 5}
    ix.remove(1, parse_query("小米汽车").key)
    assert set(ix.match("小米汽车交付")) == {2}


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("AI chip", "New AI Chips for Cars"),
        ("AI chip", "new ai chips for cars"),
        ("AI chip", "AI Chip's Debut"),
        ('"data center"', "Data Center's Power"),
        ('"data center"', "Data Centers Grow"),
        ("data center", "Data-Center’s Power; data  centers"),
        ("low altitude", "Low/Altitude"),
        ("EV battery", "EVs battery plant"),
        ("EV battery", "EV Batteries Pile Up"),
        ("US export", "U.S. Export Rules"),
        ("US export", "us export rules"),
        ("TSMC", "TSMC, TSMCs and tsmc; TSMC's"),
        ('"TSMC"', "TSMC's plant"),
        ("battery", "Batteries, battery's, batterys and batteryes"),
    ],
)
def test_index_fast_paths_agree_with_find(query: str, title: str):
    """Plain words and phrases are verified by MatchIndex's own fast paths: same result."""
    q = parse_query(query)
    ix = MatchIndex()
    ix.add(1, q)
    expected = q.find(title, title)
    got = ix.match(title, title)
    assert got.get(1) == ([expected] if expected else None)
