"""The same-story rule between two headlines, and its tunable thresholds.

Two reports are one story when they share enough weighted evidence and nothing in them
contradicts it:

* **overlap**: a weighted Jaccard of their title words, numbers and CJK bigrams (names and
  numbers weigh more, common words less, see :func:`weight`); it folds alone at
  ``Rule.title``, with a shared name (or number) at ``Rule.named``;
* **summaries**: when both have one, the same overlap over title and summary together
  folds at ``Rule.summary`` with a shared name;
* **time**: the overlap needed grows with the gap, up to ``1 + Rule.gap_penalty`` times at
  the end of the window; beyond the window nothing folds;
* **new developments** (a veto): both titles name a kind of event (halt, resume, launch,
  delay, buy, sell, ...) and no kind in common; or both carry numbers and none in common.

Precision first: a false fold hides news, a missed one only repeats it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from bot.stories.features import Features
from bot.stories.lexicon import MONTHS, OPPOSITES, WEAK

__all__ = ["DEFAULT_RULE", "Rule", "conflict", "pair_score", "weight"]

#: Tells whether a guessed name (a capitalised word of a Title Case headline) is a name.
NameCheck = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """Thresholds of the same-story rule (the ``[stories]`` settings)."""

    window_hours: float = 72.0  # compare only within this gap; stories expire after it
    title: float = 0.4  # weighted title overlap that folds on its own
    named: float = 0.2  # ... when the two share a name or a number
    summary: float = 0.3  # overlap of title + summary words (both have one), with a name
    gap_penalty: float = 0.5  # the thresholds grow by this share at the end of the window
    hot_members: int = 5  # a "running" story: this many reports ...
    hot_sources: int = 3  # ... from this many sources ...
    hot_hours: float = 12.0  # ... the last of them this recent
    hot_anchor: float = 0.5  # its anchor: a name in at least this share of its reports
    hot_cover: float = 0.0  # share of the rest of a new title the story's words must cover
    cap: int = 10  # reports listed per story (the rest are counted)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULT_RULE = Rule()

NAME_WEIGHT = 2.0
WEAK_WEIGHT = 0.5
NUMBER_WEIGHT = 1.5


def weight(word: str, is_name: bool) -> float:
    """How much one shared (or unshared) word weighs."""
    if is_name:
        return NAME_WEIGHT
    if word in WEAK or word in MONTHS:
        return WEAK_WEIGHT
    return 1.0


def _named(word: str, a: Features, b: Features, check: NameCheck | None) -> bool:
    if word in a.names or word in b.names:
        return True
    if word in a.guesses or word in b.guesses:
        return check(word) if check is not None else True
    return False


def conflict(a: Features, b: Features, check: NameCheck | None = None) -> str | None:
    """Why ``a`` and ``b`` report different developments, or None.

    * ``events``: both name kinds of event, and none in common or one undoes the other
      ("bans" / "lifts ban");
    * ``numbers``: both carry numbers and none agree;
    * ``names``: the titles differ by a name swapped for another ("CATL opens plant in
      Hungary" / "... in Spain", "Baidu cuts prices" / "Alibaba cuts prices"), or, in
      Chinese, by a place ("比亚迪在匈牙利建厂" / "比亚迪在西班牙建厂").
    """
    if a.events and b.events and (a.events.isdisjoint(b.events) or _undoes(a, b)):
        return "events"
    if a.numbers and b.numbers and not any(_agree(m, n) for m in a.numbers for n in b.numbers):
        return "numbers"
    if _swapped_names(a, b, check) or _swapped_places(a, b):
        return "names"
    return None


def _swapped_places(a: Features, b: Features) -> bool:
    """Whether two Chinese titles differ by a place swapped for another and at most one
    character besides, their other words alike (特斯拉在上海降价 / 特斯拉在柏林降价)."""
    if not (a.places - b.places and b.places - a.places) or a.words != b.words:
        return False
    x, y = a.cjk_rest, b.cjk_rest
    head = _common(x, y)
    tail = _common(x[head:][::-1], y[head:][::-1])
    return len(x) - head - tail <= 1 and len(y) - head - tail <= 1 and head + tail >= 2


def _common(x: str, y: str) -> int:
    """The length of the characters ``x`` and ``y`` start with alike."""
    n = 0
    while n < min(len(x), len(y)) and x[n] == y[n]:
        n += 1
    return n


def _undoes(a: Features, b: Features) -> bool:
    return any(OPPOSITES.get(k, frozenset()) & b.events for k in a.events - b.events) or any(
        OPPOSITES.get(k, frozenset()) & a.events for k in b.events - a.events
    )


def _swapped_names(a: Features, b: Features, check: NameCheck | None) -> bool:
    """Whether the two titles differ by a name swapped for another and little else
    ("CATL opens plant in Hungary" / "... in Spain"): the same kind of news about someone
    else.  Titles that share less than two words besides, or add names to other words,
    are not held to this."""
    if len(a.words & b.words - WEAK) < 2:
        return False
    for x, y in ((a, b), (b, a)):
        names = x.names | x.opening
        if check is not None:
            names = names | {g for g in x.guesses if check(g)}
        diff = x.words - y.words
        swapped = {w for w in diff & names if w not in y.summary and w not in WEAK}
        rest = diff - swapped - WEAK
        if not swapped or len(rest) > 1:
            return False
    return True


def _agree(m: str, n: str) -> bool:
    """Two numbers tell the same fact: equal, or a version and its release (7 / 7.1)."""
    return m == n or m.startswith(n + ".") or n.startswith(m + ".")


def _overlap(
    a: Features, b: Features, check: NameCheck | None, *, with_summary: bool
) -> tuple[float, bool, int]:
    """(weighted Jaccard, shares a name or number, shared tokens)."""
    wa, wb = a.words, b.words
    if with_summary:
        wa, wb = wa | a.summary, wb | b.summary
    shared_w = total_w = 0.0
    anchored = False
    for word in wa | wb:
        named = _named(word, a, b, check) or (
            with_summary and (word in a.summary_names or word in b.summary_names)
        )
        w = weight(word, named)
        total_w += w
        if word in wa and word in wb:
            shared_w += w
            anchored = anchored or named
    shared = len(wa & wb)
    na, nb = a.numbers, b.numbers
    if with_summary:
        na, nb = na | a.summary_numbers, nb | b.summary_numbers
    common_numbers = len(na & nb)
    shared_w += NUMBER_WEIGHT * common_numbers
    total_w += NUMBER_WEIGHT * len(na | nb)
    common_grams = len(a.grams & b.grams)
    shared_w += common_grams
    total_w += len(a.grams | b.grams)
    anchored = anchored or common_numbers > 0 or common_grams >= 2
    shared += common_numbers + common_grams
    return (shared_w / total_w if total_w else 0.0), anchored, shared


def pair_score(
    a: Features,
    b: Features,
    gap_hours: float = 0.0,
    rule: Rule = DEFAULT_RULE,
    check: NameCheck | None = None,
) -> float:
    """How surely ``a`` and ``b`` are one story: 0 when they are not, else their overlap.

    ``check`` decides guessed names (see :class:`bot.stories.index.StoryIndex`); without it a
    guess counts as a name.
    """
    gap = abs(gap_hours)
    if gap > rule.window_hours or conflict(a, b, check) is not None:
        return 0.0
    stretch = 1.0 + rule.gap_penalty * gap / rule.window_hours if rule.window_hours else 1.0
    sim, anchored, shared = _overlap(a, b, check, with_summary=False)
    if shared >= 2 and (sim >= rule.title * stretch or (anchored and sim >= rule.named * stretch)):
        return sim
    if a.summary and b.summary:
        full, anchored, shared = _overlap(a, b, check, with_summary=True)
        if anchored and shared >= 3 and full >= rule.summary * stretch:
            return full
    return 0.0
