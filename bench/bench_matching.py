"""Benchmark of bot.matching (issue 4): MatchIndex against the naive per-keyword regex loop.

    python bench/bench_matching.py           # full run: 1k / 100k / 1M subscriptions
    python bench/bench_matching.py --quick   # small run

Subscriptions: chats x 10 queries drawn uniformly from 100,000 distinct generated terms
(words, phrases, acronyms, CJK strings, some with OR and exclusions).  Two workloads, matched
against the same index:

* realistic (what the issue's targets are about): 10,000 real headlines, cycled: the titles
  and summaries (cut to about 250 characters) of the real feeds captured in
  ``../shared/corpus/feeds/`` plus the Caixin tech-page headlines of
  ``../shared/seeds/cx-tech-page.txt``; without ``../shared``, the small feeds in
  ``tests/fixtures/sources/`` (the output says which).
* stress (keyword-dense): generated word salad in which about 75% of the words are followed
  names, acronyms, nouns or terms, so at 1M subscriptions a headline matches hundreds of
  chats and the cost is mostly building that fan-out.

A third run, **scoped** (issue 14), builds each index again with 10% of the subscriptions
scoped to one of 50 sources (6% ``term source:sN``, 2% ``term -source:sN``, 2% a whole source
``source:sN``) and matches the realistic headlines, each from one of those sources.

Memory is the RSS growth while building the index (queries included).  Everything is
seeded and ordered: two runs see the same data.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import SourceConfig  # noqa: E402
from bot.matching import MatchIndex, QueryError, parse_query  # noqa: E402
from bot.sources import parse_body  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS_FEEDS = SHARED / "corpus" / "feeds"
CAIXIN_PAGE = SHARED / "seeds" / "cx-tech-page.txt"
FIXTURE_FEEDS = ROOT / "tests" / "fixtures" / "sources"
SUMMARY_CHARS = 250


def _words(text: str) -> list[str]:
    return text.split()

NAMES = _words(
    "Tencent Baidu Alibaba Huawei Xiaomi BYD Nio XPeng ByteDance TSMC SMIC DJI Nexperia Unitree "
    "WeRide Apple Nvidia Meituan JD.com Pinduoduo Temu Shein Lenovo Geely Zeekr CATL Hesai "
    "EHang XAG Mininglamp Kuaishou Bilibili NetEase Zhipu Moonshot DeepSeek Qualcomm Intel "
    "Samsung SK Hynix AT&T Microsoft Google Amazon Meta OpenAI Anthropic"
)
ACRONYMS = _words("AI US EU EV IPO AR VR 5G GPU CPU LLM SEC CAC MIIT NDRC TSMC DJI")
NOUNS = _words(
    "chip chips battery batteries eVTOL eVTOLs robotaxi drone drones smartphone cloud "
    "semiconductor wafer supply export control rule talks profit revenue deal dispute ban "
    "tariff subsidy factory model models data center centers startup funding round valuation "
    "robot robots humanoid car cars platform app users ads gaming market share shares stock "
    "economy regulator regulators license launch roadmap cluster satellite network"
)
VERBS = _words(
    "Unveils Launches Denies Halts Resumes Raises Cuts Targets Doubles Tumbles Soars Bets "
    "Signs Wins Loses Plans Expands Suspends Approves Blocks Probes Fines Backs Buys Sells"
)
PLACES = _words("China U.S. Europe Japan Korea Hong Kong Shenzhen Beijing Shanghai Netherlands")
FILLER = _words(
    "the a of to in on for with as after amid over by and its new first year report says "
    "company official industry analysts investors government market week quarter billion "
    "million percent from more than could would will has have been said people"
)
CJK_CHARS = "华为小米汽车芯片发布新能源电池无人机机器人出口管制人工智能腾讯百度阿里巴巴比亚迪半导体"
SYL = _words("ka ri to mo lu ze vin dar qua pex tro li na so ber gan fi xo ru tel mix cor dan vo")


def make_terms(n: int, rng: random.Random) -> list[str]:
    """n distinct query texts: realistic ones first, then generated names and phrases."""
    base = set(NAMES + ACRONYMS + NOUNS)
    base |= {f"{a} {b}" for a in ("low altitude", "export", "data", "chip", "AI") for b in
             ("economy", "control", "center", "supply", "chip")}
    base |= {"华为", "小米汽车", "芯片", "无人机", "人工智能", "比亚迪", "腾讯"}
    out = sorted(base)  # not list(set): its order would depend on PYTHONHASHSEED
    seen = {t.casefold() for t in out}
    while len(out) < n:
        r = rng.random()
        word = "".join(rng.choice(SYL) for _ in range(rng.randint(2, 4))).capitalize()
        if r < 0.60:
            text = word
        elif r < 0.80:
            text = f"{word} {rng.choice(NOUNS)}"
        elif r < 0.88:
            text = "".join(rng.choice(CJK_CHARS) for _ in range(rng.randint(2, 4)))
        elif r < 0.93:
            text = f'{word} OR "{rng.choice(NOUNS)} {rng.choice(NOUNS)}"'
        elif r < 0.97:
            text = f"{word} -{rng.choice(NOUNS)}"
        else:
            text = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(rng.randint(2, 5)))
        if text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    return out


def make_stress_headlines(n: int, terms: list[str], rng: random.Random) -> list[tuple[str, str]]:
    words = [t for t in terms if " OR " not in t and " -" not in t]

    def pick() -> str:
        r = rng.random()
        if r < 0.30:
            return rng.choice(NAMES)
        if r < 0.40:
            return rng.choice(words)
        if r < 0.47:
            return rng.choice(ACRONYMS)
        if r < 0.75:
            return rng.choice(NOUNS).capitalize()
        return rng.choice(FILLER)

    out = []
    for _ in range(n):
        if rng.random() < 0.1:  # a Chinese headline
            title = "".join(rng.choice(CJK_CHARS) for _ in range(rng.randint(12, 30)))
            summary = "".join(rng.choice(CJK_CHARS) for _ in range(rng.randint(40, 80)))
            out.append((title, summary))
            continue
        title = f"{pick()} {rng.choice(VERBS)} " + " ".join(pick() for _ in range(rng.randint(
            3, 8))) + f" in {rng.choice(PLACES)}"
        sentences = []
        while sum(map(len, sentences)) < 250 - len(title):
            s = " ".join(pick() for _ in range(rng.randint(6, 14)))
            sentences.append(s[0].upper() + s[1:] + rng.choice([".", ".", ",", "’s", "."]))
        out.append((title.replace("’s", "’s"), " ".join(sentences)))
    return out


def _cut(text: str, limit: int = SUMMARY_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, at a space when there is one."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    return head[:space] if space > limit // 2 else head


def _caixin_titles(path: Path) -> list[str]:
    """The headlines listed after "LATEST" on the captured Caixin tech page."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines[lines.index("LATEST") + 1:]:
        if not line.strip():
            break
        out.append(line.strip())
    return out


