"""The same-story rule (bot.stories): its pieces, the hard cases, the index, the dev set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import bot.stories.index as story_index
from bot.stories import (
    DEFAULT_RULE,
    Rule,
    StoryIndex,
    assign,
    conflict,
    extract,
    pair_score,
    same_story,
    taken_order,
)
from bot.stories.features import stem
from tests.stories_eval import DEV, DevHeadline, fold_scores, load_dev

HARD = Path(__file__).parent / "fixtures" / "stories_hard.jsonl"
T0 = datetime(2025, 10, 21, 8, 0, tzinfo=UTC)


H = DevHeadline  # a headline as the rule reads it


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# -- features ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("word", "folded"),
    [("batteries", "battery"), ("supplies", "supply"), ("chips", "chip"), ("wafers", "wafer"),
     ("launches", "launch"), ("movies", "movie"), ("business", "business"), ("ios", "ios"),
     ("news", "new"), ("su7s", "su7s"), ("gas", "gas")],
)
def test_stem_folds_plurals_only(word, folded):
    assert stem(word) == folded


def test_features_words_names_numbers_events():
    f = extract("Nexperia’s China unit halts wafer supplies after Wingtech row, 1,000 jobs")
    assert {"nexperia", "china", "unit", "halt", "wafer", "supply", "wingtech", "row"} <= f.words
    assert "wingtech" in f.names  # capitalised inside a sentence
    assert "nexperia" in f.opening  # the first word only maybe a name
    assert f.numbers == {"1000"}
    assert f.events == {"stop"}
    assert {"halt", "wafer", "supply"} <= f.lower


def test_title_case_leaves_names_in_doubt_but_acronyms_are_sure():
    f = extract("SMIC Posts Record Revenue As Chip Demand Surges")
    assert "smic" in f.names
    assert {"record", "chip", "demand"} <= f.guesses
    assert not f.opening
    assert "rise" in f.events


def test_dates_and_years_are_no_numbers_but_versions_are():
    assert extract("March 11, 2014, 2:02 am: Apple iOS 7.1 arrives").numbers == {"7.1"}
    assert extract("Xiaomi SU7 sales top 10,000 on 2025-10-21").numbers == {"10000"}
    assert extract("Titanfall runs at 792p, $15bn deal").numbers == {"15"}


def test_cjk_bigrams_and_events():
    f = extract("安世半导体暂停向中国工厂供应晶圆")
    assert {"安世", "暂停", "晶圆"} <= f.grams
    assert f.events == {"stop"}
    assert extract("安世中国晶圆供应恢复").events == {"resume"}


def test_summary_words_are_kept_apart_from_the_title():
    f = extract("Robotaxis get green light", "Baidu's Apollo Go won a permit in Dubai.")
    assert "apollo" not in f.words
    assert {"apollo", "dubai", "permit"} <= f.summary
    assert "apollo" in f.summary_names and "apollo" in f.lookup_keys


# -- the pairwise rule --------------------------------------------------------------------
def test_conflicting_events_are_new_developments():
    halts = extract("Nexperia halts wafer supply to its China unit")
    assert conflict(halts, extract("Nexperia China chip supplies to resume")) == "events"
    ban = extract("US bans Nvidia H20 chip sales to China")
    assert conflict(ban, extract("US lifts ban on Nvidia H20 chip sales to China")) == "events"
    assert conflict(halts, extract("Nexperia stops wafer shipments to its China unit")) is None


def test_numbers_must_agree():
    a = extract("Huawei to cut 1,000 jobs in Europe")
    assert conflict(a, extract("Huawei to cut 2,000 jobs in Europe")) == "numbers"
    assert conflict(a, extract("Huawei cuts 1000 jobs in Europe")) is None
    assert conflict(extract("Apple releases iOS 7"), extract("Apple iOS 7.1 is out")) is None


def test_a_swapped_name_is_other_news_but_an_added_name_is_not():
    a = extract("CATL opens battery plant in Hungary")
    assert conflict(a, extract("CATL opens battery plant in Spain")) == "names"
    assert conflict(a, extract("CATL opens battery plant in Hungary with Mercedes")) is None


@pytest.mark.parametrize(("a", "b", "english"), [
    ("比亚迪在匈牙利建厂", "比亚迪在西班牙建厂",
     ("BYD to build plant in Hungary", "BYD to build plant in Spain")),
    ("特斯拉在上海降价", "特斯拉在柏林降价",
     ("Tesla cuts prices in Shanghai", "Tesla cuts prices in Berlin")),
    ("美国禁止英伟达向中国出口芯片", "美国解除英伟达向中国出口芯片禁令",
     ("US bans Nvidia chip exports to China", "US lifts ban on Nvidia chip exports to China")),
])
def test_a_chinese_new_development_is_kept_apart_as_its_english_one(a, b, english):
    assert not same_story(*english)
    assert not same_story(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ("比亚迪在澳洲降价", "比亚迪在澳大利亚降价"),  # two names of one place
    ("比亚迪在印尼建厂", "比亚迪在印度尼西亚建厂"),
    ("德州仪器下调营收预期", "得州仪器下调营收预期"),  # a company, not a place
    ("美国撤销华为芯片出口许可", "美国取消华为芯片出口许可"),  # revoke = cancel, no lifting
])
def test_one_chinese_story_written_two_ways_is_one_story(a, b):
    assert conflict(extract(a), extract(b)) is None
    assert same_story(a, b)


def test_a_chinese_ban_lifted_is_resume_and_a_bare_revoke_is_cancel():
    assert extract("美国解除英伟达向中国出口芯片禁令").events == {"resume"}
    assert extract("商务部放宽芯片出口限制").events == {"resume"}
    assert extract("美国撤销华为芯片出口许可").events == {"cancel"}
    assert extract("公司解除与供应商的合同").events == {"cancel"}
    assert extract("荷兰解除对Nexperia的出口禁令").events == {"resume"}  # across a Latin name
    assert extract("美国对华为实施新制裁").events == {"stop"}  # a ban noun, nothing lifts it
    assert "stop" in extract("美国撤销许可禁止英特尔向华为供货").events  # 禁止 is no ban lifted
    assert extract("比亚迪亮相上海汽车展").places == {"上海"}  # no company: a city's show


def test_a_chinese_place_swap_needs_the_rest_alike():
    a = extract("比亚迪在匈牙利建厂")
    assert a.places == {"匈牙利"} and a.cjk_rest == "比亚迪在建厂"
    assert conflict(a, extract("比亚迪在西班牙建厂")) == "names"
    assert conflict(a, extract("比亚迪匈牙利工厂投产，并将在西班牙建厂")) is None
    assert same_story("比亚迪在匈牙利建厂", "比亚迪宣布在匈牙利建厂")


def test_pair_score_thresholds_and_window():
    assert same_story("Tencent launches Hunyuan 3D model", "Tencent launches Hunyuan 3D model")
    assert not same_story("Tencent launches Hunyuan 3D model", "Tencent launches Hunyuan 3D model",
                          gap_hours=DEFAULT_RULE.window_hours + 1)
    a, b = extract("Nexperia halts wafer supply"), extract("Nexperia wafer supply halted")
    assert pair_score(a, b, 1) > 0
    assert pair_score(a, b, 1, Rule(title=1.1, named=1.1)) == 0  # thresholds are the rule's
    assert not same_story("Xiaomi unveils YU7 electric SUV", "Xiaomi SU7 crash kills three")


def test_summaries_fold_paraphrased_titles():
    a = ("Baidu robotaxis get green light in Dubai",
         "Baidu's Apollo Go won a permit from Dubai's Roads and Transport Authority to test "
         "driverless robotaxis.")
    b = ("Apollo Go wins approval for driverless tests in UAE",
         "Apollo Go, Baidu's robotaxi unit, got approval from Dubai's Roads and Transport "
         "Authority for driverless testing.")
    assert not same_story(a[0], b[0])
    assert same_story(a[0], b[0], a_summary=a[1], b_summary=b[1])


# -- the hard cases -----------------------------------------------------------------------
def _hard_cases() -> list[dict]:
    return [json.loads(line) for line in HARD.read_text(encoding="utf-8").splitlines()]


def _partition(labels: list[str]) -> list[int]:
    seen: dict[str, int] = {}
    return [seen.setdefault(x, len(seen)) for x in labels]


@pytest.mark.parametrize("case", _hard_cases(), ids=lambda c: c["case"])
def test_hard_case(case):
    reports = [
        H(r["source"], r["title"], datetime.fromisoformat(r["published"]), r.get("summary", ""))
        for r in case["reports"]
    ]
    assert _partition(assign(reports)) == case["expect"], case["note"]


def test_the_hard_set_holds_both_kinds_of_case():
    cases = _hard_cases()
    assert len(cases) >= 20
    folds = sum(1 for c in cases if len(set(c["expect"])) < len(c["expect"]))
    apart = sum(1 for c in cases if len(set(c["expect"])) > 1)
    assert folds >= 8 and apart >= 12


# -- the index ----------------------------------------------------------------------------
def test_index_folds_keeps_apart_and_is_idempotent():
    index = StoryIndex()
    s1 = index.add(H("Caixin", "Nexperia halts wafer supply to its China unit", at(0)), key="a")
    assert index.add(H("SCMP", "Nexperia stops wafer shipments to its China unit", at(1)),
                     key="b") == s1
    assert index.add(H("TechNode", "Nexperia China chip supplies to resume", at(20)),
                     key="c") != s1
    assert index.add(H("Caixin", "whatever", at(2)), key="a") == s1  # a known key
    story = index.story(s1)
    assert story is not None and story.members == ["a", "b"] and story.lead == "a"
    assert dict(story.sources) == {"Caixin": 1, "SCMP": 1}
    assert index.story_of("c") not in (None, s1)
    assert index.match(H("Reuters", "Nexperia halts supply of wafers to China unit", at(3))) == s1
    assert len(index) == 3  # match() files nothing


def test_stories_are_capped_but_counted():
    index = StoryIndex(Rule(cap=3))
    ids = {index.add(H(f"src{i}", "Tencent launches Hunyuan 3D model", at(i / 10)), key=str(i))
           for i in range(6)}
    assert len(ids) == 1
    story = index.story(ids.pop())
    assert story is not None and story.count == 6 and story.members == ["0", "1", "2"]


def test_stories_expire_with_the_window():
    index = StoryIndex(Rule(window_hours=10))
    old = index.add(H("Caixin", "Tencent launches Hunyuan 3D model", at(0)), key="a")
    index.expire(at(11))
    assert len(index) == 0 and index.story(old) is None and index.stories() == []
    new = index.add(H("TechNode", "Tencent launches Hunyuan 3D model", at(11.5)), key="b")
    assert new != old


def test_an_add_expires_a_bounded_number_and_stale_reports_never_fold():
    index = StoryIndex(Rule(window_hours=1))
    for i in range(100):
        index.add(H(f"s{i}", f"Zorvex{i} unveils product {i}", at(0)), key=str(i))
    lead = index.add(H("x", "Tencent launches Hunyuan 3D model", at(0)), key="t")
    late = index.add(H("y", "Tencent launches Hunyuan 3D model", at(5)), key="u")
    assert late != lead  # beyond the window, even while not yet expired
    assert len(index) == 102 - story_index.EXPIRE_BUDGET
    index.expire(at(5))
    assert len(index) == 1


def test_state_round_trips_and_goes_on_assigning_the_same():
    index = StoryIndex()
    s1 = index.add(H("Caixin", "Nexperia halts wafer supply to its China unit", at(0)), key="a")
    index.add(H("TechNode", "Xiaomi unveils YU7 electric SUV", at(1)), key="b")
    data = json.loads(json.dumps(index.to_dict()))
    again = StoryIndex.from_dict(data)
    assert again.story_of("a") == s1 and len(again) == 2
    follow = H("SCMP", "Nexperia stops wafer shipments to its China unit", at(2))
    assert again.add(follow, key="c") == s1
    fresh = again.add(H("x", "Tencent launches Hunyuan 3D model", at(3)), key="d")
    assert fresh not in (s1, again.story_of("b"))  # new ids never reuse old ones
    with pytest.raises(ValueError, match="version"):
        StoryIndex.from_dict({**data, "version": 99})


def test_work_per_add_is_bounded_by_the_probes_not_the_window(monkeypatch):
    """5,000 reports share the new title's words: only CANDIDATES of them are scored."""
    calls = []
    real = story_index.pair_score

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    index = StoryIndex()
    for i in range(5000):
        index.add(H(f"s{i % 50}", f"Chip export rules tighten for firm{i} plant{i}",
                    at(i / 1000)), key=str(i))
    monkeypatch.setattr(story_index, "pair_score", counting)
    index.add(H("x", "Chip export rules tighten again", at(6)), key="new")
    assert 0 < len(calls) <= story_index.CANDIDATES


