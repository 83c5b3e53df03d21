"""A user talks to the real Application through the fake Bot API: commands and their answers."""

from __future__ import annotations

import asyncio

from tests.e2e.conftest import BOT_USERNAME, Bot, Item, minutes_ago
from tests.fakes.telegram import visible_text

USER = 1001
GROUP = -2002


async def test_start_and_help(newsbot: Bot):
    reply = await newsbot.say(USER, "/start")
    text = visible_text(reply.text)
    assert "/follow eVTOL" in text and "/help" in text
    assert len(text.splitlines()) == 2

    reply = visible_text((await newsbot.say(USER, "/help")).text)
    for command in ("/follow", "/unfollow", "/list", "/latest", "/help"):
        assert command in reply
    assert "/follow eVTOL" in reply and "/latest Nexperia" in reply
    assert "Nexperia source:caixin" in reply and "-source:hn" in reply  # the rules say so


async def test_command_menu_is_registered_at_start(newsbot: Bot):
    names = [c["command"] for c in newsbot.fake.commands]
    assert {"follow", "unfollow", "list", "latest", "help", "start"} <= set(names)


async def test_follow_list_unfollow(newsbot: Bot):
    reply = visible_text((await newsbot.say(USER, "/follow eVTOL")).text)
    assert "Following eVTOL" in reply
    reply = visible_text((await newsbot.say(USER, "/follow 华为")).text)
    assert "Following 华为" in reply
    reply = visible_text((await newsbot.say(USER, "/follow evtol")).text)
    assert "already follow" in reply

    listing = visible_text((await newsbot.say(USER, "/list")).text)
    assert "1. eVTOL" in listing and "2. 华为" in listing

    reply = visible_text((await newsbot.say(USER, "/unfollow Nexperia")).text)
    assert "does not follow Nexperia" in reply and "eVTOL" in reply
    reply = visible_text((await newsbot.say(USER, "/unfollow EVTOL")).text)
    assert "Stopped following eVTOL" in reply
    listing = visible_text((await newsbot.say(USER, "/list")).text)
    assert "eVTOL" not in listing and "华为" in listing
    assert newsbot.core.store.subscriptions(USER) == ["华为"]


async def test_bad_input_gets_a_clear_answer_and_stores_nothing(newsbot: Bot):
    reply = visible_text((await newsbot.say(USER, "/follow")).text)
    assert "Usage" in reply and "/follow eVTOL" in reply
    reply = visible_text((await newsbot.say(USER, "/follow " + "x" * 101)).text)
    assert "limit is 100" in reply
    reply = visible_text((await newsbot.say(USER, '/follow "unbalanced')).text)
    assert "can't follow" in reply
    reply = visible_text((await newsbot.say(USER, "/frobnicate")).text)
    assert "/help" in reply
    assert newsbot.core.store.subscriptions(USER) == []


async def test_at_most_fifty_keywords(newsbot: Bot):
    for n in range(50):
        newsbot.core.store.add_subscription(USER, f"topic{n}")
    reply = visible_text((await newsbot.say(USER, "/follow eVTOL")).text)
    assert "limit is 50" in reply
    assert len(newsbot.core.store.subscriptions(USER)) == 50


async def test_follow_in_a_group_with_the_bot_name(newsbot: Bot):
    reply = await newsbot.say(GROUP, f"/follow@{BOT_USERNAME} eVTOL", chat_type="group")
    assert "Following eVTOL" in visible_text(reply.text)
    assert newsbot.core.store.subscriptions(GROUP) == ["eVTOL"]
    assert newsbot.core.store.chat(GROUP).kind == "group"


async def test_latest_answers_from_what_was_seen(newsbot: Bot):
    reply = visible_text((await newsbot.say(USER, "/latest")).text)
    assert "not seen any headlines" in reply

    titles = [
        "Nexperia Halts Wafer Supply to Chinese Unit Amid Deepening Spat",
        "Robot-Maker Unitree Steps Closer to China IPO",
        "Tencent Says Talks With Apple on WeChat Game Fees Are Advancing",
        "Baidu Unveils Ambitious AI Chip Roadmap, Targeting 1 Million-Card Cluster by 2030",
        "Nexperia China Chip Supplies to Soon Resume, Dutch Official Says",
        "Investors Flock to Chinese eVTOLs Chasing Regulatory Green Lights",
    ]
    newsbot.tech.add(
        *[
            Item(title, f"https://example.com/{n}", published=minutes_ago(60 - n))
            for n, title in enumerate(titles)
        ]
    )
    await newsbot.polls_done("Tech", 2)

    reply = await newsbot.say(USER, "/latest")
    text = visible_text(reply.text)
    assert titles[-1] in text  # newest first
    assert titles[0] not in text  # only 5
    assert text.index(titles[-1]) < text.index(titles[-2])
    assert 'href="https://example.com/5"' in reply.text

    text = visible_text((await newsbot.say(USER, "/latest Nexperia")).text)
    assert titles[0] in text and titles[4] in text and titles[1] not in text

    text = visible_text((await newsbot.say(USER, "/latest Xiaomi")).text)
    assert "No recent headline matches Xiaomi" in text


async def test_a_long_list_is_split_under_telegrams_limit(newsbot: Bot):
    store = newsbot.core.store
    keywords = [f"{n:02d} " + "&" * 40 + " x" * 27 for n in range(50)]  # 97 characters each
    for keyword in keywords:
        store.add_subscription(USER, keyword)
    before = len(newsbot.fake.messages(USER))
    newsbot.fake.push_message(USER, "/list")
    for _ in range(200):  # until the part with the buttons, the last one, has arrived
        listing = newsbot.fake.messages(USER)[before:]
        if listing and listing[-1].reply_markup is not None:
            break
        await asyncio.sleep(0.05)
    assert len(listing) >= 2
    assert all(len(visible_text(m.text)) <= 4096 for m in listing)
    shown = "\n".join(visible_text(m.text) for m in listing)
    assert all(keyword in shown for keyword in keywords)
    assert listing[-1].reply_markup is not None  # the remove buttons under the last part
    assert all(m.reply_markup is None for m in listing[:-1])
