"""The pure rooms' errors in the chat's words.

``bot.matching`` and ``bot.schedule`` know no UI texts: their errors carry a ``code`` and its
``arguments``.  Here the code names a text of ``bot.i18n`` and is said in the chat's language,
HTML-escaped for a reply.
"""

from __future__ import annotations

import html
from typing import Any

from bot.handlers.replies import shown
from bot.i18n import t
from bot.matching import QueryError
from bot.schedule import ScheduleError

#: refusals about a query's sources: keyword examples would not help (each names its fix)
_SOURCE_CODES = frozenset({"q_bad_source", "q_too_many_sources", "q_source_both",
                           "q_source_excludes"})


def query_reason(lang: str, error: QueryError) -> str:
    """Why a query was refused, and, unless it is about its sources, examples of good ones
    (HTML-escaped)."""
    examples = "" if error.code in _SOURCE_CODES else t(lang, "query_examples")
    return html.escape(t(lang, error.code, **error.arguments) + examples)


def schedule_reason(lang: str, error: ScheduleError) -> str:
    """Why a time, window, duration or zone was refused (the user's input cut and escaped)."""
    return t(lang, error.code, **_shown(error.arguments))


def _shown(values: dict[str, Any]) -> dict[str, Any]:
    return {k: shown(v) if isinstance(v, str) else v for k, v in values.items()}
