"""Chats' own sources end to end: two chats add one URL (by OPML, through the running bot),
which is fetched once per interval for both; its new headlines alert those two chats only;
another chat following the same keyword neither gets them nor sees them in /latest or inline
mode; what the add found is recorded, never alerted; a source failing for a day is told to its
chat once, and its recovery once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.chat_sources.opml import OpmlFeed, write_opml
from bot.config import load_settings
from tests.e2e.conftest import (
    Bot,
    Feed,
    Item,
    chat_sources_config,
    running_bot,
    until,
    write_config,
)
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram, visible_text

A, B, C = 3501, 3502, 3503  # A and B add TechNode; C follows the same keyword without it


@pytest.fixture
async def bot(tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch) -> AsyncIterator[Bot]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    async with running_bot(fake, chat_sources_config(tmp_path, fake, feeds)) as running:
        yield running


async def add_by_opml(bot: Bot, chat_id: int, url: str) -> None:
    upload = write_opml([OpmlFeed(url, "TechNode")], title="mine")
    *_, report = await bot.send_document(chat_id, upload, "mine.opml", replies=2)
    assert "1" in visible_text(report.text), report.text


async def test_two_chats_share_one_fetch_and_its_headlines_stay_theirs(
    bot: Bot, feeds: FeedServer, fake: FakeTelegram
):
    technode = Feed(feeds, "/technode.xml", [Item("Nexperia old news", "https://tn.example/0")],
                    title="TechNode")
    await add_by_opml(bot, A, technode.url)
    await add_by_opml(bot, B, technode.url)
    for chat in (A, B, C):
        reply = await bot.say(chat, "/follow Nexperia")
        assert "Following" in visible_text(reply.text)
    await bot.polls_done("chat:technode", 2)  # polled by the bot, the old item not alerted
    technode.add(Item("Nexperia halts wafer supply to China unit", "https://tn.example/1"))
    alert_a = (await bot.wait_messages(A, 4))[-1]
    alert_b = (await bot.wait_messages(B, 4))[-1]
    for alert in (alert_a, alert_b):
        assert "Nexperia halts wafer supply" in visible_text(alert.text)
        assert "https://tn.example/1" in alert.text
    await asyncio.sleep(1.5)  # more cycles: C never gets it, nobody gets the old item
    assert len(fake.messages(C)) == 1  # the /follow reply only
    for chat in (A, B):
        texts = [visible_text(m.text) for m in fake.messages(chat)]
        assert not any("old news" in t for t in texts)
    # one fetch per interval (1 s here) for both chats, never one each
    times = [r.at for r in feeds.requests_for("/technode.xml")]
    assert all(later - earlier > 0.5 for earlier, later in itertools.pairwise(times))

    seen_by_a = visible_text((await bot.say(A, "/latest Nexperia")).text)
    assert "Nexperia halts wafer supply" in seen_by_a
    seen_by_c = visible_text((await bot.say(C, "/latest Nexperia")).text)
    assert "wafer supply" not in seen_by_c and "old news" not in seen_by_c
    everything_c = visible_text((await bot.say(C, "/latest")).text)
    assert "Operator story" in everything_c and "Nexperia" not in everything_c
    fake.inline_mode = True  # BotFather's /setinline
    answer = await fake.wait_for_inline_answer_async(fake.push_inline_query(C, "nexperia"))
    assert answer.results == []  # inline results are public: never a chat's own source


class Clock:
    """The bot's clock, moved on by the test (the tick job still runs every real second)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


async def test_a_source_failing_for_a_day_is_told_once_and_its_recovery_once(
    tmp_path, fake: FakeTelegram, feeds: FeedServer, monkeypatch
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    config = write_config(tmp_path, fake, [], polling='allow_hosts = ["127.0.0.1"]')
    clock = Clock()
    bot = Bot(fake, load_settings(config), clock=clock)
    await bot.start()
    try:
        technode = Feed(feeds, "/technode.xml", [Item("Old news", "https://tn.example/0")],
                        title="TechNode")
        await add_by_opml(bot, A, technode.url)
        feeds.add("/technode.xml", b"gone", status=404)
        clock.offset = timedelta(minutes=10)  # the next poll fails: the run of failures begins
        name = bot.core.registry.own(A)[0].state_name  # technode-2: the operator has technode
        state = bot.core.store.source_state
        await until(lambda: state(name).get("failures", 0) >= 1, "a failed poll")
        assert len(fake.messages(A)) == 2  # one failure is no day of failures
        clock.offset = timedelta(hours=25)  # a day of failed polls
        notice = (await bot.wait_messages(A, 3))[-1]
        text = visible_text(notice.text)
        assert "TechNode" in text and "/removesource technode" in text, text
        await asyncio.sleep(2.5)  # polled rarely now: no second notice
        assert len(fake.messages(A)) == 3
        technode.publish()
        clock.offset = timedelta(hours=32)  # past the 6 hours between rare polls
        recovered = (await bot.wait_messages(A, 4))[-1]
        assert "works again" in visible_text(recovered.text)
    finally:
        await bot.stop()
