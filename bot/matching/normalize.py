"""Text normalisation with an offset map, and tokenisation.

Both queries and headlines go through :func:`analyse`: Unicode NFKC, curly quotes and
apostrophes made straight, casefold, and combining accents dropped from Latin letters only
(Japanese kana keep their voicing marks: ``データ`` stays ``データ``).  The normalised text
keeps a map back to the original offsets, so a match can be shown in the original text even
when normalisation changed lengths (``ﬁ`` -> ``fi``, ``e`` + combining accent -> ``e``).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["SEPARATORS", "Text", "analyse", "fold"]

_QUOTES = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
        "\u02bc": "'", "\u00b4": "'", "\u0060": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
        "\u00ab": '"', "\u00bb": '"',
    }
)

#: Characters that may separate the words of a phrase ("low-altitude  economy").
SEPARATORS = " \t\n\r\f\v\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008" \
    "\u2009\u200a\u202f\u205f\u3000-\u2010\u2011\u2012\u2013\u2014\u2015\u2212_"

# Chinese, Japanese and Korean characters: matched as substrings, not whole words.
_CJK_RANGES = (
    "\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7af\ud7b0-\ud7ff\u3005\u3006\u3007"
    "\U00020000-\U0003134f"
)
# Scripts whose words carry combining marks inside them (Indic, Thai, ...): part of words.
_MARKED = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0900-\u0dff" \
    "\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f"
_TOKEN = re.compile(
    rf"(?<![\w.])(?:[a-z]\.){{2,}}(?![^\W_])"  # dotted acronym: u.s., e.u.
    rf"|[{_CJK_RANGES}]+"
    rf"|(?:[^\W_{_CJK_RANGES}]|[{_MARKED}])+"
)
_IS_CJK = re.compile(rf"[{_CJK_RANGES}]")
_WORD = re.compile(r"[a-zA-Z0-9]+")
_DOTTED = re.compile(r"\b[a-z]\.[a-z]\.")

_latin_cache: dict[str, bool] = {}


def _is_latin(ch: str) -> bool:
    hit = _latin_cache.get(ch)
    if hit is None:
        hit = ch.isalpha() and unicodedata.name(ch, "").startswith("LATIN ")
        _latin_cache[ch] = hit
    return hit


# The combining kana voiced / semi-voiced sound marks (NFKC also turns the half-width
# U+FF9E / U+FF9F and the spacing U+309B / U+309C into these).
_VOICING = "\u3099\u309a"


def _is_kana(ch: str) -> bool:
    """A hiragana or katakana letter (not a voicing mark): what a voicing mark may follow."""
    return ("\u3040" <= ch <= "\u30ff" or "\u31f0" <= ch <= "\u31ff") and ch.isalpha()


_kind_cache: dict[str, str | None] = {}


def _kind(ch: str) -> str | None:
    """What a combining mark after ``ch`` (a base character) would belong to."""
    hit = _kind_cache.get(ch, "")
    if hit == "":
        if _is_latin(ch):
            hit = "latin"
        elif _is_kana(ch):
            hit = "kana"
        elif _IS_CJK.match(ch):
            hit = "cjk"
        elif ch.isalnum():
            hit = "word"
        else:
            hit = None  # a space, a symbol, punctuation: no word to carry a mark
        _kind_cache[ch] = hit
    return hit


def _is_mark(ch: str) -> bool:
    return bool(unicodedata.combining(ch)) or unicodedata.category(ch).startswith("M")


def fold(text: str) -> str:
    """The normalised form of ``text`` (no offset map): NFKC, quotes, casefold, accents.

    A combining mark is kept only where it belongs to the word it follows, so that it stays
    in that word's token; elsewhere it is dropped, on both sides (queries and headlines go
    through here), as if it were not there:

    * after a Latin letter: accents are dropped (``Huawéi`` = ``Huawei``);
    * a voicing mark (U+3099 / U+309A; NFKC also turns the half-width U+FF9E / U+FF9F
      into these) only right after a kana letter, where it voices it (``ﾃﾞ`` -> ``デ``) or,
      where no precomposed kana exists (``ア゙``), stays with it in the same CJK run.  After
      a digit, a non-kana letter, a symbol or a space, at the start, or a second mark after
      an already voiced kana, it is dropped: ``0ﾞ`` = ``0``, ``aﾞ`` = ``a``, ``デﾞ`` = ``デ``;
    * any other mark only after a letter or digit of another script (Indic, Thai, Hebrew
      vowel signs and points; a digit's keycap), or after a mark kept there; after CJK
      text, a symbol or a space, or at the start, it is dropped (``华́`` = ``华``).

    Kept as is, such a stray mark would split one original character cluster (``0ﾞ``:
    the voicing marks lie in the kana block, so they form a CJK token of their own) into
    two tokens that both map back to the whole cluster, or form a token of its own made
    of a symbol and the mark (``-́``): a query made of that token would not find it.
    """
    s = unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    out = []
    kind: str | None = None  # what the last base character was, see _kind
    for ch in unicodedata.normalize("NFD", s):
        if _is_mark(ch):
            if ch in _VOICING:
                if kind != "kana":
                    continue
                kind = "cjk"  # voiced: a second voicing mark has nothing left to voice
            elif kind == "latin":
                if unicodedata.combining(ch):
                    continue
            elif kind != "word":
                continue
        else:
            kind = _kind(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


_joins_cache: dict[str, bool] = {}


def _joins(ch: str) -> bool:
    """True when ``ch`` may combine with the character before it under NFKC."""
    hit = _joins_cache.get(ch)
    if hit is None:
        n = unicodedata.normalize("NFKC", ch)
        hit = False
        for c in (ch, n[:1]):
            if c and (
                unicodedata.combining(c)
                or unicodedata.category(c).startswith("M")
                or "\u1160" <= c <= "\u11ff"
                or "\ud7b0" <= c <= "\ud7ff"
            ):
                hit = True
        _joins_cache[ch] = hit
    return hit


def _is_jamo_vt(ch: str) -> bool:
    """A Hangul vowel or final-consonant jamo (or a compatibility form of one)."""
    c = unicodedata.normalize("NFKC", ch)[:1]
    return "\u1160" <= c <= "\u11ff" or "\ud7b0" <= c <= "\ud7ff"


def _is_hangul(ch: str) -> bool:
    """A Hangul syllable or jamo (or a compatibility form of one): what a vowel or final
    jamo may combine with.  After anything else a vowel or final jamo (``0ᅡ``) cannot
    combine, so it starts a cluster of its own: a CJK token whose original text is just
    itself, not the digit before it as well."""
    c = unicodedata.normalize("NFKC", ch)[-1:]
    return (
        "\u1100" <= c <= "\u11ff" or "\ua960" <= c <= "\ua97f" or "\uac00" <= c <= "\ud7ff"
    )


# Characters whose folded form is not exactly one character, or that join the previous one:
# a text holding any of them takes the slow path that builds an explicit offset map.
_IRREGULAR: set[str] = set()


class _Table(dict):
    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = fold(ch)
        if len(folded) != 1 or _joins(ch):
            _IRREGULAR.add(ch)
        self[code] = folded
        return folded


_TABLE = _Table()


def normalise(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """``(norm, starts, ends)``: norm[i] comes from text[starts[i]:ends[i]].

    ``starts`` and ``ends`` are ``None`` when offsets are unchanged (the common case).
    """
    norm = text.translate(_TABLE)
    if len(norm) == len(text) and _IRREGULAR.isdisjoint(text):
        return norm, None, None
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    size = len(text)
    while i < size:
        j = i + 1
        while j < size and _joins(text[j]) and (
            not _is_jamo_vt(text[j]) or _is_hangul(text[j - 1])
        ):
            j += 1
        piece = _TABLE[ord(text[i])] if j == i + 1 else fold(text[i:j])
        for ch in piece:
            out.append(ch)
            starts.append(i)
            ends.append(j)
        i = j
    return "".join(out), starts, ends


class Text:
    """A normalised, tokenised text with a way back to the original offsets.

    Tokens are maximal runs of letters and digits, or of CJK characters (a separate kind),
    or dotted acronyms (``U.S.`` gives the token ``us``).
    """

    __slots__ = ("_pos", "cjk", "ends", "norm", "orig", "starts", "tend", "toks", "tstart")

    def __init__(self, orig: str) -> None:
        self.orig = orig
        norm, self.starts, self.ends = normalise(orig)
        self.norm = norm
        self._pos: dict[str, list[int]] | None = None
        self.tstart: list[int] | None = None
        self.tend: list[int] | None = None
        if norm.isascii() and "_" not in norm and (
            "." not in norm or _DOTTED.search(norm) is None
        ):
            # fast path: plain ASCII words; offsets are computed when first needed
            self.toks = _WORD.findall(norm)
            self.cjk = [False] * len(self.toks)
            return
        toks: list[str] = []
        tstart: list[int] = []
        tend: list[int] = []
        cjk: list[bool] = []
        is_cjk = _IS_CJK.match
        for m in _TOKEN.finditer(norm):
            s = m.group()
            a, b = m.span()
            if s[-1] == ".":
                s = s.replace(".", "")
                c = False
            else:
                c = is_cjk(s) is not None
            toks.append(s)
            tstart.append(a)
            tend.append(b)
            cjk.append(c)
        self.toks = toks
        self.tstart = tstart
        self.tend = tend
        self.cjk = cjk

    def offsets(self) -> tuple[list[int], list[int]]:
        """(token starts, token ends) in the normalised text."""
        if self.tstart is None or self.tend is None:
            starts: list[int] = []
            ends: list[int] = []
            find = self.norm.find
            pos = 0
            for t in self.toks:
                a = find(t, pos)
                pos = a + len(t)
                starts.append(a)
                ends.append(pos)
            self.tstart, self.tend = starts, ends
        return self.tstart, self.tend

    @property
    def positions(self) -> dict[str, list[int]]:
        """token -> indices where it occurs."""
        pos = self._pos
        if pos is None:
            pos = {}
            for i, t in enumerate(self.toks):
                lst = pos.get(t)
                if lst is None:
                    pos[t] = [i]
                else:
                    lst.append(i)
            self._pos = pos
        return pos

    def original_span(self, a: int, b: int) -> tuple[int, int]:
        """The original offsets of the normalised span ``[a, b)``."""
        if self.starts is None or self.ends is None:
            return a, b
        if a >= b:
            o = self.starts[a] if a < len(self.starts) else len(self.orig)
            return o, o
        return self.starts[a], self.ends[b - 1]

    def original(self, a: int, b: int) -> str:
        oa, ob = self.original_span(a, b)
        return self.orig[oa:ob]


def analyse(text: str) -> Text:
    return Text(text)
