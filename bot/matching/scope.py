"""``source:NAME`` and ``-source:NAME`` in a query: where its keywords apply.

``parse_query`` takes the source parts off the text, parses the rest with
:func:`~bot.matching.query.parse_terms`, and puts both together:

* ``source:caixin`` alone follows every headline of that source (a query without terms);
* ``Nexperia source:caixin`` follows a keyword in that source only (several ``source:``
  names: in any of them);
* ``AI -source:hn`` leaves a source out.

Names are source slugs (``caixin``, ``scmp-tech``): letters, digits and hyphens, compared in
lower case.  This module does not know which sources exist: the handlers check the names
against the sources a chat may use (``Query.scope.names``) and refuse an unknown one.  The
display form puts the source parts last, sorted (``Nexperia source:caixin``); it parses back
into the same query.
"""

from __future__ import annotations

import re
import unicodedata

from .query import MAX_QUERY_LENGTH, Query, QueryError, Scope, parse_terms

__all__ = ["MAX_SOURCES", "SLUG", "parse_query"]

MAX_SOURCES = 5
#: A source slug: lower-case letters and digits, hyphens inside, at most 32 characters.
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")
_SOURCE = re.compile(r"(?<!\S)(-?)source:(\S*)", re.IGNORECASE)
#: What joins, varies or tones an emoji (ZWJ, variation selectors, keycap, skin tones)
_EMOJI_PARTS = re.compile("[\u200d\ufe0e\ufe0f\u20e3\U0001f3fb-\U0001f3ff]")


def _without_symbols(text: str) -> str:
    """``text`` without emoji and other pictographs (Unicode "So"): a headline's words are
    read without them, so a keyword holding one (``AI 🚀``) would never match."""
    if not any(unicodedata.category(ch) == "So" for ch in text):
        return text
    plain = "".join(" " if unicodedata.category(ch) == "So" else ch for ch in text)
    return " ".join(_EMOJI_PARTS.sub("", plain).split())


def _split(text: str) -> tuple[str, Scope]:
    """The text without its source parts, and the scope they give (outside quotes only)."""
    include: set[str] = set()
    exclude: set[str] = set()
    rest: list[str] = []
    last = 0
    for m in _SOURCE.finditer(text):
        if text.count('"', 0, m.start()) % 2:
            continue  # inside a quoted phrase: plain words
        name = m.group(2).casefold()
        if not SLUG.fullmatch(name):
            raise QueryError("q_bad_source", name=f"source:{m.group(2)[:40]}")
        if name in (include if m.group(1) else exclude):
            raise QueryError("q_source_both", name=f"source:{name}")
        (exclude if m.group(1) else include).add(name)
        rest.append(text[last: m.start()])
        last = m.end()
    rest.append(text[last:])
    if len(include | exclude) > MAX_SOURCES:
        raise QueryError("q_too_many_sources", limit=MAX_SOURCES)
    return " ".join(part.strip() for part in rest if part.strip()), Scope(
        frozenset(include), frozenset(exclude)
    )


def parse_query(text: str) -> Query:
    """Parse a query with its ``source:`` parts; raises :class:`QueryError`."""
    if not isinstance(text, str):
        raise QueryError("q_not_text")
    raw = unicodedata.normalize("NFKC", text).strip()
    if len(raw) > MAX_QUERY_LENGTH:
        raise QueryError("q_too_long", limit=MAX_QUERY_LENGTH, length=len(raw))
    raw = _without_symbols(raw)
    rest, scope = _split(raw)
    if not scope:
        return parse_terms(raw)
    shown = scope.text()
    if not rest.strip():
        if not scope.include:
            raise QueryError("q_only_excluded")
        return Query(text=shown, key=shown, scope=scope)
    try:
        terms = parse_terms(rest)
    except QueryError as exc:
        if exc.code == "q_only_excluded" and scope.include:
            raise QueryError("q_source_excludes") from None
        raise
    display = f"{terms.text} {shown}"
    if len(display) > MAX_QUERY_LENGTH:
        raise QueryError("q_too_long_spaced", limit=MAX_QUERY_LENGTH, length=len(display))
    return Query(
        text=display,
        key=f"{terms.key} {shown}",
        alternatives=terms.alternatives,
        excludes=terms.excludes,
        scope=scope,
    )
