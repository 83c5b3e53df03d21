"""Keyword matching for newsbot (issue 4).

Query language (the same text is in /help and the README):

* ``eVTOL``, ``low altitude economy``: case-insensitive whole words; words of a phrase in
  order, separated by any spaces, hyphens or dashes ("Low-Altitude Economy").  The last word
  may take an English plural or possessive (``s``, ``es``, ``ies`` for ``y``, ``'s``).  Never
  inside another word: ``AI`` does not match "said" or "Taiwan".
* ``AI``, ``US``, ``TSMC``: a word of 2-5 capital letters is an acronym and matches only in
  capitals (``US`` matches "US" and "U.S.", not "let us"); its plural is a lowercase ``s``
  ("EVs").
* ``"exact phrase"``: no plural or possessive forms.
* ``A OR B``: either; words side by side with a quoted phrase or CJK text must all be
  there (``华为 chip``).  ``-word`` / ``-"a phrase"``: skip headlines that contain it
  (anywhere in the query: it excludes for the whole query).
* Text in Chinese, Japanese or Korean matches as a substring (``华为``, ``小米汽车``).
* Symbols (``C++``, ``.NET``, ``AT&T``) match literally; no word boundary is required on
  the symbol side.
* Both sides are normalised: NFKC (full-width letters), casefold, straight quotes and
  apostrophes, accents dropped from Latin letters (``Huawéi`` = ``Huawei``).
* At most 100 characters and 10 keywords/phrases per query.
* ``source:caixin`` alone follows a whole source; ``Nexperia source:caixin`` a keyword in it
  only; ``AI -source:hn`` leaves a source out (see ``bot.matching.scope``).
"""

from .index import MatchIndex
from .normalize import fold
from .query import MAX_QUERY_LENGTH, MAX_TERMS, Match, Query, QueryError, Scope
from .scope import SLUG, parse_query

__all__ = [
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "SLUG",
    "Match",
    "MatchIndex",
    "Query",
    "QueryError",
    "Scope",
    "fold",
    "parse_query",
]
