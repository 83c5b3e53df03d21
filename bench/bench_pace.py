"""Publication-to-poll delay: fixed 300 s polling against the adaptive scheduler, same budget.

Run: ``python bench/bench_pace.py [--days 14] [--quick] [--shared ../shared] [--per-source]``

Replays real publishing histories through the REAL scheduler (``bot.sources.pace``) with a
simulated clock (no sleeping, no network):

* every feed of ``../shared/corpus/feeds/``: its items' dates and its own hints (``ttl``,
  ``sy:updatePeriod``) as the real ``parse_feed`` reads them;
* the CX Tech headline list of ``../shared/seeds/cx-tech-page.txt``.  The page gives no times:
  its 20 headlines are replayed one a day (the "Tech Brief (Nov. 5)", 16th of the 20, dates the
  list to about a headline a day), each at a Beijing working hour.

A feed's history is moved by whole days (keeping its hours of the day) so that its newest item
falls in the last day of the replay.  A history shorter than the replay plus a week of warm-up
is repeated, each copy a whole number of days after the last (span plus one mean gap, rounded
up), so a feed that was captured over 8 busy hours publishes in those hours every day.

Both policies poll the same sources, first polls spread over 300 s; a first poll records the
feed's listing (its newest items, as many as the captured feed holds), which is all the
adaptive scheduler knows at the start.  Fixed polling asks every 300 s; the adaptive scheduler
gets as its budget what fixed polling spends (``requests_per_hour`` = sources x 12), floor 60 s,
ceiling 3600 s.  The delay of an item is the time from its publication to the first poll at
or after it; every item published during the replay counts.  "Hint violations" counts polls
sooner than the source's hints allow.  Without ``../shared`` it says so and exits 0.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import heapq
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.sources.feeds import parse_feed  # noqa: E402
from bot.sources.pace import DAY, HOUR, Scheduler, merge_hints  # noqa: E402

FIXED = 300.0
FLOOR, CEILING = 60.0, 3600.0
WARMUP = 7 * DAY
PARSE_NOW = datetime(2030, 1, 1, tzinfo=UTC)  # parse every date, none is "in the future"


@dataclass
class Source:
    name: str
    published: list[float]  # the original history, sorted
    hints: dict[str, float]
    listing: int  # items a poll shows
    times: list[float] = field(default_factory=list)  # the replayed history, sorted


# ---------------------------------------------------------------------------- histories


def load_feeds(folder: Path) -> list[Source]:
    out = []
    for path in sorted(folder.glob("*")):
        try:
            report = parse_feed(path.read_bytes(), "https://bench.invalid/feed", path.name,
                                "UTC", PARSE_NOW)
        except Exception:  # not a feed at all
            continue
        dates = sorted(h.published.timestamp() for h in report.headlines if h.published)
        if dates:
            out.append(Source(path.stem, dates, merge_hints({}, feed=report.hints),
                              max(len(report.headlines), 1)))
    return out


def load_seed(page: Path, end: float) -> Source:
    text = page.read_text(encoding="utf-8")
    titles = [line.strip() for line in text.split("LATEST\n", 1)[1].splitlines()
              if line.strip()][:20]
    dates = []
    for index, title in enumerate(titles):  # newest first, one a day
        digest = hashlib.sha256(title.encode()).digest()
        beijing_hour = 9 + digest[0] % 10  # 09:00-18:59 in Beijing = 01:00-10:59 UTC
        day = math.floor(end / DAY) - 1 - index
        dates.append(day * DAY + (beijing_hour - 8) * HOUR + digest[1] % 60 * 60)
    return Source("CX Tech (seed page)", sorted(dates), {}, len(titles))


def replay_times(source: Source, start: float, end: float) -> list[float]:
    """The source's history moved to end in the last day before ``end``, repeated back to
    ``start`` if it is shorter."""
    shift = math.floor((end - source.published[-1]) / DAY) * DAY
    base = [t + shift for t in source.published]
    span = base[-1] - base[0]
    gap = span / (len(base) - 1) if len(base) > 1 else DAY
    period = max(math.ceil((span + gap) / DAY), 1) * DAY
    times: list[float] = []
    copy = 0
    while base[-1] - copy * period >= start:
        times.extend(t - copy * period for t in base if start <= t - copy * period < end)
        copy += 1
        if base[0] - copy * period < start - period:
            break
    return sorted(set(times))


# ---------------------------------------------------------------------------- the replay


@dataclass
class Outcome:
    delays: list[float] = field(default_factory=list)
    polls: dict[str, int] = field(default_factory=dict)
    per_source_delays: dict[str, list[float]] = field(default_factory=dict)
    violations: int = 0


def simulate(
    sources: list[Source], start: float, end: float, adaptive: bool, every: float = FIXED
) -> Outcome:
    """Poll every source from ``start`` to ``end``; an item published before ``end`` is
    followed until a poll sees it (those late polls are not counted as requests)."""
    budget = len(sources) * HOUR / FIXED  # what fixed polling spends
    pace = Scheduler(floor=FLOOR, ceiling=CEILING, budget_per_hour=budget)
    out = Outcome()
    queue: list[tuple[float, int]] = []
    seen = [0] * len(sources)  # index into source.times of the first item not yet seen
    last: list[float | None] = [None] * len(sources)
    for i, source in enumerate(sources):
        pace.add(source.name, hints=source.hints)
        heapq.heappush(queue, (start + FIXED * i / len(sources), i))
        out.polls[source.name] = 0
        out.per_source_delays[source.name] = []
    while queue:
        now, i = heapq.heappop(queue)
        source, times = sources[i], sources[i].times
        if now >= end and seen[i] >= bisect.bisect_left(times, end):
            continue  # everything published during the replay has been seen
        if now < end:
            out.polls[source.name] += 1
        hint = max(source.hints.values(), default=0.0)
        previous = last[i]
        if previous is not None and now - previous < hint - 1e-6:
            out.violations += 1
        last[i] = now
        upto = bisect.bisect_right(times, now)
        new = times[seen[i]:upto]
        seen[i] = upto
        if previous is None:  # the first poll records the listing: history, not news
            new = new[-source.listing:]
            if adaptive:
                pace.watch(source.name, now)
        else:
            for t in new:
                if t < end:
                    out.delays.append(now - t)
                    out.per_source_delays[source.name].append(now - t)
        if adaptive:
            for t in new:
                pace.observe(source.name, t, now)
            interval = pace.decide(source.name, now).interval
        else:
            interval = every
        heapq.heappush(queue, (now + interval, i))
    return out


def quantile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def fmt(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds:,.0f} s"


def report(sources: list[Source], days: float, runs: list[tuple[str, Outcome]],
           per_source: bool, elapsed: float) -> None:
    fixed, adaptive = runs[0][1], runs[1][1]
    items = len(fixed.delays)
    print(f"bench_pace: {len(sources)} sources ({len(sources) - 1} real feeds + the CX Tech "
          f"seed list), {days:g} days replayed, {items:,} items published during the replay")
    print(f"adaptive: floor {FLOOR:g} s, ceiling {CEILING:g} s, budget "
          f"{len(sources) * HOUR / FIXED:g} requests/h (= fixed polling's)\n")
    head = (f"{'policy':<18}{'requests':>10}{'req/source/day':>16}{'min-max':>12}"
            f"{'median delay':>14}{'p90 delay':>12}{'hint violations':>17}")
    print(head)
    print("-" * len(head))
    for name, o in runs:
        per_day = [n / days for n in o.polls.values()]
        print(f"{name:<18}{sum(o.polls.values()):>10,}{statistics.mean(per_day):>16.1f}"
              f"{min(per_day):>6.0f}-{max(per_day):<5.0f}{fmt(quantile(o.delays, 0.5)):>14}"
              f"{fmt(quantile(o.delays, 0.9)):>12}{o.violations:>17,}")
    ratio = quantile(adaptive.delays, 0.5) / quantile(fixed.delays, 0.5)
    spent = sum(adaptive.polls.values()) / sum(fixed.polls.values())
    print(f"\nadaptive / fixed 300 s: median delay x{ratio:.2f} (target <= 0.50), requests "
          f"x{spent:.2f} (target <= 1.00), hint violations {adaptive.violations} (target 0)")
    print(f"(fixed {runs[2][0].split()[1]} s spends what the adaptive scheduler spent)")
    rows = sorted(sources, key=lambda s: -len(fixed.per_source_delays[s.name]))
    if not per_source:
        rows = rows[:8] + [s for s in rows[8:] if s.name.startswith("CX")]
    print(f"\n{'source':<22}{'items/day':>10}{'hint':>7}{'fixed req/d':>12}"
          f"{'adaptive req/d':>15}{'fixed median':>13}{'adaptive median':>16}")
    for s in rows:
        hint = max(s.hints.values(), default=0)
        print(f"{s.name[:21]:<22}{len(fixed.per_source_delays[s.name]) / days:>10.1f}"
              f"{(f'{hint / 60:g}m' if hint else '-'):>7}"
              f"{fixed.polls[s.name] / days:>12.0f}{adaptive.polls[s.name] / days:>15.0f}"
              f"{fmt(quantile(fixed.per_source_delays[s.name], 0.5)):>13}"
              f"{fmt(quantile(adaptive.per_source_delays[s.name], 0.5)):>16}")
    if not per_source:
        print(f"(the {len(rows)} busiest sources and Caixin; --per-source lists all)")
    print(f"\n{elapsed:.1f} s CPU for the replays")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=14.0, help="days replayed (default 14)")
    parser.add_argument("--quick", action="store_true", help="3 days")
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared",
                        help="the shared folder (default ../shared)")
    parser.add_argument("--per-source", action="store_true", help="a line for every source")
    args = parser.parse_args(argv)
    days = 3.0 if args.quick else args.days
    feeds, seed = args.shared / "corpus" / "feeds", args.shared / "seeds" / "cx-tech-page.txt"
    if not feeds.is_dir() or not seed.is_file():
        print(f"bench_pace: skipped: {args.shared} has no corpus/feeds or "
              "seeds/cx-tech-page.txt, so no publishing history to replay (see --shared)")
        return 0
    sources = load_feeds(feeds)
    end = math.ceil(max(s.published[-1] for s in sources) / DAY) * DAY
    sources.append(load_seed(seed, end))
    start = end - days * DAY
    for source in sources:
        source.times = replay_times(source, start - WARMUP, end)
    began = time.process_time()
    fixed = simulate(sources, start, end, adaptive=False)
    adaptive = simulate(sources, start, end, adaptive=True)
    # and fixed polling slowed down to spend what the adaptive scheduler spent
    same = FIXED * sum(fixed.polls.values()) / max(sum(adaptive.polls.values()), 1)
    slowed = simulate(sources, start, end, adaptive=False, every=same)
    runs = [("fixed 300 s", fixed), ("adaptive", adaptive), (f"fixed {same:.0f} s", slowed)]
    report(sources, days, runs, args.per_source, time.process_time() - began)
    return 0


if __name__ == "__main__":
    sys.exit(main())
