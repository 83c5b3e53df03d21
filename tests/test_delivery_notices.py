"""bot/delivery/notices.py: a chat source's failing / recovered notice, sent through the real
ExtBot and Pacer to the fake Bot API, in each chat's language and time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram.ext import ExtBot

from bot.chat_sources.health import Notice
from bot.delivery.notices import notice_text, send_notice
from bot.delivery.pacing import Pacer
from bot.sources.registry import CHAT, SourceEntry
from tests.fakes.telegram import visible_text

EN, ZH, GONE, BLOCKED, UNKNOWN = 11, 12, 13, 14, 15
SINCE = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
ENTRY = SourceEntry("technode", "https://technode.com/feed/", "Tech<Node>", CHAT,
                    chats=frozenset({EN, ZH, GONE, BLOCKED, UNKNOWN}))


def test_texts_in_both_languages_and_the_chats_zone():
    failing = Notice("failing", ENTRY, "gone", "HTTP 404", SINCE)
    text = notice_text("en", failing)
    assert "<b>Tech&lt;Node&gt;</b> (<code>technode</code>)" in text
    assert "since 2026-12-01 08:30 UTC" in text and "“not found” (HTTP 404)" in text
    assert "<code>/removesource technode</code>" in text
    zh = notice_text("zh", failing, {"timezone": "Asia/Shanghai"})
    assert "自 2026-12-01 16:30 CST 起无法使用" in zh and "未找到" in zh
    long = Notice("failing", ENTRY, "unreachable", "ConnectError: " + "x" * 300, SINCE)
    assert "x" * 60 in notice_text("en", long) and "x" * 100 not in notice_text("en", long)
    assert "works again" in notice_text("en", Notice("recovered", ENTRY, "", "", SINCE))
    assert "已恢复" in notice_text("zh", Notice("recovered", ENTRY, "", "", SINCE))


async def test_sent_to_each_active_chat_it_can_reach(fake, store):
    for chat_id in (EN, ZH, BLOCKED, UNKNOWN):
        store.upsert_chat(chat_id, kind="private")
        if chat_id != UNKNOWN:
            fake.add_chat(chat_id, "private")
    store.set_setting(ZH, "language", "zh")
    store.upsert_chat(GONE, kind="private")
    store.set_active(GONE, False)
    fake.block(BLOCKED)
    bot = ExtBot(fake.token, base_url=fake.base_url, rate_limiter=Pacer())
    async with bot:
        told = await send_notice(bot, store, Notice("failing", ENTRY, "timeout", "t", SINCE))
    assert told == 2
    assert "does not answer in time" in visible_text(fake.messages(EN)[0].text)
    assert "没有及时响应" in visible_text(fake.messages(ZH)[0].text)
    assert fake.messages(GONE) == [] and fake.messages(BLOCKED) == []
    assert fake.messages(EN)[0].link_preview_options == {"is_disabled": True}
