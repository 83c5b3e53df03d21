"""Fairness end to end (issue 11): one group floods, everyone else is answered at once."""

from __future__ import annotations

import asyncio
import statistics
import time

import httpx

from bot.i18n import t
from tests.e2e.conftest import BOT_USERNAME, Bot
from tests.fakes.telegram import visible_text

FLOOD_GROUP = -8001
FLOODER = 8002
OTHERS = range(8100, 8120)


async def flood(bot: Bot, count: int = 200, seconds: float = 10.0) -> None:
    for _ in range(count):
        bot.fake.push_message(
            FLOOD_GROUP, f"/help@{BOT_USERNAME}", chat_type="group", user_id=FLOODER
        )
        await asyncio.sleep(seconds / count)


async def other_chats(bot: Bot, until: float) -> list[float]:
    """A /start from another chat every 0.5 s; how long each waited for its answer."""
    waits = []
    for chat_id in OTHERS:
        if time.monotonic() >= until:
            break
        started = time.monotonic()
        await bot.say(chat_id, "/start", timeout=20)
        waits.append(time.monotonic() - started)
        await asyncio.sleep(max(0.0, 0.5 - waits[-1]))
    return waits


async def health_checks(url: str, until: float) -> list[float]:
    waits = []
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=10) as client:
        while time.monotonic() < until:
            started = time.monotonic()
            response = await client.get("/healthz")
            waits.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            await asyncio.sleep(0.2)
    return waits


async def test_one_flooding_chat_delays_nobody_and_is_told_to_slow_down_once(newsbot: Bot):
    server = newsbot.core.metrics_server
    assert server is not None
    until = time.monotonic() + 10.0
    flooding = asyncio.create_task(flood(newsbot))
    await asyncio.sleep(1.0)  # the group's burst is spent, its replies wait for its pacing
    waits, health = await asyncio.gather(
        other_chats(newsbot, until), health_checks(server.url, until)
    )
    await flooding
    assert len(waits) >= 10 and max(waits) < 2.0, (statistics.median(waits), max(waits))
    assert health and max(health) < 1.0, max(health)

    slow_down = visible_text(t("en", "slow_down"))
    group = [visible_text(m.text) for m in newsbot.fake.messages(FLOOD_GROUP)]
    assert group.count(slow_down) == 1, group
    # the budget: a burst of 10, then about one a second; the rest was dropped unanswered
    lanes = newsbot.application.update_processor
    assert lanes.refused >= 170
