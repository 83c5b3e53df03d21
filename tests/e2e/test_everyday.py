"""Everyday use through the fake Bot API: languages, groups, deep links, buttons, settings,
operators, digests, quiet hours and pauses (with the clock in the test's hands)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import pytest

from bot.buttons import query_hash
from bot.config import load_settings
from bot.deeplinks import follow_payload, query_from_payload
from tests.e2e.conftest import BOT_USERNAME, Bot, Feed, Item, until, write_config
from tests.fakes.telegram import visible_text

USER = 5001
ADMIN = 5002
GROUP = -6001


class Clock:
    """A clock that runs like a real one from ``start`` and that the test can move forward
    (``clock.jump(...)``); the bot reads it for polls, schedules, pauses and alert ages."""

    def __init__(self, start: datetime) -> None:
        self.offset = start - datetime.now(UTC)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump(self, to: datetime) -> None:
        self.offset += to - self()


async def text_of(bot: Bot, chat_id: int, text: str, **kwargs) -> str:
    return visible_text((await bot.say(chat_id, text, **kwargs)).text)


async def test_chinese_from_the_users_language_and_from_language_command(newsbot: Bot):
    newsbot.fake.push_message(USER, "/start", language_code="zh-hans")
    [greeting] = await newsbot.wait_messages(USER, 1)
    assert "你好" in visible_text(greeting.text)
    assert "已关注" in await text_of(newsbot, USER, "/follow 华为", language_code="zh-hans")

    other = USER + 1
    assert "Hi!" in await text_of(newsbot, other, "/start")
    assert "简体中文" in await text_of(newsbot, other, "/language zh")
    assert "命令" in await text_of(newsbot, other, "/help")
    assert "不是有效的时长" in await text_of(newsbot, other, "/pause forever")
    assert "引号不成对" in await text_of(newsbot, other, '/follow "flying car')
    assert "不认识“Mars/Olympus”这个时区" in await text_of(newsbot, other, "/timezone Mars/Olympus")
    assert "English" in await text_of(newsbot, other, "/language en")
    assert "Commands" in await text_of(newsbot, other, "/help")
    assert "Usage" in await text_of(newsbot, other, "/language klingon")


async def test_command_menu_in_both_languages(newsbot: Bot):
    english = {c["command"]: c["description"] for c in newsbot.fake.commands_for()}
    chinese = {c["command"]: c["description"] for c in newsbot.fake.commands_for(None, "zh")}
    assert set(english) == set(chinese) >= {"follow", "digest", "quiet", "pause", "settings"}
    assert "stats" not in english  # operators' commands are not in everyone's menu
    assert chinese["follow"] != english["follow"]


async def test_only_group_admins_change_a_groups_alerts(newsbot: Bot):
    newsbot.fake.push_message(GROUP, "hello", chat_type="group", user_id=ADMIN)
    newsbot.fake.set_admins(GROUP, [ADMIN])
    member = 7777
    newsbot.fake.push_message(GROUP, f"/follow@{BOT_USERNAME} eVTOL", chat_type="group",
                              user_id=member)
    [refusal] = await newsbot.wait_messages(GROUP, 1)
    assert "administrators" in visible_text(refusal.text)
    assert newsbot.core.store.subscriptions(GROUP) == []

    newsbot.fake.push_message(GROUP, f"/follow@{BOT_USERNAME} eVTOL", chat_type="group",
                              user_id=ADMIN)
    [_, ok] = await newsbot.wait_messages(GROUP, 2)
    assert "Following eVTOL" in visible_text(ok.text)
    # reading is for everyone
    newsbot.fake.push_message(GROUP, "/list", chat_type="group", user_id=member)
    [*_, listing] = await newsbot.wait_messages(GROUP, 3)
    assert "eVTOL" in visible_text(listing.text)


async def test_deep_links_and_share(newsbot: Bot):
    assert "Following eVTOL" in await text_of(newsbot, USER, "/start follow-eVTOL")
    payload = follow_payload("华为")
    assert "Following 华为" in await text_of(newsbot, USER, f"/start {payload}")
    assert newsbot.core.store.subscriptions(USER) == ["eVTOL", "华为"]

    shared = await text_of(newsbot, USER, "/share low altitude economy")
    link = next(word for word in shared.split() if word.startswith("https://t.me/"))
    assert link.startswith(f"https://t.me/{BOT_USERNAME}?start=")
    assert query_from_payload(link.split("start=")[1]) == "low altitude economy"
    assert "Usage" in await text_of(newsbot, USER, "/share")


async def test_settings_shows_everything(newsbot: Bot):
    await newsbot.say(USER, "/follow eVTOL")
    await newsbot.say(USER, "/timezone asia/shanghai")
    await newsbot.say(USER, "/digest 18:00 08:00")
    await newsbot.say(USER, "/quiet 23:00-07:00")
    text = await text_of(newsbot, USER, "/settings")
    for expected in ("Keywords: 1", "digest at 08:00, 18:00", "Quiet hours: 23:00–07:00",
                     "Time zone: Asia/Shanghai", "Paused: no", "Language: English"):
        assert expected in text
    assert "08:00" in await text_of(newsbot, USER, "/digest 8")
    assert "HH:MM" in await text_of(newsbot, USER, "/digest 25:00")
    assert "Instant" in await text_of(newsbot, USER, "/instant")
    assert "08:00" in await text_of(newsbot, USER, "/digest 08:00")
    assert "Instant" in await text_of(newsbot, USER, "/digest off")  # as /quiet off does
    assert "/digest off" in await text_of(newsbot, USER, "/digest")  # the usage names it
    assert "removed" in await text_of(newsbot, USER, "/quiet off")
    assert "not a time zone" in await text_of(newsbot, USER, "/timezone Mars/Olympus")
    assert "instant" in await text_of(newsbot, USER, "/settings")


async def test_list_remove_button(newsbot: Bot):
    await newsbot.say(USER, "/follow eVTOL")
    await newsbot.say(USER, "/follow Nexperia")
    listing = await newsbot.say(USER, "/list")
    rows = listing.reply_markup["inline_keyboard"]
    assert [row[0]["text"] for row in rows] == ["✖ eVTOL", "✖ Nexperia"]
    newsbot.fake.push_callback(USER, listing.message_id, rows[0][0]["callback_data"])
    await until(lambda: newsbot.core.store.subscriptions(USER) == ["Nexperia"])
    await until(lambda: bool(newsbot.fake.edits))
    edited = newsbot.fake.edits[-1]
    assert "eVTOL" not in visible_text(edited.text) and "Nexperia" in visible_text(edited.text)
    assert len(edited.reply_markup["inline_keyboard"]) == 1


async def test_operators_see_stats_and_sources(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    feed = Feed(feeds, "/s.xml")
    config = write_config(tmp_path, fake, [("S", feed.url)], admin_ids=(ADMIN,))
    bot = Bot(fake, load_settings(config))
    await bot.start()
    try:
        await bot.polls_done("S", 1)
        await bot.say(USER, "/follow eVTOL")
        stats = await text_of(bot, ADMIN, "/stats")
        assert "Chats: 2" in stats and "Subscriptions: 1" in stats and "evtol (1)" in stats
        sources = await text_of(bot, ADMIN, "/health")
        assert "S" in sources and "✅" in sources
        # how often it is polled, and why (the config of these tests fixes it at 1 s)
        assert re.search(r"⏱ every 1s: no new items in \d+s \(ceiling\)", sources)
        assert "don't know /stats" in await text_of(bot, USER, "/stats")
    finally:
        await bot.stop()


@pytest.fixture
async def clocked(tmp_path, fake, feeds, monkeypatch):
    """A bot whose schedules read a clock the test sets (Asia/Shanghai 2026-11-26 07:00)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    clock = Clock(datetime(2026, 11, 25, 23, 0, tzinfo=UTC))
    feed = Feed(feeds, "/d.xml")
    bot = Bot(fake, load_settings(write_config(tmp_path, fake, [("D", feed.url)])), clock=clock)
    bot.feed = feed  # type: ignore[attr-defined]
    await bot.start()
    await bot.polls_done("D", 1)
    try:
        yield bot
    finally:
        await bot.stop()


