"""The query language: parsing a query (its terms are :mod:`bot.matching.terms`), and
matching one query against one headline."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .normalize import _QUOTES, _TOKEN, Text, analyse, fold
from .terms import Span, Term, merge_spans

__all__ = [
    "MAX_QUERY_LENGTH", "MAX_TERMS", "Match", "Query", "QueryError", "Scope", "Term", "parse_terms",
]

MAX_QUERY_LENGTH = 100
MAX_TERMS = 10

_CJK_CHAR = re.compile(_TOKEN.pattern.split("|")[1][:-1])  # one CJK character
_LEX = re.compile(r'(-?)"([^"]*)"|(\S+)')


class QueryError(ValueError):
    """A query that cannot be followed.  ``code`` names the reason and ``arguments`` its
    values (``code="q_too_long", arguments={"limit": 100, "length": 120}``); the handlers say
    it in the chat's language.  ``str(error)`` is the reason in plain English, with examples.
    """

    #: The English reason of each code (``str()``); the chat's words live in ``bot.i18n``.
    MESSAGES: ClassVar[dict[str, str]] = {
        "q_quote_in_word": "Put quotes around a whole phrase, with a space before and after "
        "it (not inside a word)",
        "q_not_text": "A query must be text",
        "q_too_long": "A query can be at most {limit} characters (this one has {length})",
        "q_too_long_spaced": "A query can be at most {limit} characters (this one has "
        "{length} once spaced out)",
        "q_unbalanced": 'Unbalanced quotes: close every "phrase" with a second "',
        "q_dangling_or": "OR needs a keyword on both sides",
        "q_only_excluded": "A query needs at least one keyword that is not excluded (-word)",
        "q_empty": "The query is empty: give a keyword or a phrase",
        "q_too_many": "A query can have at most {limit} keywords or phrases (this one has "
        "{count})",
        "q_not_stable": "This query would not read the same once stored; write it more simply",
        "q_bad_source": "{name} is not a source name: write source:name with the short name "
        "/sources shows",
        "q_too_many_sources": "A query can name at most {limit} sources",
        "q_source_both": "{name} is both asked for and left out (-{name}): keep one",
        "q_source_excludes": "Following a whole source takes no -word: follow keywords in it "
        "instead (Nexperia source:caixin)",
        "q_invisible": "A query cannot hold control or formatting characters (found {char})",
    }
    EXAMPLES: ClassVar[str] = (
        '; for example: eVTOL, low altitude economy, "flying car", Nexperia -rumor, '
        "华为 OR Huawei"
    )

    def __init__(self, code: str, **arguments: Any) -> None:
        self.code = code
        self.arguments = arguments
        super().__init__(self.MESSAGES[code].format(**arguments) + self.EXAMPLES)


@dataclass(frozen=True)
class Match:
    """Why a headline matched a query: the matched words' offsets in the ORIGINAL texts."""

    query: Query
    title_spans: tuple[Span, ...]
    summary_spans: tuple[Span, ...]


# term key -> (spans in the original title, spans in the original summary), sorted
Hits = dict[str, tuple[tuple[Span, ...], tuple[Span, ...]]]


def term_hits(term: Term, title: Text, summary: Text
              ) -> tuple[tuple[Span, ...], tuple[Span, ...]] | None:
    """Where ``term`` occurs, in original offsets; ``None`` when it does not."""
    a = term.find(title) if title.toks else ()
    b = term.find(summary) if summary.toks else ()
    if not a and not b:
        return None
    return (
        merge_spans(title.original_span(x, y) for x, y in a) if a else (),
        merge_spans(summary.original_span(x, y) for x, y in b) if b else (),
    )


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a query applies: only in ``include`` (when not empty), never in ``exclude``
    (source slugs, lower case)."""

    include: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    def allows(self, source: str | None) -> bool:
        """Does a headline of ``source`` fall in the scope (an unknown source only when the
        scope names none)?"""
        if source is None:
            return not self
        return (not self.include or source in self.include) and source not in self.exclude

    @property
    def names(self) -> frozenset[str]:
        return self.include | self.exclude

    def text(self) -> str:
        """The scope as written in a query's display form and key (sorted, canonical)."""
        parts = [f"source:{n}" for n in sorted(self.include)]
        parts += [f"-source:{n}" for n in sorted(self.exclude)]
        return " ".join(parts)


NO_SCOPE = Scope()


