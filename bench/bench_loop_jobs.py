"""How long the bot's periodic jobs hold the event loop (issue 11: at most ~50 ms at a time).

    python bench/bench_loop_jobs.py            # ~20 s

The handlers' side is ``bench_fairness.py``; this is the jobs' side, each measured while a
monitor task sleeping 5 ms records the loop's longest pause:

* **parse**: a poll parses a big feed (the largest captured feed in ``../shared/corpus/feeds``,
  else a synthetic 300 kB RSS). Baseline: parsed on the loop, as before; this tree: as
  ``poll_source`` does now, in a worker thread (``asyncio.to_thread``).
* **prune**: the hourly prune job over 20,000 and 100,000 stored headlines, 5 % of them past
  the retention (one synchronous pass: its duration is the stall).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

SHARED = Path(os.environ.get("NEWSBOT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def big_feed() -> tuple[str, bytes]:
    feeds = sorted((SHARED / "corpus" / "feeds").glob("*.xml"), key=lambda p: p.stat().st_size)
    if feeds:
        return feeds[-1].name, feeds[-1].read_bytes()
    items = "".join(
        f"<item><title>Headline {i} about chips and batteries</title>"
        f"<link>https://example.com/{i}</link><guid>g{i}</guid>"
        f"<description>{'A paragraph of summary text. ' * 25}</description></item>"
        for i in range(400)
    )
    feed = f'<rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    return "synthetic", feed.encode()


async def longest_stall(work: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(the loop's longest pause, the work's wall time) while ``work`` runs."""
    stalls: list[float] = []
    done = False

    async def monitor() -> None:
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append(time.perf_counter() - before - 0.005)

    watcher = asyncio.create_task(monitor())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await work()
    wall = time.perf_counter() - started
    done = True
    await watcher
    return max(stalls, default=0.0), wall


def parse_figures() -> list[tuple[str, float, float]]:
    from bot.config import SourceConfig
    from bot.sources import parse_body

    name, body = big_feed()
    source = SourceConfig(name="big", url="https://example.com/feed")
    now = datetime.now(UTC)

    async def inline() -> object:
        return parse_body(source, body, source.url, now)

    async def threaded() -> object:
        return await asyncio.to_thread(parse_body, source, body, source.url, now)

    label = f"parse {name} ({len(body) // 1000} kB)"
    return [
        (f"{label}, on the loop (baseline)", *asyncio.run(longest_stall(inline))),
        (f"{label}, worker thread (this tree)", *asyncio.run(longest_stall(threaded))),
    ]


def prune_figures(count: int) -> tuple[str, float, float]:
    from bot.store import Store

    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        seen = [now - timedelta(days=40)]  # the first 5 % are seen long ago, the rest today
        store = Store.open(Path(tmp) / "store", clock=lambda: seen[0])
        old = count // 20
        with store.batch():
            store.add_headlines(_headlines(0, old, now))
        seen[0] = now
        with store.batch():
            store.add_headlines(_headlines(old, count, now))

        async def prune() -> object:
            return store.prune(now)

        stall, wall = asyncio.run(longest_stall(prune))
        store.close()
    return f"prune {count:,} headlines ({old:,} old)", stall, wall


def _headlines(start: int, end: int, now: datetime) -> list:
    from bot.models import Headline

    return [
        Headline(source="S", id=f"h{i}", link=f"https://example.com/{i}",
                 title=f"Chip export news number {i}", summary=f"Summary {i}",
                 published=now - timedelta(seconds=i))
        for i in range(start, end)
    ]


def main() -> None:
    rows = [*parse_figures(), prune_figures(20_000), prune_figures(100_000)]
    print(f"{'job':58} {'stall ms':>9} {'wall ms':>8}")
    for label, stall, wall in rows:
        print(f"{label:58} {stall * 1000:9.1f} {wall * 1000:8.1f}")
    print("(stall = the loop's longest pause while the job ran; target: at most ~50 ms)")


if __name__ == "__main__":
    main()
