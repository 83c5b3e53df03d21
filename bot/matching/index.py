"""MatchIndex: every chat's queries in one token / n-gram dictionary.

A headline is normalised and tokenised once; its word n-grams (up to the longest followed
phrase, with the last word also looked up as the singular of a plural) and the substrings of
its CJK runs (of the lengths that are followed) are looked up in a dictionary of the distinct
terms of all queries.  Only the terms found there are verified (gaps, acronyms, symbols),
only the queries holding a verified term are evaluated (AND, OR, exclusions), and each
matching query fans out to the chats that follow it.  Single plain words and plain phrases
(the bulk of all terms) are verified by fast paths here that give the same spans as
:meth:`Term.find`; the rest (symbols, CJK, mixed terms) go through :meth:`Term.find`.  Each
distinct term is verified once and each distinct query evaluated once per headline; one Match
per query is shared by all its chats, whose ids are packed in an array.

The work grows with what the headline matches (terms found, queries matching, chats to
notify), not with the number of subscriptions as such; adding or removing a subscription
touches a few dict entries (and the query's chat-id array).

Sources: a query that follows a whole source (``source:caixin``) is filed under that source,
and a headline of the source picks those entries up by one lookup; a query scoped to sources
(``Nexperia source:caixin``, ``AI -source:hn``) is found through its terms like any other, and
only these few candidates check the headline's source.
"""

from __future__ import annotations

from .entries import QueryEntry, TermEntry
from .normalize import SEPARATORS, Text, analyse
from .query import Match, Query, term_hits
from .terms import STEMS, Span, Term, merge_spans, stems

__all__ = ["MatchIndex"]