@dataclass(frozen=True)
class Query:
    """A parsed query.  ``text`` is the display form, ``key`` identifies the query."""

    text: str
    key: str
    alternatives: tuple[tuple[Term, ...], ...] = field(repr=False, compare=False, default=())
    excludes: tuple[Term, ...] = field(repr=False, compare=False, default=())
    # the sources it applies to (``source:x``, ``-source:y``); no alternatives: a whole source
    scope: Scope = field(repr=False, compare=False, default=NO_SCOPE)

    @property
    def terms(self) -> tuple[Term, ...]:
        """Every distinct term, positive and excluded."""
        seen: dict[str, Term] = {}
        for alt in self.alternatives:
            for t in alt:
                seen.setdefault(t.key, t)
        for t in self.excludes:
            seen.setdefault(t.key, t)
        return tuple(seen.values())

    def find(self, title: str, summary: str = "", source: str | None = None) -> Match | None:
        """The match of this query in a headline of ``source`` (its slug), or ``None``.
        ``source=None``: the source is not known, the scope is not checked."""
        if source is not None and not self.scope.allows(source):
            return None
        tt, st = analyse(title), analyse(summary)
        hits: Hits = {}
        for term in self.terms:
            h = term_hits(term, tt, st)
            if h is not None:
                hits[term.key] = h
        return self.evaluate(hits)

    def find_in(self, title: str, summary: str, source: str | None) -> Match | None:
        """The match in a stored headline of ``source``, where ``None`` is a source the
        registry no longer knows: no query scoped to a source matches it (as in alerts)."""
        if not self.scope.allows(source):
            return None
        return self.find(title, summary)

    def evaluate(self, hits: Hits) -> Match | None:
        """The match given every term's hits (terms absent from ``hits`` did not match)."""
        for t in self.excludes:
            if t.key in hits:
                return None
        alts = self.alternatives
        if not alts:  # a whole source (its scope is checked by the caller)
            return Match(self, (), ())
        if len(alts) == 1 and len(alts[0]) == 1:
            h = hits.get(alts[0][0].key)
            return None if h is None else Match(self, h[0], h[1])
        tspans: list[Span] = []
        sspans: list[Span] = []
        for alt in alts:
            if all(t.key in hits for t in alt):
                for t in alt:
                    ta, sa = hits[t.key]
                    tspans.extend(ta)
                    sspans.extend(sa)
        if not tspans and not sspans:
            return None
        return Match(self, merge_spans(tspans), merge_spans(sspans))


# -- parsing -----------------------------------------------------------------------------
def _fail(key: str, **values: Any) -> QueryError:
    return QueryError(key, **values)


#: Format characters some scripts need: the zero-width joiner and non-joiner.
_JOINERS = frozenset("\u200c\u200d")
#: Control characters that are only spacing between words.
_SPACING = frozenset("\t\n\r")


def _invisible(text: str) -> str | None:
    """The first control, format (bidi overrides, zero-width spaces ...) or surrogate
    character of ``text``, joiners and line breaks aside; None if there is none."""
    for char in text:
        if char in _JOINERS or char in _SPACING:
            continue
        if unicodedata.category(char) in ("Cc", "Cf", "Cs"):
            return char
    return None


def _has_cjk(s: str) -> bool:
    return _CJK_CHAR.search(fold(s)) is not None


def _term(display: str, exact: bool) -> Term | None:
    try:
        return Term(display, exact)
    except ValueError:
        return None


_Lexeme = tuple[str, str]  # (kind, text): "or", "word", "cjk", "exclude", "quoted", "-quoted"


def _lex(raw: str) -> list[_Lexeme]:
    """The lexemes of a normalised query, quoted phrases with their spaces collapsed."""
    out: list[_Lexeme] = []
    for m in _LEX.finditer(raw):
        neg, quoted, bare = m.group(1), m.group(2), m.group(3)
        if bare is None:
            out.append((neg + "quoted", " ".join(quoted.split())))
        elif '"' in bare:
            raise _fail("q_quote_in_word")
        elif bare == "OR":
            out.append(("or", bare))
        elif bare.startswith("-") and len(bare) > 1 and not bare[1:].startswith("-"):
            out.append(("exclude", bare))
        elif _has_cjk(bare):
            out.append(("cjk", bare))
        else:
            out.append(("word", bare))
    return out


def _shown(lexeme: _Lexeme) -> str:
    kind, body = lexeme
    return f'"{body}"' if kind == "quoted" else f'-"{body}"' if kind == "-quoted" else body


