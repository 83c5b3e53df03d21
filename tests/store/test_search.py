"""The term index over stored headlines (bot/store/search.py) behind /latest <query>."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.matching import parse_query
from bot.models import Headline
from bot.store import Store
from bot.store.search import SearchIndex

WORDS = [
    "eVTOL", "eVTOLs", "battery", "batteries", "box", "boxes", "C++", ".NET", "AT&T", "U.S.",
    "US", "Huawei's", "华为", "小米汽车", "芯片", "chip", "chips", "low", "altitude", "economy",
    "flying", "car", "cars", "Nexperia", "rumor", "データ", "EVs",
]
QUERIES = [
    "eVTOL", "battery", "box", "C++", ".NET", "AT&T", "U.S.", "华为", "小米", "芯片 chip",
    '"flying car"', "low altitude economy", "Nexperia -rumor", "eVTOL OR 华为", "Huawei",
    "cars", "データ", "chip OR box OR car", "汽车", "EV",
]


def test_the_candidates_hold_every_match():
    rng = random.Random(3)
    index = SearchIndex()
    texts = []
    for tick in range(2000):
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8)))
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 10)))
        texts.append((title, summary))
        index.add(tick, title, summary)
    for text in QUERIES:
        query = parse_query(text)
        found = index.candidates(query)
        assert found is not None
        matches = {i for i, (t, s) in enumerate(texts) if query.find(t, s) is not None}
        assert matches <= found, text
    narrow = index.candidates(parse_query("low altitude economy"))
    assert narrow is not None and len(narrow) < 200  # narrowed by every word, not one


def test_removed_headlines_are_no_candidates():
    index = SearchIndex()
    for tick in range(10):
        index.add(tick, f"eVTOL news {tick}", "")
    index.remove(range(8))  # more than half: the lists are rebuilt
    assert index.candidates(parse_query("eVTOL")) == {8, 9}


def headline(i: int, title: str, now: datetime) -> Headline:
    return Headline(source="S", id=f"h{i}", title=title, link=f"https://e.com/{i}",
                    published=now - timedelta(seconds=i))


def test_search_finds_an_old_match_behind_many_newer_headlines(tmp_path):
    now = datetime.now(UTC)
    store = Store.open(tmp_path)
    with store.batch():
        store.add_headlines(headline(i, f"Market report {i}", now) for i in range(6000))
        store.add_headlines([headline(6000, "Nexperia halts wafer supply", now)])
    query = parse_query("Nexperia")
    calls = []

    def where(h: Headline) -> bool:
        calls.append(h.id)
        return query.find(h.title, h.summary) is not None

    assert [h.id for h in store.search(query, 5, where)] == ["h6000"]
    assert calls == ["h6000"]  # only the candidate was checked, not 6,000 headlines
    store.close()
    reopened = Store.open(tmp_path)  # the index is rebuilt from the snapshot and journal
    assert [h.id for h in reopened.search(query, 5, where)] == ["h6000"]
    reopened.close()


def test_search_is_newest_first_and_forgets_pruned_headlines(tmp_path):
    now = datetime.now(UTC)
    clock = [now - timedelta(days=40)]
    store = Store.open(tmp_path, clock=lambda: clock[0])
    store.add_headlines([headline(1, "eVTOL old", now - timedelta(days=40))])
    clock[0] = now
    store.add_headlines([headline(2, "eVTOL new", now), headline(3, "eVTOL newer", now)])
    query = parse_query("eVTOL")

    def where(h: Headline) -> bool:
        return query.find(h.title, h.summary) is not None

    assert [h.id for h in store.search(query, 5, where)] == ["h2", "h3", "h1"]
    store.prune(now)
    assert [h.id for h in store.search(query, 5, where)] == ["h2", "h3"]
    store.close()


def quiet_behind_busy(tmp_path, title: str) -> Store:
    """A store with one headline of the quiet source ``weekly`` (``h9000``, two days old)
    behind 6,000 newer "Market report" headlines of the busy source ``op``."""
    now = datetime.now(UTC)
    store = Store.open(tmp_path)
    with store.batch():
        store.add_headlines([replace(headline(9000, title, now - timedelta(days=2)),
                                     source_id="weekly")])
        store.add_headlines(replace(headline(i, f"Market report {i}", now), source_id="op")
                            for i in range(6000))
    return store


def test_a_whole_source_is_found_behind_many_newer_headlines_of_others(tmp_path):
    """``/latest source:weekly``: the index files each headline under its source, so a quiet
    source's headline is found behind thousands of newer ones (it was a capped scan)."""
    store = quiet_behind_busy(tmp_path, "Weekly roundup")
    calls = []

    def where(h: Headline) -> bool:
        calls.append(h.id)
        return h.source_id == "weekly"

    assert [h.id for h in store.search(parse_query("source:weekly"), 5, where)] == ["h9000"]
    assert calls == ["h9000"]
    assert store.search(parse_query("source:nothing"), 5, where) == []
    store.close()


def test_headlines_stored_without_a_source_id_stay_candidates_of_a_whole_source():
    index = SearchIndex()
    index.add(1, "Old story", "")  # stored before sources had ids: its source is unknown
    index.add(2, "New story", "", "caixin")
    index.add(3, "Other story", "", "hn")
    assert index.candidates(parse_query("source:caixin")) == {1, 2}
    assert index.candidates(parse_query("source:caixin source:hn")) == {1, 2, 3}


def test_a_scoped_keyword_finds_a_quiet_sources_match_behind_many_newer_ones(tmp_path):
    """``/latest report source:weekly``: the word's candidates are narrowed to the source's
    headlines, so the weekly match is found behind 6,000 newer reports (1,000 were checked)."""
    store = quiet_behind_busy(tmp_path, "Weekly report")
    query = parse_query("report source:weekly")

    def where(h: Headline) -> bool:
        return query.find_in(h.title, h.summary, h.source_id) is not None

    assert [h.id for h in store.search(query, 5, where)] == ["h9000"]
    left_out = parse_query("report -source:op")  # the busy source left out: the same match

    def where_not(h: Headline) -> bool:
        return left_out.find_in(h.title, h.summary, h.source_id) is not None

    assert [h.id for h in store.search(left_out, 5, where_not)] == ["h9000"]
    store.close()
