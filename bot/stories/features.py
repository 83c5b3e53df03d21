"""What the same-story rule reads in a headline: its words, names, numbers and events.

Pure functions of the text.  Titles and summaries go through the matching module's
normalisation (:func:`bot.matching.normalize.analyse`: NFKC, casefold, accents, CJK runs),
then:

* words: normalised tokens less stopwords, plurals folded (``supplies`` -> ``supply``);
* names: acronyms (``GM``, ``TSMC``), words with an inner capital or a digit (``iOS``,
  ``SU7``) and, in a headline written in sentence case, capitalised words after the first;
  in a Title Case or ALL CAPS headline case tells little, so its other capitalised words
  that are not common words are only *guessed* names (weighed like names, but never the
  sole anchor of a fold);
* numbers: ``7.1``, ``1,000`` -> ``1000``; dates and years are no evidence and are left out;
* events: the kinds of development its verbs report (see :mod:`bot.stories.lexicon`);
* CJK: character bigrams of every Chinese/Japanese/Korean run (a lone character as itself),
  and the places of ``CJK_PLACES`` it names, with the text of its runs without them.
"""

from __future__ import annotations

import itertools
import re
import sys
from dataclasses import dataclass

from bot.matching.normalize import analyse
from bot.stories.lexicon import (
    CJK_BAN_NOUNS,
    CJK_EVENTS,
    CJK_LIFT_VERBS,
    CJK_PLACE_COMPANIES,
    CJK_PLACE_NAMES,
    CJK_PLACES,
    EVENTS,
    IE_PLURALS,
    MONTHS,
    STOPWORDS,
    WEAK,
)

__all__ = ["Features", "extract", "stem"]

# A number: "7.1", "1,000", "$15bn", "8.5m", "20%"; not the digits of "792p" or "SU7".
_NUMBER = re.compile(r"(?<![0-9a-z.])\d+(?:[.,]\d+)*(?=(?:bn|mn|m|b|k)?(?![a-z0-9]))")
# Tokens that are numbers or dates, not words: "11th", "15bn", "8.5m" (as "5m").
_NOT_WORD = re.compile(r"\d+(?:st|nd|rd|th|bn|mn|m|b|k)")
_HAS_DIGIT = re.compile(r"\d")
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# "March 11", "11 March", "March 11, 2014", "2014", "2:02 am", "2014-03-11": no evidence.
_DATE = re.compile(
    rf"\b(?:(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d\d)?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTH})\b(?:,?\s+(?:19|20)\d\d)?"
    r"|(?:19|20)\d\d-\d\d-\d\d|\d{1,2}:\d\d(?:\s*[ap]\.?m\.?)?|(?:19|20)\d\d)\b"
)


@dataclass(frozen=True, slots=True)
class Features:
    """The evidence one headline offers (title and summary kept apart)."""

    words: frozenset[str]  # title words (stemmed, no stopwords, no bare numbers)
    names: frozenset[str]  # title words that surely are names or acronyms
    guesses: frozenset[str]  # title words that may be names (Title Case headlines)
    numbers: frozenset[str]  # numbers in the title, dates left out
    events: frozenset[str]  # kinds of development named in the title
    grams: frozenset[str]  # CJK character bigrams of the title
    lower: frozenset[str] = frozenset()  # title words written in lower case
    opening: frozenset[str] = frozenset()  # the first word, capitalised, of a sentence-case title
    summary: frozenset[str] = frozenset()  # summary words and CJK bigrams
    summary_names: frozenset[str] = frozenset()
    summary_numbers: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()  # every title token (numbers as ``#7.1``)
    lookup_keys: frozenset[str] = frozenset()  # the keys and the summary's names
    places: frozenset[str] = frozenset()  # CJK places (``CJK_PLACES``) in the title
    cjk_rest: str = ""  # the title's CJK runs without those places ("|" between runs)


def stem(word: str) -> str:
    """A light English plural fold: ``batteries`` -> ``battery``, ``supplies`` ->
    ``supply``, ``chips`` -> ``chip``; short words, ``-ss``, ``-us``, ``-is``, ``-os``
    words and words with digits stay as they are."""
    if len(word) <= 3 or _HAS_DIGIT.search(word):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-1] if word in IE_PLURALS else word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "os")):
        return word[:-1]
    return word


def _is_title_case(originals: list[str]) -> bool:
    """True when (almost) every longer word starts with a capital: case tells nothing."""
    long = [w for w in originals if len(w) > 3 and w[:1].isalpha()]
    if len(long) < 2:
        return False
    caps = sum(1 for w in long if w[:1].isupper())
    return caps >= 0.8 * len(long)


def _is_acronym(original: str) -> bool:
    letters = original.replace(".", "")
    return 2 <= len(letters) <= 6 and letters.isalpha() and letters.isupper()


def _name_kind(original: str, word: str, loose: bool, first: bool, all_caps: bool) -> str:
    """``"name"``, ``"guess"`` or ``""`` for one word as written."""
    if _HAS_DIGIT.search(original):  # SU7, A17, 5G, 792p
        return "name" if any(c.isalpha() for c in original) else ""
    if word in WEAK or word in MONTHS:
        return ""
    if _is_acronym(original) and not all_caps:
        return "name"
    if any(c.isupper() for c in original[1:]) and not original.isupper():
        return "name"  # iOS, eVTOL, iPhone, McDonald
    if not original[:1].isupper() and not (loose and original.isupper()):
        return ""
    if loose or first:  # Title Case, ALL CAPS, or the first word: case proves nothing
        return "guess" if len(word) > 3 or original.isupper() else ""
    return "name"


