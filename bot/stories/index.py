"""StoryIndex: every report of the window, filed so a new one finds its story cheaply.

An inverted index maps each title token (word, ``#number``, CJK bigram) to the reports of
the window that hold it, oldest first.  A new report looks up only its rarest tokens (at
most ``PROBE_KEYS`` of them, the ``PROBE_DEPTH`` newest reports of each), scores the few
reports that share the most of them with :func:`bot.stories.rule.pair_score`, and joins the
story of the best; failing that, a running story (many sources in the last hours) takes it
when the title names the story's anchor and the story's words cover enough of it.  The
work per report is bounded by those constants, not by the size of the window.

The index also learns which capitalised words are names: a word seen capitalised inside a
sentence-case title, and rarely in lower case, is a name even where a Title Case headline
leaves it in doubt.  Reports leave the index (and stories with their last report) when they
fall out of the window.
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Protocol

from bot.stories.features import Features, extract
from bot.stories.lexicon import MONTHS, WEAK
from bot.stories.rule import DEFAULT_RULE, NUMBER_WEIGHT, Rule, conflict, pair_score, weight

__all__ = ["HeadlineLike", "Story", "StoryIndex"]

PROBE_KEYS = 6  # rarest tokens of a new title looked up
PROBE_DEPTH = 48  # newest reports read per token
CANDIDATES = 24  # reports scored in full
EXPIRE_BUDGET = 16  # reports expired at most per add (expire() drops all at once)
HOT_WORDS = 3  # rarest words of a title tried as the anchor of a running story
STATE_VERSION = 1


class HeadlineLike(Protocol):
    """What the index reads of a headline; ``summary``, ``published``, ``link`` and ``id``
    are read when present."""

    @property
    def source(self) -> str: ...

    @property
    def title(self) -> str: ...


@dataclass(slots=True)
class _Entry:
    seq: int
    key: str
    story: str
    time: float  # seconds since the epoch
    source: str
    title: str
    summary: str
    link: str
    feats: Features


@dataclass(slots=True)
class Story:
    """One story: its reports in the window (the first ``Rule.cap`` listed) and what they
    say together."""

    id: str
    lead: str  # key of its first report
    first: float
    last: float
    count: int = 0  # reports in the window
    members: list[str] = field(default_factory=list)  # keys, first ``cap`` reports
    sources: Counter[str] = field(default_factory=Counter)
    vocab: Counter[str] = field(default_factory=Counter)  # title tokens -> reports
    events: Counter[str] = field(default_factory=Counter)
    recent: deque[tuple[float, str]] = field(default_factory=deque)  # (time, source)


def _seconds(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class StoryIndex:
    """Assigns each report a story id; serialisable with :meth:`to_dict`."""

    def __init__(self, rule: Rule = DEFAULT_RULE) -> None:
        self.rule = rule
        self._entries: deque[_Entry] = deque()  # in the order added
        self._by_key: dict[str, _Entry] = {}
        self._postings: dict[str, deque[int]] = {}
        self._seq_entry: dict[int, _Entry] = {}
        self._stories: dict[str, Story] = {}
        self._capital: Counter[str] = Counter()  # word -> titles naming it mid-sentence
        self._lower: Counter[str] = Counter()  # word -> titles writing it in lower case
        self._seq = 0
        self._next_story = 1
        self._clock = 0.0  # the newest report time seen

    # -- public API --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def add(self, headline: HeadlineLike, *, key: str | None = None,
            when: datetime | None = None) -> str:
        """File ``headline`` and return its story id (a new one when no story takes it).

        ``key`` (default: the headline's ``id``, else its source and title) identifies the
        report: adding a key again returns its story unchanged.  ``when`` (default: its
        ``published``, else the newest time seen) places it in time.
        """
        key = key or getattr(headline, "id", None) or f"{headline.source}\n{headline.title}"
        known = self._by_key.get(key)
        if known is not None:
            return known.story
        when_s = _seconds(when) or _seconds(getattr(headline, "published", None)) or self._clock
        self._advance(when_s, EXPIRE_BUDGET)
        feats = extract(headline.title, getattr(headline, "summary", "") or "")
        story_id = self._match(feats, when_s, headline.source) or self._new_story(key, when_s)
        self._file(key, story_id, when_s, headline, feats)
        return story_id

    def match(self, headline: HeadlineLike, *, when: datetime | None = None) -> str | None:
        """The story ``headline`` would join, without filing it."""
        when_s = _seconds(when) or _seconds(getattr(headline, "published", None)) or self._clock
        feats = extract(headline.title, getattr(headline, "summary", "") or "")
        return self._match(feats, when_s, headline.source)

    def story_of(self, key: str) -> str | None:
        entry = self._by_key.get(key)
        return entry.story if entry is not None else None

    def story(self, story_id: str) -> Story | None:
        return self._stories.get(story_id)

    def stories(self) -> list[Story]:
        """The stories of the window, oldest first."""
        return sorted(self._stories.values(), key=lambda s: (s.first, s.id))

    def report(self, key: str) -> dict[str, Any] | None:
        """One filed report as plain data (source, title, link, time, story)."""
        e = self._by_key.get(key)
        if e is None:
            return None
        return {"key": e.key, "source": e.source, "title": e.title, "link": e.link,
                "time": e.time, "story": e.story}

    def expire(self, now: datetime) -> int:
        """Drop the reports older than the window before ``now``; how many."""
        before = len(self._entries)
        self._advance(_seconds(now) or self._clock)
        return before - len(self._entries)

    # -- matching ------------------------------------------------------------------------
    def _is_name(self, word: str) -> bool:
        """Whether titles of the window write ``word`` as a name: capitalised inside a
        sentence at least twice, and more than twice as often as in lower case."""
        capital = self._capital[word]
        return capital >= 2 and capital > 2 * self._lower[word]

    def _candidates(self, feats: Features) -> list[_Entry]:
        """The reports sharing most of the new title's rarest tokens (bounded work)."""
        postings = self._postings
        keys = [k for k in feats.lookup_keys if k in postings]
        if not keys:
            return []
        if len(keys) > PROBE_KEYS:
            keys = heapq.nsmallest(PROBE_KEYS, keys, key=lambda k: len(postings[k]))
        hits: Counter[int] = Counter()
        for k in keys:  # the newest reports of each token (Counter.update counts in C)
            hits.update(islice(reversed(postings[k]), PROBE_DEPTH))
        best = heapq.nlargest(CANDIDATES, hits.items(), key=lambda kv: (kv[1], kv[0]))
        entries = self._seq_entry
        return [entries[seq] for seq, _ in best]

    def _match(self, feats: Features, when: float, source: str) -> str | None:
        rule = self.rule
        best_story: str | None = None
        best = 0.0
        keys = feats.keys
        summary = bool(feats.summary)
        for e in self._candidates(feats):
            if len(keys & e.feats.keys) < 2 and not (summary and e.feats.summary):
                continue  # fewer than two shared title tokens never fold: skip the scoring
            gap = abs(when - e.time) / 3600.0
            score = pair_score(feats, e.feats, gap, rule, self._is_name)
            if score > best and self._lead_agrees(feats, e.story):
                best, best_story = score, e.story
        return best_story or self._running(feats, when)

    def _lead_agrees(self, feats: Features, story_id: str) -> bool:
        """A report joins a story only if it does not contradict the story's first report
        (the one alerted): "to resume" never joins a story that began with "halts"."""
        lead = self._by_key.get(self._stories[story_id].lead)
        return lead is None or conflict(feats, lead.feats, self._is_name) is None

    def _running(self, feats: Features, when: float) -> str | None:
        """The running story a title joins by naming its anchor, or None.

        A word is *hot* when at least ``hot_members`` reports from ``hot_sources`` sources
        named it in the last ``hot_hours``; the title then joins the story most of those
        reports belong to, if the word is in at least ``hot_anchor`` of that story's
        reports, the title names no kind of event the story never did, does not contradict
        its first report, and the story's words cover ``hot_cover`` of the rest of it.
        """
        rule = self.rule
        horizon = when - rule.hot_hours * 3600
        best: tuple[int, str] | None = None
        postings = self._postings
        words = [
            w for w in feats.words - WEAK - MONTHS if len(postings.get(w, ())) >= rule.hot_members
        ]
        if len(words) > HOT_WORDS:
            words = heapq.nsmallest(HOT_WORDS, words, key=lambda w: len(postings[w]))
        for word in words:
            plist = postings[word]
            tally: Counter[str] = Counter()
            sources: set[str] = set()
            for i in range(len(plist) - 1, max(len(plist) - PROBE_DEPTH, 0) - 1, -1):
                e = self._seq_entry[plist[i]]
                if e.time < horizon:
                    break
                tally[e.story] += 1
                sources.add(e.source)
            if sum(tally.values()) < rule.hot_members or len(sources) < rule.hot_sources:
                continue
            story_id, n = tally.most_common(1)[0]
            if (best is None or n > best[0]) and self._takes(feats, self._stories[story_id], word):
                best = (n, story_id)
        return best[1] if best is not None else None

    def _takes(self, feats: Features, story: Story, anchor: str) -> bool:
        """Whether ``story``, running on ``anchor``, takes a title naming it."""
        rule = self.rule
        vocab = story.vocab
        if vocab[anchor] < rule.hot_anchor * story.count:
            return False
        if feats.events and not any(story.events[k] > 0 for k in feats.events):
            return False
        if not self._lead_agrees(feats, story.id):
            return False
        total = covered = 0.0
        for w in feats.words:
            if w == anchor:
                continue
            wt = weight(w, w in feats.names or w in feats.guesses)
            total += wt
            covered += wt if vocab[w] > 0 else 0.0
        for n in feats.numbers:
            total += NUMBER_WEIGHT
            covered += NUMBER_WEIGHT if vocab["#" + n] > 0 else 0.0
        return total == 0 or covered / total >= rule.hot_cover

    # -- bookkeeping ---------------------------------------------------------------------
    def _new_story(self, key: str, when: float) -> str:
        story_id = f"s{self._next_story}"
        self._next_story += 1
        self._stories[story_id] = Story(id=story_id, lead=key, first=when, last=when)
        return story_id

    def _file(self, key: str, story_id: str, when: float, h: HeadlineLike,
              feats: Features) -> None:
        self._seq += 1
        entry = _Entry(
            seq=self._seq, key=key, story=story_id, time=when, source=h.source,
            title=h.title, summary=getattr(h, "summary", "") or "",
            link=getattr(h, "link", "") or "", feats=feats,
        )
        self._entries.append(entry)
        self._by_key[key] = entry
        self._seq_entry[entry.seq] = entry
        for k in feats.lookup_keys:
            plist = self._postings.get(k)
            if plist is None:
                plist = self._postings[k] = deque()
            plist.append(entry.seq)
        self._capital.update(feats.names)
        self._lower.update(feats.lower)
        story = self._stories[story_id]
        story.count += 1
        story.first = min(story.first, when)
        story.last = max(story.last, when)
        if len(story.members) < self.rule.cap:
            story.members.append(key)
        story.sources[h.source] += 1
        story.vocab.update(feats.keys)
        story.events.update(feats.events)
        story.recent.append((when, h.source))

    def _advance(self, when: float, budget: int | None = None) -> None:
        """Move the clock to ``when`` (if later) and expire what fell out of the window:
        everything, or at most ``budget`` reports (so that one add never pays for a long
        quiet spell at once; what is left waits for the next add, and scoring ignores
        reports beyond the window anyway)."""
        self._clock = max(self._clock, when)
        cutoff = self._clock - self.rule.window_hours * 3600
        entries = self._entries
        while entries and entries[0].time < cutoff and budget != 0:
            self._unfile(entries.popleft())
            if budget is not None:
                budget -= 1

    def _unfile(self, entry: _Entry) -> None:
        del self._by_key[entry.key]
        del self._seq_entry[entry.seq]
        for k in entry.feats.lookup_keys:
            plist = self._postings[k]
            if plist and plist[0] == entry.seq:
                plist.popleft()
            else:  # filed out of time order: rare, so a linear removal is fine
                plist.remove(entry.seq)
            if not plist:
                del self._postings[k]
        self._capital.subtract(entry.feats.names)
        self._lower.subtract(entry.feats.lower)
        story = self._stories.get(entry.story)
        if story is None:
            return
        story.count -= 1
        if story.count <= 0:
            del self._stories[entry.story]
            return
        if entry.key in story.members:
            story.members.remove(entry.key)
        story.sources[entry.source] -= 1
        if story.sources[entry.source] <= 0:
            del story.sources[entry.source]
        story.vocab.subtract(entry.feats.keys)
        story.events.subtract(entry.feats.events)
        if story.recent and story.recent[0] == (entry.time, entry.source):
            story.recent.popleft()
        else:
            story.recent.remove((entry.time, entry.source))

    # -- state ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (reports in the window, story leads)."""
        return {
            "version": STATE_VERSION,
            "next_story": self._next_story,
            "clock": self._clock,
            "reports": [
                [e.key, e.story, e.time, e.source, e.title, e.summary, e.link]
                for e in self._entries
            ],
            "leads": {s.id: s.lead for s in self._stories.values()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], rule: Rule = DEFAULT_RULE) -> StoryIndex:
        """Rebuild an index from :meth:`to_dict`; reports keep their stories."""
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown story state version {data.get('version')!r}")
        index = cls(rule)
        leads: dict[str, str] = data.get("leads", {})
        for key, story_id, when, source, title, summary, link in data["reports"]:
            index.restore(key=key, story_id=story_id, when=float(when), source=source,
                          title=title, summary=summary, link=link,
                          lead=leads.get(story_id, key))
        index._next_story = max(index._next_story, int(data.get("next_story", 1)))
        index._advance(float(data.get("clock", 0.0)))
        return index

    def restore(self, *, key: str, story_id: str, when: float, source: str, title: str,
                summary: str = "", link: str = "", lead: str | None = None) -> None:
        """File a report whose story is already known (from a saved state or a store)."""
        if key in self._by_key:
            return
        if story_id not in self._stories:
            self._stories[story_id] = Story(id=story_id, lead=lead or key, first=when, last=when)
            if story_id[:1] == "s" and story_id[1:].isdigit():
                self._next_story = max(self._next_story, int(story_id[1:]) + 1)
        item = _Restored(source, title, summary, link)
        self._advance(when)
        self._file(key, story_id, when, item, extract(title, summary))

    def number_from(self, n: int) -> None:
        """Number new stories ``s<n>`` and up (never below what was given already): ids kept
        elsewhere, beyond the window, are never reused."""
        self._next_story = max(self._next_story, n)

    def restore_many(self, rows: Iterable[dict[str, Any]]) -> None:
        """:meth:`restore` each of ``rows`` (dicts of its keyword arguments)."""
        for row in rows:
            self.restore(**row)


@dataclass(frozen=True, slots=True)
class _Restored:
    source: str
    title: str
    summary: str
    link: str
