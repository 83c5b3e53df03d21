"""A term index over the stored headlines, so ``/latest <query>`` checks only candidates.

Every headline is filed under the tokens of its title and summary, as the matcher reads them
(``bot.matching.normalize.analyse``): a Latin-script word under itself, a CJK run under each of
its characters.  A query's term can only match a headline that holds every one of its words
(the last one in one of its plural forms) and every character of its CJK parts, so
:meth:`SearchIndex.candidates` takes, for each alternative of the query, the smallest posting
list among its terms' words, narrowed by the others' lists: a superset of the headlines that
match, usually a small one.
The caller then checks those, newest first, with ``Query.find`` (and a cap).  Every headline is
also filed under its source (``source_id``), so a query without words (``source:caixin``, a
whole source) takes that source's headlines, and those stored before sources had ids; a
scoped query's word candidates, when many, are narrowed to its sources' headlines (or rid of
the headlines of the sources it leaves out).

Removal is lazy: pruned headlines stay in the posting lists until half of the entries are
dead, then the lists are rebuilt.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.matching.normalize import Text, analyse
from bot.matching.query import Query
from bot.matching.terms import Term


def text_keys(text: Text) -> set[str]:
    """The keys a text is filed under: its Latin tokens, the characters of its CJK runs."""
    keys: set[str] = set()
    for token, cjk in zip(text.toks, text.cjk, strict=True):
        if cjk:
            keys.update(token)
        else:
            keys.add(token)
    return keys


def _term_needs(term: Term) -> list[tuple[str, ...]]:
    """For each word of ``term``: the keys one of which a matching headline must hold."""
    needs: list[tuple[str, ...]] = []
    last = len(term.toks) - 1
    for j, token in enumerate(term.toks):
        if term.cjk[j]:
            needs.extend((char,) for char in token)
        elif j == last:
            needs.append(tuple(term.variants))
        else:
            needs.append((token,))
    return needs


def source_key(source_id: str) -> str:
    """The key a headline of ``source_id`` is filed under (no token holds a NUL)."""
    return f"\0source:{source_id}"


#: Candidates few enough to check one by one: no more narrowing by the other words.
NARROW_ENOUGH = 50


class SearchIndex:
    """Headline ticks by key (see the module docstring)."""

    def __init__(self) -> None:
        self._postings: dict[str, list[int]] = {}
        self._live: set[int] = set()
        self._dead = 0  # headlines removed since the lists were last rebuilt

    def add(self, tick: int, title: str, summary: str, source_id: str = "") -> None:
        keys = text_keys(analyse(title)) | text_keys(analyse(summary))
        keys.add(source_key(source_id))
        postings = self._postings
        for key in keys:
            posting = postings.get(key)
            if posting is None:
                postings[key] = [tick]
            else:
                posting.append(tick)
        self._live.add(tick)

    def remove(self, ticks: Iterable[int]) -> None:
        """Forget ``ticks`` (lazily: see the module docstring)."""
        for tick in ticks:
            if tick in self._live:
                self._live.remove(tick)
                self._dead += 1
        if self._dead > len(self._live):
            live = self._live
            self._postings = {
                k: kept for k, p in self._postings.items() if (kept := [t for t in p if t in live])
            }
            self._dead = 0

    def _size(self, keys: tuple[str, ...]) -> int:
        return sum(len(self._postings.get(k, ())) for k in keys)

    def candidates(self, query: Query) -> set[int] | None:
        """The ticks of every live headline that may match ``query`` (and some that do not);
        None for a query the index cannot narrow (no words and no source named)."""
        include = query.scope.include
        if not query.alternatives:
            if not include:
                return None
            return self._in_sources(include)
        out: set[int] = set()
        for alternative in query.alternatives:
            needs = sorted(
                (need for term in alternative for need in _term_needs(term)), key=self._size
            )
            if not needs:
                continue
            found = self._holding(needs[0])
            for need in needs[1:]:  # every word is needed: narrow while it is worth it
                if len(found) <= NARROW_ENOUGH:
                    break
                if len(need) == 1:
                    found = found.intersection(self._postings.get(need[0], ()))
                else:
                    found &= self._holding(need)
            out |= found
        if include and len(out) > NARROW_ENOUGH:  # a quiet source's match behind many others
            out &= self._in_sources(include)
        elif query.scope.exclude and len(out) > NARROW_ENOUGH:  # behind a busy one left out
            out -= self._holding(tuple(map(source_key, sorted(query.scope.exclude))))
        return out & self._live

    def _in_sources(self, include: frozenset[str]) -> set[int]:
        """The live headlines of the sources ``include`` (and those stored before sources had
        ids, whose source is not known)."""
        named = (*map(source_key, sorted(include)), source_key(""))
        return self._holding(named) & self._live

    def _holding(self, keys: tuple[str, ...]) -> set[int]:
        """The ticks filed under any of ``keys``."""
        found: set[int] = set()
        for key in keys:
            found.update(self._postings.get(key, ()))
        return found
