"""One term of a query (a keyword, a phrase, a CJK string, a symbol) compiled to a token
pattern, and how it is found in an analysed text (:class:`~bot.matching.normalize.Text`)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .normalize import SEPARATORS, Text, analyse

__all__ = ["STEMS", "Span", "Term", "merge_spans", "stems"]

_ACRONYM = re.compile(r"[A-Z]{2,5}")

Span = tuple[int, int]


def _variants(tok: str) -> tuple[str, ...]:
    """Plural forms of a last word: eVTOL -> evtols, battery -> batteries, box -> boxes."""
    out = [tok, tok + "s", tok + "es"]
    if len(tok) > 1 and tok.endswith("y"):
        out.append(tok[:-1] + "ies")
    return tuple(out)


#: :func:`stems` of every token seen (bounded); the index's scan reads it directly.
STEMS: dict[str, tuple[str, ...]] = {}


def stems(tok: str) -> tuple[str, ...]:
    """Every word whose plural forms include ``tok`` (the inverse of :func:`_variants`)."""
    hit = STEMS.get(tok)
    if hit is None:
        out = [tok]
        if len(tok) > 1 and tok.endswith("s"):
            out.append(tok[:-1])
            if len(tok) > 2 and tok.endswith("es"):
                out.append(tok[:-2])
                if len(tok) > 3 and tok.endswith("ies"):
                    out.append(tok[:-3] + "y")
        hit = tuple(out)
        if len(STEMS) < 200_000:
            STEMS[tok] = hit
    return hit


def _is_sep(gap: str) -> bool:
    return not gap.strip(SEPARATORS)


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted spans with the overlapping and touching ones merged."""
    out: list[list[int]] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


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
        tstart, tend = q.offsets()
        self.toks = tuple(q.toks)
        self.cjk = tuple(q.cjk)
        self.prefix = norm[: tstart[0]].strip(SEPARATORS)
        self.suffix = norm[tend[-1]:].strip(SEPARATORS)
        gaps: list[str | None] = [None]
        for j in range(1, len(q.toks)):
            gap = norm[tend[j - 1]: tstart[j]]
            gaps.append(None if _is_sep(gap) else gap.strip(" "))
        self.gaps = tuple(gaps)
        acro = []
        for j, c in enumerate(q.cjk):
            word = unicodedata.normalize("NFKC", q.original(tstart[j], tend[j]))
            acro.append(not c and _ACRONYM.fullmatch(word.replace(".", "")) is not None)
        self.acronym = tuple(acro)
        self.plural = not exact and not self.suffix and not self.cjk[-1]
        self.variants = _variants(self.toks[-1]) if self.plural else (self.toks[-1],)
        self.simple = (
            not self.prefix and not self.suffix and not any(self.cjk)
            and all(g is None for g in self.gaps)
        )
        self.key = self._key()

    def _key(self) -> str:
        """The normalised form: acronyms in capitals, gaps as one space, quotes if exact."""
        parts = []
        for j, t in enumerate(self.toks):
            gap = self.gaps[j]
            if j:
                parts.append(" " if gap is None else gap)
            parts.append(t.upper() if self.acronym[j] else t)
        body = self.prefix + "".join(parts) + self.suffix
        return f'"{body}"' if self.exact else body

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
        tstart, tend = text.offsets()
        starts: list[int] = []
        if self.cjk[0]:
            first = self.toks[0]
            starts = [i for i, c in enumerate(text.cjk) if c and first in toks[i]]
            if len(self.toks) == 1:
                return _substrings(first, toks, starts, tstart)
        else:
            pos = text.positions
            for f in self.variants if len(self.toks) == 1 else (self.toks[0],):
                starts.extend(pos.get(f, ()))
        out: list[Span] = []
        for i in starts:
            span = self._match_at(text, i, tstart, tend)
            if span is not None:
                out.append(span)
        return out

    def _match_at(self, text: Text, i: int, tstart: list[int], tend: list[int]
                  ) -> Span | None:
        """The span of this term starting at token ``i`` of ``text``, or None."""
        last = len(self.toks) - 1
        if i + last >= len(text.toks):
            return None
        a = b = 0
        for j in range(last + 1):
            k = i + j
            if j and not self._gap_fits(j, text.norm[tend[k - 1]: tstart[k]]):
                return None
            if self.cjk[j]:
                span = self._cjk_token(j, text, k, tstart[k], tend[k])
            else:
                span = self._word_token(j, text, k, tstart[k], tend[k])
            if span is None:
                return None
            if j == 0:
                a = span[0]
            b = span[1]
        return self._edges(text.norm, a, b)

    def _gap_fits(self, j: int, gap: str) -> bool:
        """Is ``gap`` what may stand before the term's token ``j``?"""
        want = self.gaps[j]
        if want is None:
            return _is_sep(gap)
        return gap.strip(" ") == want

    def _cjk_token(self, j: int, text: Text, k: int, ts: int, te: int) -> Span | None:
        """The term's CJK token ``j`` in the text's token ``k`` (a CJK run)."""
        if not text.cjk[k]:
            return None
        p, t = self.toks[j], text.toks[k]
        if j == 0:  # followed by more: the run must end with it
            return (te - len(p), te) if t.endswith(p) else None
        if j == len(self.toks) - 1:  # the run must start with it
            return (ts, ts + len(p)) if t.startswith(p) else None
        return (ts, te) if t == p else None

    def _word_token(self, j: int, text: Text, k: int, ts: int, te: int) -> Span | None:
        """The term's word ``j`` as the text's token ``k`` (a plural for the last word)."""
        if text.cjk[k]:
            return None
        p, t = self.toks[j], text.toks[k]
        stem_end = te
        if j == len(self.toks) - 1 and self.plural:
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
        return ts, te

    def _edges(self, norm: str, a: int, b: int) -> Span | None:
        """The span with its symbols (prefix, suffix) or a possessive 's, or None."""
        if self.prefix:
            if norm[a - len(self.prefix): a] != self.prefix or a < len(self.prefix):
                return None
            a -= len(self.prefix)
        if self.suffix:
            if norm[b: b + len(self.suffix)] != self.suffix:
                return None
            b += len(self.suffix)
        elif not self.cjk[-1]:
            possessive = norm[b: b + 2] == "'s" and not (
                b + 2 < len(norm) and (norm[b + 2].isalnum())
            )
            if possessive:
                if self.exact:
                    return None
                b += 2
        return a, b


def _substrings(first: str, toks: list[str], starts: list[int], tstart: list[int]
                ) -> list[Span]:
    """Every occurrence of the CJK string ``first`` in the runs ``starts``."""
    out: list[Span] = []
    for i in starts:
        t = toks[i]
        k = t.find(first)
        while k >= 0:
            a = tstart[i] + k
            out.append((a, a + len(first)))
            k = t.find(first, k + 1)
    return out