async def test_digest_arrives_at_the_chosen_local_time(clocked: Bot):
    bot, clock = clocked, clocked.clock
    await bot.say(USER, "/timezone Asia/Shanghai")
    await bot.say(USER, "/digest 08:00")
    await bot.say(USER, "/follow Nexperia")
    sent_before = len(bot.fake.messages(USER))
    bot.feed.add(Item("Nexperia Halts Wafer Supply", "https://e.com/n1"),
                 Item("Nexperia Denies Rumors", "https://e.com/n2"))
    await until(lambda: len(bot.core.store.pending(USER)) == 2)
    await asyncio.sleep(0.5)
    bot.core.deliverer.wake()
    await asyncio.sleep(0.5)
    assert len(bot.fake.messages(USER)) == sent_before  # 07:00 in Shanghai: held

    clock.jump(datetime(2026, 11, 26, 0, 0, 1, tzinfo=UTC))  # 08:00:01 in Shanghai
    bot.core.deliverer.wake()
    messages = await bot.wait_messages(USER, sent_before + 1)
    digest = visible_text(messages[-1].text)
    assert "Nexperia Halts Wafer Supply" in digest and "Nexperia Denies Rumors" in digest
    await asyncio.sleep(0.5)
    assert len(bot.fake.messages(USER)) == sent_before + 1  # one message, not two


