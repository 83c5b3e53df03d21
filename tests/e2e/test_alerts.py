"""Headlines appear at a source; alerts arrive at the fake Bot API, right, once, intact."""

from __future__ import annotations

import asyncio
import time

from bot.config import load_settings
from tests.e2e.conftest import Bot, Feed, Item, write_config
from tests.fakes.telegram import visible_text

USER = 1001
OTHER = 1002
GROUP = -3003


async def quiet_for(bot: Bot, chat_id: int, count: int, seconds: float = 1.5) -> None:
    """Assert ``chat_id`` still has exactly ``count`` messages after ``seconds``."""
    await asyncio.sleep(seconds)
    assert len(bot.fake.messages(chat_id)) == count, bot.fake.messages(chat_id)


async def test_matching_headline_is_alerted_with_summary_source_and_keyword(newsbot: Bot):
    await newsbot.say(USER, "/follow eVTOL")
    await newsbot.say(OTHER, "/follow Nexperia")
    newsbot.tech.add(
        Item(
            "Investors Flock to Chinese eVTOLs Chasing Regulatory Green Lights",
            "https://www.caixinglobal.com/2025-11-20/investors-flock-102385.html",
            summary="Money is pouring into electric flying taxis. " * 20,
        )
    )
    [_, alert] = await newsbot.wait_messages(USER, 2)
    text = visible_text(alert.text)
    assert "Investors Flock to Chinese eVTOLs" in text
    assert "Tech" in text  # the source name
    assert "eVTOL" in text.split("Investors")[0] or "Matched" in text
    assert "https://www.caixinglobal.com/2025-11-20/investors-flock-102385.html" in alert.text
    assert "Money is pouring" in text
    assert len(text) < 1000  # the summary was cut, not pasted whole
    await quiet_for(newsbot, OTHER, 1)  # the Nexperia follower got nothing


async def test_whole_words_only(newsbot: Bot):
    await newsbot.say(USER, "/follow AI")
    newsbot.tech.add(Item("Taiwan Said to Weigh Chip Curbs", "https://example.com/taiwan"))
    await newsbot.polls_done("Tech", 3)
    newsbot.tech.add(Item("Baidu Opens AI Cloud to Startups", "https://example.com/baidu"))
    [_, alert] = await newsbot.wait_messages(USER, 2)
    assert "Baidu Opens" in visible_text(alert.text)
    await quiet_for(newsbot, USER, 2, seconds=1.0)


async def test_html_special_characters_arrive_intact(newsbot: Bot):
    await newsbot.say(USER, "/follow AT&T")
    title = 'AT&T <Deal> "Approved" & Done'
    newsbot.tech.add(Item(title, "https://example.com/att?a=1&b=2", summary="Less <than> & more"))
    [_, alert] = await newsbot.wait_messages(USER, 2)
    text = visible_text(alert.text)
    assert title in text
    assert "Less <than> & more" in text
    assert not [e for e in newsbot.fake.errors if e[2] == 400]