class MatchIndex:
    """The subscriptions of every chat, indexed for matching headlines against them all."""

    def __init__(self) -> None:
        self._terms: dict[str, TermEntry] = {}
        self._queries: dict[str, QueryEntry] = {}
        self._chats: dict[int, set[str]] = {}
        self._grams: dict[str, list[TermEntry]] = {}  # word n-gram -> terms
        self._prefixes: dict[str, int] = {}  # proper prefixes of multi-word n-grams
        self._cjk: dict[str, list[TermEntry]] = {}  # CJK string -> terms
        self._cjk_lengths: dict[int, int] = {}
        self._whole: dict[str, dict[str, QueryEntry]] = {}  # source -> whole-source queries
        self._pairs = 0

    def __len__(self) -> int:
        return self._pairs

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, tuple) or len(item) != 2:
            return False
        chat_id, key = item
        return key in self._chats.get(chat_id, ())

    def queries(self, chat_id: int) -> list[Query]:
        """The queries a chat follows."""
        return [self._queries[k].chats[chat_id] for k in self._chats.get(chat_id, ())]

    # -- changes ---------------------------------------------------------------------------
    def add(self, chat_id: int, query: Query) -> None:
        """Subscribe ``chat_id`` to ``query`` (replaces a query with the same key)."""
        entry = self._queries.get(query.key)
        if entry is None:
            terms = [self._ref_term(t) for t in query.terms]
            positive = {t.key for alt in query.alternatives for t in alt}
            entry = QueryEntry(query, terms)
            if not query.alternatives:
                for source in query.scope.include:
                    self._whole.setdefault(source, {})[query.key] = entry
            for te in terms:
                if te.term.key in positive:
                    te.queries[query.key] = entry
                    te.entries = tuple(te.queries.values())
            self._queries[query.key] = entry
        if entry.set_chat(chat_id, query):
            self._pairs += 1
        self._chats.setdefault(chat_id, set()).add(query.key)

    def remove(self, chat_id: int, query_key: str) -> None:
        """Unsubscribe; unknown chats or keys are ignored."""
        keys = self._chats.get(chat_id)
        if keys is None or query_key not in keys:
            return
        keys.discard(query_key)
        if not keys:
            del self._chats[chat_id]
        entry = self._queries[query_key]
        entry.drop_chat(chat_id)
        self._pairs -= 1
        if not entry.chats:
            del self._queries[query_key]
            if not entry.query.alternatives:
                for source in entry.query.scope.include:
                    whole = self._whole[source]
                    del whole[query_key]
                    if not whole:
                        del self._whole[source]
            for te in entry.terms:
                if te.queries.pop(query_key, None) is not None:
                    te.entries = tuple(te.queries.values())
                self._unref_term(te)

    def remove_chat(self, chat_id: int) -> None:
        for key in list(self._chats.get(chat_id, ())):
            self.remove(chat_id, key)

    def move_chat(self, old_id: int, new_id: int) -> None:
        """Give ``old_id``'s subscriptions to ``new_id`` (a group became a supergroup)."""
        if old_id == new_id:
            return
        for key in list(self._chats.get(old_id, ())):
            query = self._queries[key].chats[old_id]
            self.remove(old_id, key)
            self.add(new_id, query)

    def _ref_term(self, term: Term) -> TermEntry:
        te = self._terms.get(term.key)
        if te is None:
            te = self._terms[term.key] = TermEntry(term)
            if term.cjk[0]:
                self._cjk.setdefault(term.toks[0], []).append(te)
                n = len(term.toks[0])
                self._cjk_lengths[n] = self._cjk_lengths.get(n, 0) + 1
            else:
                key = term.index_key
                self._grams.setdefault(key, []).append(te)
                words = key.split(" ")
                for j in range(1, len(words)):
                    p = " ".join(words[:j])
                    self._prefixes[p] = self._prefixes.get(p, 0) + 1
        te.refs += 1
        return te

    def _unref_term(self, te: TermEntry) -> None:
        te.refs -= 1
        if te.refs:
            return
        term = te.term
        del self._terms[term.key]
        if term.cjk[0]:
            table, key = self._cjk, term.toks[0]
            n = len(key)
            self._cjk_lengths[n] -= 1
            if not self._cjk_lengths[n]:
                del self._cjk_lengths[n]
        else:
            table, key = self._grams, term.index_key
            words = key.split(" ")
            for j in range(1, len(words)):
                p = " ".join(words[:j])
                self._prefixes[p] -= 1
                if not self._prefixes[p]:
                    del self._prefixes[p]
        lst = table[key]
        lst.remove(te)
        if not lst:
            del table[key]

    # -- matching --------------------------------------------------------------------------
    def match(
        self, title: str, summary: str = "", source: str | None = None
    ) -> dict[int, list[Match]]:
        """chat id -> the matches of its queries in this headline (title and summary) of
        ``source`` (its slug; ``None``: unknown, so no query scoped to a source matches).

        Each distinct term is verified once, each distinct query evaluated once, and one
        :class:`Match` is shared by every chat that follows the query under the same display
        text; every chat gets its own list.
        """
        tt, st = analyse(title), analyse(summary)
        words: _Words = {}
        phrases: _Phrases = {}
        other: set[TermEntry] = set()
        for slot, text in enumerate((tt, st)):
            if text.toks:
                self._scan(text, slot, words, phrases, other)
        whole = self._whole.get(source) if source is not None else None
        if not words and not phrases and not other and not whole:
            return {}
        found = _verify(tt, st, words, phrases, other)
        entries: dict[QueryEntry, None] = {}
        for te in found:
            entries.update(dict.fromkeys(te.entries))
        if whole:
            entries.update(dict.fromkeys(whole.values()))
        return _fan_out(entries, found, source)

    def _scan(self, text: Text, slot: int, words: _Words, phrases: _Phrases,
              other: set[TermEntry]) -> None:
        """Find the terms whose index key occurs in ``text`` (still to be verified).

        Single plain words go to ``words`` with the text's tokens that are forms of them
        (in ``slot`` 0 for the title, 1 for the summary); plain phrases are verified here and
        go to ``phrases`` with their spans; every other term to ``other``.
        """
        self._scan_tokens(text.toks, slot, words, other)
        prefixes = self._prefixes
        if prefixes and not prefixes.keys().isdisjoint(text.toks):
            self._scan_phrases(text, slot, phrases, other)
        if self._cjk and True in text.cjk:
            self._scan_cjk(text, other)

    def _scan_tokens(self, toks: list[str], slot: int, words: _Words,
                     other: set[TermEntry]) -> None:
        """Each distinct token, and the singulars of a plural, looked up as one-word keys."""
        grams = self._grams
        for tok in set(toks):  # CJK runs are never keys of ``grams``: harmless here
            hit = grams.get(tok)
            if hit is not None:
                for te in hit:
                    if te.word:
                        forms = words.get(te)
                        if forms is None:
                            words[te] = forms = ([], [])
                        forms[slot].append(tok)
                    else:
                        other.add(te)
            n = len(tok)
            if n > 1 and tok[-1] == "s":  # a plural: look up its possible singulars
                for stem in (
                    (tok[:-1], tok[:-2], tok[:-3] + "y") if n > 3 and tok[-3:] == "ies"
                    else (tok[:-1], tok[:-2]) if n > 2 and tok[-2] == "e"
                    else (tok[:-1],)
                ):
                    hit = grams.get(stem)
                    if hit is not None:
                        for te in hit:
                            if not te.word:
                                other.add(te)
                            elif te.plural:
                                forms = words.get(te)
                                if forms is None:
                                    words[te] = forms = ([], [])
                                forms[slot].append(tok)

    def _scan_phrases(self, text: Text, slot: int, phrases: _Phrases,
                      other: set[TermEntry]) -> None:
        """Word n-grams grown from each token that starts a followed phrase, while they
        are prefixes of one; plain phrases verified on the spot."""
        grams, prefixes = self._grams, self._prefixes
        toks, cjk = text.toks, text.cjk
        n = len(toks)
        for i, base in enumerate(toks):
            if base not in prefixes:
                continue
            j = i + 1
            while j < n and not cjk[j]:
                tok = toks[j]
                head = base + " "
                for s in STEMS.get(tok) or stems(tok):
                    hit = grams.get(head + s)
                    if hit:
                        for te in hit:
                            if not te.phrase:
                                other.add(te)
                                continue
                            span = _phrase_span(te, text, i, j, s == tok)
                            spans = phrases.get(te)
                            if spans is None:
                                phrases[te] = spans = ([], [])
                            if span is not None:
                                spans[slot].append(span)
                base = head + tok
                j += 1
                if base not in prefixes:
                    break

    def _scan_cjk(self, text: Text, other: set[TermEntry]) -> None:
        """The substrings of the CJK runs of the lengths followed, looked up."""
        lengths = self._cjk_lengths
        subs = {
            run[k: k + n]
            for run, c in zip(text.toks, text.cjk, strict=True) if c
            for n in lengths
            for k in range(len(run) - n + 1)
        }
        table = self._cjk
        for key in table.keys() & subs:
            other.update(table[key])