async def test_quiet_hours_hold_alerts_until_they_end(clocked: Bot):
    bot, clock = clocked, clocked.clock
    await bot.say(USER, "/timezone Asia/Shanghai")
    await bot.say(USER, "/quiet 23:00-07:30")  # now is 07:00 in Shanghai
    await bot.say(USER, "/follow Unitree")
    sent_before = len(bot.fake.messages(USER))
    bot.feed.add(Item("Unitree Steps Closer to IPO", "https://e.com/u1"))
    await until(lambda: len(bot.core.store.pending(USER)) == 1)
    bot.core.deliverer.wake()
    await asyncio.sleep(0.5)
    assert len(bot.fake.messages(USER)) == sent_before

    clock.jump(clock() + timedelta(minutes=31))
    bot.core.deliverer.wake()
    messages = await bot.wait_messages(USER, sent_before + 1)
    assert "Unitree Steps Closer" in visible_text(messages[-1].text)


async def test_alert_buttons_unfollow_and_mute_even_after_a_restart(clocked: Bot):
    bot = clocked
    await bot.say(USER, "/follow Tencent")
    await bot.say(USER, "/follow Baidu")
    bot.feed.add(Item("Tencent Says Talks With Apple Are Advancing", "https://e.com/t1"))
    [*_, alert] = await bot.wait_messages(USER, 3)
    labels = [row[0]["text"] for row in alert.reply_markup["inline_keyboard"]]
    assert labels == ["Unfollow Tencent", "Mute 1 day"]

    await bot.stop()  # buttons keep working after a restart
    await bot.start()
    unfollow = alert.reply_markup["inline_keyboard"][0][0]["callback_data"]
    assert unfollow == f"uf:{query_hash('tencent')}"
    bot.fake.push_callback(USER, alert.message_id, unfollow)
    await until(lambda: bot.core.store.subscriptions(USER) == ["Baidu"])

    bot.fake.push_callback(USER, alert.message_id, "mute:1d")
    await until(lambda: bool(bot.core.store.chat(USER).settings.get("paused_until")))
    assert "Paused: until" in await text_of(bot, USER, "/settings")
    sent = len(bot.fake.messages(USER))
    bot.feed.add(Item("Baidu Unveils AI Chip Roadmap", "https://e.com/b1"))
    await bot.polls_done("D", bot.core.store.source_state("D")["polls"] + 2)
    await asyncio.sleep(0.3)
    assert len(bot.fake.messages(USER)) == sent  # muted: skipped

    assert "resumed" in await text_of(bot, USER, "/resume")
    bot.feed.add(Item("Baidu Opens AI Cloud", "https://e.com/b2"))
    messages = await bot.wait_messages(USER, sent + 2)
    assert "Baidu Opens AI Cloud" in visible_text(messages[-1].text)


async def test_pause_and_its_bad_input(newsbot: Bot):
    assert "Usage" in await text_of(newsbot, USER, "/pause")
    assert "not a duration" in await text_of(newsbot, USER, "/pause forever")
    assert "Paused until" in await text_of(newsbot, USER, "/pause 8h")
    assert "resumed" in await text_of(newsbot, USER, "/resume")
    assert "not paused" in await text_of(newsbot, USER, "/resume")


async def test_a_press_on_a_message_telegram_no_longer_shows_still_acts(newsbot: Bot):
    """Telegram may send a press with an InaccessibleMessage (date 0): the press is carried
    out and answered; the message cannot be redrawn, which is no error."""
    await newsbot.say(USER, "/follow eVTOL")
    await newsbot.say(USER, "/follow Nexperia")
    listing = await newsbot.say(USER, "/list")
    data = listing.reply_markup["inline_keyboard"][0][0]["callback_data"]
    newsbot.fake.push_callback(USER, listing.message_id, data, inaccessible=True)
    await until(lambda: bool(newsbot.fake.callback_answers))
    assert "eVTOL" in newsbot.fake.callback_answers[-1].get("text", "")
    assert newsbot.core.store.subscriptions(USER) == ["Nexperia"]
    await newsbot.say(USER, "/list")  # one chat's updates are handled in turn: the press is over
    assert not newsbot.fake.edits
    assert newsbot.core.metrics.errors.labels(kind="handler")._value.get() == 0


async def test_a_command_for_another_bot_is_left_alone_in_a_private_chat_too(newsbot: Bot):
    """``/follow@otherbot eVTOL`` was answered "I don't know /follow" (the bot knows it)."""
    before = len(newsbot.fake.messages(USER))
    newsbot.fake.push_message(USER, "/follow@otherbot eVTOL")
    listing = await newsbot.say(USER, "/list")  # one chat's updates in turn: the first is done
    assert len(newsbot.fake.messages(USER)) == before + 1
    assert "follows no keywords" in visible_text(listing.text)
    assert newsbot.core.store.subscriptions(USER) == []
    assert "don't know" in await text_of(newsbot, USER, f"/nosuch@{BOT_USERNAME}")
