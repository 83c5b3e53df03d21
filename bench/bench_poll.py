"""One poll cycle over 200 sources on loopback, with and without conditional GET.

Run: ``python bench/bench_poll.py [--sources 200] [--hosts 20] [--items 30] [--rounds 3]``

A child process serves the feeds from ``--hosts`` servers on 127.0.0.1, 127.0.0.2, ...
(loopback addresses, so the fetcher's one-request-per-host rule does not serialise the whole
cycle); 90% of the feeds carry an ETag and answer 304 to a conditional request, the rest
always send the full body.  The client measures one cycle (all sources polled through
``poll_source`` with one ``Fetcher``): wall time, CPU time of the client process, and peak
Python memory (tracemalloc, in a separate run so that it does not slow the timed ones).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import PollingSettings, SourceConfig
from bot.sources import Fetcher, FetchPolicy, SourceState, poll_source


def make_feed(index: int, items: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Bench feed {index}</title><link>https://bench{index}.example/</link>",
    ]
    for i in range(items):
        parts.append(
            f"<item><title>Story {i} of feed {index}: AT&amp;T, eVTOLs &amp; chips</title>"
            f"<link>https://bench{index}.example/{i}?utm_source=rss</link><guid>b{index}-{i}</guid>"
            f"<pubDate>Mon, 01 Apr 2024 07:{i % 60:02d}:00 +0800</pubDate>"
            f"<description>&lt;p&gt;Summary {i} with &lt;b&gt;markup&lt;/b&gt; and some text "
            f"to make it a realistic length for a news item.&lt;/p&gt;</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(hosts: int, per_host: int, items: int, ready: mp.Queue, stop: mp.Event) -> None:
    from tests.fakes.feedserver import FeedServer

    servers = []
    for h in range(hosts):
        srv = FeedServer(host=f"127.0.0.{h + 1}").start()
        for j in range(per_host):
            n = h * per_host + j
            etag = f'"v{n}"' if n % 10 != 0 else None  # 90% support conditional GET
            srv.add(f"/feed{n}", make_feed(n, items), etag=etag)
        servers.append(srv)
    ready.put([s.base_url for s in servers])
    stop.wait()
    for srv in servers:
        srv.stop()


async def cycle(sources: list[SourceConfig], states: dict[str, SourceState]) -> dict:
    now = datetime.now(UTC)
    async with Fetcher(PollingSettings(timeout_seconds=10)) as fetcher:
        results = await asyncio.gather(
            *(
                poll_source(fetcher, s, states[s.name], now, policy=FetchPolicy.for_source(s.url))
                for s in sources
            )
        )
    return {
        "ok": sum(r.status == "ok" for r in results),
        "not_modified": sum(r.status == "not_modified" for r in results),
        "error": sum(r.status == "error" for r in results),
        "headlines": sum(len(r.headlines) for r in results),
        "states": {r.source: r.state for r in results},
    }


def measure(sources, states, rounds: int) -> dict:
    walls, cpus = [], []
    info: dict = {}
    for _ in range(rounds):
        w0, c0 = time.perf_counter(), time.process_time()
        info = asyncio.run(cycle(sources, states))
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    tracemalloc.start()
    asyncio.run(cycle(sources, states))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    info.update(wall=statistics.median(walls), cpu=statistics.median(cpus), peak=peak)
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--items", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    per_host = -(-args.sources // args.hosts)
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    child = ctx.Process(target=serve, args=(args.hosts, per_host, args.items, ready, stop))
    child.start()
    try:
        bases = ready.get(timeout=60)
        sources = [
            SourceConfig(name=f"s{n}", url=f"{bases[n // per_host]}/feed{n}")
            for n in range(args.sources)
        ]
        fresh = {s.name: SourceState() for s in sources}
        warm = asyncio.run(cycle(sources, fresh))  # learn the ETags
        assert warm["error"] == 0, warm
        conditional = measure(sources, warm["states"], args.rounds)
        unconditional = measure(sources, fresh, args.rounds)
    finally:
        stop.set()
        child.join(10)
    print(
        f"poll cycle: {args.sources} sources on {args.hosts} loopback hosts, "
        f"{args.items} items per feed, 90% with ETag; median of {args.rounds} rounds"
    )
    print(
        f"{'':22}{'wall s':>9}{'cpu s':>9}{'peak MiB':>10}{'200':>6}{'304':>6}{'err':>5}"
        f"{'items':>7}"
    )
    for label, r in (("conditional GET", conditional), ("without conditional", unconditional)):
        print(
            f"{label:22}{r['wall']:9.3f}{r['cpu']:9.3f}{r['peak'] / 2**20:10.1f}"
            f"{r['ok']:6}{r['not_modified']:6}{r['error']:5}{r['headlines']:7}"
        )


if __name__ == "__main__":
    main()
