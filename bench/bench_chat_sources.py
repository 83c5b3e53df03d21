"""One poll cycle of 1,000 chats' own sources (about 20,000 URLs) beside the operator's alone.

Run: ``python bench/bench_chat_sources.py [--chats 1000] [--per-chat 20] [--pool 2000]
[--shared 2] [--operator 200] [--hosts 64] [--full 0.05] [--rounds 1] [--profile FILE]``

A child process serves every feed from ``--hosts`` servers on 127.0.0.1, 127.0.0.2, ...;
``--full`` of them always answer 200 with a body, the rest carry an ETag and answer 304 to a
conditional GET (so a steady cycle is mostly 304).  Each chat has ``--per-chat`` sources:
``--shared`` of them drawn from a pool of ``--pool`` popular feeds that many chats add, the
rest its own; several chats naming one URL share one fetch.

The bot side is the real one: a ``Store`` on disk, the chats' sources as ``/addsource``
leaves them (registry entries, one per URL with the chats that added it), the ``Poller``
driven as the JobQueue drives it (``tick()`` every second while polls run) through one
``Fetcher``: the operator's sources by config, the chats' own through the poller's queue
(``chat_sources.polled``), under the ``STRICT`` policy with the hosts in ``allow_hosts``.
The feeds with an ETag start from the state their first poll leaves (seeded in the store:
recorded a day ago); the others get their real first poll (200, parsed, stored: "first s").
Then the steady cycle that is measured: every source due at once, wall time until the last poll
ended, CPU time of this process, time spent inside ``tick()``.  The same is measured for
the operator's sources alone, in the same run.  The figure that matters is the steady
cycle's wall time beside the interval (``[polling] interval_seconds``, and the floor
``min_interval_seconds``).  "commits" counts the store's journal records in that cycle, one
fsync each: a healthy source's 304 has none of its own (the next tick commits them together);
``--each-304-durable`` measures the old way, one per 304, as a baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import multiprocessing as mp
import random
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import PollingSettings, Settings, SourceConfig, StorageSettings
from bot.matching import MatchIndex
from bot.models import utcnow
from bot.poller import Poller
from bot.sources import Fetcher, SourceState
from bot.sources.registry import CHAT, Registry, SourceEntry
from bot.store import Store


def make_feed(index: int, items: int) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Feed {index}</title><link>https://feed{index}.example/</link>",
    ]
    for i in range(items):
        parts.append(
            f"<item><title>Story {i} of feed {index}: chips, eVTOLs and batteries</title>"
            f"<link>https://feed{index}.example/{i}</link><guid>f{index}-{i}</guid>"
            f"<pubDate>Mon, 30 Nov 2026 07:{i % 60:02d}:00 +0800</pubDate>"
            f"<description>Summary {i}, a realistic length for a news item.</description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def etag_of(n: int, full: float) -> str | None:
    """Feed n's ETag; None for the ``full`` share that always answers 200 with its body."""
    every = max(1, round(1 / full)) if full > 0 else 0
    return None if every and n % every == 0 else f'"v{n}"'


def serve(hosts: int, feeds: int, full: float, items: int, ready: mp.Queue, stop: mp.Event):
    from tests.fakes.feedserver import FeedServer

    servers = [FeedServer(host=f"127.0.0.{h + 1}").start() for h in range(hosts)]
    for n in range(feeds):
        servers[n % hosts].add(f"/feed{n}", make_feed(n, items), etag=etag_of(n, full))
    ready.put([s.base_url for s in servers])
    stop.wait()
    for srv in servers:
        srv.stop()


@dataclass
class Plan:
    """Which URLs each chat adds: ``urls[i]`` is feed i; ``chats[c]`` the feeds of chat c."""

    urls: list[str]
    chats: list[list[int]]
    operator: list[int]