def load_real_headlines() -> tuple[list[tuple[str, str]], str]:
    """Real (title, summary) pairs, and where they came from."""
    source = SourceConfig(name="bench", url="http://bench.invalid/")
    now = datetime(2025, 11, 5, tzinfo=UTC)
    shared = CORPUS_FEEDS.is_dir()
    paths = sorted(CORPUS_FEEDS.glob("*")) if shared else sorted(
        p for p in FIXTURE_FEEDS.glob("*") if p.suffix in (".xml", ".rdf", ".json")
    )
    out: list[tuple[str, str]] = []
    for path in paths:
        try:
            report = parse_body(source, path.read_bytes(), "http://bench.invalid/", now)
        except Exception:  # a fixture that is not a feed
            continue
        out.extend((h.title, _cut(h.summary or "")) for h in report.headlines)
    n_feeds = len(paths)
    if shared and CAIXIN_PAGE.is_file():
        caixin = _caixin_titles(CAIXIN_PAGE)
        out.extend((t, "") for t in caixin)
        where = (f"{len(out) - len(caixin):,} items of {n_feeds} real feeds in {CORPUS_FEEDS} "
                 f"+ {len(caixin)} Caixin headlines of {CAIXIN_PAGE.name}")
    else:
        where = (f"{len(out):,} items of the small feeds in {FIXTURE_FEEDS} "
                 f"(FALLBACK: {SHARED} not found)")
    return out, where


