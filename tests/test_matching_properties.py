"""Property tests (hypothesis) and the differential test MatchIndex vs Query.find."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.matching import MatchIndex, QueryError, parse_query
from bot.matching.normalize import Text

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = [
    "AI", "ai", "US", "us", "EU", "TSMC", "DJI", "EV", "eVTOL", "Nexperia", "battery",
    "batteries", "chip", "chips", "export", "control", "controls", "low", "altitude", "economy",
    "Huawéi", "Huawei", "flying", "car", "cars", "said", "Taiwan", "rumor", "rumors", "U.S.",
    "C++", ".NET", "AT&T", "华为", "小米", "小米汽车", "发布", "データ", "ﾃﾞｰﾀ", "Ｈｕａｗｅｉ",
    "box", "boxes", "OR", "or", "-", "Robotaxi", "it’s", "Tencent’s", "fine", "ﬁne", "19%",
]
SEPS = [" ", " ", " ", "-", " — ", ", ", ": ", ". ", "’s ", "'s ", "s ", "", "  ", " (", ") "]

headline_text = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPS)), min_size=0, max_size=14
).map(lambda parts: "".join(w + s for w, s in parts))

any_text = st.one_of(st.text(max_size=120), headline_text)


@FAST
@given(query=any_text, title=any_text, summary=any_text)
def test_matching_never_raises(query: str, title: str, summary: str):
    try:
        q = parse_query(query)
    except QueryError as e:
        assert str(e)
        return
    m = q.find(title, summary)
    ix = MatchIndex()
    ix.add(1, q)
    got = ix.match(title, summary)
    assert (m is not None) == (1 in got)
    if m is not None:
        for a, b in m.title_spans:
            assert 0 <= a < b <= len(title)
        for a, b in m.summary_spans:
            assert 0 <= a < b <= len(summary)


word_chars = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    + list("éÉüßçñøĳ") + ["ﬁ", "Ｈ", "ｅ", "华", "为", "デ", "ﾃ", "ﾞ", "한", "’", "+", "&", "."]
)
random_headline = st.lists(
    st.tuples(
        st.text(word_chars, min_size=1, max_size=9),
        st.sampled_from([" ", "-", ", ", ": ", " — ", "'s ", "’", "  ", "\u00a0", "/"]),
    ),
    min_size=1,
    max_size=12,
).map(lambda parts: "".join(w + s for w, s in parts))


@FAST
@given(headline=st.one_of(random_headline, headline_text), data=st.data())
def test_headline_matches_a_query_made_of_one_of_its_words(headline: str, data):
    text = Text(headline)
    assume(text.toks)
    i = data.draw(st.integers(0, len(text.toks) - 1))
    word = text.original(*[x[i] for x in text.offsets()])
    if word in ("OR", "-"):
        word = word.lower()
    query = parse_query(word)
    m = query.find(headline)
    assert m is not None, (headline, word, query)
    # the word itself is among the bolded spans
    tstart, tend = text.offsets()
    oa, ob = text.original_span(tstart[i], tend[i])
    assert any(a <= oa and ob <= b for a, b in m.title_spans)
    # and in the summary just the same
    m = query.find("", headline)
    assert m is not None and m.summary_spans and not m.title_spans


# pieces of queries, ordinary and degenerate: words, quotes in and out of words, OR, -, CJK,
# punctuation, odd spaces, full-width and decomposed forms
QUERY_PIECES = [
    "Apple", "Google", "eVTOL", "AI", "ai", "U.S.", "C++", ".NET", "AT&T", "low", "altitude",
    "华为", "小米 汽车", "データ", "ﾃﾞｰﾀ", "Ｈｕａｗｅｉ", "Huawe\u0301i", "ﬁne", "it’s", "19%",
    "OR", "or", "-OR", '"OR"', "-", "--", "-!", "-x", "-华为", '-"', '-""', '-"a b"', "!", ".",
    "..", "&", "+", "'", "’s", '"', '""', '" "', '"a  b"', '"-"', "“", "”", "«", "»", 'x"y',
    '"a"b', "\u3000", "\u00a0", "\t", " ", "  ",
]
query_like = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(QUERY_PIECES), st.text(max_size=4)),
        st.sampled_from(["", " ", " ", "  ", "\u3000"]),
    ),
    max_size=14,
).map(lambda parts: "".join(p + s for p, s in parts))


def _structure(q) -> tuple[object, ...]:
    alts = tuple(tuple(t.key for t in alt) for alt in q.alternatives)
    return q.text, q.key, alts, tuple(t.key for t in q.excludes)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(query_like, st.text(max_size=40)))
def test_display_form_parses_back_into_the_same_query(text: str):
    """What the bot stores (``Query.text``) is read back at start and by /unfollow: it must
    give the same query: same text, same key, same terms in the same groups."""
    try:
        q = parse_query(text)
    except QueryError as e:
        assert "would not read the same" not in str(e)  # the guard is never needed
        return
    again = parse_query(q.text)
    assert _structure(again) == _structure(q), (text, q.text)
    assert again == q


QUERY_PARTS = [
    "AI", "ai", "US", "EU", "eVTOL", "Nexperia", "battery", "chip", "export control",
    "low altitude economy", '"export control"', '"flying car"', "flying car", "华为", "小米汽车",
    "小米", "Huawei", "C++", ".NET", "AT&T", "Taiwan", "box", "rumor", "データ", "U.S.",
]


def random_query(rng: random.Random) -> str:
    alts = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        alts.append(" ".join(rng.sample(QUERY_PARTS, rng.choice([1, 1, 2]))))
    text = " OR ".join(alts)
    if rng.random() < 0.3:
        text += " -" + rng.choice(["rumor", "Taiwan", '"flying car"', "小米", "AI", "chips"])
    return text


@FAST
@given(seed=st.integers(0, 2**32))
def test_index_equals_find_for_every_subscription(seed: int):
    rng = random.Random(seed)
    ix = MatchIndex()
    subs: dict[int, dict[str, object]] = {}
    for chat in range(rng.randint(1, 25)):
        for _ in range(rng.randint(1, 4)):
            try:
                q = parse_query(random_query(rng))
            except QueryError:
                continue
            ix.add(chat, q)
            subs.setdefault(chat, {})[q.key] = q
    # some churn: removals and a migration must leave the index consistent
    for chat in list(subs):
        if rng.random() < 0.2:
            key = rng.choice(list(subs[chat]))
            ix.remove(chat, key)
            del subs[chat][key]
        if rng.random() < 0.1:
            ix.move_chat(chat, 1000 + chat)
            subs[1000 + chat] = subs.pop(chat)
    assert len(ix) == sum(len(v) for v in subs.values())
    for _ in range(10):
        title = "".join(rng.choice(WORDS) + rng.choice(SEPS) for _ in range(rng.randint(0, 12)))
        summary = "".join(rng.choice(WORDS) + rng.choice(SEPS) for _ in range(rng.randint(0, 8)))
        expected = {}
        for chat, queries in subs.items():
            found = [m for q in queries.values() if (m := q.find(title, summary)) is not None]
            if found:
                expected[chat] = sorted(found, key=lambda m: m.query.key)
        got = {
            c: sorted(ms, key=lambda m: m.query.key)
            for c, ms in ix.match(title, summary).items()
        }
        assert got == expected, (title, summary)
