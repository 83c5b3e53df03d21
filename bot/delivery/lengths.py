"""Text measured and cut as Telegram counts it.

Telegram limits a message to 4096 and a button press's answer to 200 UTF-16 code units, not
characters: an emoji outside the Basic Multilingual Plane counts twice.  ``cut_text`` cuts
plain text to a number of characters (a sentence end or a word boundary preferred, ``"…"``
included), ``cut_utf16`` to a number of UTF-16 units; ``html_to_plain`` and ``split_plain``
turn our HTML back into visible text and split it into parts, for the plain-text retry after
Telegram refuses an HTML message.
"""

from __future__ import annotations

import html
import re

__all__ = [
    "ELLIPSIS",
    "MAX_MESSAGE_CHARS",
    "PART_LIMIT",
    "cut_text",
    "cut_utf16",
    "html_to_plain",
    "split_plain",
    "utf16_len",
    "utf16_prefix",
]

MAX_MESSAGE_CHARS = 4096
#: What one rendered part may hold: Telegram's limit, less room for a heading or "Also:".
PART_LIMIT = MAX_MESSAGE_CHARS - 96  # so a message never sits right at the edge

ELLIPSIS = "…"
_SENTENCE_END = re.compile(r"[.!?。！？…](?:[\"'”’)\]]*)(?=\s|$)|[。！？]")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def utf16_prefix(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` UTF-16 units (at least 1 char)."""
    size = 0
    for index, ch in enumerate(text):
        size += 2 if ord(ch) > 0xFFFF else 1
        if size > limit:
            return text[: max(1, index)]
    return text


def cut_utf16(text: str, limit: int) -> str:
    """``text`` as it is if Telegram counts at most ``limit`` units in it, else cut (a word
    boundary preferred, ``"…"`` included) to fit: for fields limited in UTF-16 units, such
    as a button press's 200-unit answer."""
    if utf16_len(text) <= limit:
        return text
    chars = limit
    cut = cut_text(text, chars, sentence=False)
    while utf16_len(cut) > limit and chars > 1:
        chars -= max(1, utf16_len(cut) - limit)
        cut = cut_text(text, max(1, chars), sentence=False)
    return cut


def cut_text(text: str, limit: int, *, sentence: bool = True) -> str:
    """``text`` cut to at most ``limit`` characters (``"…"`` included when cut).

    Prefers the end of a sentence (if that keeps at least half the budget), then a word
    boundary (if that keeps at least half), else a hard cut.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return ELLIPSIS[:limit]
    budget = limit - 1  # room for the ellipsis
    window = text[: budget + 1]
    if sentence:
        ends = [m.end() for m in _SENTENCE_END.finditer(window) if m.end() <= budget]
        if ends and ends[-1] >= budget // 2:
            end = ends[-1]
            return text[:end] + (" " + ELLIPSIS if end < budget else ELLIPSIS)
    space = window.rfind(" ")
    if space >= budget // 2:
        return text[:space].rstrip() + ELLIPSIS
    return text[:budget] + ELLIPSIS


_A_TAG = re.compile(r'<a\s+href="([^"]*)"\s*>(.*?)</a>', re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def html_to_plain(text: str) -> str:
    """Visible text of our HTML; a link whose text is not its URL becomes ``text (URL)``."""

    def link(match: re.Match[str]) -> str:
        url = html.unescape(match.group(1))
        inner = html.unescape(_TAG.sub("", match.group(2)))
        return inner if inner == url else f"{inner} ({url})"

    pieces: list[str] = []
    pos = 0
    for match in _A_TAG.finditer(text):
        pieces.append(html.unescape(_TAG.sub("", text[pos : match.start()])))
        pieces.append(link(match))
        pos = match.end()
    pieces.append(html.unescape(_TAG.sub("", text[pos:])))
    return "".join(pieces)


def split_plain(text: str, limit: int = PART_LIMIT) -> list[str]:
    """Split plain text into parts under ``limit`` characters, at line breaks when possible."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            if current:
                parts.append(current)
                current = ""
            head = utf16_prefix(line, limit)
            parts.append(head)
            line = line[len(head) :]
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts
