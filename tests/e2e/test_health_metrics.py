"""/healthz and /metrics of a running bot, after a real cycle: a command, polls, an alert
that first meets a 429, and its delivery."""

from __future__ import annotations

import asyncio
import re
import time

import httpx
import pytest

from bot.config import load_settings
from tests.e2e.conftest import Bot, Feed, Item, write_config

USER = 7070


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0.0 if absent."""
    label_text = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = "^" + re.escape(name + (f"{{{label_text}}}" if labels else "")) + r" (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def settled(client: httpx.AsyncClient, *names: str, timeout: float = 10.0) -> str:
    """The metrics text once every sample in ``names`` is counted: the fake records a message
    when it answers, a moment before the bot has read the answer and counted it."""
    deadline = time.monotonic() + timeout
    while True:
        text = (await client.get("/metrics")).text
        if all(sample(text, name) > 0 for name in names) or time.monotonic() > deadline:
            return text
        await asyncio.sleep(0.05)


@pytest.fixture
async def observed(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    tech = Feed(feeds, "/tech.xml")
    config = write_config(tmp_path, fake, [("Tech", tech.url)], extra="[metrics]\nport = 0\n")
    bot = Bot(fake, load_settings(config))
    bot.tech = tech  # type: ignore[attr-defined]
    await bot.start()
    await bot.polls_done("Tech", 1)
    server = bot.core.metrics_server
    assert server is not None and server.port != 9464
    async with httpx.AsyncClient(base_url=server.url, trust_env=False, timeout=5) as client:
        try:
            yield bot, client
        finally:
            await bot.stop()


async def test_metrics_count_a_real_cycle(observed):
    bot, client = observed
    reply = await bot.say(USER, "/follow eVTOL")
    assert "eVTOL" in reply.text
    bot.fake.force_errors(1, 429, retry_after=1, chat_id=USER)  # the alert meets a 429 first
    bot.tech.add(Item("Investors Flock to Chinese eVTOLs", "https://example.com/evtol"))
    [_, alert] = await bot.wait_messages(USER, 2)
    assert "eVTOLs" in alert.text

    text = await settled(client, "newsbot_messages_sent_total", "newsbot_alerts_delivered_total")
    assert sample(text, "newsbot_polls_total", source="Tech", status="ok") >= 2
    assert sample(text, "newsbot_items_total", source="Tech") >= 1
    assert sample(text, "newsbot_new_items_total", source="Tech") == 1
    assert sample(text, "newsbot_alerts_queued_total") == 1
    assert sample(text, "newsbot_messages_sent_total") == 1
    assert sample(text, "newsbot_alerts_delivered_total") == 1
    assert sample(text, "newsbot_telegram_429_total") == 1
    assert sample(text, "newsbot_chats") == 1
    assert sample(text, "newsbot_chats_active") == 1
    assert sample(text, "newsbot_subscriptions") == 1
    assert sample(text, "newsbot_outbox_pending") == 0
    assert 0 <= sample(text, "newsbot_poll_tick_age_seconds") < 3

    # a failing source counts as a poll error and an error of kind "source"
    bot.tech.server.add("/tech.xml", status=500)
    deadline = time.monotonic() + 10
    while sample(text, "newsbot_polls_total", source="Tech", status="error") < 1:
        assert time.monotonic() < deadline, "no failed poll counted"
        await asyncio.sleep(0.1)
        text = (await client.get("/metrics")).text
    assert sample(text, "newsbot_errors_total", kind="source") >= 1


async def test_healthz_follows_the_bot(observed):
    bot, client = observed
    response = await client.get("/healthz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["mode"] == "polling"
    assert body["checks"] == {"application": True, "poll_tick": True, "store": True}

    # the poll job stalls: unhealthy after three ticks
    [job] = bot.application.job_queue.get_jobs_by_name("poll")
    job.pause()
    bot.core.last_tick = time.monotonic() - 10
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["poll_tick"] is False
    job.resume()
    deadline = time.monotonic() + 5
    while (await client.get("/healthz")).status_code != 200:
        assert time.monotonic() < deadline, "health did not come back"
        await asyncio.sleep(0.1)

    # the endpoint goes away with the bot
    url = bot.core.metrics_server.url
    await bot.stop()
    assert bot.core.metrics_server is None
    with pytest.raises(httpx.ConnectError):
        await client.get(f"{url}/healthz")
