"""What a fetched URL is: a feed, a web page naming feeds, or neither.

``discover(body, url, content_type)`` reads a body the bot fetched for ``/addsource``:

* a feed (RSS 2.0, RSS 1.0/RDF, Atom, JSON Feed), read by the same parsers the poller uses
  (``bot.sources.feeds.parse_feed``): ``Discovery(kind="feed", report=...)``;
* an HTML page whose ``<link rel="alternate" type="application/rss+xml" href=...>`` (or Atom,
  RDF, JSON Feed) elements name feeds (autodiscovery): ``Discovery(kind="page",
  candidates=...)``, each href resolved against the page URL (or its ``<base href>``), http(s)
  only, each feed once, at most ``MAX_CANDIDATES``;
* neither: ``Discovery(kind="none", detail=...)``.

Pure: no network, no store, no Telegram.  A body that looks like HTML is searched for feed
links first; anything else is tried as a feed first (a feed served as ``text/html`` is still a
feed when the page names no feed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser

from bot.sources.feeds import ParseError, ParseReport, parse_feed
from bot.sources.identity import absolute_link, canonical_link
from bot.sources.text import collapse

__all__ = ["FEED_TYPES", "MAX_CANDIDATES", "PARSED_AS", "Candidate", "Discovery", "discover"]

#: the source name a feed is parsed under here (``chat_sources.own.renamed`` moves what it
#: found into the source's own namespace once the source has its name)
PARSED_AS = "discover"

#: ``<link type=...>`` values that name a feed, and the kind each is
FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/rdf+xml": "rdf",
    "application/feed+json": "json",
    "application/json": "json",
    "application/x.atom+xml": "atom",
    "application/x-atom+xml": "atom",
}
MAX_CANDIDATES = 5
_TITLE_CHARS = 80


@dataclass(frozen=True, slots=True)
class Candidate:
    """A feed a page names."""

    url: str  # absolute
    title: str  # the link's title attribute ("" if none)
    kind: str  # "rss" | "atom" | "rdf" | "json"


@dataclass(frozen=True, slots=True)
class Discovery:
    kind: str  # "feed" | "page" | "none"
    report: ParseReport | None = None  # a feed: what the parser read
    candidates: tuple[Candidate, ...] = ()  # a page: the feeds it names
    detail: str = ""  # none: why not a feed


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return True
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]


def feed_links(body: bytes, url: str) -> tuple[Candidate, ...]:
    """The feeds an HTML page names in ``<link rel="alternate" type=...>``."""
    try:
        tree = LexborHTMLParser(body)
    except Exception:  # selectolax is robust, but a page must never crash /addsource
        return ()
    base = url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = absolute_link(base_node.attributes.get("href") or "", url) or url
    found: dict[str, Candidate] = {}
    for node in tree.css("link[rel][href]"):
        attrs = node.attributes
        rel = (attrs.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((attrs.get("type") or "").split(";", 1)[0].strip().lower())
        if "alternate" not in rel or kind is None:
            continue
        link = absolute_link(attrs.get("href") or "", base)
        key = canonical_link(link)
        if not link or key in found:
            continue
        title = collapse(attrs.get("title") or "")[:_TITLE_CHARS]
        found[key] = Candidate(link, title, kind)
        if len(found) == MAX_CANDIDATES:
            break
    return tuple(found.values())


def _as_feed(body: bytes, url: str, content_type: str, now: datetime | None) -> Discovery:
    try:
        report = parse_feed(body, url, PARSED_AS, "UTC", now, content_type)
    except ParseError as exc:
        return Discovery("none", detail=str(exc))
    except Exception as exc:  # garbage must never crash /addsource
        return Discovery("none", detail=f"{type(exc).__name__}: {exc}")
    return Discovery("feed", report=report)


def discover(
    body: bytes, url: str, content_type: str = "", now: datetime | None = None
) -> Discovery:
    """What ``body`` (fetched from ``url``, the URL that finally answered) is."""
    if not body.strip():
        return Discovery("none", detail="empty body")
    if looks_like_html(body, content_type):
        candidates = feed_links(body, url)
        if candidates:
            return Discovery("page", candidates=candidates)
        found = _as_feed(body, url, content_type, now)
        if found.kind == "feed" and found.report is not None and found.report.headlines:
            return found
        return Discovery("none", detail="a web page that names no feed")
    found = _as_feed(body, url, content_type, now)
    if found.kind == "feed":
        return found
    candidates = feed_links(body, url) if b"<link" in body[:200_000].lower() else ()
    return Discovery("page", candidates=candidates) if candidates else found
