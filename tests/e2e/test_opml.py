"""OPML end to end: a file sent to the running bot adds its feeds (counted in the reply, by
reason, in the chat's language); /export sends a document that reads back the same feeds;
big, broken or wrong files are refused with a reason; in groups only admins import."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.chat_sources.opml import MAX_BYTES, OpmlFeed, parse_opml, write_opml
from bot.config import load_settings
from tests.e2e.conftest import Bot, Feed, Item, chat_sources_config, running_bot, write_config
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram, visible_text

USER = 3101
OTHER = 3102
GROUP = -3200
ADMIN, MEMBER = 3201, 3202


def feed(server: FeedServer, name: str, title: str = "") -> Feed:
    return Feed(server, f"/{name}.xml", [Item(f"{name} story", f"https://example.com/{name}/1")],
                title=title or name.title())


@pytest.fixture
async def bot(tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch) -> AsyncIterator[Bot]:
    """A running bot whose chats may add sources on 127.0.0.1, at most 3 each; sources are
    polled a minute apart, so every fetch a test sees is the import's own."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    config = chat_sources_config(tmp_path, fake, feeds, interval=60)
    async with running_bot(fake, config) as running:
        yield running


async def test_opml_in_and_out(bot: Bot, feeds: FeedServer, fake: FakeTelegram):
    a, b, c, d = feed(feeds, "alpha", "Alpha Daily"), *(
        feed(feeds, n) for n in ("beta", "gamma", "delta"))
    feeds.add("/page.html", b"<html><body>no feed here</body></html>", content_type="text/html")
    upload = write_opml(
        [
            OpmlFeed(a.url, "Alpha Daily"),
            OpmlFeed(feeds.url("/page.html"), "Just a page"),
            OpmlFeed(b.url, "Beta"),
            OpmlFeed(feeds.url("/missing.xml"), "Missing"),
            OpmlFeed(c.url, "Gamma"),
            OpmlFeed(d.url, "Delta"),  # over the limit of 3
        ],
        title="my reader",
    )
    checking, report = await bot.send_document(USER, upload, "subscriptions.opml", replies=2)
    assert "Checking 6 feed(s)" in visible_text(checking.text)
    text = visible_text(report.text)
    assert "subscriptions.opml: 6 feed(s)" in text
    assert "Added 3: Alpha Daily (alpha-daily), Beta (beta), Gamma (gamma)" in text
    assert "Refused 3:" in text
    assert "not a feed (1): Just a page" in text
    assert "could not be fetched (1): Missing" in text
    assert "over this chat's limit of 3 sources (1): Delta" in text
    assert "/follow source:alpha-daily" in text
    assert feeds.count("/delta.xml") == 0  # over the limit: never fetched
    own = bot.core.registry.own(USER)
    assert [e.url for e in own] == [a.url, b.url, c.url]
    assert fake.downloads  # the file came through getFile and its download URL

    # the same file again: everything there or over the limit
    _, again = await bot.send_document(USER, upload, "subscriptions.opml", replies=2)
    again_text = visible_text(again.text)
    assert "Nothing new was added." in again_text
    assert "Already here 3: Alpha Daily, Beta, Gamma" in again_text

    # out: a document that reads back the same feeds
    before = len(fake.documents_to(USER))
    fake.push_message(USER, "/export")
    documents = await _documents(fake, USER, before + 1)
    exported = documents[-1]
    assert exported.file_name == "newsbot-sources.opml"
    assert "3 source(s)" in exported.caption
    back = parse_opml(exported.data)
    assert [(f.url, f.title) for f in back.feeds] == [
        (a.url, "Alpha Daily"), (b.url, "Beta"), (c.url, "Gamma"),
    ]
    # and that file, sent in another chat, adds the same feeds there (shared: no new fetch)
    fetched = feeds.count("/alpha.xml")
    _, other = await bot.send_document(OTHER, exported.data, exported.file_name, replies=2)
    assert "Added 3:" in visible_text(other.text)
    assert feeds.count("/alpha.xml") == fetched
    assert [e.url for e in bot.core.registry.own(OTHER)] == [a.url, b.url, c.url]


async def _documents(fake: FakeTelegram, chat_id: int, count: int) -> list:
    import asyncio

    for _ in range(200):
        found = fake.documents_to(chat_id)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no document to {chat_id}")


