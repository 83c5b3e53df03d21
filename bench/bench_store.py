"""Benchmark of bot.store against plain TinyDB on the same data.

    python bench/bench_store.py            # 1,000, 10,000 and 100,000 chats
    python bench/bench_store.py --quick    # 1,000 and 10,000 chats, fewer samples

Each size and each implementation runs in its own child process so that peak memory (max RSS)
is measured cleanly.  Every chat follows 10 keywords drawn from a 5,000-word vocabulary.

* follow   = a confirmed /follow: ``add_subscription`` of a new keyword (journaled + fdatasync);
             plain TinyDB: ``contains`` + ``insert`` into a ``subscriptions`` table
* unfollow = ``remove_subscription``; plain TinyDB: ``remove`` by query
* list     = ``subscriptions(chat)``; plain TinyDB: ``search`` by chat id
* start-up = ``Store.open`` on a snapshot plus a journal of the measured writes (not compacted:
             the process "died" without closing); plain TinyDB: open + first read
* disk     = bytes in the store directory after start-up

Plain TinyDB uses its default JSONStorage (which does not even fsync); at 100,000 chats one of
its operations takes about a second, so only a small sample of its operations is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

KEYWORDS_PER_CHAT = 10
VOCAB = [f"kw{i:04d}" for i in range(5000)]


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def _summary(ms: list[float]) -> dict[str, float]:
    return {"median": statistics.median(ms), "p99": _pct(ms, 99), "n": len(ms)}


def _dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def _chat_keywords(rng: random.Random) -> list[str]:
    return rng.sample(VOCAB, KEYWORDS_PER_CHAT)


def run_store(chats: int, samples: int, workdir: Path) -> dict:
    from bot.store import Store

    rng = random.Random(chats)
    path = workdir / "store"
    t0 = time.perf_counter()
    s = Store.open(path)
    per_batch = 1000
    for start in range(0, chats, per_batch):
        with s.batch():
            for cid in range(start, min(chats, start + per_batch)):
                s.upsert_chat(cid, kind="private")
                for kw in _chat_keywords(rng):
                    s.add_subscription(cid, kw)
    s.close()
    populate = time.perf_counter() - t0

    t0 = time.perf_counter()
    s = Store.open(path)
    startup_snapshot = time.perf_counter() - t0

    follow, unfollow, listing = [], [], []
    added = []
    for i in range(samples):
        cid = rng.randrange(chats)
        kw = f"new{i}"
        t = time.perf_counter()
        assert s.add_subscription(cid, kw)
        follow.append((time.perf_counter() - t) * 1000)
        added.append((cid, kw))
    for cid, kw in added[: samples // 2]:
        t = time.perf_counter()
        assert s.remove_subscription(cid, kw)
        unfollow.append((time.perf_counter() - t) * 1000)
    for _ in range(samples):
        cid = rng.randrange(chats)
        t = time.perf_counter()
        subs = s.subscriptions(cid)
        listing.append((time.perf_counter() - t) * 1000)
        assert len(subs) >= KEYWORDS_PER_CHAT
    journal_records = s.stats()["journal_records"]
    s._release()  # "die" without compacting: the next open replays the journal
    s._closed = True

    t0 = time.perf_counter()
    s = Store.open(path)
    startup = time.perf_counter() - t0
    assert s.stats()["subscriptions"] == chats * KEYWORDS_PER_CHAT + samples - samples // 2
    disk = _dir_size(path)
    t0 = time.perf_counter()
    s.compact()
    compaction = time.perf_counter() - t0
    s.close()
    return {
        "populate_s": populate, "startup_snapshot_s": startup_snapshot, "startup_s": startup,
        "journal_records_replayed": journal_records, "compaction_s": compaction,
        "follow": _summary(follow), "unfollow": _summary(unfollow), "list": _summary(listing),
        "disk_bytes": disk,
    }


def run_tinydb(chats: int, samples: int, workdir: Path) -> dict:
    from tinydb import Query, TinyDB

    rng = random.Random(chats)
    path = workdir / "plain.json"
    t0 = time.perf_counter()
    db = TinyDB(path)
    db.table("subscriptions").insert_multiple(
        {"chat_id": cid, "query": kw} for cid in range(chats) for kw in _chat_keywords(rng)
    )
    db.close()
    populate = time.perf_counter() - t0

    t0 = time.perf_counter()
    db = TinyDB(path)
    table = db.table("subscriptions")
    len(table)
    startup = time.perf_counter() - t0
    q = Query()
    follow, unfollow, listing = [], [], []
    added = []
    for i in range(samples):
        cid = rng.randrange(chats)
        kw = f"new{i}"
        t = time.perf_counter()
        if not table.contains((q.chat_id == cid) & (q.query == kw)):
            table.insert({"chat_id": cid, "query": kw})
        follow.append((time.perf_counter() - t) * 1000)
        added.append((cid, kw))
    for cid, kw in added[: max(1, samples // 2)]:
        t = time.perf_counter()
        table.remove((q.chat_id == cid) & (q.query == kw))
        unfollow.append((time.perf_counter() - t) * 1000)
    for _ in range(samples):
        cid = rng.randrange(chats)
        t = time.perf_counter()
        table.search(q.chat_id == cid)
        listing.append((time.perf_counter() - t) * 1000)
    db.close()
    return {
        "populate_s": populate, "startup_s": startup, "follow": _summary(follow),
        "unfollow": _summary(unfollow), "list": _summary(listing),
        "disk_bytes": path.stat().st_size,
    }


def child(impl: str, chats: int, samples: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{impl}-", dir=os.environ.get("BENCH_TMP")))
    try:
        result = (run_store if impl == "store" else run_tinydb)(chats, samples, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def spawn(impl: str, chats: int, samples: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", impl, str(chats), str(samples)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k chats, fewer samples")
    parser.add_argument("--child", nargs=3, metavar=("IMPL", "CHATS", "SAMPLES"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    store_samples = 300 if args.quick else 1000
    tinydb_samples = {1_000: 50, 10_000: 10, 100_000: 4}
    if args.quick:
        tinydb_samples = {1_000: 20, 10_000: 4}
    print(f"{'chats':>8} {'impl':<7} {'op':<9} {'median ms':>10} {'p99 ms':>9} {'n':>5}")
    rows = []
    for chats in sizes:
        store = spawn("store", chats, store_samples)
        plain = spawn("tinydb", chats, tinydb_samples[chats])
        rows.append((chats, store, plain))
        for name, r in (("store", store), ("tinydb", plain)):
            for op in ("follow", "unfollow", "list"):
                m = r[op]
                print(f"{chats:>8} {name:<7} {op:<9} {m['median']:>10.3f} {m['p99']:>9.3f} "
                      f"{m['n']:>5}")
        print(f"{chats:>8} store   start-up {store['startup_s']:.3f} s (snapshot + "
              f"{store['journal_records_replayed']} journal records; snapshot only "
              f"{store['startup_snapshot_s']:.3f} s), compaction {store['compaction_s']:.3f} s, "
              f"peak RSS {store['peak_rss_mb']:.0f} MB, disk {store['disk_bytes'] / 1e6:.1f} MB")
        print(f"{chats:>8} tinydb  start-up {plain['startup_s']:.3f} s, "
              f"peak RSS {plain['peak_rss_mb']:.0f} MB, disk {plain['disk_bytes'] / 1e6:.1f} MB")
        sys.stdout.flush()
    if 100_000 in sizes:
        store = rows[-1][1]
        ok_follow = store["follow"]["p99"] < 20
        ok_start = store["startup_s"] < 3
        print(f"targets at 100,000 chats: p99 follow {store['follow']['p99']:.2f} ms < 20 ms: "
              f"{'OK' if ok_follow else 'MISSED'}; start-up {store['startup_s']:.2f} s < 3 s: "
              f"{'OK' if ok_start else 'MISSED'}")


if __name__ == "__main__":
    main()
