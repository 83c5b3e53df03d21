"""bot.handlers.one_story: one headline per story through /latest's filter, and the other
sources of each, never a chat's private source for another chat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.handlers.one_story import OneStoryEach
from bot.models import Headline
from bot.story_keeper import StoryKeeper

NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def h(hid: str, source: str, title: str, minutes: float) -> Headline:
    return Headline(source=source, id=hid, title=title, link=f"https://{hid}.example/",
                    published=NOW + timedelta(minutes=minutes))


def test_one_headline_per_story_newest_first_and_private_sources_left_out(store):
    keeper = StoryKeeper(store)
    reports = [
        h("caixin-1", "Caixin", "Nexperia halts wafer supply to its China unit", 0),
        h("scmp-1", "SCMP Tech", "Nexperia halts wafer supplies to China unit", 5),
        h("chat:tn#1", "TechNode", "Dutch chipmaker Nexperia halts wafer supply to China unit",
          9),
        h("baidu-1", "Caixin", "Baidu opens an AI lab in Shenzhen", 7),
    ]
    with store.batch():
        store.add_headlines(reports)
        keeper.file(reports, NOW + timedelta(hours=1))
    assert keeper.story_of("caixin-1") == keeper.story_of("scmp-1") == keeper.story_of(
        "chat:tn#1"
    )

    def public(headline: Headline) -> bool:
        return not headline.id.startswith("chat:")

    once = OneStoryEach(keeper, public)
    shown = store.latest(5, once)
    assert [x.id for x in shown] == ["baidu-1", "scmp-1"]  # the story once: its newest
    also = once.also(store, shown, max_sources=3, lang="en")
    assert also[0] == ""
    assert "Caixin" in also[1] and "TechNode" not in also[1]  # private: not even a link
    not_caixin = OneStoryEach(keeper, lambda x: public(x) and x.source != "Caixin")
    shown = store.latest(5, not_caixin)
    assert [x.id for x in shown] == ["scmp-1"]  # a source the query leaves out ...
    assert not_caixin.also(store, shown, max_sources=3, lang="en") == [""]  # ... nor linked
    everyone = OneStoryEach(keeper, lambda _: True)
    assert [x.id for x in store.latest(5, everyone)] == ["chat:tn#1", "baidu-1"]


def test_without_stories_every_headline_is_its_own(store):
    reports = [h("a", "A", "Same title", 0), h("b", "B", "Same title", 1)]
    store.add_headlines(reports)
    once = OneStoryEach(None, lambda _: True)
    shown = store.latest(5, once)
    assert [x.id for x in shown] == ["b", "a"]
    assert once.also(store, shown, max_sources=3, lang="en") == ["", ""]