def plan(args: argparse.Namespace, bases: list[str]) -> Plan:
    rng = random.Random(14)
    own = args.per_chat - args.shared
    feeds = args.operator + args.pool + args.chats * own
    urls = [f"{bases[n % len(bases)]}/feed{n}" for n in range(feeds)]
    operator = list(range(args.operator))
    pool = range(args.operator, args.operator + args.pool)
    chats = []
    for c in range(args.chats):
        first = args.operator + args.pool + c * own
        chats.append(rng.sample(pool, args.shared) + list(range(first, first + own)))
    return Plan(urls, chats, operator)


def feeds_of(p: Plan) -> int:
    return len({n for chat in p.chats for n in chat} | set(p.operator))


# ---------------------------------------------------------------------- the bot side


def settings_for(urls: dict[str, str], hosts: int, store_dir: Path) -> Settings:
    polling = PollingSettings(
        allow_hosts=[f"127.0.0.{h + 1}" for h in range(hosts)], timeout_seconds=20
    )
    sources = [
        SourceConfig(name=name, url=url, fetch_summaries=False) for name, url in urls.items()
    ]
    return Settings(storage=StorageSettings(path=store_dir), polling=polling, sources=sources)


def chat_entries(p: Plan) -> list[SourceEntry]:
    """The chats' own sources as ``/addsource`` leaves them: one entry per URL, with every
    chat that added it."""
    chats: dict[int, set[int]] = {}
    for chat, feeds in enumerate(p.chats):
        for n in feeds:
            chats.setdefault(n, set()).add(chat + 1)
    return [
        SourceEntry(f"s{n}", p.urls[n], f"Feed {n}", CHAT, chats=frozenset(members))
        for n, members in sorted(chats.items())
    ]


def seed(store: Store, feeds: dict[str, tuple[int, str]], full: float) -> list[str]:
    """The state a first poll leaves (recorded a day ago, due later) for every feed with an
    ETag, by state name, so only the others need a real first poll; returns those others."""
    now = utcnow()
    first = []
    with store.batch():
        for name, (n, url) in feeds.items():
            etag = etag_of(n, full)
            if etag is None:
                first.append(name)
                continue
            state = SourceState(
                etag=etag, polls=1, last_status=200, watching_since=now - timedelta(days=1),
                last_success_at=now - timedelta(days=1), next_poll_at=now + timedelta(days=1),
            )
            store.set_source_state(name, {**state.to_dict(), "config_url": url})
    return first


def make_due(poller: Poller, names: Iterable[str]) -> None:
    """Every source in ``names`` due now: the operator's in the store, the chats' in the
    poller's queue (where ``OwnSources`` keeps their due times)."""
    now = utcnow()
    poller.own.sync()
    with poller.store.batch():
        for name in names:
            source = poller.sources.get(name)
            if source is None:
                poller.own.set_due(name, now)
                continue
            state = poller._state(source)
            state.next_poll_at = now
            poller._save_state(source, state)


async def drive(poller: Poller, names: Iterable[str]) -> dict[str, float]:
    """The sources ``names`` due now; tick every second as the JobQueue does until every
    poll has ended."""
    make_due(poller, names)
    seq0 = poller.store.stats()["seq"]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    tick_time = 0.0
    started = 0
    while True:
        t0 = time.perf_counter()
        started += len(poller.tick())
        tick_time += time.perf_counter() - t0
        if not poller._tasks and not poller._own_tasks:
            break
        await asyncio.sleep(1.0)
    return {
        "wall": time.perf_counter() - wall0,
        "cpu": time.process_time() - cpu0,
        "tick": tick_time,
        "commits": poller.store.stats()["seq"] - seq0,  # journal records: one fsync each
    }


async def cycle(
    settings: Settings, store: Store, registry: Registry, first_names: list[str],
    rounds: int, profile: str | None,
) -> tuple[dict, dict]:
    async with Fetcher(settings.polling) as fetcher:
        poller = Poller(settings, store, MatchIndex(), fetcher, registry=registry)
        every = [*poller.sources, *(e.state_name for e in registry.chat_sources())]
        first = await drive(poller, first_names)
        first["polled"] = len(first_names)
        steady: dict[str, float] = {}
        for _ in range(rounds):
            profiler = cProfile.Profile() if profile else None
            if profiler is not None:
                profiler.enable()
            result = await drive(poller, every)
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(profile)
            if not steady or result["wall"] < steady["wall"]:
                steady = result
        steady["polled"] = len(every)
        steady["errors"] = sum(
            1 for name in every if SourceState.from_dict(store.source_state(name)).failures
        )
        await poller.stop()
    return first, steady