async def test_first_poll_alerts_nobody_and_nothing_is_sent_twice(
    tmp_path, fake, feeds, monkeypatch
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    old = [Item(f"eVTOL story {n}", f"https://example.com/old/{n}") for n in range(30)]
    feed = Feed(feeds, "/f.xml", old)
    settings = load_settings(write_config(tmp_path, fake, [("F", feed.url)]))

    bot = Bot(fake, settings)
    await bot.start()
    try:
        await bot.say(USER, "/follow eVTOL")
        await bot.polls_done("F", 2)
        assert len(fake.messages(USER)) == 1  # only the confirmation: no flood of old news
        feed.add(Item("New eVTOL maker raises funds", "https://example.com/new/1"))
        await bot.wait_messages(USER, 2)
    finally:
        await bot.stop()

    # Restart on the same store: the same feed, polled again, sends nothing new.
    bot = Bot(fake, settings)
    await bot.start()
    try:
        await bot.polls_done("F", 4)
        await quiet_for(bot, USER, 2, seconds=1.0)
        assert bot.core.store.subscriptions(USER) == ["eVTOL"]
        feed.add(Item("Second eVTOL maker raises funds", "https://example.com/new/2"))
        messages = await bot.wait_messages(USER, 3)
        assert "Second eVTOL" in visible_text(messages[2].text)
    finally:
        await bot.stop()


async def test_a_failing_source_does_not_stop_the_others(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    good = Feed(feeds, "/good.xml")
    feeds.add("/broken.xml", status=500)
    feeds.add("/garbage.xml", b"\x00\xff<<not a feed", content_type="application/rss+xml")
    settings = load_settings(
        write_config(
            tmp_path,
            fake,
            [
                ("Broken", feeds.url("/broken.xml")),
                ("Garbage", feeds.url("/garbage.xml")),
                ("Good", good.url),
            ],
        )
    )
    bot = Bot(fake, settings)
    await bot.start()
    try:
        await bot.say(USER, "/follow Nexperia")
        await bot.polls_done("Good", 1)
        good.add(Item("Nexperia Denies Rumors of China-EU Deal", "https://example.com/n"))
        [_, alert] = await bot.wait_messages(USER, 2)
        assert "Nexperia Denies" in visible_text(alert.text)
        assert bot.core.store.source_state("Broken").get("failures", 0) >= 1
    finally:
        await bot.stop()


async def test_survives_a_429_flood(newsbot: Bot):
    await newsbot.say(USER, "/follow Tencent")
    newsbot.fake.force_errors(3, code=429, retry_after=1)
    newsbot.tech.add(Item("Tencent Says Talks With Apple Are Advancing", "https://e.com/t"))
    [_, alert] = await newsbot.wait_messages(USER, 2, timeout=20)
    assert "Tencent Says" in visible_text(alert.text)
    assert newsbot.fake.count(429) >= 1


async def test_blocked_chat_is_marked_inactive_until_start(newsbot: Bot):
    await newsbot.say(USER, "/follow Unitree")
    newsbot.fake.block(USER)
    newsbot.tech.add(Item("Robot-Maker Unitree Steps Closer to China IPO", "https://e.com/u1"))
    for _ in range(100):
        if not newsbot.core.store.chat(USER).active:
            break
        await asyncio.sleep(0.1)
    assert not newsbot.core.store.chat(USER).active
    attempts = len([e for e in newsbot.fake.errors if e[1] == USER and e[2] == 403])

    newsbot.tech.add(Item("Unitree Files for IPO", "https://e.com/u2"))
    await newsbot.polls_done("Tech", newsbot.core.store.source_state("Tech")["polls"] + 2)
    await asyncio.sleep(0.5)
    assert len([e for e in newsbot.fake.errors if e[1] == USER and e[2] == 403]) == attempts

    newsbot.fake.unblock(USER)
    await newsbot.say(USER, "/start")
    assert newsbot.core.store.chat(USER).active
    assert newsbot.core.store.subscriptions(USER) == ["Unitree"]
    newsbot.tech.add(Item("Unitree Prices Its IPO", "https://e.com/u3"))
    messages = await newsbot.wait_messages(USER, 3)
    assert "Unitree Prices" in visible_text(messages[-1].text)


async def test_group_migrated_to_supergroup_keeps_its_subscriptions(newsbot: Bot):
    await newsbot.say(GROUP, "/follow Baidu", chat_type="group")
    new_id = -1009999
    newsbot.fake.migrate(GROUP, new_id)
    newsbot.tech.add(Item("Baidu Unveils AI Chip Roadmap", "https://e.com/b"))
    [alert] = await newsbot.wait_messages(new_id, 1, timeout=20)
    assert "Baidu Unveils" in visible_text(alert.text)
    assert newsbot.core.store.subscriptions(new_id) == ["Baidu"]
    assert newsbot.core.store.subscriptions(GROUP) == []
    listing = await newsbot.say(new_id, "/list", chat_type="supergroup")
    assert "Baidu" in visible_text(listing.text)


async def test_many_headlines_become_one_batched_message(newsbot: Bot):
    await newsbot.say(USER, "/follow Nexperia")
    newsbot.tech.add(
        *[Item(f"Nexperia update number {n}", f"https://e.com/n{n}") for n in range(12)]
    )
    [_, batch] = await newsbot.wait_messages(USER, 2)
    text = visible_text(batch.text)
    assert all(f"Nexperia update number {n}" in text for n in range(12))
    await quiet_for(newsbot, USER, 2, seconds=1.0)


async def test_group_upgrade_moves_subscriptions_as_soon_as_telegram_says_so(newsbot: Bot):
    await newsbot.say(GROUP, "/follow Xiaomi", chat_type="group")
    new_id = -1008888
    newsbot.fake.migrate(GROUP, new_id)
    # Telegram's service message in the old group names the new supergroup.
    newsbot.fake.push_update(
        {
            "message": {
                "message_id": 999,
                "date": int(time.time()),
                "chat": {"id": GROUP, "type": "group", "title": "Group"},
                "from": {"id": 1, "is_bot": False, "first_name": "Admin"},
                "migrate_to_chat_id": new_id,
            }
        }
    )
    for _ in range(100):
        if newsbot.core.store.subscriptions(new_id) == ["Xiaomi"]:
            break
        await asyncio.sleep(0.05)
    assert newsbot.core.store.subscriptions(new_id) == ["Xiaomi"]
    listing = await newsbot.say(new_id, "/list", chat_type="supergroup")
    assert "Xiaomi" in visible_text(listing.text)
    newsbot.tech.add(Item("Xiaomi Unveils Its First SUV", "https://e.com/x"))
    [*_, alert] = await newsbot.wait_messages(new_id, 2)
    assert "Xiaomi Unveils" in visible_text(alert.text)
    assert not [e for e in newsbot.fake.errors if e[1] == GROUP and e[2] == 400]
