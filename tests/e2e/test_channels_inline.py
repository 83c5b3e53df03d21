"""Channels managed from a private chat, and inline mode, through the fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.config import load_settings
from tests.e2e.conftest import BOT_USERNAME, Bot, Feed, Item, write_config
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram, visible_text

OWNER = 8101
EDITOR = 8102
STRANGER = 8103
CHANNEL = -1008101
NAME = "techwire"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(bot_username=BOT_USERNAME, inline_mode=True) as server:
        yield server


@pytest.fixture
async def newsbot(tmp_path, fake, monkeypatch) -> AsyncIterator[Bot]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    with FeedServer() as feeds:
        tech = Feed(feeds, "/tech.xml")
        bot = Bot(fake, load_settings(write_config(tmp_path, fake, [("Tech", tech.url)])))
        bot.tech = tech  # type: ignore[attr-defined]
        await bot.start()
        await bot.polls_done("Tech", 1)
        try:
            yield bot
        finally:
            await bot.stop()


async def reply_text(bot: Bot, chat_id: int, text: str) -> str:
    return visible_text((await bot.say(chat_id, text)).text)


async def test_a_linked_channel_gets_alerts_without_buttons(newsbot: Bot):
    newsbot.fake.add_channel(CHANNEL, "Tech Wire", username=NAME, creator=OWNER, admins=[EDITOR])
    assert "Linked" in await reply_text(newsbot, OWNER, f"/channel @{NAME}")
    assert "Following" in await reply_text(newsbot, OWNER, f"/follow @{NAME} eVTOL")
    assert "eVTOL" in await reply_text(newsbot, OWNER, f"/list @{NAME}")
    assert "follows no keywords" in await reply_text(newsbot, OWNER, "/list")
    assert newsbot.core.store.subscriptions(OWNER) == []  # the private chat's own is untouched
    newsbot.tech.add(Item("Chinese eVTOL Maker Lists in Hong Kong", "https://example.com/evtol"))
    [post] = await newsbot.wait_messages(CHANNEL, 1)
    assert "Chinese eVTOL Maker" in visible_text(post.text)
    assert post.reply_markup is None  # anyone in a channel could press buttons
    channels = await reply_text(newsbot, OWNER, "/channels")
    assert "@techwire" in channels and "1 keywords" in channels


async def test_linking_checks_the_persons_and_the_bots_rights(newsbot: Bot):
    fake = newsbot.fake
    fake.add_channel(CHANNEL, "Tech Wire", username=NAME, creator=OWNER)
    assert "neither" in await reply_text(newsbot, STRANGER, f"/channel @{NAME}")
    fake.add_channel(CHANNEL - 1, "Mute", username="mutewire", creator=OWNER, bot_can_post=False)
    assert "cannot post" in await reply_text(newsbot, OWNER, "/channel @mutewire")
    fake.add_channel(CHANNEL - 2, "Absent", username="absentwire", creator=OWNER,
                     bot_is_admin=False)
    assert "cannot post" in await reply_text(newsbot, OWNER, "/channel @absentwire")
    assert "cannot see" in await reply_text(newsbot, OWNER, "/channel @nosuchwire")
    assert "Usage" in await reply_text(newsbot, OWNER, "/channel")
    # a command naming a channel that was never linked says how to link it
    assert "not linked" in await reply_text(newsbot, STRANGER, f"/follow @{NAME} eVTOL")
    assert newsbot.core.store.subscriptions(CHANNEL) == []


async def test_a_forwarded_post_links_its_channel(newsbot: Bot):
    newsbot.fake.add_channel(CHANNEL, "Tech Wire", username=NAME, creator=OWNER)
    before = len(newsbot.fake.messages(OWNER))
    newsbot.fake.push_forward(OWNER, CHANNEL, "a post")
    [*_, answer] = await newsbot.wait_messages(OWNER, before + 1)
    assert "Linked" in visible_text(answer.text)


async def test_someone_no_longer_admin_is_refused(newsbot: Bot):
    fake = newsbot.fake
    fake.add_channel(CHANNEL, "Tech Wire", username=NAME, creator=OWNER, admins=[EDITOR])
    assert "Linked" in await reply_text(newsbot, EDITOR, f"/channel @{NAME}")
    assert "Digest" in await reply_text(newsbot, EDITOR, f"/digest @{NAME} 08:00")
    fake.set_admins(CHANNEL, [])  # the editor lost the rights
    newsbot.core.admin_cache.clear()  # (cached a minute otherwise)
    assert "neither" in await reply_text(newsbot, EDITOR, f"/follow @{NAME} eVTOL")
    assert newsbot.core.store.subscriptions(CHANNEL) == []


async def test_inline_query_lists_the_newest_matching_headlines(newsbot: Bot):
    newsbot.tech.add(
        Item("Nexperia Halts Wafer Supply to China Unit", "https://example.com/nexperia",
             summary="The Dutch chipmaker stopped shipments."),
        Item("Baidu Opens AI Cloud", "https://example.com/baidu"),
    )
    await newsbot.polls_done("Tech", 3)
    fake = newsbot.fake
    answer = await fake.wait_for_inline_answer_async(fake.push_inline_query(OWNER, "nexperia"))
    assert [r["title"] for r in answer.results] == ["Nexperia Halts Wafer Supply to China Unit"]
    assert not answer.is_personal and answer.cache_time is not None and answer.cache_time <= 60
    content = answer.results[0]["input_message_content"]
    assert "https://example.com/nexperia" in content["message_text"]
    assert "Tech" in answer.results[0]["description"]
    everything = await fake.wait_for_inline_answer_async(fake.push_inline_query(OWNER, ""))
    assert len(everything.results) == 2


async def test_an_invalid_inline_query_gets_a_button_to_the_rules(newsbot: Bot):
    fake = newsbot.fake
    answer = await fake.wait_for_inline_answer_async(fake.push_inline_query(OWNER, '"open'))
    assert answer.results == []
    assert answer.is_personal  # its button speaks the asker's language
    assert answer.button is not None and answer.button["start_parameter"] == "inline-help"
    # the button opens the private chat with /start inline-help: the query rules
    assert "OR" in await reply_text(newsbot, OWNER, "/start inline-help")


async def test_removing_the_bot_from_a_channel_makes_it_inactive_at_once(newsbot: Bot):
    fake = newsbot.fake
    fake.add_channel(CHANNEL, "Tech Wire", username=NAME, creator=OWNER)
    assert "Linked" in await reply_text(newsbot, OWNER, f"/channel @{NAME}")
    fake.remove_bot(CHANNEL, by=OWNER)
    deadline = asyncio.get_running_loop().time() + 10
    while (chat := newsbot.core.store.chat(CHANNEL)) is not None and chat.active:
        assert asyncio.get_running_loop().time() < deadline, "still active"
        await asyncio.sleep(0.05)
    assert "off" in await reply_text(newsbot, OWNER, "/channels")
