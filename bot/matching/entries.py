"""What the index keeps of each distinct term and query: :class:`TermEntry` (the term, the
queries holding it, what the scan's fast paths read) and :class:`QueryEntry` (the query as
term entries, and the chats following it, packed for the fan-out)."""

from __future__ import annotations

from array import array

from .query import Query
from .terms import Term

__all__ = ["QueryEntry", "TermEntry"]


class TermEntry:
    """A distinct term of the followed queries."""

    __slots__ = (
        "acronym", "entries", "exact", "phrase", "plural", "queries", "refs", "stem", "term",
        "word",
    )

    def __init__(self, term: Term) -> None:
        self.term = term
        self.refs = 0
        # queries in which it is a positive term: key -> entry
        self.queries: dict[str, QueryEntry] = {}
        self.entries: tuple[QueryEntry, ...] = ()  # the same, packed for matching
        # a single plain Latin word (no symbols): verified by a fast path, see _word_spans
        self.word = term.simple and len(term.toks) == 1
        # plain words separated by spaces or hyphens: verified where the scan finds them
        self.phrase = term.simple and len(term.toks) > 1
        self.plural = term.plural
        self.stem = term.toks[-1]
        self.acronym = term.acronym[-1]
        self.exact = term.exact


class QueryEntry:
    """A distinct followed query (by key), and each chat's own display of it."""

    __slots__ = (
        "alts", "chats", "excludes", "ids", "mixed", "query", "scope", "single", "terms",
    )

    single: TermEntry | None

    def __init__(self, query: Query, terms: list[TermEntry]) -> None:
        self.query = query
        self.terms = terms
        self.chats: dict[int, Query] = {}  # each chat's own Query (its own display text)
        # the same chat ids, packed: the fan-out reads them without touching scattered ints
        self.ids: array[int] | list[int] = array("q")
        self.mixed = 0  # chats whose display text differs from ``query.text``
        alts = query.alternatives
        # the query's alternatives and exclusions as term entries
        by_key = {te.term.key: te for te in terms}
        self.alts = tuple(tuple(by_key[t.key] for t in alt) for alt in alts)
        self.excludes = tuple(by_key[t.key] for t in query.excludes)
        # its only term when the query is one keyword or phrase, else None
        self.single = (
            terms[0] if len(alts) == 1 and len(alts[0]) == 1 and not query.excludes else None
        )
        self.scope = query.scope if query.scope else None  # None: every source

    def set_chat(self, chat_id: int, own: Query) -> bool:
        """Record ``chat_id``'s own query; True when the chat is new here."""
        old = self.chats.get(chat_id)
        text = self.query.text
        if old is not None and old.text != text:
            self.mixed -= 1
        if own.text != text:
            self.mixed += 1
        self.chats[chat_id] = own
        if old is not None:
            return False
        try:
            self.ids.append(chat_id)
        except OverflowError:  # beyond 64 bits: keep them as Python ints
            self.ids = [*self.ids, chat_id]
        return True

    def drop_chat(self, chat_id: int) -> None:
        own = self.chats.pop(chat_id)
        if own.text != self.query.text:
            self.mixed -= 1
        self.ids.remove(chat_id)