async def test_export_without_sources_says_so(bot: Bot, fake: FakeTelegram):
    reply = await bot.say(USER, "/export")
    assert "no sources of its own yet" in visible_text(reply.text)
    assert fake.documents == []


async def test_big_files_are_refused_before_download(bot: Bot, fake: FakeTelegram):
    small = write_opml([], title="x")
    [reply] = await bot.send_document(USER, small, "big.opml", file_size=MAX_BYTES + 1)
    assert "too large (1.0 MB)" in visible_text(reply.text)
    assert fake.downloads == []
    assert not any(method == "getFile" for method, _ in fake.calls)
    # without a declared size, getFile's answer is the one judged
    [reply] = await bot.send_document(
        USER, small, "big2.opml", file_size=MAX_BYTES + 1, declare_size=False
    )
    assert "too large" in visible_text(reply.text)
    assert fake.downloads == []


@pytest.mark.parametrize(
    ("data", "name", "expected"),
    [
        (b"<opml><body><outline", "broken.opml", "not well-formed XML"),
        (b'<rss version="2.0"><channel/></rss>', "feed.xml", "a feed itself"),
        (b'<!DOCTYPE opml [<!ENTITY a "b">]><opml/>', "evil.opml", "DOCTYPE"),
        (b"<html><body>hi</body></html>", "page.opml", "XML but not OPML"),
        (b'<opml version="2.0"><body/></opml>', "empty.opml", "lists no feeds"),
        (b"%PDF-1.4", "paper.pdf", "Send me an .opml file"),
    ],
)
async def test_wrong_files_get_a_reason(bot: Bot, data: bytes, name: str, expected: str):
    mime = "application/pdf" if name.endswith(".pdf") else "text/x-opml"
    [reply] = await bot.send_document(USER, data, name, mime_type=mime)
    assert expected in visible_text(reply.text)
    assert bot.core.registry.own(USER) == []


async def test_in_chinese(bot: Bot, feeds: FeedServer):
    a = feed(feeds, "alpha")
    local = OpmlFeed("file:///etc/passwd", "本地")
    data = write_opml([OpmlFeed(a.url, "阿尔法"), local], title="x")
    _, report = await bot.send_document(USER, data, "订阅.opml", replies=2, language_code="zh")
    text = visible_text(report.text)
    assert "已添加 1 个：阿尔法" in text
    assert "不是网址（1 个）：本地" in text


async def test_in_groups_only_admins_import(bot: Bot, feeds: FeedServer, fake: FakeTelegram):
    a = feed(feeds, "alpha")
    data = write_opml([OpmlFeed(a.url, "Alpha")], title="x")
    fake.push_message(GROUP, "/start", chat_type="group", user_id=ADMIN)
    await bot.wait_messages(GROUP, 1)
    fake.set_admins(GROUP, [ADMIN])
    fake.push_message(GROUP, "hello", chat_type="group", user_id=MEMBER)
    [refusal] = await bot.send_document(GROUP, data, "g.opml", chat_type="group", user_id=MEMBER)
    assert "administrators" in visible_text(refusal.text)
    assert bot.core.registry.own(GROUP) == []
    _, report = await bot.send_document(
        GROUP, data, "g.opml", chat_type="group", user_id=ADMIN, replies=2
    )
    assert "Added 1: Alpha" in visible_text(report.text)
    # a group's other files are not the bot's business
    before = len(fake.messages(GROUP))
    fake.push_document(GROUP, b"%PDF", "minutes.pdf", mime_type="application/pdf",
                       chat_type="group", user_id=ADMIN)
    fake.push_message(GROUP, "/export@newsbot_test_bot", chat_type="group", user_id=MEMBER)
    exported = (await _documents(fake, GROUP, 1))[-1]  # anyone may export
    assert [f.url for f in parse_opml(exported.data).feeds] == [a.url]
    assert len(fake.messages(GROUP)) == before  # and the PDF got no answer


async def test_turned_off(tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    tech = Feed(feeds, "/tech.xml")
    config = write_config(
        tmp_path, fake, [("Tech", tech.url)], extra="[chat_sources]\nenabled = false\n"
    )
    bot = Bot(fake, load_settings(config))
    await bot.start()
    try:
        data = write_opml([OpmlFeed(feed(feeds, "alpha").url, "Alpha")], title="x")
        [reply] = await bot.send_document(USER, data)
        assert "does not take sources of your own" in visible_text(reply.text)
        assert fake.downloads == []
    finally:
        await bot.stop()
