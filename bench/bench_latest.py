"""/latest <query> benchmark: the term index (``Store.search``) against today's bounded scan.

    python bench/bench_latest.py            # 20,000 and 100,000 stored headlines (~2 min)
    python bench/bench_latest.py --quick    # 20,000 only

A real store in a temporary directory holds synthetic headlines (English titles and summaries
from a 3,000-word vocabulary, one in five in Chinese).  For each query the time of one
``/latest`` lookup (5 results) is measured, 50 times: p50 and p99 in milliseconds, for
``Store.latest(5, where)`` (the scan of at most 5,000 of the newest, what /latest did before)
and ``Store.search(query, 5, where)`` (the index, at most 1,000 candidates checked; a whole
source, ``source:quiet``, takes that source's headlines).  Also
printed: the time to open the store (the index is built then) and the process's peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.matching import parse_query  # noqa: E402
from bot.models import Headline  # noqa: E402
from bot.store import Store  # noqa: E402

QUERIES = [
    "zzqx OR qqzz",  # matches nothing: the worst case of a scan
    "eVTOL",
    "battery",
    '"flying car"',
    "Nexperia -rumor",
    "华为",
    "小米 汽车",
    "w17 w42",
    "eVTOL source:s3",  # a keyword in one of 50 busy sources
    "source:quiet",  # a whole source of one headline in 2,000, the oldest: candidates by source
]


def headlines(count: int, seed: int = 7) -> list[Headline]:
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(3000)] + [
        "eVTOL", "battery", "flying", "car", "Nexperia", "rumor", "chip", "export"]
    cjk = "华为小米汽车芯片出口电池新能源监管银行市场科技公司发布"
    now = datetime.now(UTC)
    out = []
    for i in range(count):
        if i % 5 == 0:
            title = "".join(rng.choice(cjk) for _ in range(12))
            summary = "".join(rng.choice(cjk) for _ in range(60))
        else:
            title = " ".join(rng.choice(vocab) for _ in range(9))
            summary = " ".join(rng.choice(vocab) for _ in range(35))
        slug = "quiet" if i % 2000 == 1999 else f"s{rng.randrange(50)}"
        out.append(Headline(source=slug.upper(), id=f"h{i}", title=title,
                            link=f"https://e.com/{i}", summary=summary, source_id=slug,
                            published=now - timedelta(seconds=i)))
    return out


def timed(call, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.99 * len(times)))]


def bench(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(tmp)
        with store.batch():
            store.add_headlines(headlines(count))
        store.close()
        start = time.perf_counter()
        store = Store.open(tmp)
        opened = time.perf_counter() - start
        print(f"\n{count:,} stored headlines (store opened, index built, in {opened:.1f} s)")
        print(f"{'query':18} {'scan p50':>9} {'scan p99':>9} {'index p50':>10} {'index p99':>10}"
              f" {'found':>6}")
        worst = 0.0
        for text in QUERIES:
            query = parse_query(text)

            def where(h: Headline, q=query) -> bool:
                return q.find_in(h.title, h.summary, h.source_id) is not None

            s50, s99 = timed(lambda: store.latest(5, where), max(5, runs // 10))
            i50, i99 = timed(lambda q=query, w=where: store.search(q, 5, w), runs)
            found = len(store.search(query, 5, where))
            worst = max(worst, i99)
            print(f"{text:18} {s50:9.1f} {s99:9.1f} {i50:10.2f} {i99:10.2f} {found:6d}")
        print(f"worst index p99: {worst:.1f} ms")
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    for count in (20_000,) if args.quick else (20_000, 100_000):
        bench(count, args.runs)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory: {peak:.0f} MB (milliseconds above; scan = before, index = now)")


if __name__ == "__main__":
    main()
