"""MatchIndex: every chat's queries in one token / n-gram dictionary.

A headline is normalised and tokenised once; its word n-grams (up to the longest followed
phrase, with the last word also looked up as the singular of a plural) and the substrings of
its CJK runs (of the lengths that are followed) are looked up in a dictionary of the distinct
terms of all queries.  Only the terms found there are verified (gaps, acronyms, symbols),
only the queries holding a verified term are evaluated (AND, OR, exclusions), and each
matching query fans out to the chats that follow it.  The cost depends on the headline, not
on the number of subscriptions; adding or removing a subscription touches a few dict entries.
"""

from __future__ import annotations

from .normalize import Text, analyse
from .query import _STEMS, Hits, Match, Query, Term, stems, term_hits

__all__ = ["MatchIndex"]


class _TermEntry:
    __slots__ = ("queries", "refs", "term")

    def __init__(self, term: Term) -> None:
        self.term = term
        self.refs = 0
        self.queries: set[str] = set()  # keys of queries in which it is a positive term


class _QueryEntry:
    __slots__ = ("chats", "query", "terms")

    def __init__(self, query: Query, terms: list[_TermEntry]) -> None:
        self.query = query
        self.terms = terms
        self.chats: dict[int, Query] = {}  # each chat's own Query (its own display text)


class MatchIndex:
    """The subscriptions of every chat, indexed for matching headlines against them all."""

    def __init__(self) -> None:
        self._terms: dict[str, _TermEntry] = {}
        self._queries: dict[str, _QueryEntry] = {}
        self._chats: dict[int, set[str]] = {}
        self._grams: dict[str, list[_TermEntry]] = {}  # word n-gram -> terms
        self._prefixes: dict[str, int] = {}  # proper prefixes of multi-word n-grams
        self._cjk: dict[str, list[_TermEntry]] = {}  # CJK string -> terms
        self._cjk_lengths: dict[int, int] = {}
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
            for te in terms:
                if te.term.key in positive:
                    te.queries.add(query.key)
            entry = _QueryEntry(query, terms)
            self._queries[query.key] = entry
        if chat_id not in entry.chats:
            self._pairs += 1
        entry.chats[chat_id] = query
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
        del entry.chats[chat_id]
        self._pairs -= 1
        if not entry.chats:
            del self._queries[query_key]
            for te in entry.terms:
                te.queries.discard(query_key)
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

    def _ref_term(self, term: Term) -> _TermEntry:
        te = self._terms.get(term.key)
        if te is None:
            te = self._terms[term.key] = _TermEntry(term)
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

    def _unref_term(self, te: _TermEntry) -> None:
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
    def _candidates(self, text: Text, out: dict[int, _TermEntry]) -> None:
        toks, cjk = text.toks, text.cjk
        grams, prefixes = self._grams, self._prefixes
        n = len(toks)
        for i in range(n):
            if cjk[i]:
                if self._cjk:
                    run = toks[i]
                    table = self._cjk
                    for length in self._cjk_lengths:
                        for k in range(len(run) - length + 1):
                            hit = table.get(run[k: k + length])
                            if hit:
                                for te in hit:
                                    out[id(te)] = te
                continue
            base = ""
            j = i
            while True:
                tok = toks[j]
                for s in _STEMS.get(tok) or stems(tok):
                    hit = grams.get(base + s)
                    if hit:
                        for te in hit:
                            out[id(te)] = te
                base += tok
                j += 1
                if j >= n or cjk[j] or base not in prefixes:
                    break
                base += " "

    def match(self, title: str, summary: str = "") -> dict[int, list[Match]]:
        """chat id -> the matches of its queries in this headline (title and summary)."""
        tt, st = analyse(title), analyse(summary)
        cands: dict[int, _TermEntry] = {}
        if tt.toks:
            self._candidates(tt, cands)
        if st.toks:
            self._candidates(st, cands)
        if not cands:
            return {}
        hits: Hits = {}
        qkeys: set[str] = set()
        for te in cands.values():
            h = term_hits(te.term, tt, st)
            if h is not None:
                hits[te.term.key] = h
                qkeys.update(te.queries)
        result: dict[int, list[Match]] = {}
        queries = self._queries
        for qk in qkeys:
            entry = queries[qk]
            shared = entry.query
            m = shared.evaluate(hits)
            if m is None:
                continue
            for chat_id, own in entry.chats.items():
                if own is not shared and own.text != shared.text:
                    mm = Match(own, m.title_spans, m.summary_spans)
                else:
                    mm = m
                lst = result.get(chat_id)
                if lst is None:
                    result[chat_id] = [mm]
                else:
                    lst.append(mm)
        return result
