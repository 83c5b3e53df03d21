"""Rendering alerts, batches and /latest answers as Telegram HTML.

Every piece of text that comes from a source (title, summary, source name, link, query text)
is escaped with ``html.escape(..., quote=True)``; the only tags we emit are ``<a href>``,
``<b>`` and ``<i>``, always opened and closed around whole, already-escaped segments.  So a
message is valid HTML whatever the input, and cutting is done on *input text* (before
escaping), never on the rendered HTML: no entity or tag is ever broken.

Every rendered message is kept under Telegram's 4096-character limit both as raw HTML and
as visible text (the raw length is always the larger one, so checking it is enough),
counted in UTF-16 code units as Telegram counts them.

Matches are duck-typed: anything with ``.query.text``, ``.title_spans`` and
``.summary_spans`` (``bot.matching.Match``) works; ``plain_matches(queries)`` builds
span-less ones from query texts when only ``Alert.queries`` is known.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from bot.delivery.lengths import ELLIPSIS, MAX_MESSAGE_CHARS, cut_text, utf16_len
from bot.delivery.lengths import PART_LIMIT as _LIMIT
from bot.i18n import t
from bot.models import Headline

__all__ = [
    "MAX_MESSAGE_CHARS",
    "PlainMatch",
    "QueryText",
    "cut_text",
    "plain_matches",
    "render_alert",
    "render_batch",
    "render_batch_message",
    "render_batch_parts",
    "render_latest",
    "safe_link",
    "utf16_len",
]

_TITLE_CHARS = 300  # a title longer than this is cut (with "…") in every form
_SOURCE_CHARS = 80
_LINK_CHARS = 1500  # a longer link is not linked at all (it could not fit anyway)
_QUERIES_CHARS = 300


@dataclass(frozen=True, slots=True)
class QueryText:
    """The part of a query the renderer needs: its display text."""

    text: str


@dataclass(frozen=True, slots=True)
class PlainMatch:
    """A match without spans: names the query, bolds nothing."""

    query: QueryText
    title_spans: tuple[tuple[int, int], ...] = ()
    summary_spans: tuple[tuple[int, int], ...] = ()


def plain_matches(queries: Iterable[str]) -> list[PlainMatch]:
    return [PlainMatch(QueryText(q)) for q in queries]


# --------------------------------------------------------------------------- helpers


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _merge_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Clamp spans to ``[0, length)``, drop empty ones, merge overlapping/touching ones."""
    clamped = sorted(
        (max(0, int(s)), min(length, int(e))) for s, e in spans if min(length, e) > max(0, s)
    )
    merged: list[tuple[int, int]] = []
    for start, end in clamped:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _highlight(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Escape ``text``, wrapping the (merged) spans in ``<b>``."""
    out: list[str] = []
    pos = 0
    for start, end in _merge_spans(spans, len(text)):
        out.append(_esc(text[pos:start]))
        out.append(f"<b>{_esc(text[start:end])}</b>")
        pos = end
    out.append(_esc(text[pos:]))
    return "".join(out)


def _normalise_with_spans(
    text: str, spans: Iterable[tuple[int, int]]
) -> tuple[str, list[tuple[int, int]]]:
    """Collapse whitespace runs to one space (and strip) while mapping spans along."""
    mapping: list[int] = []  # old index -> new index
    out: list[str] = []
    prev_space = True
    for ch in text:
        if ch.isspace():
            if not prev_space:
                out.append(" ")
            prev_space = True
        else:
            out.append(ch)
            prev_space = False
        mapping.append(len(out))
    mapping.append(len(out))
    new = "".join(out)
    stripped = new.rstrip()
    new_spans: list[tuple[int, int]] = []
    for s, e in spans:
        s = max(0, min(len(text), int(s)))
        e = max(0, min(len(text), int(e)))
        if e <= s:
            continue
        # start maps to the position of the first char; end to after the last char
        ns = mapping[s] - (0 if text[s].isspace() else 1)
        ne = mapping[e - 1]
        ns = max(0, ns)
        if ne > ns:
            new_spans.append((ns, min(ne, len(stripped))))
    return stripped, new_spans


def _cut_with_spans(
    text: str, spans: Iterable[tuple[int, int]], limit: int, *, sentence: bool = True
) -> str:
    """Cut ``text`` like :func:`cut_text` and return escaped HTML with the spans bolded."""
    norm, nspans = _normalise_with_spans(text, spans)
    cut = cut_text(norm, limit, sentence=sentence)
    if cut == norm:
        return _highlight(norm, nspans)
    # ``cut`` is a prefix of ``norm`` (possibly right-stripped) plus " …" or "…".
    body = cut.removesuffix(ELLIPSIS).rstrip()
    tail = cut[len(body) :]
    return _highlight(body, nspans) + _esc(tail)


def _fmt_time(published: datetime | None, tz: tzinfo | None, *, short: bool = False) -> str:
    if published is None:
        return ""
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    local = published.astimezone(tz or UTC)
    name = local.tzname() or "UTC"
    if short:  # numbers only: the same in every language
        return f"{local:%m-%d %H:%M} {name}"
    return f"{local:%Y-%m-%d %H:%M} {name}"


def safe_link(link: str) -> str | None:
    link = link.strip()
    if not link or len(link) > _LINK_CHARS:
        return None
    if not link.lower().startswith(("http://", "https://")):
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in link):
        return None
    return link


def _title_html(headline: Headline, matches: Sequence[Any], limit: int) -> str:
    spans = [span for m in matches for span in getattr(m, "title_spans", ())]
    title = _cut_with_spans(headline.title or "(untitled)", spans, limit, sentence=False)
    if not title:
        title = _esc("(untitled)")
    link = safe_link(headline.link)
    if link is None:
        return title
    return f'<a href="{_esc(link)}">{title}</a>'


def _query_names(matches: Sequence[Any]) -> list[str]:
    names: list[str] = []
    for m in matches:
        query = getattr(m, "query", None)
        text = getattr(query, "text", None) if query is not None else None
        if text is None and isinstance(m, str):
            text = m
        text = " ".join(text.split()) if isinstance(text, str) else ""
        if text and text not in names:
            names.append(text)
    return names


# --------------------------------------------------------------------------- alert


def render_alert(
    headline: Headline,
    matches: Sequence[Any],
    *,
    summary_chars: int = 300,
    tz: tzinfo | None = None,
    lang: str = "en",
    also: str = "",
) -> str:
    """The full alert for one headline, in Telegram HTML, under 4096 characters.

    Layout::

        <a href="link">Title with <b>matched</b> words</a>
        <i>Source · 2024-05-01 14:03 UTC · paid</i>
        Summary, cut at a sentence or word boundary…
        https://link
        Also: <a href="...">SCMP Tech</a> · <a href="...">TechNode</a>
        Matched: eVTOL, "flying car"

    ``also`` is the HTML of the story's other sources (``bot.delivery.also``), or empty.
    """
    for scale in (1.0, 0.5, 0.25, 0.1, 0.03):
        text = _render_alert(headline, matches, summary_chars, tz, scale, lang, also)
        if utf16_len(text) <= _LIMIT:
            return text
    # Every part is capped, so the smallest scale always fits; this is a last resort.
    title = _esc(cut_text(headline.title or "(untitled)", 200, sentence=False))
    return f"{title}\n{also}" if also and utf16_len(also) < _LIMIT - 300 else title


def _render_alert(
    headline: Headline, matches: Sequence[Any], summary_chars: int, tz: tzinfo | None,
    scale: float, lang: str = "en", also: str = "",
) -> str:
    lines = [_title_html(headline, matches, max(20, int(_TITLE_CHARS * scale)))]
    meta = [_esc(cut_text(headline.source, max(10, int(_SOURCE_CHARS * scale)), sentence=False))]
    when = _fmt_time(headline.published, tz)
    if when:
        meta.append(_esc(when))
    if headline.paid:
        meta.append("💰 " + t(lang, "label_paid"))
    lines.append("<i>" + " · ".join(m for m in meta if m) + "</i>")
    if headline.summary.strip() and summary_chars > 0:
        spans = [span for m in matches for span in getattr(m, "summary_spans", ())]
        lines.append(
            _cut_with_spans(headline.summary, spans, max(20, int(summary_chars * scale)))
        )
    link = safe_link(headline.link)
    if link is not None and scale >= 0.25:
        lines.append(_esc(link))
    if also:  # kept at every scale: a later report must change the text (delivery.also caps it)
        lines.append(also)
    names = _query_names(matches)
    if names:
        joined = cut_text(", ".join(names), max(20, int(_QUERIES_CHARS * scale)), sentence=False)
        lines.append(t(lang, "label_matched") + t(lang, "label_colon") + _esc(joined))
    return "\n".join(lines)


# --------------------------------------------------------------------------- batch


def _batch_line(
    headline: Headline, matches: Sequence[Any], tz: tzinfo | None, scale: float = 1.0,
    also: str = "",
) -> str:
    parts = [
        "• " + _title_html(headline, matches, max(20, int(_TITLE_CHARS * scale))),
        " — " + _esc(cut_text(headline.source, max(10, int(_SOURCE_CHARS * scale)),
                              sentence=False)),
    ]
    when = _fmt_time(headline.published, tz, short=True)
    if when:
        parts.append(", " + _esc(when))
    if headline.paid:
        parts.append(" 💰")
    names = _query_names(matches)
    if names:
        joined = cut_text(", ".join(names), max(20, int(120 * scale)), sentence=False)
        parts.append(" (" + _esc(joined) + ")")
    if also:
        parts.append(" · " + also)
    return "".join(parts)


def render_batch_parts(
    items: Sequence[tuple[Headline, Sequence[Any]]],
    *,
    summary_chars: int = 300,
    tz: tzinfo | None = None,
    lang: str = "en",
    also: Sequence[str] | None = None,
) -> list[tuple[str, list[int]]]:
    """Like :func:`render_batch`, also telling which items (indices) each message holds.

    ``also[i]`` is the HTML of item ``i``'s other sources (``bot.delivery.also``)."""
    if not items:
        return []
    extra = list(also) if also is not None else [""] * len(items)
    if len(items) == 1:
        headline, matches = items[0]
        text = render_alert(headline, matches, summary_chars=summary_chars, tz=tz, lang=lang,
                            also=extra[0])
        return [(text, [0])]
    lines = _batch_lines(items, extra, tz)
    # Greedy packing; the heading names the count of the part and its position.
    groups: list[list[int]] = [[]]
    size = 0
    budget = _LIMIT - 80  # heading room
    for index, line in enumerate(lines):
        size_of = utf16_len(line) + 1
        if groups[-1] and size + size_of > budget:
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += size_of
    total = len(items)
    return [
        (_batch_heading(lang, total, number, len(groups)) + "\n"
         + "\n".join(lines[i] for i in group), group)
        for number, group in enumerate(groups, start=1)
    ]


def _batch_lines(items: Sequence[tuple[Headline, Sequence[Any]]], also: Sequence[str],
                 tz: tzinfo | None) -> list[str]:
    lines = []
    for (headline, matches), extra in zip(items, also, strict=True):
        line = _batch_line(headline, matches, tz, also=extra)
        if utf16_len(line) > _LIMIT // 4:
            line = _batch_line(headline, matches, tz, scale=0.25, also=extra)
        lines.append(line)
    return lines


def _batch_heading(lang: str, total: int, number: int, parts: int) -> str:
    heading = "<b>" + t(lang, "label_batch", count=total) + "</b>"
    return heading + (f" ({number}/{parts})" if parts > 1 else "")


def render_batch_message(
    items: Sequence[tuple[Headline, Sequence[Any]]],
    also: Sequence[str],
    *,
    total: int,
    number: int = 1,
    parts: int = 1,
    tz: tzinfo | None = None,
    lang: str = "en",
) -> str | None:
    """One message of a batch again (part ``number`` of ``parts``, ``total`` headlines in
    all), as :func:`render_batch_parts` made it, with these items; None if it no longer fits
    in Telegram's own limit (``MAX_MESSAGE_CHARS``: the room a part was packed with to
    spare is there for the "Also:" an edit adds)."""
    text = (_batch_heading(lang, total, number, parts) + "\n"
            + "\n".join(_batch_lines(items, also, tz)))
    return text if utf16_len(text) <= MAX_MESSAGE_CHARS else None


def render_batch(
    items: Sequence[tuple[Headline, Sequence[Any]]],
    *,
    summary_chars: int = 300,
    tz: tzinfo | None = None,
    lang: str = "en",
) -> list[str]:
    """Several headlines for one chat as a compact list, one line per headline.

    Split at headline boundaries so every message stays under 4096 characters.  A single
    headline keeps the full :func:`render_alert` form.
    """
    parts = render_batch_parts(items, summary_chars=summary_chars, tz=tz, lang=lang)
    return [text for text, _ in parts]


# --------------------------------------------------------------------------- /latest


def render_latest(
    headlines: Sequence[Headline], heading: str, *, tz: tzinfo | None = None,
    also: Sequence[str] | None = None,
) -> str:
    """The /latest answer: a heading, then one numbered line per headline (as many as fit);
    ``also[i]``: the HTML of headline ``i``'s story's other sources."""
    out = f"<b>{_esc(cut_text(heading, 200, sentence=False))}</b>"
    extra = list(also) if also is not None else [""] * len(headlines)
    for number, (headline, more) in enumerate(zip(headlines, extra, strict=True), start=1):
        line = f"\n{number}. " + _batch_line(headline, (), tz, also=more).removeprefix("• ")
        if utf16_len(out) + utf16_len(line) > _LIMIT:
            break
        out += line
    return out


def render_post(headline: Headline, *, tz: tzinfo | None = None, also: str = "") -> str:
    """One headline as a message of its own (an inline result posted in a chat): the title
    as a link, then the source and the time, then ``also`` (the HTML of the story's other
    sources, ``delivery.also``) if any."""
    return _batch_line(headline, (), tz, also=also).removeprefix("• ")
