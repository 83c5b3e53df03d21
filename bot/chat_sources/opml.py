"""OPML files in and out: the list of feeds a reader exports, and the one ``/export`` sends.

Pure (no I/O, no Telegram, no store).  ``parse_opml(data)`` reads what feed readers export
(OPML 1.0, 1.1 and 2.0; Feedly, Inoreader, NetNewsWire, Thunderbird ...): outlines nested in
folders to any depth, ``xmlUrl`` (any case), ``htmlUrl`` as the page to autodiscover from when
an outline names no feed, ``title`` or ``text`` as the name.  A feed listed in several folders
is read once.  ``write_opml(feeds, title=...)`` writes OPML 2.0 that reads back the same.

The file comes from anyone, so it is read with care, with the standard library's expat alone:
any DOCTYPE is refused (so no entity of any kind, internal or external, can be declared or
expanded: no "billion laughs", no file or URL read), and so are files over ``MAX_BYTES``, over
``MAX_OUTLINES`` outlines or nested deeper than ``MAX_DEPTH``.  A refusal is an
:class:`OpmlError` whose ``code`` the handlers put in the chat's words.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from bot.sources.registry import url_key

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_OUTLINES",
    "OpmlDocument",
    "OpmlError",
    "OpmlFeed",
    "Skipped",
    "clean_text",
    "parse_opml",
    "write_opml",
]

MAX_BYTES = 1_000_000  # a reader's export of 2,000 feeds is about 400 kB
MAX_OUTLINES = 5_000
MAX_DEPTH = 32  # outlines inside outlines
MAX_TITLE = 200
MAX_URL = 2048
_FEED_ROOTS = frozenset({"rss", "feed", "rdf:rdf", "rdf"})

_MESSAGES = {
    "too_large": "the file is over {limit} bytes",
    "not_xml": "the file is not well-formed XML ({detail})",
    "not_opml": "the file is XML but not OPML (its root is <{root}>)",
    "is_feed": "the file is a feed (<{root}>), not a list of feeds",
    "forbidden": "the file declares a DOCTYPE or entities, which are refused",
    "too_many": "the file has over {limit} outlines",
    "too_deep": "the outlines are nested over {limit} deep",
}


class OpmlError(ValueError):
    """The file is refused as a whole; ``code`` is one of ``_MESSAGES``' keys."""

    def __init__(self, code: str, **arguments: Any) -> None:
        self.code = code
        self.arguments = arguments
        super().__init__(_MESSAGES[code].format(**arguments))


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed of the file."""

    url: str  # http(s); the page to autodiscover from when ``page_only``
    title: str
    html_url: str = ""
    folder: str = ""  # the enclosing outlines' names, "Reading / Deep"
    page_only: bool = False  # the outline named a web page (htmlUrl), no feed


@dataclass(frozen=True, slots=True)
class Skipped:
    """An outline meant as a feed whose address cannot be fetched."""

    title: str
    url: str  # as written (cut to MAX_TITLE characters)
    reason: str  # "no_url" | "not_web" | "too_long"


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str
    feeds: tuple[OpmlFeed, ...]
    skipped: tuple[Skipped, ...] = ()
    duplicates: int = 0  # feeds listed more than once (read once)


# ---------------------------------------------------------------------- text and URLs


def _keep(ch: str) -> bool:
    if ch in "\ufffe\uffff":
        return False
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")


def clean_text(text: str, limit: int = MAX_TITLE) -> str:
    """A name as shown: no control or format characters (tabs and newlines become spaces),
    whitespace collapsed, at most ``limit`` characters."""
    spaced = "".join(" " if ch in "\t\n\r" else ch for ch in text if ch in "\t\n\r" or _keep(ch))
    return " ".join(spaced.split())[:limit].rstrip()


def web_url(raw: str) -> tuple[str | None, str]:
    """(the http(s) URL ``raw`` names, "") or (None, the reason it names none)."""
    text = raw.strip()
    if not text:
        return None, "no_url"
    if len(text) > MAX_URL:
        return None, "too_long"
    lower = text.lower()
    if lower.startswith("feed://"):
        text = "http://" + text[len("feed://") :]
    elif lower.startswith("feed:"):
        text = text[len("feed:") :]
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        return None, "not_web"
    try:
        parts = urlsplit(text)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return None, "not_web"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None, "not_web"
    return text, ""


# ---------------------------------------------------------------------- reading


class _Reader:
    """expat's handlers: the root check, the limits, the outlines and the head's title."""

    def __init__(self) -> None:
        self.depth = 0
        self.outlines = 0
        self.stack: list[tuple[str, bool]] = []  # (name, is a feed) of the open outlines
        self.path: list[str] = []
        self.title_parts: list[str] = []
        self.feeds: list[OpmlFeed] = []
        self.skipped: list[Skipped] = []
        self.seen: set[str] = set()
        self.duplicates = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        self.depth += 1
        lname = name.lower()
        if self.depth == 1 and lname != "opml":
            raise OpmlError("is_feed" if lname in _FEED_ROOTS else "not_opml", root=name[:40])
        if self.depth > MAX_DEPTH + 2:  # <opml><body> and the outlines
            raise OpmlError("too_deep", limit=MAX_DEPTH)
        self.path.append(lname)
        if lname == "outline":
            self.outlines += 1
            if self.outlines > MAX_OUTLINES:
                raise OpmlError("too_many", limit=MAX_OUTLINES)
            self._outline({key.lower(): value for key, value in attributes.items()})

    def end(self, name: str) -> None:
        self.depth -= 1
        if self.path.pop() == "outline":
            self.stack.pop()

    def text(self, data: str) -> None:
        if self.path[-2:] == ["head", "title"] and len(self.path) == 3:
            self.title_parts.append(data)

    def _outline(self, attrs: dict[str, str]) -> None:
        name = clean_text(attrs.get("title") or attrs.get("text") or "")
        has_feed = "xmlurl" in attrs or "htmlurl" in attrs
        self.stack.append((name, has_feed))
        if not has_feed:
            return  # a folder, or a note
        url, reason = web_url(attrs.get("xmlurl", ""))
        html_url, _ = web_url(attrs.get("htmlurl", ""))
        page_only = url is None and html_url is not None
        if page_only:
            url = html_url
        if url is None:
            raw = attrs.get("xmlurl", "")
            self.skipped.append(Skipped(name, clean_text(raw), reason))
            return
        key = url_key(url)
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        folder = " / ".join(n for n, feed in self.stack[:-1] if not feed and n)
        title = name or (urlsplit(url).hostname or url)
        self.feeds.append(OpmlFeed(url, title, html_url or "", folder, page_only))


def _forbid(*_args: Any) -> int:
    raise OpmlError("forbidden")


def parse_opml(data: bytes) -> OpmlDocument:
    """The feeds of an OPML file; raises :class:`OpmlError` for a file it refuses."""
    if len(data) > MAX_BYTES:
        raise OpmlError("too_large", limit=MAX_BYTES)
    reader = _Reader()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise OpmlError("not_xml", detail=expat.ErrorString(exc.code)) from None
    except (ValueError, LookupError) as exc:  # an encoding Python knows no codec for
        if isinstance(exc, OpmlError):
            raise
        raise OpmlError("not_xml", detail="unknown encoding") from None
    return OpmlDocument(
        title=clean_text("".join(reader.title_parts)),
        feeds=tuple(reader.feeds),
        skipped=tuple(reader.skipped),
        duplicates=reader.duplicates,
    )


# ---------------------------------------------------------------------- writing


def _xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold."""
    return "".join(ch for ch in text if ch in "\t\n\r" or _keep(ch))


def write_opml(
    feeds: Iterable[OpmlFeed], *, title: str, created: datetime | None = None
) -> bytes:
    """OPML 2.0 (UTF-8) listing ``feeds`` flat, in order, each as ``type="rss"``."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{escape(clean_text(title))}</title>",
    ]
    if created is not None:
        stamp = format_datetime(created.astimezone(UTC), usegmt=True)
        lines.append(f"    <dateCreated>{stamp}</dateCreated>")
    lines += ["  </head>", "  <body>"]
    for feed in feeds:
        name = quoteattr(clean_text(feed.title))
        url = quoteattr(_xml_safe(feed.url))
        attrs = f'type="rss" text={name} title={name}'
        if feed.page_only:
            attrs += f" htmlUrl={url}"
        else:
            attrs += f" xmlUrl={url}"
            if feed.html_url:
                attrs += f" htmlUrl={quoteattr(_xml_safe(feed.html_url))}"
        lines.append(f"    <outline {attrs}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")
