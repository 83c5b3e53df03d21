"""HTML listing pages and article summaries, via selectolax (lexbor backend).

selectolax was chosen because it is ~30x faster than BeautifulSoup and, unlike
``lxml.html.fromstring(bytes)``, decodes pages without a declared charset correctly.

* ``parse_listing``: every ``<a>`` matching ``link_selector``; href resolved against the page
  (and its ``<base href>``); title from the link text (else its ``title`` attribute or an image
  ``alt``); one headline per canonical link, in page order.
* ``extract_summary``: og:description, twitter:description, meta description, else the first
  paragraph of some length; capped at ``text.SUMMARY_MAX_CHARS``.
"""

from __future__ import annotations

from datetime import datetime

from selectolax.lexbor import LexborHTMLParser

from bot.sources.feeds import ParseError, ParseReport
from bot.sources.identity import absolute_link, canonical_link, identified_headline
from bot.sources.text import cap_summary, collapse

_MIN_PARAGRAPH = 80


def _tree(body: bytes | str) -> LexborHTMLParser:
    return LexborHTMLParser(body)


def parse_listing(
    body: bytes,
    url: str,
    source: str,
    link_selector: str,
    now: datetime | None = None,
) -> ParseReport:
    head = body[:2048].lstrip().lower()
    if head.startswith((b"{", b"[")) or (head.startswith(b"<?xml") and b"<html" not in head):
        raise ParseError("expected an HTML page, got JSON or XML")
    tree = _tree(body)
    base = url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = absolute_link(base_node.attributes.get("href") or "", url) or url
    try:
        anchors = tree.css(link_selector)
    except Exception as exc:  # selectolax raises on an invalid selector
        raise ParseError(f"invalid link_selector {link_selector!r}: {exc}") from exc
    report = ParseReport()
    order: list[str] = []
    found: dict[str, tuple[str, str]] = {}
    for node in anchors:
        link = absolute_link(node.attributes.get("href") or "", base)
        if not link:
            report.skipped += 1
            continue
        title = collapse(node.text(deep=True, separator=" "))
        if not title:
            title = collapse(node.attributes.get("title") or "")
        if not title:
            img = node.css_first("img[alt]")
            title = collapse(img.attributes.get("alt") or "") if img is not None else ""
        key = canonical_link(link)
        if key not in found:
            order.append(key)
            found[key] = (link, title)
        elif not found[key][1] and title:
            found[key] = (found[key][0], title)
    if not anchors:
        raise ParseError(f"no element matches link_selector {link_selector!r}")
    for key in order:
        link, title = found[key]
        if not title:
            report.skipped += 1
            report.reasons.append(f"no title: {link}")
            continue
        report.headlines.append(identified_headline(source, None, title, link))
    return report


def extract_summary(body: bytes | str, url: str = "") -> str:
    """The article's description as plain text ("" when it has none)."""
    tree = _tree(body)
    for selector in (
        'meta[property="og:description"]',
        'meta[name="twitter:description"]',
        'meta[name="description"]',
        'meta[name="Description"]',
    ):
        node = tree.css_first(selector)
        if node is not None:
            text = collapse(node.attributes.get("content") or "")
            if text:
                return cap_summary(text)
    tree.strip_tags(["script", "style", "noscript", "nav", "header", "footer", "aside"])
    for node in tree.css("article p, main p, p"):
        text = collapse(node.text(deep=True, separator=" "))
        if len(text) >= _MIN_PARAGRAPH:
            return cap_summary(text)
    return ""