# the scan's finds: a single word -> the text's tokens that are its forms (title, summary);
# a plain phrase -> its spans (title, summary); each term verified -> its original spans
_Words = dict[TermEntry, tuple[list[str], list[str]]]
_Phrases = dict[TermEntry, tuple[list[Span], list[Span]]]
_Hits = tuple[tuple[Span, ...], tuple[Span, ...]]
_Found = dict[TermEntry, _Hits]


def _verify(tt: Text, st: Text, words: _Words, phrases: _Phrases,
            other: set[TermEntry]) -> _Found:
    """The terms the scan found that really occur, with their spans in the original texts."""
    found: _Found = {}
    for te, (in_title, in_summary) in words.items():
        a = _word_spans(te, tt, in_title) if in_title else None
        b = _word_spans(te, st, in_summary) if in_summary else None
        if a or b:
            found[te] = (_original(tt, a), _original(st, b))
    for te, (sa, sb) in phrases.items():
        if sa or sb:
            found[te] = (_original(tt, sa), _original(st, sb))
    for te in other:
        h = term_hits(te.term, tt, st)
        if h is not None:
            found[te] = h
    return found


def _fan_out(entries: dict[QueryEntry, None], found: _Found,
             source: str | None) -> dict[int, list[Match]]:
    """Each candidate query evaluated once; its one Match handed to each of its chats."""
    result: dict[int, list[Match]] = {}
    get = result.get
    ts: tuple[Span, ...]
    ss: tuple[Span, ...]
    for entry in entries:
        if entry.scope is not None and not entry.scope.allows(source):
            continue
        if not entry.alts:  # a whole source
            ts, ss = (), ()
        elif entry.single is not None:
            ts, ss = found[entry.single]
        else:  # OR / AND / exclusions, as Query.evaluate
            h = _evaluate(entry, found)
            if h is None:
                continue
            ts, ss = h
        if entry.mixed:
            own_matches: dict[str, Match] = {}
            for chat_id, own in entry.chats.items():
                mm = own_matches.get(own.text)
                if mm is None:
                    mm = own_matches[own.text] = Match(own, ts, ss)
                lst = get(chat_id)
                if lst is None:
                    result[chat_id] = [mm]
                else:
                    lst.append(mm)
            continue
        mm = Match(entry.query, ts, ss)
        for chat_id in entry.ids:
            lst = get(chat_id)
            if lst is None:
                result[chat_id] = [mm]
            else:
                lst.append(mm)
    return result


