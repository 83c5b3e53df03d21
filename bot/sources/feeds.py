"""RSS 2.0 / RSS 1.0 (RDF) / Atom via feedparser, and JSON Feed via ``json``.

feedparser was chosen because it recovers the most from broken real-world feeds (it flags them
``bozo`` instead of failing) and decodes entities correctly; given
``response_headers={"content-location": url}`` it resolves relative links and ``xml:base``.
It does not read JSON Feed, so that is parsed here with the standard library.

Rules (see ``parse_feed``): an item needs an absolute http(s) link (after resolving against the
feed URL / xml:base; a permalink guid counts) and a title (else the first words of its
summary); items with neither usable link nor title are dropped and counted in ``skipped``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import feedparser

from bot.models import Headline
from bot.sources.identity import absolute_link, identified_headline
from bot.sources.text import (
    SUMMARY_MAX_CHARS,
    cap_summary,
    clean_title,
    collapse,
    html_to_text,
    parse_date,
)

#: every summary (also one taken from the full content) is cut to this length
CONTENT_SUMMARY_CHARS = SUMMARY_MAX_CHARS
_TITLE_FROM_SUMMARY_CHARS = 120


class ParseError(ValueError):
    """The body is not what the source type expects (HTML where a feed was expected, ...)."""


@dataclass(slots=True)
class ParseReport:
    headlines: list[Headline] = field(default_factory=list)
    skipped: int = 0  # items dropped (no usable link / title)
    reasons: list[str] = field(default_factory=list)
    bozo: str | None = None  # feedparser's complaint, if any
    hints: dict[str, float] = field(default_factory=dict)  # "ttl", "sy": seconds between polls
    title: str = ""  # the feed's own title (RSS channel, Atom feed, JSON Feed), if any


def _title_from_text(text: str) -> str:
    if len(text) <= _TITLE_FROM_SUMMARY_CHARS:
        return text
    cut = text[:_TITLE_FROM_SUMMARY_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def _shorten(text: str, limit: int) -> str:
    return cap_summary(text, limit)


_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")


def _surrogate_ref(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits else int(decimal)
    return b"&#xFFFD;" if 0xD800 <= code <= 0xDFFF else match.group(0)


def _without_surrogate_refs(body: bytes) -> bytes:
    """Numeric character references to a UTF-16 surrogate (``&#55357;``, ``&#xD83D;``: a text
    cut mid-emoji) replaced by ``&#xFFFD;``.  feedparser would decode them to a lone surrogate
    and then fail on the whole feed; other references are left as they are."""
    if b"&#" not in body:
        return body
    return _CHAR_REF.sub(_surrogate_ref, body)


_PREFIXED_ITEM = re.compile(rb"<([A-Za-z][\w-]*):(?:item|entry)[\s>]")


def _unprefixed(body: bytes) -> bytes | None:
    """Recovery for feeds that put every RSS element under an undeclared prefix
    (``<rss:item>``): strip the prefix and any malformed XML declaration, parse again."""
    match = _PREFIXED_ITEM.search(body)
    if match is None:
        return None
    prefix = re.escape(match.group(1))
    text = re.sub(rb"(</?|\s)" + prefix + rb":", rb"\1", body)
    return re.sub(rb"<\?xml[^>]*\?+>", b"", text)


_SY_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 7 * 86400.0,
    "monthly": 30 * 86400.0,
    "yearly": 365 * 86400.0,
}


def feed_hints(channel: Any) -> dict[str, float]:
    """The feed's own word on how often to ask, in seconds: RSS ``<ttl>`` (minutes) and the
    Syndication module's ``<sy:updatePeriod>`` / ``<sy:updateFrequency>`` (updates per
    period; either defaults as the module says: daily, once).  Junk is ignored."""
    hints: dict[str, float] = {}
    ttl = str(channel.get("ttl") or "").strip()
    if ttl.isascii() and ttl.isdigit() and int(ttl) > 0:
        hints["ttl"] = min(int(ttl), 10**7) * 60.0
    period = str(channel.get("sy_updateperiod") or "").strip().lower()
    frequency = str(channel.get("sy_updatefrequency") or "").strip()
    if period or frequency:
        seconds = _SY_PERIODS.get(period or "daily")
        times = int(frequency) if frequency.isascii() and frequency.isdigit() else None
        if not frequency:
            times = 1
        if seconds is not None and times:
            hints["sy"] = seconds / times
    return hints


def looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith((b"{", b"["))


def parse_feed(
    body: bytes,
    url: str,
    source: str,
    timezone: str = "UTC",
    now: datetime | None = None,
    content_type: str = "",
) -> ParseReport:
    """Every item of the feed in ``body`` (fetched from ``url``) as a ``Headline``.

    Raises ``ParseError`` when the body is no feed at all.
    """
    if looks_like_json(body):
        return parse_json_feed(body, url, source, timezone, now)
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    body = _without_surrogate_refs(body)
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False)
    if not parsed.entries:
        retry = _unprefixed(body)
        if retry is not None:
            again = feedparser.parse(retry, response_headers=headers, sanitize_html=False)
            if again.entries:
                parsed = again
    if not parsed.get("version") and not parsed.entries:
        problem = parsed.get("bozo_exception")
        raise ParseError(f"not a feed ({problem})" if problem else "not a feed")
    report = ParseReport(bozo=str(parsed.get("bozo_exception")) if parsed.get("bozo") else None)
    report.hints = feed_hints(parsed.get("feed") or {})
    channel = parsed.get("feed") or {}
    title_html = (channel.get("title_detail") or {}).get("type", "text/plain") != "text/plain"
    report.title = clean_title(str(channel.get("title") or ""), is_html=title_html)
    base = url  # feedparser already applied xml:base; this resolves what is left
    for entry in parsed.entries:
        _entry(entry, base, source, timezone, now, report)
    return report


def _entry_link(entry: Any, base: str) -> str:
    candidates: list[str] = []
    if entry.get("link"):
        candidates.append(entry["link"])
    for link in entry.get("links", []) or []:
        if link.get("href") and link.get("rel", "alternate") == "alternate":
            candidates.append(link["href"])
    guid = entry.get("id") or ""
    if guid and (entry.get("guidislink") or guid.startswith(("http://", "https://"))):
        candidates.append(guid)
    for candidate in candidates:
        resolved = absolute_link(candidate, base)
        if resolved:
            return resolved
    return ""


def _entry(
    entry: Any, base: str, source: str, tz: str, now: datetime | None, report: ParseReport
) -> None:
    detail = entry.get("title_detail") or {}
    is_html = detail.get("type", "text/html") != "text/plain"
    title = clean_title(entry.get("title", ""), is_html=is_html)

    summary = ""
    if entry.get("summary"):
        sdetail = entry.get("summary_detail") or {}
        raw = entry["summary"]
        summary = (
            html_to_text(raw) if sdetail.get("type", "text/html") != "text/plain" else collapse(raw)
        )
    if not summary:
        for content in entry.get("content", []) or []:
            value = content.get("value", "")
            text = html_to_text(value) if content.get("type") != "text/plain" else collapse(value)
            if text:
                summary = _shorten(text, CONTENT_SUMMARY_CHARS)
                break
    if not title and summary:
        title = _title_from_text(summary)

    link = _entry_link(entry, base)
    if not link:
        report.skipped += 1
        report.reasons.append(f"no usable link: {title[:60]!r}")
        return
    if not title:
        report.skipped += 1
        report.reasons.append(f"no title: {link}")
        return

    published = None
    for key in ("published", "updated", "created"):
        raw_date = dict.get(entry, key)  # plain dict access: no feedparser key aliasing
        if raw_date:
            published = parse_date(raw_date, tz, now)
            if published is not None:
                break
    tags = tuple(
        t
        for t in (
            collapse(tag.get("term") or tag.get("label") or "")
            for tag in entry.get("tags", []) or []
        )
        if t
    )
    guid = entry.get("id") or ""
    report.headlines.append(
        identified_headline(
            source, guid, title, link, published=published, summary=summary, tags=tags
        )
    )


def parse_json_feed(
    body: bytes, url: str, source: str, timezone: str = "UTC", now: datetime | None = None
) -> ParseReport:
    """JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ParseError(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ParseError("JSON without an 'items' list: not a JSON Feed")
    if "jsonfeed.org" not in str(data.get("version", "")):
        raise ParseError("JSON without a jsonfeed.org version: not a JSON Feed")
    report = ParseReport(title=clean_title(str(data.get("title") or ""), is_html=False))
    base = url
    for item in data["items"]:
        if not isinstance(item, dict):
            report.skipped += 1
            continue
        link = absolute_link(str(item.get("url") or item.get("external_url") or ""), base)
        if not link and str(item.get("id", "")).startswith(("http://", "https://")):
            link = absolute_link(str(item["id"]), base)
        title = clean_title(str(item.get("title") or ""), is_html=False)
        summary = collapse(str(item.get("summary") or ""))
        if not summary:
            if item.get("content_text"):
                summary = _shorten(collapse(str(item["content_text"])), CONTENT_SUMMARY_CHARS)
            elif item.get("content_html"):
                summary = _shorten(html_to_text(str(item["content_html"])), CONTENT_SUMMARY_CHARS)
        if not title and summary:
            title = _title_from_text(summary)
        if not link or not title:
            report.skipped += 1
            report.reasons.append("no usable link" if not link else f"no title: {link}")
            continue
        published = parse_date(
            item.get("date_published") or item.get("date_modified"), timezone, now
        )
        tags = tuple(collapse(str(t)) for t in item.get("tags") or [] if str(t).strip())
        guid = str(item.get("id") or "")
        report.headlines.append(
            identified_headline(
                source, guid, title, link, published=published, summary=summary, tags=tags
            )
        )
    return report
