"""The query language: parsing, terms, and matching one query against one headline."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .normalize import _QUOTES, _TOKEN, SEPARATORS, Text, analyse, fold

__all__ = [
    "MAX_QUERY_LENGTH", "MAX_TERMS", "Match", "Query", "QueryError", "Scope", "Term", "parse_terms",
]

MAX_QUERY_LENGTH = 100
MAX_TERMS = 10

_ACRONYM = re.compile(r"[A-Z]{2,5}")
_CJK_CHAR = re.compile(_TOKEN.pattern.split("|")[1][:-1])  # one CJK character
_LEX = re.compile(r'(-?)"([^"]*)"|(\S+)')

Span = tuple[int, int]


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


def _variants(tok: str) -> tuple[str, ...]:
    """Plural forms of a last word: eVTOL -> evtols, battery -> batteries, box -> boxes."""
    out = [tok, tok + "s", tok + "es"]
    if len(tok) > 1 and tok.endswith("y"):
        out.append(tok[:-1] + "ies")
    return tuple(out)


_STEMS: dict[str, tuple[str, ...]] = {}


def stems(tok: str) -> tuple[str, ...]:
    """Every word whose plural forms include ``tok`` (the inverse of :func:`_variants`)."""
    hit = _STEMS.get(tok)
    if hit is None:
        out = [tok]
        if len(tok) > 1 and tok.endswith("s"):
            out.append(tok[:-1])
            if len(tok) > 2 and tok.endswith("es"):
                out.append(tok[:-2])
                if len(tok) > 3 and tok.endswith("ies"):
                    out.append(tok[:-3] + "y")
        hit = tuple(out)
        if len(_STEMS) < 200_000:
            _STEMS[tok] = hit
    return hit


def _is_sep(gap: str) -> bool:
    return not gap.strip(SEPARATORS)


class Term:
    """One keyword, phrase or CJK string, compiled to a token pattern.

    ``toks`` are the normalised tokens; ``gaps[j]`` is what must stand between token ``j-1``
    and token ``j`` (``None``: any run of separators; a string: exactly that, e.g. ``&`` in
    AT&T); ``prefix``/``suffix`` are symbols before the first / after the last token (``.NET``,
    ``C++``), where no word boundary is checked.  ``acronym[j]`` marks words that must appear
    in capitals.
    """

    __slots__ = (
        "acronym", "cjk", "display", "exact", "gaps", "key", "plural", "prefix", "simple",
        "suffix", "toks", "variants",
    )

    def __init__(self, display: str, exact: bool) -> None:
        self.display = display
        self.exact = exact
        q = analyse(display)
        norm = q.norm
        if not q.toks:
            raise ValueError("no words")
        q.offsets()
        self.toks = tuple(q.toks)
        self.cjk = tuple(q.cjk)
        self.prefix = norm[: q.tstart[0]].strip(SEPARATORS)
        self.suffix = norm[q.tend[-1]:].strip(SEPARATORS)
        gaps: list[str | None] = [None]
        for j in range(1, len(q.toks)):
            gap = norm[q.tend[j - 1]: q.tstart[j]]
            gaps.append(None if _is_sep(gap) else gap.strip(" "))
        self.gaps = tuple(gaps)
        acro = []
        for j, c in enumerate(q.cjk):
            word = unicodedata.normalize("NFKC", q.original(q.tstart[j], q.tend[j]))
            acro.append(not c and _ACRONYM.fullmatch(word.replace(".", "")) is not None)
        self.acronym = tuple(acro)
        self.plural = not exact and not self.suffix and not self.cjk[-1]
        self.variants = _variants(self.toks[-1]) if self.plural else (self.toks[-1],)
        self.simple = (
            not self.prefix and not self.suffix and not any(self.cjk)
            and all(g is None for g in self.gaps)
        )
        parts = []
        for j, t in enumerate(self.toks):
            if j:
                parts.append(" " if self.gaps[j] is None else self.gaps[j])
            parts.append(t.upper() if self.acronym[j] else t)
        body = self.prefix + "".join(parts) + self.suffix
        self.key = f'"{body}"' if exact else body

    @property
    def index_key(self) -> str:
        """What the index files this term under: all its words, or its first word."""
        return " ".join(self.toks) if self.simple else self.toks[0]

    def __repr__(self) -> str:
        return f"Term({self.key!r})"

    # -- matching ----------------------------------------------------------------------
    def find(self, text: Text) -> list[Span]:
        """Spans ``[a, b)`` of this term in ``text.norm`` (normalised offsets)."""
        toks = text.toks
        if not toks:
            return []
        text.offsets()
        out: list[Span] = []
        if self.cjk[0]:
            first = self.toks[0]
            starts = [i for i, c in enumerate(text.cjk) if c and first in toks[i]]
            if len(self.toks) == 1:
                for i in starts:
                    t = toks[i]
                    k = t.find(first)
                    while k >= 0:
                        a = text.tstart[i] + k
                        out.append((a, a + len(first)))
                        k = t.find(first, k + 1)
                return out
        else:
            pos = text.positions
            first_forms = self.variants if len(self.toks) == 1 else (self.toks[0],)
            starts = []
            for f in first_forms:
                starts.extend(pos.get(f, ()))
        for i in starts:
            span = self._match_at(text, i)
            if span is not None:
                out.append(span)
        return out

    def _match_at(self, text: Text, i: int) -> Span | None:
        toks = text.toks
        norm = text.norm
        last = len(self.toks) - 1
        if i + last >= len(toks):
            return None
        a = b = 0
        for j, p in enumerate(self.toks):
            k = i + j
            t = toks[k]
            if j:
                gap = norm[text.tend[k - 1]: text.tstart[k]]
                want = self.gaps[j]
                if want is None:
                    if not _is_sep(gap):
                        return None
                elif gap.strip(" ") != want:
                    return None
            ts, te = text.tstart[k], text.tend[k]
            if self.cjk[j]:
                if not text.cjk[k]:
                    return None
                if j == 0:  # followed by more: the run must end with it
                    if not t.endswith(p):
                        return None
                    ts = te - len(p)
                elif j == last:  # the run must start with it
                    if not t.startswith(p):
                        return None
                    te = ts + len(p)
                elif t != p:
                    return None
            else:
                if text.cjk[k]:
                    return None
                stem_end = te
                if j == last and self.plural:
                    if t not in self.variants:
                        return None
                    # acronyms take a lowercase plural s only: EVs, not EVS or uses
                    if t != p and self.acronym[j] and (
                        t != p + "s" or text.original(te - 1, te) != "s"
                    ):
                        return None
                    if t != p:
                        stem_end = ts + len(p) if t.startswith(p) else te - 3
                elif t != p:
                    return None
                if self.acronym[j]:
                    word = text.original(ts, stem_end)
                    if word != word.upper():
                        return None
            if j == 0:
                a = ts
            b = te
        if self.prefix:
            if norm[a - len(self.prefix): a] != self.prefix or a < len(self.prefix):
                return None
            a -= len(self.prefix)
        if self.suffix:
            if norm[b: b + len(self.suffix)] != self.suffix:
                return None
            b += len(self.suffix)
        elif not self.cjk[last]:
            possessive = norm[b: b + 2] == "'s" and not (
                b + 2 < len(norm) and (norm[b + 2].isalnum())
            )
            if possessive:
                if self.exact:
                    return None
                b += 2
        return a, b


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


@dataclass(frozen=True)
class Match:
    """Why a headline matched a query: the matched words' offsets in the ORIGINAL texts."""

    query: Query
    title_spans: tuple[Span, ...]
    summary_spans: tuple[Span, ...]