def measure(
    p: Plan, args: argparse.Namespace, *, chats: bool, profile: str | None = None
) -> tuple[dict, dict]:
    with tempfile.TemporaryDirectory(prefix="bench-chat-sources-") as tmp:
        operator = {f"op{n}": n for n in p.operator}
        settings = settings_for({name: p.urls[n] for name, n in operator.items()}, args.hosts,
                                Path(tmp))
        store = Store.open(Path(tmp), retention=timedelta(days=30))
        if args.each_304_durable:  # the old way, as a baseline: one fsync per 304
            plain = store.set_source_state
            store.set_source_state = (  # type: ignore[method-assign]
                lambda name, state, durable=True: plain(name, state)
            )
        try:
            entries = chat_entries(p) if chats else []
            with store.batch():
                for entry in entries:
                    store.put_registry_entry(entry.slug, entry.to_dict())
            feeds = {name: (n, p.urls[n]) for name, n in operator.items()}
            feeds.update({e.state_name: (int(e.slug[1:]), e.url) for e in entries})
            first_names = seed(store, feeds, args.full)
            registry = Registry(entries)
            return asyncio.run(
                cycle(settings, store, registry, first_names, args.rounds, profile)
            )
        finally:
            store.close()


def report(label: str, first: dict, steady: dict, interval: float) -> str:
    share = steady["wall"] / interval
    return (
        f"{label:26}{steady['polled']:>7}{first['wall']:>10.1f}{steady['wall']:>9.1f}"
        f"{steady['cpu']:>8.1f}{steady['tick']:>8.2f}{steady['commits']:>8}{steady['errors']:>6}"
        f"{share:>9.0%}  {'fits' if steady['wall'] <= interval else 'DOES NOT FIT'}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chats", type=int, default=1000)
    ap.add_argument("--per-chat", type=int, default=20)
    ap.add_argument("--pool", type=int, default=2000, help="popular feeds many chats add")
    ap.add_argument("--shared", type=int, default=2, help="of each chat's, from the pool")
    ap.add_argument("--operator", type=int, default=200)
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--full", type=float, default=0.05, help="share answering 200 always")
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--profile", metavar="FILE", help="cProfile the steady chats' cycle")
    ap.add_argument("--each-304-durable", action="store_true",
                    help="baseline: every 304's state its own commit and fsync (before stop 20)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    interval = PollingSettings().interval_seconds
    floor = PollingSettings().min_interval_seconds
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Queue(), ctx.Event()
    feeds = args.operator + args.pool + args.chats * (args.per_chat - args.shared)
    child = ctx.Process(target=serve, args=(args.hosts, feeds, args.full, args.items, ready, stop))
    child.start()
    try:
        p = plan(args, ready.get(timeout=120))
        op_first, op_steady = measure(p, args, chats=False)
        all_first, all_steady = measure(p, args, chats=True, profile=args.profile)
    finally:
        stop.set()
        child.join(10)
    print(
        f"poll cycle: {args.chats} chats x {args.per_chat} sources ({args.shared} each from a "
        f"pool of {args.pool}), {args.operator} operator sources, {feeds_of(p)} URLs on "
        f"{args.hosts} loopback hosts, {1 - args.full:.0%} answering 304"
    )
    print(
        f"interval {interval:g} s (floor {floor:g} s); steady cycle = every source due at once; "
        "first s = the real first polls of the feeds without ETag (the others seeded)"
    )
    print(
        f"{'':26}{'URLs':>7}{'first s':>10}{'wall s':>9}{'cpu s':>8}{'tick s':>8}"
        f"{'commits':>8}{'err':>6}"
        f"{'of intvl':>9}"
    )
    print(report("operator only", op_first, op_steady, interval))
    print(report("operator + chats' own", all_first, all_steady, interval))


if __name__ == "__main__":
    main()