def cycle_to(items: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    return [items[i % len(items)] for i in range(n)]


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


SOURCES = [f"s{n}" for n in range(50)]


def scoped_text(text: str, rng: random.Random) -> str:
    """10% of subscriptions scoped to a source (see the module docs); the rest as they are."""
    roll = rng.random()
    source = rng.choice(SOURCES)
    if roll < 0.06:
        return f"{text} source:{source}"
    if roll < 0.08:
        return f"{text} -source:{source}"
    if roll < 0.10:
        return f"source:{source}"
    return text


def build(
    n_subs: int, terms: list[str], rng: random.Random, *, scoped: bool = False
) -> tuple[MatchIndex, float, int]:
    gc.collect()
    before = rss()
    t0 = time.perf_counter()
    parsed: dict[str, object] = {}
    ix = MatchIndex()
    chats = max(1, n_subs // 10)
    for chat in range(chats):
        for text in rng.sample(terms, 10):
            if scoped:
                text = scoped_text(text, rng)
            q = parsed.get(text)
            if q is None:
                try:
                    q = parsed[text] = parse_query(text)
                except QueryError:  # too long with its source part: unscoped
                    q = parsed[text] = parse_query(text.rsplit(" ", 1)[0])
            ix.add(chat, q)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - t0
    gc.collect()
    return ix, elapsed, rss() - before


def per_headline(fn, headlines) -> list[float]:
    times = []
    clock = time.perf_counter_ns
    for title, summary in headlines:
        t0 = clock()
        fn(title, summary)
        times.append((clock() - t0) / 1000)
    return times


def timed_matches(
    ix: MatchIndex, headlines, sources: list[str] | None = None
) -> tuple[list[float], float]:
    """Per-headline times (µs) of ``ix.match`` and the mean number of chats matched; with
    ``sources``, headline ``i`` comes from ``sources[i % len(sources)]``."""
    times = []
    chats = 0
    clock = time.perf_counter_ns
    match = ix.match
    for i, (title, summary) in enumerate(headlines):
        source = sources[i % len(sources)] if sources else None
        t0 = clock()
        got = match(title, summary, source)
        times.append((clock() - t0) / 1000)
        chats += len(got)
    return times, chats / len(headlines)


def naive_patterns(keywords: list[str]) -> list[re.Pattern[str]]:
    out = []
    for k in keywords:
        core = re.escape(k.split(" OR ")[0].split(" -")[0].strip('"'))
        out.append(re.compile(rf"(?<!\w){core}(?:s|es|'s|’s)?(?!\w)", re.IGNORECASE))
    return out


def naive_match(patterns, title: str, summary: str) -> list[int]:
    return [i for i, p in enumerate(patterns) if p.search(title) or p.search(summary)]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


WORKLOADS = ("realistic", "stress", "scoped")


def _time_workload(ix, hs, name, n, medians, rows, sources=None) -> None:
    timed_matches(ix, hs[:200], sources)  # warm caches
    times, fanout = timed_matches(ix, hs, sources)
    medians[name][n] = statistics.median(times)
    rows[name].append(f"{len(ix):>14,} {medians[name][n]:>10.1f} "
                      f"{pct(times, 0.99):>8.1f} {fanout:>23.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small run (seconds)")
    args = ap.parse_args()
    rng = random.Random(20251105)
    if args.quick:
        n_terms, n_headlines = 20_000, 1_000
        sizes = [1_000, 10_000, 100_000]
        naive = [(1_000, 50), (10_000, 10)]
    else:
        n_terms, n_headlines = 100_000, 10_000
        sizes = [1_000, 100_000, 1_000_000]
        naive = [(1_000, 200), (10_000, 40), (100_000, 8)]
    t0 = time.perf_counter()
    terms = make_terms(n_terms, rng)
    real, where = load_real_headlines()
    data = {
        "realistic": cycle_to(real, n_headlines),
        "stress": make_stress_headlines(n_headlines, terms, rng),
    }
    data["scoped"] = data["realistic"]
    print(f"data: {len(terms):,} distinct terms; prepared in {time.perf_counter() - t0:.1f}s")
    for name in WORKLOADS[:2]:
        hs = data[name]
        avg = statistics.mean(len(t) + len(s) for t, s in hs)
        what = (f"real headlines: {where}, cycled" if name == "realistic"
                else "generated keyword-dense word salad (about 75% of words are followed "
                     "names/acronyms/nouns/terms)")
        print(f"  {name}: {len(hs):,} headlines, title+summary {avg:.0f} chars on average; "
              f"{what}")
    print()
    medians: dict[str, dict[int, float]] = {w: {} for w in WORKLOADS}
    rows: dict[str, list[str]] = {w: [] for w in WORKLOADS}
    print(f"{'index: subscriptions':>20} {'build s':>8} {'memory MB':>10}")
    for n in sizes:
        ix, secs, mem = build(n, terms, random.Random(n))
        print(f"{len(ix):>20,} {secs:>8.1f} {mem / 2**20:>10.0f}", flush=True)
        for name in WORKLOADS[:2]:
            _time_workload(ix, data[name], name, n, medians, rows)
        del ix
        gc.collect()
        ix, secs, mem = build(n, terms, random.Random(n), scoped=True)
        print(f"{len(ix):>20,} {secs:>8.1f} {mem / 2**20:>10.0f}  (10% scoped)", flush=True)
        _time_workload(ix, data["scoped"], "scoped", n, medians, rows, SOURCES)
        del ix
        gc.collect()
    for name in WORKLOADS:
        print()
        title = {
            "realistic": "realistic workload (real headlines; the issue's targets)",
            "stress": "stress test (keyword-dense generated headlines)",
            "scoped": "scoped: realistic headlines from 50 sources, 10% of subscriptions scoped",
        }[name]
        print(f"{title}:")
        print(f"{'subscriptions':>14} {'median µs':>10} {'p99 µs':>8} "
              f"{'chats matched/headline':>23}")
        for row in rows[name]:
            print(row)
    print()
    print(f"{'naive keywords':>14} {'headlines':>10} {'realistic median µs':>20} "
          f"{'stress median µs':>17}")
    naive_medians: dict[str, dict[int, float]] = {w: {} for w in WORKLOADS}
    for k, sample in naive:
        pats = naive_patterns(terms[:k])
        for name in WORKLOADS:
            times = per_headline(lambda t, s, p=pats: naive_match(p, t, s), data[name][:sample])
            naive_medians[name][k] = statistics.median(times)
        print(f"{k:>14,} {sample:>10} {naive_medians['realistic'][k]:>20,.0f} "
              f"{naive_medians['stress'][k]:>17,.0f}")
    print()
    small, mid, big = sizes[0], sizes[1], sizes[-1]
    top_naive = max(naive_medians["realistic"])
    real_m, stress_m = medians["realistic"], medians["stress"]

    def ok(good: bool) -> str:
        return "OK" if good else "MISSED"

    print("targets, on the realistic workload (stress test in brackets, for information):")
    print(f"  median at {big:,} subscriptions <= 100 µs: {real_m[big]:.1f} µs "
          f"-> {ok(real_m[big] <= 100)}   [stress: {stress_m[big]:.1f} µs "
          f"-> {ok(stress_m[big] <= 100)}]")
    ratio, s_ratio = real_m[big] / real_m[small], stress_m[big] / stress_m[small]
    print(f"  at most 2x slower than at {small:,}: {ratio:.2f}x -> {ok(ratio <= 2)}   "
          f"[stress: {s_ratio:.2f}x -> {ok(s_ratio <= 2)}]")
    for n in (mid, big):
        speedup = naive_medians["realistic"][top_naive] / real_m[n]
        s_speedup = naive_medians["stress"][top_naive] / stress_m[n]
        print(f"  >= 1,000x faster than the naive loop at {top_naive:,} keywords "
              f"(index at {n:,} subscriptions): {speedup:,.0f}x -> {ok(speedup >= 1000)}   "
              f"[stress: {s_speedup:,.0f}x -> {ok(s_speedup >= 1000)}]")
    sc = medians["scoped"]
    sc_speedup = naive_medians["realistic"][top_naive] / sc[big]
    print(f"  scoped (10%), median at {big:,} subscriptions <= 100 µs: {sc[big]:.1f} µs "
          f"-> {ok(sc[big] <= 100)}; {sc[big] / sc[small]:.2f}x of {small:,} "
          f"-> {ok(sc[big] / sc[small] <= 2)}; {sc_speedup:,.0f}x the naive loop "
          f"-> {ok(sc_speedup >= 1000)}")
    print(f"total run time {time.perf_counter() - t0:.0f}s")


if __name__ == "__main__":
    main()
