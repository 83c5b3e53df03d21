"""Telegram HTML as terminal text, and the terminal the shell prints to.

``render(html, style)`` reads the subset of HTML Telegram accepts (``parse_mode=HTML``) as
strictly as Telegram does -- an unsupported tag, a stray ``<`` or ``&``, or tags that do not
nest raise ``HtmlError`` with Telegram's kind of reason -- and returns readable text: bold and
italics with ANSI codes on a terminal (``**bold**``, ``_italic_`` otherwise), each link's text
followed by its URL in angle brackets, quotes prefixed with a bar.
"""

from __future__ import annotations

import html
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["PLAIN", "HtmlError", "Style", "Terminal", "button_labels", "render", "visible"]


class HtmlError(ValueError):
    """Text Telegram would refuse to parse ("can't parse entities: ...")."""


@dataclass(frozen=True)
class Style:
    """How emphasis looks: (opening, closing) per kind."""

    bold: tuple[str, str]
    italic: tuple[str, str]
    underline: tuple[str, str]
    strike: tuple[str, str]
    code: tuple[str, str]
    spoiler: tuple[str, str]


PLAIN = Style(("**", "**"), ("_", "_"), ("", ""), ("~", "~"), ("`", "`"), ("||", "||"))
ANSI = Style(
    ("\x1b[1m", "\x1b[22m"),
    ("\x1b[3m", "\x1b[23m"),
    ("\x1b[4m", "\x1b[24m"),
    ("\x1b[9m", "\x1b[29m"),
    ("\x1b[2m", "\x1b[22m"),
    ("\x1b[7m", "\x1b[27m"),
)
_NONE = Style(*([("", "")] * 6))
_KIND = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strike", "strike": "strike", "del": "strike", "code": "code",
    "tg-spoiler": "spoiler",
}
_OTHER_TAGS = {"a", "pre", "span", "blockquote", "tg-emoji"}
_TOKEN = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"  # a tag
    r"|&([^;\s<&]{1,32});"  # an entity
)
_ATTR = re.compile(r"""([A-Za-z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY = re.compile(r"#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|lt|gt|amp|quot")


def _entity(body: str) -> str:
    if not _ENTITY.fullmatch(body):
        raise HtmlError(f'Unsupported HTML entity "&{body};"')
    char = html.unescape(f"&{body};")
    if len(char) != 1 or 0xD800 <= ord(char) <= 0xDFFF:
        raise HtmlError(f'Invalid numeric HTML entity "&{body};"')
    return char


def _attributes(text: str) -> dict[str, str]:
    found = {}
    for match in _ATTR.finditer(text):
        value = next((v for v in match.groups()[1:] if v is not None), "")
        found[match.group(1).lower()] = html.unescape(value)
    return found


def render(text: str, style: Style = PLAIN, *, urls: bool = True) -> str:
    """``text`` (Telegram HTML) as terminal text; raises ``HtmlError`` where Telegram would."""
    out: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag, what to write when it closes)
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(_literal(text[position : match.start()]))
        position = match.end()
        closing, name, rest, entity = match.groups()
        if entity is not None:
            out.append(_entity(entity))
            continue
        name = name.lower()
        if name not in _KIND and name not in _OTHER_TAGS:
            raise HtmlError(f'Unsupported start tag "{name}"')
        if closing:
            if not stack or stack[-1][0] != name:
                expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                raise HtmlError(f'Unmatched end tag, expected {expected}, found "</{name}>"')
            out.append(stack.pop()[1])
            continue
        attrs = _attributes(rest)
        opening, ending = _open(name, attrs, style, urls)
        out.append(opening)
        stack.append((name, ending))
    out.append(_literal(text[position:]))
    if stack:
        raise HtmlError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return "".join(out).strip()


def _literal(chunk: str) -> str:
    if "<" in chunk or "&" in chunk:
        char = "<" if "<" in chunk else "&"
        raise HtmlError(f'Character "{char}" must be escaped')
    return chunk


def _open(name: str, attrs: dict[str, str], style: Style, urls: bool) -> tuple[str, str]:
    if name in _KIND:
        return getattr(style, _KIND[name])
    if name == "a":
        href = attrs.get("href", "").strip()
        return ("", f" <{href}>") if href and urls else ("", "")
    if name == "span":
        if attrs.get("class") != "tg-spoiler":
            raise HtmlError('Tag "span" must have class "tg-spoiler"')
        return style.spoiler
    if name == "blockquote":
        return ("│ ", "")
    return ("", "")  # pre, tg-emoji: the text as it is


def visible(text: str) -> str:
    """What Telegram counts toward the 4096-character limit (no emphasis marks, no URLs)."""
    return render(text, _NONE, urls=False)


def button_labels(markup: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The inline buttons of ``markup`` in reading order: (label shown, the button)."""
    if not markup:
        return []
    rows = markup.get("inline_keyboard") or []
    return [(str(b.get("text", "")), b) for row in rows for b in row if isinstance(b, dict)]


class Terminal:
    """Where the shell writes: the bot's messages, their buttons, toasts, notes."""

    def __init__(self, stream: TextIO | None = None, *, style: Style | None = None) -> None:
        self.stream = stream or sys.stdout
        if style is None:
            tty = hasattr(self.stream, "isatty") and self.stream.isatty()
            style = ANSI if tty and not os.environ.get("NO_COLOR") else PLAIN
        self.style = style

    def _write(self, prefix: str, text: str) -> None:
        lines = text.splitlines() or [""]
        indent = " " * len(prefix)
        body = "\n".join([prefix + lines[0], *(indent + line for line in lines[1:])])
        self.stream.write(body + "\n")
        self.stream.flush()

    def message(self, text: str, parse_mode: str | None, markup: dict | None, *,
                edited: bool = False) -> None:
        shown = render(text, self.style) if (parse_mode or "").upper() == "HTML" else text
        buttons = button_labels(markup)
        if buttons:
            shown += "\n" + "  ".join(
                f"[{n}] {label}" + (f" <{b['url']}>" if b.get("url") else "")
                for n, (label, b) in enumerate(buttons, start=1)
            )
        self._write("bot (edited): " if edited else "bot: ", shown)

    def toast(self, text: str, *, alert: bool = False) -> None:
        self._write("bot (alert): " if alert else "bot (toast): ", text)

    def you(self, text: str) -> None:
        self._write("you: ", text)

    def note(self, text: str) -> None:
        self._write("-- ", text)
