"""The "Also:" of an alert: the other sources that reported its story, each a link.

``Also: <a href="...">SCMP Tech</a> · <a href="...">TechNode</a> +2 more``: the first
report of each source other than the lead's, in the order they came, at most
``max_sources`` shown and the rest counted.  Used under an alert, on a batch line and on a
``/latest`` line (``bot.delivery.format`` places the fragment).
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.delivery.format import safe_link
from bot.delivery.lengths import cut_text
from bot.i18n import t
from bot.models import Headline

__all__ = ["also_html", "other_sources"]

_SOURCE_CHARS = 40


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
    return f'<a href="{html.escape(link, quote=True)}">{name}</a>' if link else name


def also_html(lead: Headline, reports: Sequence[Headline], *, max_sources: int = 3,
              lang: str = "en") -> str:
    """The HTML fragment, or ``""`` when no other source reported the story."""
    others = other_sources(lead, reports)
    if not others:
        return ""
    shown = " · ".join(_link(h) for h in others[:max_sources])
    text = f"{t(lang, 'label_also')}: {shown}"
    if len(others) > max_sources:
        more = html.escape(t(lang, "label_more", count=len(others) - max(0, max_sources)))
        text += (" " if shown else "") + more
    return text