def _events(words: list[str], norm: str) -> frozenset[str]:
    stems = [stem(w) for w in words]
    kinds = {EVENTS.get(w) or EVENTS.get(s) for w, s in zip(words, stems, strict=True)}
    kinds.update(EVENTS.get(a + "-" + b) for a, b in itertools.pairwise(stems))
    kinds.update(_cjk_events(norm))
    kinds.discard(None)
    return frozenset(k for k in kinds if k is not None)


_CLAUSE = "[^，。；！？、,.;!?]"
_LIFT = re.compile(
    f"({'|'.join(sorted(CJK_LIFT_VERBS))}){_CLAUSE}*?({'|'.join(sorted(CJK_BAN_NOUNS))})"
)
_BAN = re.compile("|".join(sorted(CJK_BAN_NOUNS)))


def _cjk_events(norm: str) -> set[str]:
    """The kinds of event a title's Chinese names (over its whole text, Latin names and
    all: 解除对Nexperia的出口禁令).  A lift verb before a ban noun in one clause is "resume"
    and not the verb's own "cancel"; a ban noun with no lift verb before it is "stop"."""
    if not any("\u4e00" <= ch <= "\u9fff" for ch in norm):
        return set()
    lifted = _LIFT.search(norm) is not None
    verbs_left = _LIFT.sub(lambda m: " " + m.group()[len(m.group(1)) :], norm)
    kinds = {kind for verb, kind in CJK_EVENTS.items() if verb in verbs_left}
    if lifted:
        kinds.add("resume")
    if _BAN.search(_LIFT.sub(" ", norm)):
        kinds.add("stop")
    return kinds


def _bigrams(runs: list[str]) -> set[str]:
    grams: set[str] = set()
    for run in runs:
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams


_PLACE = re.compile(
    "|".join(sorted(CJK_PLACES | CJK_PLACE_NAMES.keys() | CJK_PLACE_COMPANIES, key=len,
                    reverse=True))
)


def _places(runs: list[str]) -> tuple[frozenset[str], str]:
    """The places the CJK runs name (the longest at each point, each under one name; a
    company named after a place names none), and the runs without them."""
    places: set[str] = set()

    def take(match: re.Match[str]) -> str:
        name = match.group()
        if name in CJK_PLACE_COMPANIES:
            return name
        places.add(CJK_PLACE_NAMES.get(name, name))
        return ""

    rest = _PLACE.sub(take, "|".join(runs))
    return frozenset(places), rest


def _numbers(norm: str) -> frozenset[str]:
    found = set()
    for m in _NUMBER.finditer(_DATE.sub(" ", norm)):
        n = m.group().replace(",", "")
        if "." in n:
            n = n.rstrip("0").rstrip(".") or "0"
        found.add(n)
    return frozenset(found)


@dataclass(slots=True)
class _Parsed:
    words: set[str]
    names: set[str]
    guesses: set[str]
    lower: set[str]  # words written in lower case (evidence that a word is no name)
    opening: set[str]  # a guessed name that opens a sentence-case title
    numbers: frozenset[str]
    raw: list[str]  # every Latin token, in order (for event phrases)
    runs: list[str]  # CJK runs
    norm: str  # the normalised title (the clauses Chinese events are read in)


def _parse(text: str) -> _Parsed:
    t = analyse(text)
    starts, ends = t.offsets()
    originals = [t.original(a, b) for a, b in zip(starts, ends, strict=True)]
    latin = [(w, o) for w, o, c in zip(t.toks, originals, t.cjk, strict=True) if not c]
    runs = [w for w, c in zip(t.toks, t.cjk, strict=True) if c]
    all_caps = text.isupper()
    loose = all_caps or _is_title_case([o for _, o in latin])
    out = _Parsed(set(), set(), set(), set(), set(), _numbers(t.norm), [w for w, _ in latin], runs,
                  t.norm)
    for i, (tok, orig) in enumerate(latin):
        if tok in STOPWORDS or tok.isdigit() or len(tok) == 1 or _NOT_WORD.fullmatch(tok):
            continue
        word = sys.intern(stem(tok))  # one string per word for the whole index
        out.words.add(word)
        kind = _name_kind(orig, word, loose, first=i == 0, all_caps=all_caps)
        if kind == "name":
            out.names.add(word)
        elif kind == "guess":
            out.guesses.add(word)
            if i == 0 and not loose:
                out.opening.add(word)
        elif orig.islower() and i > 0:
            out.lower.add(word)
    return out


def extract(title: str, summary: str = "") -> Features:
    """The features of one headline."""
    p = _parse(title)
    if summary:
        s = _parse(summary)
        summary_words = frozenset(s.words | _bigrams(s.runs))
        summary_names = frozenset(s.names)
        summary_numbers = s.numbers
    else:
        summary_words = summary_names = summary_numbers = frozenset()
    words = frozenset(p.words)
    grams = frozenset(_bigrams(p.runs))
    keys = words | {sys.intern(g) for g in grams} | {sys.intern("#" + n) for n in p.numbers}
    places, rest = _places(p.runs) if p.runs else (frozenset(), "")
    return Features(
        words=words,
        names=frozenset(p.names),
        guesses=frozenset(p.guesses - p.names),
        numbers=p.numbers,
        events=_events(p.raw, p.norm),
        grams=grams,
        lower=frozenset(p.lower - p.names - p.guesses),
        opening=frozenset(p.opening - p.names),
        summary=summary_words,
        summary_names=summary_names,
        summary_numbers=summary_numbers,
        keys=keys,
        lookup_keys=keys | summary_names if summary_names else keys,
        places=places,
        cjk_rest=rest,
    )