def test_running_story_takes_short_mentions_but_not_other_events():
    index = StoryIndex()
    titles = ["Snowden speaks to SXSW by video link", "Snowden tells SXSW crowd NSA overreached",
              "At SXSW, Snowden urges encryption", "Snowden SXSW talk draws crowds",
              "Snowden at SXSW: protect your data"]
    first = {index.add(H(f"src{i}", t, at(i / 4)), key=str(i)) for i, t in enumerate(titles)}
    assert len(first) <= 2
    story = index.add(H("other", "Snowden captivates tech crowd", at(2)), key="m")
    assert story in first
    sued = index.add(H("court", "Snowden sues magazine", at(2.5)), key="n")
    assert sued not in first


def test_taken_order_puts_undated_headlines_after_the_one_before():
    reports = [H("a", "x", at(5)), H("b", "y"), H("c", "z", at(1))]
    order, times = taken_order(reports)
    assert order == [2, 0, 1] and times[1] == at(5)


# -- the dev set (skipped without ../shared) ----------------------------------------------
@pytest.mark.skipif(not DEV.exists(), reason="../shared/stories is absent")
def test_dev_set_precision_and_recall_targets():
    items, truth, _ = load_dev(DEV)
    precision, recall, _ = fold_scores(assign(items), truth)
    assert precision >= 0.99
    assert recall >= 0.92
