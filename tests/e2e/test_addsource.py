"""/addsource, /removesource and /sources end to end, against the fake Bot API and a loopback
feed server: a feed added and followed whole, autodiscovery (one feed; several, chosen with a
button), an internal address refused when the operator has not allowed it, the limit, a URL
the chat has already, removal with the keywords that named the source, the admin rule in
groups, Chinese, and the operator turning chat sources off."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.config import load_settings
from tests.e2e.conftest import BOT_USERNAME, Bot, Feed, Item, until, write_config
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram, visible_text

USER, OTHER = 3601, 3602
GROUP, ADMIN, MEMBER = -3700, 3701, 3702


def page(*feeds: tuple[str, str]) -> bytes:
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" title="{title}" href="{href}">'
        for title, href in feeds
    )
    return f"<!doctype html><html><head>{links}</head><body>news</body></html>".encode()


async def start_bot(tmp_path, fake, feeds, monkeypatch, *, allow: bool = True,
                    extra: str = "[chat_sources]\nper_chat = 2\n") -> Bot:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    tech = Feed(feeds, "/tech.xml", [Item("Operator story", "https://example.com/op/1")])
    config = write_config(
        tmp_path, fake, [("Caixin Tech", tech.url)], extra=extra,
        polling='allow_hosts = ["127.0.0.1"]' if allow else "",
    )
    bot = Bot(fake, load_settings(config))
    await bot.start()
    await bot.polls_done("Caixin Tech", 1)
    return bot


@pytest.fixture
async def bot(tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch) -> AsyncIterator[Bot]:
    running = await start_bot(tmp_path, fake, feeds, monkeypatch)
    try:
        yield running
    finally:
        await running.stop()


def technode(feeds: FeedServer) -> Feed:
    feed = Feed(feeds, "/technode.xml", [
        Item("Old TechNode story one", "https://tn.example/1"),
        Item("Old TechNode story two", "https://tn.example/2"),
    ])
    feed.publish()
    return feed


async def say(bot: Bot, chat: int, text: str, **options: object) -> str:
    return visible_text((await bot.say(chat, text, **options)).text)


async def test_a_feed_is_added_and_followed_whole(bot: Bot, feeds: FeedServer):
    feed = technode(feeds)
    answer = await say(bot, USER, f"/addsource {feed.url}")
    assert "Added Test feed (test-feed): 2 headlines." in answer, answer
    assert "/follow source:test-feed follows all of it" in answer
    assert "Following" in await say(bot, USER, "/follow source:test-feed")
    feed.add(Item("Brand new TechNode scoop", "https://tn.example/3"))
    alert = (await bot.wait_messages(USER, 3, timeout=20))[-1]
    assert "Brand new TechNode scoop" in visible_text(alert.text)
    assert not any("Old TechNode" in visible_text(m.text) for m in bot.fake.messages(USER))
    assert "already" in await say(bot, USER, f"/addsource {feed.url}")
    listing = await bot.say(USER, "/sources")
    text = visible_text(listing.text)
    assert "Caixin Tech — caixin-tech" in text and "Test feed — test-feed" in text
    assert "This chat's own (1 of 2" in text
    rows = listing.reply_markup["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in rows] == [
        ["sf:caixin-tech"], ["sf:test-feed", "sr:test-feed"],
    ]
    # another chat sees only the operator's source
    other = await say(bot, OTHER, "/sources")
    assert "caixin-tech" in other and "test-feed" not in other


async def test_autodiscovery_one_feed_and_a_choice_of_two(bot: Bot, feeds: FeedServer):
    a = Feed(feeds, "/a.xml", [Item("A one", "https://a.example/1")])
    b = Feed(feeds, "/b.xml", [Item("B one", "https://b.example/1")], title="Beta News")
    a.publish(), b.publish()
    feeds.add("/one.html", page(("Alpha News", a.url)), content_type="text/html")
    feeds.add("/two.html", page(("Alpha News", a.url), ("Beta News", b.url)),
              content_type="text/html")
    answer = await say(bot, USER, f"/addsource {feeds.url('/one.html')}")
    assert "Added Test feed" in answer and "1 headlines" in answer, answer
    choice = await bot.say(OTHER, f"/addsource {feeds.url('/two.html')}")
    assert "That page names 2 feeds" in visible_text(choice.text)
    buttons = [row[0] for row in choice.reply_markup["inline_keyboard"]]
    assert [button["text"] for button in buttons] == ["Alpha News", "Beta News"]
    bot.fake.push_callback(OTHER, choice.message_id, buttons[1]["callback_data"])
    added = (await bot.wait_messages(OTHER, 2))[-1]
    assert "Added Beta News (beta-news): 1 headlines" in visible_text(added.text)
    assert [e.url for e in bot.core.registry.own(OTHER)] == [b.url]
    # the other button is gone with the choice: pressing it adds nothing
    bot.fake.push_callback(OTHER, choice.message_id, buttons[0]["callback_data"])
    await asyncio.sleep(0.5)
    assert "expired" in bot.fake.callback_answers[-1].get("text", "")
    assert [e.url for e in bot.core.registry.own(OTHER)] == [b.url]


async def test_an_internal_address_is_refused_unless_the_operator_allows_it(
    tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch
):
    bot = await start_bot(tmp_path, fake, feeds, monkeypatch, allow=False)
    try:
        feed = Feed(feeds, "/private.xml", [Item("Secret", "https://x.example/1")])
        feed.publish()
        answer = await say(bot, USER, f"/addsource {feed.url}")
        assert "I may not fetch that address" in answer and "allow_hosts" in answer, answer
        assert feeds.count("/private.xml") == 0  # never fetched
        assert bot.core.registry.own(USER) == []
        assert bot.core.store.registry_entries() and all(
            not e.get("chats") for e in bot.core.store.registry_entries()
        )
    finally:
        await bot.stop()


async def test_every_refusal_says_why(bot: Bot, feeds: FeedServer):
    feeds.add("/page.html", b"<html><body>no feed</body></html>", content_type="text/html")
    feeds.add("/big.xml", b"<rss>" + b"x" * 6_000_000 + b"</rss>")
    feeds.redirect("/loop", "/loop")
    assert "Send /addsource with the address" in await say(bot, USER, "/addsource")
    assert "is not a web address" in await say(bot, USER, "/addsource ftp://x")
    assert "not a feed" in await say(bot, USER, f"/addsource {feeds.url('/page.html')}")
    assert "could not fetch" in await say(bot, USER, f"/addsource {feeds.url('/missing.xml')}")
    assert "too large" in await say(bot, USER, f"/addsource {feeds.url('/big.xml')}")
    assert "redirects too many times" in await say(bot, USER, f"/addsource {feeds.url('/loop')}")
    tech = bot.core.registry.operators()[0]
    assert "caixin-tech" in await say(bot, USER, f"/addsource {tech.url}")  # the operator's
    for n in range(3):
        Feed(feeds, f"/f{n}.xml", [Item(f"F{n}", f"https://f.example/{n}")]).publish()
    for n in range(2):
        assert "Added" in await say(bot, USER, f"/addsource {feeds.url(f'/f{n}.xml')}")
    limit = await say(bot, USER, f"/addsource {feeds.url('/f2.xml')}")
    assert "has 2 sources of its own, the most it may have" in limit
    assert len(bot.core.registry.own(USER)) == 2


async def test_removesource_takes_the_keywords_that_named_it(bot: Bot, feeds: FeedServer):
    Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
    await say(bot, USER, f"/addsource {feeds.url('/tn.xml')}")
    await say(bot, USER, "/follow Nexperia source:test-feed")
    await say(bot, USER, "/follow eVTOL")
    assert "bot's own sources" in await say(bot, OTHER, "/removesource caixin-tech")  # none own
    assert "Send /removesource with the name" in await say(bot, USER, "/removesource")
    unknown = await say(bot, USER, "/removesource nope")
    assert "no source of its own named nope" in unknown and "test-feed" in unknown
    assert "bot's own sources" in await say(bot, USER, "/removesource caixin-tech")
    answer = await say(bot, USER, "/removesource test-feed")
    assert "Removed Test feed (test-feed)" in answer
    assert "Unfollowed with it, as they named it: Nexperia source:test-feed" in answer
    assert bot.core.store.subscriptions(USER) == ["eVTOL"]
    assert "no sources of its own" in await say(bot, USER, "/removesource test-feed")


async def test_the_sources_buttons_follow_all_and_remove(bot: Bot, feeds: FeedServer):
    Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
    await say(bot, USER, f"/addsource {feeds.url('/tn.xml')}")
    listing = await bot.say(USER, "/sources")
    rows = listing.reply_markup["inline_keyboard"]
    bot.fake.push_callback(USER, listing.message_id, rows[0][0]["callback_data"])
    followed = (await bot.wait_messages(USER, 3))[-1]
    assert "Following source:caixin-tech" in visible_text(followed.text)
    assert "Following" in await say(bot, USER, "/follow Nexperia source:test-feed")

    def row(n: int) -> list[str]:
        shown = bot.fake.shown(USER, listing.message_id) or {}
        keyboard = shown.get("reply_markup", {}).get("inline_keyboard", [])
        return [b["callback_data"] for b in keyboard[n]] if len(keyboard) > n else []

    async def pressed(data: str, answers: int) -> str:
        bot.fake.push_callback(USER, listing.message_id, data)
        await until(lambda: len(bot.fake.callback_answers) >= answers, f"an answer to {data}")
        return bot.fake.callback_answers[-1].get("text", "")

    # the first press of Remove only asks, naming the keyword that would go with it
    toast = await pressed(rows[1][1]["callback_data"], 2)
    assert "Remove test-feed?" in toast and "Nexperia source:test-feed" in toast, toast
    await until(lambda: row(1) == ["sy:test-feed", "sk:test-feed"], "the confirm row")
    assert [e.slug for e in bot.core.registry.own(USER)] == ["test-feed"]
    assert "Kept test-feed" in await pressed("sk:test-feed", 3)
    await until(lambda: row(1) == ["sf:test-feed", "sr:test-feed"], "the row back")
    await pressed("sr:test-feed", 4)
    await pressed("sy:test-feed", 5)
    removed = (await bot.wait_messages(USER, 5))[-1]
    assert "Removed Test feed (test-feed)" in visible_text(removed.text)
    assert bot.core.registry.own(USER) == [] and bot.core.store.subscriptions(USER) == [
        "source:caixin-tech"]
    await until(lambda: "test-feed" not in (bot.fake.shown(USER, listing.message_id) or {})
                .get("text", "test-feed"), "the /sources message redrawn without the source")
    # stale presses (Remove, or Yes again) remove nothing more and say so in the toast only
    assert "no longer this chat's" in await pressed("sr:test-feed", 6)
    sent = len(bot.fake.messages(USER))
    assert "no longer this chat's" in await pressed("sy:test-feed", 7)
    assert len(bot.fake.messages(USER)) == sent


async def test_the_remove_toast_fits_telegrams_200_units(bot: Bot, feeds: FeedServer):
    Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
    await say(bot, USER, f"/addsource {feeds.url('/tn.xml')}")
    for n in range(3):  # 𠮷 (U+20BB7) counts twice in UTF-16, as Telegram counts
        assert "Following" in await say(bot, USER, f"/follow {n}{'𠮷' * 70} source:test-feed")
    listing = await bot.say(USER, "/sources")
    bot.fake.push_callback(USER, listing.message_id, "sr:test-feed")
    await until(lambda: len(bot.fake.callback_answers) >= 1, "the toast")
    toast = bot.fake.callback_answers[-1]["text"]
    assert toast.startswith("Remove test-feed?") and "0𠮷" in toast, toast
    assert len(toast.encode("utf-16-le")) // 2 <= 200


async def test_in_groups_only_admins_add_and_remove(bot: Bot, feeds: FeedServer):
    Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
    fake = bot.fake
    fake.push_message(GROUP, "/start", chat_type="group", user_id=ADMIN)
    await bot.wait_messages(GROUP, 1)
    fake.set_admins(GROUP, [ADMIN])
    command = f"/addsource@{BOT_USERNAME} {feeds.url('/tn.xml')}"
    refusal = await say(bot, GROUP, command, chat_type="group", user_id=MEMBER)
    assert "administrators" in refusal and bot.core.registry.own(GROUP) == []
    assert "Added" in await say(bot, GROUP, command, chat_type="group", user_id=ADMIN)
    remove = f"/removesource@{BOT_USERNAME} test-feed"
    assert "administrators" in await say(bot, GROUP, remove, chat_type="group", user_id=MEMBER)
    listing = await say(bot, GROUP, f"/sources@{BOT_USERNAME}", chat_type="group",
                        user_id=MEMBER)
    assert "test-feed" in listing  # anyone may look


async def test_in_chinese(bot: Bot, feeds: FeedServer):
    Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
    answer = await say(bot, USER, f"/addsource {feeds.url('/tn.xml')}", language_code="zh")
    assert "已添加 Test feed（test-feed）：1 条标题" in answer, answer
    assert "可用的新闻源" in await say(bot, USER, "/sources", language_code="zh")


async def test_turned_off_the_operators_sources_still_list(
    tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch
):
    bot = await start_bot(tmp_path, fake, feeds, monkeypatch,
                          extra="[chat_sources]\nenabled = false\n")
    try:
        Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
        assert "does not take sources" in await say(bot, USER, f"/addsource {feeds.url('/tn.xml')}")
        listing = await say(bot, USER, "/sources")
        assert "caixin-tech" in listing and "does not take sources" in listing
        assert feeds.count("/tn.xml") == 0
    finally:
        await bot.stop()


async def test_a_url_another_chat_has_is_shared_and_the_reply_tells_nothing_of_it(
    bot: Bot, feeds: FeedServer
):
    """One fetch for both chats, and the second chat's reply reads as the first's: nobody
    learns by adding a URL whether another chat follows it."""
    feed = technode(feeds)
    first = await say(bot, USER, f"/addsource {feed.url}")
    assert "Added Test feed (test-feed): 2 headlines." in first
    fetched = feeds.count("/technode.xml")
    shared = await say(bot, OTHER, f"/addsource {feed.url}")
    assert shared == first, shared
    assert feeds.count("/technode.xml") == fetched  # joined, not fetched again
    assert bot.core.registry.get("test-feed").chats == frozenset({USER, OTHER})


async def test_sources_with_many_sources_splits_and_keeps_the_chats_own_buttons(
    tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch
):
    """120 long-named operator sources and one of the chat's own: /sources comes in parts
    under Telegram's 4096 characters, names every source once, and its buttons (at most 30
    rows, under the last part) give the chat's own source its Remove button first."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    names = [f"Operator source {n:03d} with a rather long descriptive name" for n in range(120)]
    operators = []
    for n, name in enumerate(names):
        operators.append((name, Feed(feeds, f"/op/{n}.xml").url))
    config = write_config(tmp_path, fake, operators, interval=300,
                          polling='allow_hosts = ["127.0.0.1"]')
    bot = Bot(fake, load_settings(config))
    await bot.start()
    try:
        feed = technode(feeds)
        assert "Added Test feed" in await say(bot, USER, f"/addsource {feed.url}")
        before = len(fake.messages(USER))
        fake.push_message(USER, "/sources")
        deadline = asyncio.get_running_loop().time() + 15
        while not any(m.reply_markup for m in fake.messages(USER)[before:]):
            assert asyncio.get_running_loop().time() < deadline, "no /sources buttons"
            await asyncio.sleep(0.05)
        parts = fake.messages(USER)[before:]
    finally:
        await bot.stop()
    assert len(parts) > 1
    assert all(len(visible_text(m.text)) <= 4096 for m in parts)
    assert [m.reply_markup is not None for m in parts] == [False] * (len(parts) - 1) + [True]
    text = "\n".join(visible_text(m.text) for m in parts)
    slugs = [entry.slug for entry in bot.core.registry.operators()]
    assert len(slugs) == 120
    for slug in [*slugs, "test-feed"]:
        assert text.count(f"— {slug} ·") == 1, slug
    rows = parts[-1].reply_markup["inline_keyboard"]
    assert len(rows) == 30
    assert [b["callback_data"] for b in rows[0]] == ["sf:test-feed", "sr:test-feed"]
    assert "Buttons are shown for 30 of them" in text


async def test_remove_on_a_sources_message_telegram_no_longer_shows(bot: Bot, feeds: FeedServer):
    """Presses carrying an InaccessibleMessage (date 0) still ask, remove and say so."""
    Feed(feeds, "/tn.xml", [Item("TN", "https://tn.example/1")]).publish()
    await say(bot, USER, f"/addsource {feeds.url('/tn.xml')}")
    listing = await bot.say(USER, "/sources")
    sent = len(bot.fake.messages(USER))
    bot.fake.push_callback(USER, listing.message_id, "sr:test-feed", inaccessible=True)
    await until(lambda: len(bot.fake.callback_answers) >= 1, "the Remove toast")
    assert "Remove test-feed?" in bot.fake.callback_answers[-1].get("text", "")
    bot.fake.push_callback(USER, listing.message_id, "sy:test-feed", inaccessible=True)
    removed = (await bot.wait_messages(USER, sent + 1))[-1]
    assert "Removed Test feed (test-feed)" in visible_text(removed.text)
    assert bot.core.registry.own(USER) == []
    assert bot.core.metrics.errors.labels(kind="handler")._value.get() == 0
