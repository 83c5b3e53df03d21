"""Same story, one alert, end to end: the real bot polls three feeds and alerts a chat that
follows Nexperia through the strict fake Bot API.  Two sources in one cycle are one alert
with two links; a third source later edits it (editMessageText, no new message); a new
development is a new alert; a restart between reports still folds; a failed edit sends
nothing."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import load_settings
from tests.e2e.conftest import Bot, Feed, Item, write_config

USER = 5151

HALT = "Nexperia halts wafer supply to its China unit"
HALT_2 = "Nexperia halts wafer supplies to China unit as chip dispute deepens"
HALT_3 = "Dutch chipmaker Nexperia halts wafer supply to China unit"
RESUME = "Nexperia China chip supplies to resume"
NAMES = ("Caixin", "SCMP Tech", "TechNode")


class Three:
    """Three feeds (Caixin, SCMP Tech, TechNode) and the bot that polls them."""

    def __init__(self, tmp_path, fake, feeds) -> None:
        self.feeds = [Feed(feeds, f"/{n}.xml") for n in range(3)]
        config = write_config(tmp_path, fake, list(zip(NAMES, (f.url for f in self.feeds),
                                                      strict=True)))
        self.settings = load_settings(config)
        self.fake = fake
        self.bot = Bot(fake, self.settings)

    async def start(self) -> None:
        self.bot = Bot(self.fake, self.settings)
        await self.bot.start()
        for name in NAMES:
            await self.bot.polls_done(name, 1)

    def publish(self, feed: int, title: str, slug: str) -> str:
        link = f"https://{NAMES[feed].split()[0].lower()}.example/{slug}"
        self.feeds[feed].add(Item(title, link))
        return link

    async def polled(self, *feeds: int) -> None:
        """Wait until each feed has been polled twice more (so its news is in)."""
        for feed in feeds:
            name = NAMES[feed]
            done = self.bot.core.store.source_state(name).get("polls", 0)
            await self.bot.polls_done(name, done + 2)
        await asyncio.sleep(0.5)  # the drain that follows

    def shown(self, message_id: int) -> str:
        return self.fake.shown(USER, message_id)["text"]


@pytest.fixture
async def three(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    world = Three(tmp_path, fake, feeds)
    await world.start()
    await world.bot.say(USER, "/follow Nexperia")
    try:
        yield world
    finally:
        await world.bot.stop()


async def test_one_cycle_one_alert_a_later_source_edits_it_a_follow_up_is_new(three: Three):
    fake = three.fake
    caixin = three.publish(0, HALT, "halt")
    scmp = three.publish(1, HALT_2, "halt")
    [_, alert] = await three.bot.wait_messages(USER, 2)
    await three.polled(0, 1)
    assert len(fake.messages(USER)) == 2  # the /follow reply and one alert
    shown = three.shown(alert.message_id)
    assert HALT in shown and "Also: SCMP Tech" in shown and HALT_2 not in shown
    links = {e.get("url") for e in fake.shown(USER, alert.message_id)["entities"]}
    assert {caixin, scmp} <= links

    edits = len(fake.edits)
    technode = three.publish(2, HALT_3, "halt")
    await three.polled(2)
    assert len(fake.messages(USER)) == 2  # no new message ...
    [edit] = fake.edits[edits:]  # ... an edit of the alert
    assert edit.method == "editMessageText" and edit.message_id == alert.message_id
    assert "Also: SCMP Tech · TechNode" in three.shown(alert.message_id)
    assert technode in {e.get("url") for e in fake.shown(USER, alert.message_id)["entities"]}

    three.publish(0, RESUME, "resume")
    [*_, follow_up] = await three.bot.wait_messages(USER, 3)
    assert RESUME in follow_up.visible and "Also" not in follow_up.visible
    assert len(fake.edits) == edits + 1


async def test_a_report_after_a_restart_edits_the_alert_sent_before(three: Three):
    three.publish(0, HALT, "halt")
    [_, alert] = await three.bot.wait_messages(USER, 2)
    await three.bot.stop()
    await three.start()  # the same store: the story and its alert are remembered
    three.publish(1, HALT_2, "halt")
    await three.polled(1)
    assert len(three.fake.messages(USER)) == 2
    [edit] = three.fake.edits
    assert edit.message_id == alert.message_id and "Also: SCMP Tech" in edit.visible


async def test_a_failed_edit_sends_nothing(three: Three):
    three.publish(0, HALT, "halt")
    [_, alert] = await three.bot.wait_messages(USER, 2)
    three.fake.delete_message(USER, alert.message_id)
    three.publish(1, HALT_2, "halt")
    await three.polled(1)
    assert three.fake.count(400) == 1  # "message to edit not found"
    assert three.fake.edits == [] and len(three.fake.messages(USER)) == 2
    three.publish(2, "Nexperia opens a research centre in Hamburg", "hamburg")
    [*_, other] = await three.bot.wait_messages(USER, 3)  # other stories still alert
    assert "Hamburg" in other.visible


async def test_latest_and_inline_show_a_story_once_with_its_sources(three: Three):
    caixin = three.publish(0, HALT, "halt")
    scmp = three.publish(1, HALT_2, "halt")
    technode = three.publish(2, HALT_3, "halt")
    three.publish(0, "Baidu opens an AI lab in Shenzhen", "baidu")
    await three.polled(0, 1, 2)
    answer = await three.bot.say(USER, "/latest Nexperia")
    text = answer.visible
    assert text.count("halts wafer") == 1, text  # one line for the story, not three
    assert "Also:" in text
    links = {e.get("url") for e in three.fake.shown(USER, answer.message_id)["entities"]}
    assert {caixin, scmp, technode} <= links
    everything = (await three.bot.say(USER, "/latest")).visible
    assert everything.count("halts wafer") == 1 and "Baidu" in everything
    assert "1." in everything and "2." in everything and "3." not in everything
    three.fake.inline_mode = True
    results = await three.fake.wait_for_inline_answer_async(
        three.fake.push_inline_query(USER, "nexperia")
    )
    assert len(results.results) == 1  # one result per story
    # the message the result posts links the story's other sources too
    posted = results.results[0]["input_message_content"]["message_text"]
    assert "Also:" in posted and scmp in posted and technode in posted, posted
    assert posted.count(caixin) + posted.count(scmp) + posted.count(technode) == 3
    # the answer is shared (not personal), so it reads the same whoever asked first
    asked_in_chinese = await three.fake.wait_for_inline_answer_async(
        three.fake.push_inline_query(USER + 1, "Nexperia", language_code="zh")
    )
    assert not asked_in_chinese.is_personal
    assert asked_in_chinese.results[0]["input_message_content"]["message_text"] == posted