def parse_terms(text: str) -> Query:
    """Parse a query without sources (see the module docs); raises :class:`QueryError`.
    ``bot.matching.scope.parse_query`` takes the ``source:`` parts off first.

    The display form ``text`` parses back into the same query (same ``text``, same ``key``,
    same terms): it is what gets stored.  So anything the display form leaves out must not
    change how the rest reads: a term without words (``""``, ``-!``) and an exclusion are
    dropped or moved to the end *before* bare words are grouped into phrases
    (``Apple "" Google`` and ``Apple -rumor Google`` both hold the phrase "Apple Google").
    """
    grouping = _Grouping()
    for lexeme in _lex(_clean(text)):
        grouping.add(lexeme)
    grouping.finish()
    return Query(
        text=grouping.shown(),
        key=grouping.key(),
        alternatives=tuple(tuple(t for t, _ in alt) for alt in grouping.alternatives),
        excludes=tuple(t for t, _ in grouping.excludes),
    )


def _clean(text: object) -> str:
    """The query text normalised (NFKC, straight quotes), or the first reason it is refused:
    not text, an invisible character, too long, an unclosed quote."""
    if not isinstance(text, str):
        raise _fail("q_not_text")
    raw = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip()
    hidden = _invisible(raw)
    if hidden is not None:
        raise _fail("q_invisible", char=f"U+{ord(hidden):04X}")
    if len(raw) > MAX_QUERY_LENGTH:
        raise _fail("q_too_long", limit=MAX_QUERY_LENGTH, length=len(raw))
    if raw.count('"') % 2:
        raise _fail("q_unbalanced")
    return raw


_Shown = tuple[Term, str]  # a term and how the display form writes it


@dataclass
class _Grouping:
    """The lexemes of a query grouped into alternatives (OR) of terms, and exclusions."""

    alternatives: list[list[_Shown]] = field(default_factory=lambda: [[]])
    excludes: list[_Shown] = field(default_factory=list)
    words: list[str] = field(default_factory=list)  # pending bare Latin words: one phrase
    kept: list[_Lexeme] = field(default_factory=list)  # what the display form shows, in order
    kept_excludes: list[_Lexeme] = field(default_factory=list)

    def add(self, lexeme: _Lexeme) -> None:
        kind, body = lexeme
        if kind == "word":
            self.words.append(body)
        elif kind == "or":
            self._or(lexeme)
        else:
            self._term(lexeme)

    def _or(self, lexeme: _Lexeme) -> None:
        self._flush()
        if not self.alternatives[-1]:
            raise _fail("q_dangling_or")
        self.alternatives.append([])
        self.kept.append(lexeme)

    def _term(self, lexeme: _Lexeme) -> None:
        kind, body = lexeme
        term = _term(body[1:] if kind == "exclude" else body, kind.endswith("quoted"))
        if term is None:
            return  # no words: as if it were not there (it does not split a phrase)
        if kind in ("exclude", "-quoted"):
            self.excludes.append((term, _shown(lexeme)))  # for the whole query: no flush
            self.kept_excludes.append(lexeme)
        else:
            self._flush()
            self.alternatives[-1].append((term, _shown(lexeme)))
            self.kept.append(lexeme)

    def _flush(self) -> None:
        """The pending bare words become one phrase."""
        if self.words:
            display = " ".join(self.words)
            term = _term(display, False)
            if term is not None:
                self.alternatives[-1].append((term, display))
                self.kept.extend(("word", w) for w in self.words)
            self.words.clear()

    def finish(self) -> None:
        """The last phrase; refuses a dangling OR, no keyword, too many keywords."""
        self._flush()
        if len(self.alternatives) > 1 and not self.alternatives[-1]:
            raise _fail("q_dangling_or")
        positives = sum(len(alt) for alt in self.alternatives)
        if not positives:
            raise _fail("q_only_excluded" if self.excludes else "q_empty")
        count = positives + len(self.excludes)
        if count > MAX_TERMS:
            raise _fail("q_too_many", limit=MAX_TERMS, count=count)

    def shown(self) -> str:
        """The display form, checked to be short enough and to read back the same."""
        shown = " OR ".join(" ".join(d for _, d in alt) for alt in self.alternatives)
        if self.excludes:
            shown += " " + " ".join(d for _, d in self.excludes)
        if len(shown) > MAX_QUERY_LENGTH:  # '"a"b' is shown as '"a" b'
            raise _fail("q_too_long_spaced", limit=MAX_QUERY_LENGTH, length=len(shown))
        if _lex(shown) != self.kept + self.kept_excludes:  # a guard: the rules should hold it
            raise _fail("q_not_stable")
        return shown

    def key(self) -> str:
        """The normalised form: alternatives and their terms sorted, then the exclusions."""
        alt_keys = sorted({" ".join(sorted({t.key for t, _ in alt}))
                           for alt in self.alternatives})
        key = " OR ".join(alt_keys)
        ex_keys = sorted({t.key for t, _ in self.excludes})
        if ex_keys:
            key += " " + " ".join("-" + k for k in ex_keys)
        return key
