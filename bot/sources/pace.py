"""How often to poll each source: as often as it publishes, within a shared budget.

Pure: no I/O and no clock of its own; times are epoch seconds passed in by the caller (the
poller, ``check``, the benchmark's simulated clock).

* **Rate.**  A source's publishing rate is the number of items it published in the last
  ``window`` (7 days), over the time we know its history for (``exposure``: since we first
  polled it, or since its oldest listed item if older, at most the window), plus half an item
  so that silence lowers the rate gradually instead of to zero at once.  An item counts at its
  publication time (its first-seen time when it has none); the undated items of a first poll
  are not news and do not count.
* **Hour of day.**  The rate is split over the 24 UTC hours by when the items appeared
  (smoothed over neighbouring hours and shrunk toward the overall rate where the history is
  thin), so a source that publishes in office hours is polled more then.  Feeds that date
  their items by the day only give no hour pattern.
* **Bounds.**  An interval lies between ``floor`` and ``ceiling``; a source is never asked more
  than ``POLLS_PER_ITEM`` times per item it is expected to publish in that hour (so a silent
  source drifts to the ceiling); and never sooner than its hints (RSS ``ttl``,
  ``sy:updatePeriod``, ``Cache-Control: max-age``, ``Expires``, ``Retry-After``), which may
  exceed the ceiling (up to ``MAX_HINT``).  A source with a configured interval keeps it
  (a longer hint still wins).
* **Budget.**  ``budget_per_hour`` polls an hour, averaged over the day (a 304 costs a poll
  like a 200).  Fixed sources take their share first; the rest is shared by the square root of
  each source's rate in each hour, which minimises the mean delay from publication to the poll
  that sees an item (a source with 4x the news gets 2x the polls).  Budget the bounds leave
  unused is not spent.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

HOUR = 3600.0
DAY = 24 * HOUR
SLOTS = 24
WINDOW = 7 * DAY
#: at most this many polls per item a source is expected to publish: a source with an item a
#: day is asked every 15 minutes at most, one silent for a week drifts to the ceiling
POLLS_PER_ITEM = 100
#: the longest a hint is obeyed (a source asking for a month is not followed blindly)
MAX_HINT = DAY
#: undated items first seen within this of the first poll are the listing's backlog
BACKLOG_SLACK = 300.0
_PSEUDO_ITEMS = 0.5
_SLOT_PRIOR = 2 * HOUR  # pseudo-exposure that pulls an hour's rate toward the overall rate
FEED_HINTS = ("ttl", "sy")
HEADER_HINTS = ("max-age", "expires", "retry-after")
HINT_NAMES = {
    "ttl": "ttl",
    "sy": "sy:updatePeriod",
    "max-age": "max-age",
    "expires": "Expires",
    "retry-after": "Retry-After",
}


def format_duration(seconds: float) -> str:
    """``45s``, ``4m7s``, ``1h30m``, ``1d1h``: two units at most."""
    total = max(0, round(seconds))
    for big, big_name, small, small_name in (
        (86400, "d", 3600, "h"),
        (3600, "h", 60, "m"),
        (60, "m", 1, "s"),
    ):
        if total >= big:
            whole, rest = divmod(total, big)
            part = rest // small
            return f"{whole}{big_name}" + (f"{part}{small_name}" if part else "")
    return f"{total}s"


def _rate_text(per_hour: float) -> str:
    if per_hour >= 10:
        return f"{per_hour:.0f}"
    if per_hour >= 1:
        return f"{per_hour:.2g}"
    return f"{per_hour:.1g}"


def merge_hints(
    previous: Mapping[str, object],
    *,
    headers: Mapping[str, float] | None = None,
    feed: Mapping[str, float] | None = None,
    not_modified: bool = False,
) -> dict[str, float]:
    """The hints after an answer: ``headers`` (from its HTTP headers) replace the previous
    header hints, except that a 304 without any keeps them; ``feed`` (from a parsed body)
    replaces the previous feed hints.  Values are capped at ``MAX_HINT``; junk is dropped."""
    merged = {k: v for k, v in previous.items() if k in HINT_NAMES}
    if headers is not None and not (not_modified and not headers):
        merged = {k: v for k, v in merged.items() if k not in HEADER_HINTS}
        merged.update({k: v for k, v in headers.items() if k in HEADER_HINTS})
    if feed is not None:
        merged = {k: v for k, v in merged.items() if k not in FEED_HINTS}
        merged.update({k: v for k, v in feed.items() if k in FEED_HINTS})
    clean: dict[str, float] = {}
    for key, value in merged.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and value > 0 and not math.isnan(value):  # type: ignore[operator,arg-type]
            clean[key] = min(float(value), MAX_HINT)  # type: ignore[arg-type]
    return clean


# ---------------------------------------------------------------------------- rates


@dataclass(frozen=True, slots=True)
class Profile:
    """A source's publishing rate (items per second) overall and per UTC hour of day."""

    items: int  # items published in the window
    exposure: float  # seconds of history the rate is taken over
    rate: float  # (items + 1/2) / exposure
    slots: tuple[float, ...]  # rate in each UTC hour of the day

    def at(self, when: float) -> float:
        return self.slots[int(when // HOUR) % SLOTS]

    @property
    def measured_per_hour(self) -> float:
        return self.items / self.exposure * HOUR


def _smooth(values: Sequence[float]) -> list[float]:
    n = len(values)
    return [0.25 * values[i - 1] + 0.5 * values[i] + 0.25 * values[(i + 1) % n] for i in range(n)]


def _date_only(events: Sequence[float]) -> bool:
    """Most items at one on-the-hour second of the day: the feed dates by the day only."""
    if len(events) < 4:
        return False
    counts: dict[int, int] = {}
    for t in events:
        key = round(t) % 86400
        counts[key] = counts.get(key, 0) + 1
    second, count = max(counts.items(), key=lambda kv: kv[1])
    return second % 1800 == 0 and count * 2 >= len(events)


def profile(
    events: Sequence[float],
    origin: float | None,
    now: float,
    window: float = WINDOW,
    min_exposure: float = 60.0,
) -> Profile:
    """The rate of a source whose items appeared at ``events`` (sorted) and whose history is
    known since ``origin`` (first poll or oldest item, whichever is older)."""
    begin = bisect.bisect_left(events, now - window)
    end = bisect.bisect_right(events, now)
    recent = events[begin:end]
    known = min([x for x in (origin, events[0] if events else None) if x is not None] or [now])
    start = max(now - window, known)
    exposure = max(now - start, min_exposure)
    rate = (len(recent) + _PSEUDO_ITEMS) / exposure
    if _date_only(recent):
        return Profile(len(recent), exposure, rate, (rate,) * SLOTS)
    counts = [0.0] * SLOTS
    for t in recent:
        counts[int(t // HOUR) % SLOTS] += 1
    days = math.floor((now - start) / DAY)
    seen = [days * HOUR] * SLOTS  # seconds of exposure in each hour of the day
    t = start + days * DAY
    while t < now:
        step = min(now, (math.floor(t / HOUR) + 1) * HOUR)
        seen[int(t // HOUR) % SLOTS] += step - t
        t = step
    counts, seen = _smooth(counts), _smooth(seen)
    span = max(now - start, 1e-9)
    slots = tuple(
        (c + _PSEUDO_ITEMS * e / span + _SLOT_PRIOR * rate) / (e + _SLOT_PRIOR)
        for c, e in zip(counts, seen, strict=True)
    )
    return Profile(len(recent), exposure, rate, slots)


# ---------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Decision:
    """The interval until a source's next poll, and why."""

    interval: float
    bound: str  # "fixed" | "floor" | "ceiling" | "hint" | "rate" | "budget" | "new"
    reason: str  # "every 4m: 15 new/h, hint ttl 5m"
    per_hour: float = 0.0  # new items per hour over the window
    hint: float = 0.0
    hint_kind: str = ""


@dataclass(slots=True)
class _Source:
    fixed: float | None = None
    watching_since: float | None = None
    origin: float | None = None  # the oldest moment its history is known for
    events: list[float] = field(default_factory=list)
    hints: dict[str, float] = field(default_factory=dict)
    profile: Profile | None = None
    profiled_at: float = -math.inf

    def hint(self) -> tuple[float, str]:
        if not self.hints:
            return 0.0, ""
        kind = max(self.hints, key=lambda k: self.hints[k])
        return self.hints[kind], kind


class Scheduler:
    """Intervals for every source: ``add`` them, feed it what polls find (``watch``,
    ``observe``, ``hints``), and ask ``decide(name, now)`` after each successful poll."""

    def __init__(
        self,
        *,
        floor: float = 60.0,
        ceiling: float = 3600.0,
        budget_per_hour: float | None = None,
        window: float = WINDOW,
    ) -> None:
        self.floor = float(floor)
        self.ceiling = max(float(ceiling), self.floor)
        self.budget = budget_per_hour
        self.window = window
        # how stale the shared plan and other sources' rates may get (5 min by default)
        self.refresh = min(max(5 * self.floor, 1.0), 300.0)
        self._sources: dict[str, _Source] = {}
        self._scale: float = math.inf  # polls/s per sqrt(items/s): the budget's price
        self._solved_at: float | None = None

    # ------------------------------------------------------------------ input

    def add(
        self,
        name: str,
        *,
        fixed: float | None = None,
        watching_since: float | None = None,
        hints: Mapping[str, float] | None = None,
    ) -> None:
        source = self._sources.setdefault(name, _Source())
        source.fixed = fixed
        if watching_since is not None:
            self.watch(name, watching_since)
        if hints is not None:
            self.hints(name, hints)

    def names(self) -> list[str]:
        return list(self._sources)

    def watch(self, name: str, since: float) -> None:
        """The source's first successful poll was at ``since`` (kept if already known)."""
        source = self._sources.setdefault(name, _Source())
        if source.watching_since is None:
            source.watching_since = since
        source.origin = min(since, source.origin if source.origin is not None else since)
        source.profile = None

    def observe(self, name: str, published: float | None, first_seen: float) -> None:
        """The source brought a new item, published at ``published`` (if known), first seen
        at ``first_seen``."""
        source = self._sources.setdefault(name, _Source())
        start = source.watching_since
        if start is not None and (
            (published is None and first_seen - start <= BACKLOG_SLACK)
            or (published is not None and abs(published - start) < 1e-3)
        ):
            # an undated item of the first poll (the poller dates those with the poll's
            # start, which is ``watching_since``): the listing's backlog, not news
            return
        when = min(published, first_seen) if published is not None else first_seen
        bisect.insort(source.events, when)
        source.origin = min(when, source.origin if source.origin is not None else when)
        source.profile = None

    def hints(self, name: str, hints: Mapping[str, float]) -> None:
        source = self._sources.setdefault(name, _Source())
        source.hints = merge_hints(hints)

    # ------------------------------------------------------------------ output

    def profile(self, name: str, now: float) -> Profile:
        source = self._sources[name]
        return self._profile(source, now, fresh=True)

    def decide(self, name: str, now: float, *, replan: bool = False) -> Decision:
        """The interval from ``now`` to the source's next poll."""
        source = self._sources.setdefault(name, _Source())
        if source.fixed is None and source.origin is not None:
            self._profile(source, now, fresh=True)
        if self.budget is not None and (
            replan or self._solved_at is None or abs(now - self._solved_at) >= self.refresh
        ):
            self._solve(now)
        return self._decision(source, now)

    def plan(self, now: float) -> dict[str, Decision]:
        """Every source's decision at ``now`` (for ``check``)."""
        if self.budget is not None:
            self._solve(now, fresh=True)
        for source in self._sources.values():
            if source.fixed is None and source.origin is not None:
                self._profile(source, now, fresh=True)
        return {name: self._decision(s, now) for name, s in self._sources.items()}

    def daily_polls(self, now: float) -> dict[str, float]:
        """Polls a day each source gets under the plan made at ``now``."""
        if self.budget is not None:
            self._solve(now, fresh=True)
        out: dict[str, float] = {}
        for name, source in self._sources.items():
            if source.fixed is not None:
                out[name] = DAY / max(source.fixed, source.hint()[0])
            elif source.origin is not None:
                prof = self._profile(source, now, fresh=True)
                out[name] = sum(self._polls(source, r)[0] for r in prof.slots) * HOUR
        return out

    # ------------------------------------------------------------------ the plan

    def _profile(self, source: _Source, now: float, *, fresh: bool = False) -> Profile:
        stale = abs(now - source.profiled_at) >= (0.0 if fresh else self.refresh)
        if source.profile is None or stale:
            cutoff = bisect.bisect_left(source.events, now - self.window - DAY)
            if cutoff:  # forget what fell out of the window (a day's margin)
                del source.events[:cutoff]
            source.profile = profile(
                source.events, source.origin, now, self.window, min_exposure=self.floor
            )
            source.profiled_at = now
        return source.profile

    def _bounds(self, source: _Source, rate: float) -> tuple[float, float, str]:
        """(shortest, longest) interval for a source publishing ``rate`` items/s, and what
        sets the shortest."""
        hint, _ = source.hint()
        by_rate = 1.0 / (POLLS_PER_ITEM * rate) if rate > 0 else math.inf
        longest = max(self.ceiling, hint)
        shortest = max(self.floor, hint, by_rate)
        if shortest >= longest:
            return longest, longest, "hint" if hint >= longest else "ceiling"
        label = "floor"
        if by_rate > self.floor and by_rate >= hint:
            label = "rate"
        elif hint > self.floor:
            label = "hint"
        return shortest, longest, label

    def _polls(self, source: _Source, rate: float) -> tuple[float, str]:
        """(polls per second, what bounds it) for ``rate`` under the current price."""
        shortest, longest, label = self._bounds(source, rate)
        high, low = 1.0 / shortest, 1.0 / longest
        wanted = math.sqrt(rate) * self._scale if rate > 0 else 0.0
        if wanted >= high or shortest == longest:
            return high, label
        if wanted <= low:
            return low, "ceiling"
        return wanted, "budget"

    def _solve(self, now: float, *, fresh: bool = False) -> None:
        """Find the price (``_scale``) at which the adaptive sources' polls, averaged over
        the 24 hours, spend what the fixed sources leave of the budget.

        Each (source, hour) wants ``sqrt(rate) * scale`` polls/s, clamped to its bounds: a
        piecewise linear, increasing function of ``scale``; walk its breakpoints in order
        and solve the segment that reaches the target exactly."""
        self._solved_at = now
        assert self.budget is not None
        target = self.budget / HOUR * SLOTS  # polls/s summed over the 24 hours
        terms: list[tuple[float, float, float]] = []  # (sqrt rate, low, high)
        for source in self._sources.values():
            if source.fixed is not None:
                target -= SLOTS / max(source.fixed, source.hint()[0])
                continue
            if source.origin is None:
                continue  # never polled: no share until it is
            for rate in self._profile(source, now, fresh=fresh).slots:
                shortest, longest, _ = self._bounds(source, rate)
                terms.append((math.sqrt(rate), 1.0 / longest, 1.0 / shortest))
        total = sum(low for _, low, _ in terms)
        if not terms or total >= target:
            self._scale = 0.0  # not even the ceilings fit: every source at its longest
            return
        if sum(high for _, _, high in terms) <= target:
            self._scale = math.inf  # the bounds bind before the budget does
            return
        # at scale s a term is low below s=low/root, root*s between, high above s=high/root
        breaks: list[tuple[float, float, float]] = []  # (scale, change of sum, change of slope)
        for root, low, high in terms:
            if root > 0:
                breaks.append((low / root, -low, root))
                breaks.append((high / root, high, -root))
        breaks.sort()
        constant, slope, scale = total, 0.0, 0.0
        for at, d_constant, d_slope in breaks:
            if constant + slope * at >= target:
                break
            constant, slope, scale = constant + d_constant, slope + d_slope, at
        self._scale = (target - constant) / slope if slope > 0 else scale

    def _decision(self, source: _Source, now: float) -> Decision:
        hint, kind = source.hint()
        hint_text = f", hint {HINT_NAMES.get(kind, kind)} {format_duration(hint)}" if kind else ""
        if source.fixed is not None:
            interval = max(source.fixed, hint)
            reason = f"every {format_duration(interval)}: fixed"
            if interval != source.fixed:
                reason += f" {format_duration(source.fixed)}"
            reason += " in config" + hint_text
            return Decision(interval, "fixed", reason, hint=hint, hint_kind=kind)
        if source.origin is None:
            interval = max(self.floor, hint)
            reason = f"every {format_duration(interval)}: no history yet{hint_text}"
            return Decision(interval, "new", reason, hint=hint, hint_kind=kind)
        prof = self._profile(source, now)
        polls, bound = self._polls(source, prof.at(now))
        interval = 1.0 / polls
        per_hour = prof.measured_per_hour
        if prof.items == 0:
            rate_text = f"no new items in {format_duration(prof.exposure)}"
        else:
            rate_text = f"{_rate_text(per_hour)} new/h"
            at_hour = prof.at(now) * HOUR
            if per_hour > 0 and not 1 / 1.5 <= at_hour / per_hour <= 1.5:
                rate_text += f", {_rate_text(at_hour)}/h at this hour"
        word = f" ({bound})" if bound in ("floor", "ceiling", "budget") else ""
        reason = f"every {format_duration(interval)}: {rate_text}{word}{hint_text}"
        return Decision(interval, bound, reason, per_hour, hint, kind)