# term key -> (spans in the original title, spans in the original summary), sorted
Hits = dict[str, tuple[tuple[Span, ...], tuple[Span, ...]]]


def term_hits(term: Term, title: Text, summary: Text) -> tuple[tuple[Span, ...], ...] | None:
    """Where ``term`` occurs, in original offsets; ``None`` when it does not."""
    a = term.find(title) if title.toks else ()
    b = term.find(summary) if summary.toks else ()
    if not a and not b:
        return None
    return (
        _merge(title.original_span(x, y) for x, y in a) if a else (),
        _merge(summary.original_span(x, y) for x, y in b) if b else (),
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
        return Match(self, _merge(tspans), _merge(sspans))


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
    alternatives: list[list[tuple[Term, str]]] = [[]]
    excludes: list[tuple[Term, str]] = []
    words: list[str] = []  # pending bare Latin words: one phrase
    kept: list[_Lexeme] = []  # the lexemes the display form shows, in its order
    kept_excludes: list[_Lexeme] = []

    def flush() -> None:
        if words:
            display = " ".join(words)
            term = _term(display, False)
            if term is not None:
                alternatives[-1].append((term, display))
                kept.extend(("word", w) for w in words)
            words.clear()

    for lexeme in _lex(raw):
        kind, body = lexeme
        if kind == "word":
            words.append(body)
            continue
        if kind == "or":
            flush()
            if not alternatives[-1]:
                raise _fail("q_dangling_or")
            alternatives.append([])
            kept.append(lexeme)
            continue
        negative = kind in ("exclude", "-quoted")
        term = _term(body[1:] if kind == "exclude" else body, kind.endswith("quoted"))
        if term is None:
            continue  # no words: as if it were not there (it does not split a phrase)
        if negative:
            excludes.append((term, _shown(lexeme)))  # excludes for the whole query: no flush
            kept_excludes.append(lexeme)
        else:
            flush()
            alternatives[-1].append((term, _shown(lexeme)))
            kept.append(lexeme)
    flush()
    if len(alternatives) > 1 and not alternatives[-1]:
        raise _fail("q_dangling_or")
    positives = [t for alt in alternatives for t in alt]
    if not positives:
        if excludes:
            raise _fail("q_only_excluded")
        raise _fail("q_empty")
    count = len(positives) + len(excludes)
    if count > MAX_TERMS:
        raise _fail("q_too_many", limit=MAX_TERMS, count=count)
    shown = " OR ".join(" ".join(d for _, d in alt) for alt in alternatives)
    if excludes:
        shown += " " + " ".join(d for _, d in excludes)
    if len(shown) > MAX_QUERY_LENGTH:  # '"a"b' is shown as '"a" b'
        raise _fail("q_too_long_spaced", limit=MAX_QUERY_LENGTH, length=len(shown))
    if _lex(shown) != kept + kept_excludes:  # a guard: the rules above should make it hold
        raise _fail("q_not_stable")
    alt_keys = sorted({" ".join(sorted({t.key for t, _ in alt})) for alt in alternatives})
    key = " OR ".join(alt_keys)
    ex_keys = sorted({t.key for t, _ in excludes})
    if ex_keys:
        key += " " + " ".join("-" + k for k in ex_keys)
    return Query(
        text=shown,
        key=key,
        alternatives=tuple(tuple(t for t, _ in alt) for alt in alternatives),
        excludes=tuple(t for t, _ in excludes),
    )
