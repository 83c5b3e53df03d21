"""Polls paced by what sources publish, end to end: the real bot against the fake feed server.

Small bounds (1 s floor, a few seconds ceiling) so that each test runs in seconds.  The bot's
poll job ticks every second, so a source due every second is polled every 1-2 s.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from datetime import UTC, datetime, timedelta

from bot.config import load_settings
from bot.sources import SourceState
from tests.e2e.conftest import Bot, Feed, Item, rss, write_config
from tests.fakes.feedserver import FeedServer, RecordedRequest, Route

MANY = "requests_per_hour = 1000000"  # a budget that never binds: the bounds decide


def ticking_feed(server: FeedServer, path: str, every: float, **route: object) -> None:
    """A feed that publishes a new item every ``every`` seconds (dated as it appears)."""
    start = datetime.now(UTC)

    def answer(_request: RecordedRequest) -> Route:
        now = datetime.now(UTC)
        count = int((now - start).total_seconds() / every) + 1
        items = [
            Item(f"Tick {n}", f"https://e.com{path}/{n}",
                 published=start + timedelta(seconds=n * every))
            for n in range(count - 1, max(count - 30, 0) - 1, -1)
        ]
        return Route(body=rss(items), **route)  # type: ignore[arg-type]

    server.add(path, handler=answer)


def gaps(server: FeedServer, path: str) -> list[float]:
    times = [r.at for r in server.requests_for(path)]
    return [b - a for a, b in itertools.pairwise(times)]


def state(bot: Bot, name: str) -> SourceState:
    return SourceState.from_dict(bot.core.store.source_state(name))


async def start_bot(tmp_path, fake, monkeypatch, sources, *, pace, polling=MANY) -> Bot:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    config = write_config(tmp_path, fake, sources, interval=2, pace=pace, polling=polling)
    bot = Bot(fake, load_settings(config))
    await bot.start()
    return bot


async def test_a_busy_source_is_polled_near_the_floor_and_a_silent_one_at_the_ceiling(
    tmp_path, fake, feeds, monkeypatch
):
    ticking_feed(feeds, "/busy.xml", every=0.5)
    quiet = Feed(feeds, "/quiet.xml", [
        Item("Old news", "https://e.com/old", published=datetime.now(UTC) - timedelta(days=1))
    ])
    bot = await start_bot(
        tmp_path, fake, monkeypatch,
        [("Busy", feeds.url("/busy.xml")), ("Quiet", quiet.url)], pace=(1, 5),
    )
    try:
        await asyncio.sleep(12)
        busy, silent = state(bot, "Busy"), state(bot, "Quiet")
    finally:
        await bot.stop()
    assert busy.interval == 1 and busy.interval_reason.endswith("(floor)")
    assert "new/h" in busy.interval_reason
    assert statistics.median(gaps(feeds, "/busy.xml")[2:]) < 2.2
    assert len(feeds.requests_for("/busy.xml")) >= 6
    assert silent.interval == 5 and silent.interval_reason.endswith("(ceiling)")
    # after its first poll the quiet source is asked every 5 s (+ up to a tick), not sooner
    assert all(g >= 4.9 for g in gaps(feeds, "/quiet.xml"))
    assert len(feeds.requests_for("/quiet.xml")) <= 3


async def test_retry_after_and_max_age_are_never_undercut(tmp_path, fake, feeds, monkeypatch):
    feeds.add("/busy-server.xml", status=503, headers={"Retry-After": "3"})
    ticking_feed(feeds, "/cached.xml", every=0.5, headers={"Cache-Control": "max-age=3"})
    bot = await start_bot(
        tmp_path, fake, monkeypatch,
        [("Slow down", feeds.url("/busy-server.xml")), ("Cached", feeds.url("/cached.xml"))],
        pace=(1, 10),
    )
    try:
        await asyncio.sleep(10)
        cached = state(bot, "Cached")
        slow = state(bot, "Slow down")
    finally:
        await bot.stop()
    for path in ("/busy-server.xml", "/cached.xml"):
        assert len(feeds.requests_for(path)) >= 2
        assert all(g >= 2.95 for g in gaps(feeds, path)), (path, gaps(feeds, path))
    # without the hint the cached source, publishing twice a second, would be at the floor
    assert cached.interval == 3 and cached.interval_reason.endswith("hint max-age 3s")
    assert slow.failures >= 2 and "Retry-After 3 s" in (slow.last_error or "")


async def test_the_interval_survives_a_restart(tmp_path, fake, feeds, monkeypatch):
    ticking_feed(feeds, "/busy.xml", every=0.5)
    quiet = Feed(feeds, "/quiet.xml", [
        Item("Old news", "https://e.com/old", published=datetime.now(UTC) - timedelta(days=1))
    ])
    sources = [("Busy", feeds.url("/busy.xml")), ("Quiet", quiet.url)]
    bot = await start_bot(tmp_path, fake, monkeypatch, sources, pace=(1, 30))
    try:
        await bot.polls_done("Busy", 4)
        await bot.polls_done("Quiet", 1)
        before = state(bot, "Quiet")
        busy_before = state(bot, "Busy")
        known = bot.core.poller.pace.profile("Busy", time.time()).items
    finally:
        await bot.stop()
    assert before.interval == 30 and busy_before.interval == 1
    quiet_requests = len(feeds.requests_for("/quiet.xml"))

    bot = await start_bot(tmp_path, fake, monkeypatch, sources, pace=(1, 30))
    try:
        after = state(bot, "Quiet")
        # the new bot's scheduler rebuilt the busy source's history from the store
        assert bot.core.poller.pace.profile("Busy", time.time()).items >= known > 0
        assert (after.interval, after.interval_reason) == (before.interval, before.interval_reason)
        assert after.next_poll_at == before.next_poll_at
        polls = state(bot, "Busy").polls
        await bot.polls_done("Busy", polls + 1)
        busy_after = state(bot, "Busy")
        await asyncio.sleep(2)
    finally:
        await bot.stop()
    # the quiet source waits out its 30 s: a restart does not poll it again at once
    assert len(feeds.requests_for("/quiet.xml")) == quiet_requests
    assert busy_after.interval == 1 and busy_after.interval_reason.endswith("(floor)")
