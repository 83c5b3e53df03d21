"""The same-story dev set and its scores, shared by ``tests/test_stories.py`` (the targets)
and ``bench/bench_stories.py`` (the figures beside a baseline), so both measure alike.

``load_dev(path)``: the technology headlines (category ``t``) of the UCI News Aggregator
sample in time order, with their true stories; the aggregator's labels are noisy, so stories
sharing an identical title are merged into one.  ``fold_scores(assigned, truth)``: fold
precision and fold recall as issue 13 defines them.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["DEV", "DevHeadline", "fold_scores", "load_dev"]

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "stories" / (
    "uci-news-aggregator-sample.csv"
)


@dataclass(frozen=True, slots=True)
class DevHeadline:
    """A headline as the same-story rule reads it (``bot.stories`` takes any such object)."""

    source: str
    title: str
    published: datetime | None = None
    summary: str = ""
    link: str = ""


def load_dev(path: Path = DEV) -> tuple[list[DevHeadline], list[str], int]:
    """The dev headlines in time order, their true stories (merged on identical titles),
    and the number of labels before merging."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["CATEGORY"] == "t"]
    rows.sort(key=lambda r: (int(r["TIMESTAMP"]), int(r["ID"])))
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    first: dict[str, str] = {}
    for r in rows:
        if r["TITLE"] in first:
            parent[root(r["STORY"])] = root(first[r["TITLE"]])
        else:
            first[r["TITLE"]] = r["STORY"]
    items = [
        DevHeadline(r["PUBLISHER"], r["TITLE"],
                    datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, UTC), link=r["URL"])
        for r in rows
    ]
    return items, [root(r["STORY"]) for r in rows], len({r["STORY"] for r in rows})


def fold_scores(assigned: list[str], truth: list[str]) -> tuple[float, float, int]:
    """(fold precision, fold recall, folds).  Precision: of the headlines added to a story
    that had headlines already, the share whose true story is among those headlines' true
    stories.  Recall: of the headlines whose true story had appeared already, the share added
    to a story holding an earlier headline of that true story."""
    members: dict[str, set[str]] = defaultdict(set)
    seen: set[str] = set()
    folds = good = due = found = 0
    for story, true in zip(assigned, truth, strict=True):
        if true in seen:
            due += 1
            found += story in members and true in members[story]
        if story in members:
            folds += 1
            good += true in members[story]
        members[story].add(true)
        seen.add(true)
    return good / max(folds, 1), found / max(due, 1), folds
