"""Same story, one alert: which reports of several sources tell one story.

Pure (no Telegram, no store): :mod:`.features` reads a headline, :mod:`.rule` decides
whether two headlines are one story, :class:`StoryIndex` files every report of the window
and gives each a story id.  :func:`assign` runs the rule over a list of headlines, as the
``stories`` command and the benchmark do; the bot keeps one :class:`StoryIndex` over every
headline it sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.stories.features import Features, extract
from bot.stories.index import HeadlineLike, Story, StoryIndex
from bot.stories.rule import DEFAULT_RULE, Rule, conflict, pair_score

__all__ = [
    "DEFAULT_RULE",
    "Features",
    "HeadlineLike",
    "Rule",
    "Story",
    "StoryIndex",
    "assign",
    "conflict",
    "extract",
    "pair_score",
    "same_story",
    "taken_order",
]

_EPOCH = datetime.fromtimestamp(0, UTC)


def _time(h: HeadlineLike) -> datetime | None:
    value = getattr(h, "published", None)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def taken_order(headlines: Sequence[HeadlineLike]) -> tuple[list[int], list[datetime]]:
    """The order the rule takes ``headlines`` in, and the time each counts at: by
    ``published``, ties in the order given; one without a date counts as published with
    the one before it (or first, if none is)."""
    times: list[datetime] = []
    last = _EPOCH
    for h in headlines:
        last = _time(h) or last
        times.append(last)
    return sorted(range(len(headlines)), key=lambda i: times[i]), times


def assign(headlines: Sequence[HeadlineLike], rule: Rule = DEFAULT_RULE) -> list[str]:
    """The story id of each headline (in the order given), the headlines being taken in
    the order of :func:`taken_order`."""
    order, times = taken_order(headlines)
    index = StoryIndex(rule)
    out = [""] * len(headlines)
    for i in order:
        out[i] = index.add(headlines[i], key=f"#{i}", when=times[i])
    return out


def same_story(a_title: str, b_title: str, *, a_summary: str = "", b_summary: str = "",
               gap_hours: float = 0.0, rule: Rule = DEFAULT_RULE) -> bool:
    """Whether two headlines, ``gap_hours`` apart, are one story by the pairwise rule."""
    return pair_score(extract(a_title, a_summary), extract(b_title, b_summary),
                      gap_hours, rule) > 0