def _evaluate(entry: QueryEntry, found: _Found) -> _Hits | None:
    """:meth:`Query.evaluate` on the terms found (by entry, not by key): the spans or None."""
    for te in entry.excludes:
        if te in found:
            return None
    tspans: list[Span] = []
    sspans: list[Span] = []
    for alt in entry.alts:
        for te in alt:
            if te not in found:
                break
        else:
            for te in alt:
                a, b = found[te]
                tspans += a
                sspans += b
    if not tspans and not sspans:
        return None
    return merge_spans(tspans), merge_spans(sspans)


def _word_spans(te: TermEntry, text: Text, forms: list[str]) -> list[Span] | None:
    """Spans of a single plain word in ``text`` (normalised offsets), as Term.find gives.

    ``forms`` are the text's tokens that are the word or (for a plural term) its plurals.
    """
    pos = text.positions
    occ = pos[forms[0]]
    for f in forms[1:]:
        occ = occ + pos[f]
    tstart, tend = text.offsets()
    norm = text.norm
    size = len(norm)
    out: list[Span] = []
    for i in occ:
        a = tstart[i]
        b = tend[i]
        if te.acronym:  # in capitals; the plural only with a lowercase s: EVs
            stem = te.stem
            tok = text.toks[i]
            if tok != stem:
                if tok != stem + "s" or text.original(b - 1, b) != "s":
                    continue
                word = text.original(a, a + len(stem))
            else:
                word = text.original(a, b)
            if word != word.upper():
                continue
        if norm.startswith("'s", b) and not (b + 2 < size and norm[b + 2].isalnum()):
            if te.exact:
                continue
            b += 2
        out.append((a, b))
    return out


def _phrase_span(te: TermEntry, text: Text, i: int, j: int, same: bool) -> Span | None:
    """The span of a plain phrase found by the scan at tokens ``i..j``, as Term.find gives.

    The words before the last are equal by construction; ``same``: the last one is too
    (else it is a plural form).
    """
    term = te.term
    if not same and not term.plural:
        return None
    tstart, tend = text.offsets()
    norm = text.norm
    for k in range(i + 1, j + 1):
        if norm[tend[k - 1]: tstart[k]].strip(SEPARATORS):
            return None
    if True in term.acronym:  # in capitals; the plural only with a lowercase s: EVs
        for w, p in enumerate(term.toks):
            if not term.acronym[w]:
                continue
            k = i + w
            a, b = tstart[k], tend[k]
            tok = text.toks[k]
            if tok != p:
                if tok != p + "s" or text.original(b - 1, b) != "s":
                    return None
                b = a + len(p)
            word = text.original(a, b)
            if word != word.upper():
                return None
    a = tstart[i]
    b = tend[j]
    if norm.startswith("'s", b) and not (b + 2 < len(norm) and norm[b + 2].isalnum()):
        if term.exact:
            return None
        b += 2
    return a, b


def _original(text: Text, spans: list[Span] | None) -> tuple[Span, ...]:
    """Normalised spans -> sorted, merged spans in the original text."""
    if not spans:
        return ()
    if text.starts is None:
        return (spans[0],) if len(spans) == 1 else merge_spans(spans)
    return merge_spans(text.original_span(a, b) for a, b in spans)
