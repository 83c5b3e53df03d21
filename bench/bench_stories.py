"""Benchmark of bot.stories (issue 13): the same-story rule against word-set Jaccard.

    python bench/bench_stories.py           # full run: 100,000 headlines in the window
    python bench/bench_stories.py --quick   # 20,000 headlines in the window
    python bench/bench_stories.py --dev PATH  # the dev set elsewhere than ../shared

Quality, on the dev set ``../shared/stories/uci-news-aggregator-sample.csv`` (category ``t``,
in time order; labelled stories that share an identical title count as one), and on the
hard cases of ``tests/fixtures/stories_hard.jsonl``:

* fold precision: of the headlines added to a story that already had headlines, the share
  whose true story is among those earlier headlines' true stories;
* fold recall: of the headlines whose true story had already appeared, the share added to a
  story holding an earlier headline of that true story;
* hard cases: the share of cases whose grouping comes out exactly as labelled.

The baseline is word-set Jaccard of normalised titles (``bot.matching.normalize``) against
every headline of the stories seen so far: a headline joins the story of its best match if
that reaches the threshold.

Cost: the window is first filled with generated headlines (common words, made-up names and
nouns drawn Zipf-like from a 30,000-word vocabulary, times spread over 70 hours), then every
dev headline is added and timed one by one (features, lookup, scoring and filing).  The
baseline's cost is timed on a few headlines against the same window.  Skips cleanly
without ``../shared``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.matching.normalize import analyse  # noqa: E402
from bot.stories import DEFAULT_RULE, StoryIndex, assign  # noqa: E402
from tests.stories_eval import DEV, fold_scores, load_dev  # noqa: E402
from tests.stories_eval import DevHeadline as Item  # noqa: E402

HARD = ROOT / "tests" / "fixtures" / "stories_hard.jsonl"


def _wordset(title: str) -> frozenset[str]:
    return frozenset(analyse(title).toks)


def baseline(items: list[Item], threshold: float) -> list[str]:
    """Word-set Jaccard against every headline of the stories seen so far."""
    members: list[tuple[frozenset[str], int]] = []  # (word set, story)
    out: list[str] = []
    stories = 0
    for item in items:
        words = _wordset(item.title)
        best, best_story = 0.0, -1
        for other, story in members:
            union = len(words | other)
            sim = len(words & other) / union if union else 0.0
            if sim > best:
                best, best_story = sim, story
        if best_story < 0 or best < threshold:
            best_story = stories
            stories += 1
        members.append((words, best_story))
        out.append(f"b{best_story}")
    return out


def load_hard() -> list[tuple[list[Item], list[int]]]:
    cases = []
    for line in HARD.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        items = [
            Item(r["source"], r["title"], datetime.fromisoformat(r["published"]),
                 r.get("summary", ""))
            for r in case["reports"]
        ]
        cases.append((items, case["expect"]))
    return cases


def _partition(labels: list[str]) -> list[int]:
    seen: dict[str, int] = {}
    return [seen.setdefault(x, len(seen)) for x in labels]


def hard_score(run, cases) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    right = sum(_partition(run(items)) == expect for items, expect in cases)
    return right, len(cases)


# -- the generated window -------------------------------------------------------------
def _words(text: str) -> list[str]:
    return text.split()


COMMON = _words("new says report update plans market deal price sales chief after over with "
                "from first year week china us global tech app data users phone cloud chip ai")
SYLLABLES = _words("ka lo mi ne ru sa te vo zi qu an el or ix ul ber dex ton var lin")


def _made_up(rng: random.Random, parts: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts))


def background(n: int, end: datetime, seed: int = 13) -> list[Item]:
    """``n`` generated headlines spread over the 70 hours before ``end``."""
    rng = random.Random(seed)
    names = [_made_up(rng, 3).capitalize() for _ in range(5000)]
    nouns = [_made_up(rng, 2 + i % 3) for i in range(30000)]
    weights = [1.0 / (i + 1) for i in range(len(nouns))]
    sources = [f"source{i}" for i in range(200)]
    items = []
    span = 70 * 3600
    for i in range(n):
        words = [*rng.sample(COMMON, 2), rng.choice(names)]
        words += rng.choices(nouns, weights, k=rng.randint(3, 6))
        rng.shuffle(words)
        when = end - timedelta(seconds=span * (n - i) / n)
        items.append(Item(rng.choice(sources), " ".join(words).capitalize(), when))
    return items


def cost(items: list[Item], window: int, baseline_sample: int) -> dict[str, float]:
    """Per-headline cost of adding the dev headlines to a window of ``window`` others."""
    start = items[0].published
    fill = background(window, start - timedelta(minutes=1))
    gc.collect()
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    index = StoryIndex(DEFAULT_RULE)
    t0 = time.perf_counter()
    for i, item in enumerate(fill):
        index.add(item, key=f"bg{i}")
    build = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    in_window = len(index)
    times = []
    for i, item in enumerate(items):
        t = time.perf_counter()
        index.add(item, key=f"dev{i}")
        times.append(time.perf_counter() - t)
    times.sort()
    words = [_wordset(x.title) for x in fill]
    base_times = []
    for item in items[:baseline_sample]:
        t = time.perf_counter()
        w = _wordset(item.title)
        best = 0.0
        for other in words:
            union = len(w | other)
            if union:
                best = max(best, len(w & other) / union)
        base_times.append(time.perf_counter() - t)
    return {
        "window": in_window,
        "build_s": build,
        "mean_ms": 1000 * statistics.fmean(times),
        "p50_ms": 1000 * times[len(times) // 2],
        "p99_ms": 1000 * times[int(len(times) * 0.99)],
        "max_ms": 1000 * times[-1],
        "rss_mb": (rss1 - rss0) / 1024,
        "baseline_ms": 1000 * statistics.fmean(base_times),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 headlines in the window")
    ap.add_argument("--dev", type=Path, default=DEV, help=f"the dev set (default {DEV})")
    args = ap.parse_args()
    if not args.dev.exists():
        print(f"skipped: {args.dev} is absent")
        return 0
    items, truth, labels = load_dev(args.dev)
    cases = load_hard()
    print(f"dev set: {len(items):,} technology headlines, {len(set(truth))} stories "
          f"({labels} labels, identical titles merged); hard cases: {len(cases)}")
    print()
    print(f"{'rule':<30} {'precision':>9} {'recall':>7} {'folds':>6} {'stories':>8} "
          f"{'hard cases':>11}")
    rows = [(f"baseline Jaccard >= {th}", lambda xs, th=th: baseline(xs, th))
            for th in (0.2, 0.3)]
    rows.append(("stories (default rule)", lambda xs: assign(xs, DEFAULT_RULE)))
    for name, run in rows:
        t = time.perf_counter()
        assigned = run(items)
        elapsed = time.perf_counter() - t
        p, r, folds = fold_scores(assigned, truth)
        right, total = hard_score(run, cases)
        print(f"{name:<30} {p:>9.4f} {r:>7.4f} {folds:>6} {len(set(assigned)):>8} "
              f"{right:>5}/{total:<5}  ({elapsed:.1f} s)")
    window = 20_000 if args.quick else 100_000
    c = cost(items, window, baseline_sample=10 if args.quick else 20)
    print()
    print(f"cost per headline with {c['window']:,} headlines in the window "
          f"(filled in {c['build_s']:.1f} s, +{c['rss_mb']:.0f} MB):")
    print(f"  stories:  mean {c['mean_ms']:.3f} ms, p50 {c['p50_ms']:.3f} ms, "
          f"p99 {c['p99_ms']:.3f} ms, max {c['max_ms']:.3f} ms")
    print(f"  baseline: mean {c['baseline_ms']:.1f} ms (Jaccard against every headline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
