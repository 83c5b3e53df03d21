"""The "Also:" of an alert: the other sources that reported its story, each a link.

``Also: <a href="...">SCMP Tech</a> · <a href="...">TechNode</a> +2 more``: the first
report of each source other than the lead's, in the order they came, at most
``max_sources`` shown and the rest counted.  Used under an alert, on a batch line and on a
``/latest`` line (``bot.delivery.format`` places the fragment).  The fragment keeps to
``BUDGET`` UTF-16 units, so every message it goes in stays under Telegram's limit: a source
whose URL is longer than ``LINK_CHARS`` is named without its link, and sources that do not
fit are counted in "+N more".
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.delivery.format import safe_link
from bot.delivery.lengths import cut_text, utf16_len
from bot.i18n import t
from bot.models import Headline

__all__ = ["BUDGET", "LINK_CHARS", "also_html", "other_sources"]

_SOURCE_CHARS = 40
LINK_CHARS = 300  # a longer URL is not linked in an "Also:": the source's name alone
BUDGET = 1000  # UTF-16 units of HTML one "Also:" may take


def other_sources(lead: Headline, reports: Sequence[Headline]) -> list[Headline]:
    """The first report of each source other than ``lead``'s, in order."""
    seen = {lead.source}
    out = []
    for report in reports:
        if report.source not in seen:
            seen.add(report.source)
            out.append(report)
    return out


def _link(headline: Headline) -> str:
    name = html.escape(cut_text(headline.source, _SOURCE_CHARS, sentence=False), quote=True)
    link = safe_link(headline.link)
    if link is None or len(link) > LINK_CHARS:
        return name
    return f'<a href="{html.escape(link, quote=True)}">{name}</a>'


def also_html(lead: Headline, reports: Sequence[Headline], *, max_sources: int = 3,
              lang: str = "en", budget: int = BUDGET) -> str:
    """The HTML fragment (at most ``max_sources`` shown, within ``budget`` UTF-16 units but
    for the label and the count), or ``""`` when no other source reported the story."""
    others = other_sources(lead, reports)
    if not others:
        return ""
    links = [_link(h) for h in others[: max(0, max_sources)]]
    while True:
        text = t(lang, "label_also") + t(lang, "label_colon") + " · ".join(links)
        if len(others) > len(links):
            more = html.escape(t(lang, "label_more", count=len(others) - len(links)))
            text += (" " if links else "") + more
        if not links or utf16_len(text) <= budget:
            return text
        links.pop()
