"""Telegram's text formatting, parsed the way the Bot API parses it.

``parse_html`` and ``parse_markdown_v2`` turn a text sent with ``parse_mode`` into the
visible text and its entities (offsets in UTF-16 code units), or raise
:class:`EntityParseError` with Telegram's reason ("... at byte offset N").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "EntityParseError",
    "parse_html",
    "parse_markdown_v2",
    "parse_text",
    "utf16_len",
    "visible_or_none",
    "visible_text",
]

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units of the text after entity parsing


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class EntityParseError(ValueError):
    """Raised by :func:`parse_html` for text Telegram would reject."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_SUPPORTED_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]{0,31});")
_SPACE = " \t\r\n\f\v"


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    """Decode the HTML entity starting at ``text[i] == '&'``; return (char, end index)."""
    match = _ENTITY_RE.match(text, i)
    if match is None:
        raise EntityParseError(
            f'Character "&" must be escaped as "&amp;" at byte offset {_byte_offset(text, i)}'
        )
    body = match.group(1)
    if body.startswith("#"):
        code = int(body[2:], 16) if body[1:2] in ("x", "X") else int(body[1:])
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise EntityParseError(
                f'Invalid numeric HTML entity "{match.group(0)}" at byte offset '
                f"{_byte_offset(text, i)}"
            )
        return chr(code), match.end()
    char = _NAMED_ENTITIES.get(body)
    if char is None:
        raise EntityParseError(
            f'Unsupported HTML entity "{match.group(0)}" at byte offset {_byte_offset(text, i)}'
        )
    return char, match.end()


def _lenient_unescape(value: str) -> str:
    """Decode entities inside an attribute value, leaving anything unknown as is."""

    def repl(match: re.Match[str]) -> str:
        try:
            return _decode_entity(match.group(0), 0)[0]
        except EntityParseError:
            return match.group(0)

    return _ENTITY_RE.sub(repl, value)


@dataclass
class _OpenTag:
    name: str
    start16: int
    attrs: dict[str, str]
    index: int
    entity: dict[str, Any] | None = None


def _parse_start_tag(text: str, i: int) -> tuple[str, dict[str, str], int]:
    """Parse ``<name attr=...>`` at ``text[i] == '<'``; return (name, attrs, index after '>')."""
    n = len(text)
    j = i + 1
    while j < n and text[j] not in _SPACE and text[j] != ">":
        j += 1
    if j >= n:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
    name = text[i + 1 : j].lower()
    if name not in _SUPPORTED_TAGS:
        raise EntityParseError(
            f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}'
        )
    attrs: dict[str, str] = {}
    while True:
        while j < n and text[j] in _SPACE:
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
        if text[j] == ">":
            return name, attrs, j + 1
        k = j
        while k < n and text[k] not in _SPACE and text[k] not in "=>":
            k += 1
        attr = text[j:k].lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{name}" at byte offset {_byte_offset(text, i)}'
            )
        j = k
        while j < n and text[j] in _SPACE:
            j += 1
        if j < n and text[j] == "=":
            j += 1
            while j < n and text[j] in _SPACE:
                j += 1
            if j >= n:
                raise EntityParseError(
                    f'Unclosed start tag "{name}" at byte offset {_byte_offset(text, i)}'
                )
            if text[j] in "\"'":
                quote = text[j]
                end = text.find(quote, j + 1)
                if end < 0:
                    raise EntityParseError(
                        f'Unclosed end of an attribute value of the tag "{name}" '
                        f"at byte offset {_byte_offset(text, i)}"
                    )
                value = text[j + 1 : end]
                j = end + 1
            else:
                k = j
                while k < n and text[k] not in _SPACE and text[k] != ">":
                    k += 1
                value = text[j:k]
                j = k
            attrs[attr] = _lenient_unescape(value)
        else:
            attrs[attr] = ""


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse ``text`` as Telegram's ``parse_mode=HTML`` does.

    Returns ``(visible_text, entities)`` with entity offsets/lengths in UTF-16 code units,
    like Telegram.  Raises :class:`EntityParseError` (reason "... at byte offset N") for text
    Telegram would refuse: unsupported tags, unclosed or mis-nested tags, a bare ``<``, an
    ``&`` that does not start a valid entity (``&lt; &gt; &amp; &quot; &#NN; &#xHH;``).
    This fake is deliberately strict about a bare ``&``.  Leading and trailing whitespace is
    trimmed from the visible text, as Telegram does.
    """
    out: list[str] = []
    cur16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded, i = _decode_entity(text, i)
            out.append(decoded)
            cur16 += utf16_len(decoded)
            continue
        if ch != "<":
            out.append(ch)
            cur16 += 2 if ord(ch) > 0xFFFF else 1
            i += 1
            continue
        if text.startswith("</", i):
            end = text.find(">", i)
            if end < 0:
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(text, i)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            top = stack[-1]
            if name != top.name:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, i)}, "
                    f'expected "</{top.name}>", found "</{name}>"'
                )
            stack.pop()
            if top.entity is not None and cur16 > top.start16:
                top.entity["offset"] = top.start16
                top.entity["length"] = cur16 - top.start16
                entities.append(top.entity)
            i = end + 1
            continue
        name, attrs, after = _parse_start_tag(text, i)
        tag = _OpenTag(name, cur16, attrs, i)
        kind = _SUPPORTED_TAGS[name]
        if name == "a":
            href = attrs.get("href", "").strip()
            tag.entity = {"type": "text_link", "url": href} if href else None
        elif name == "span":
            if attrs.get("class") != "tg-spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{_byte_offset(text, i)}"
                )
            tag.entity = {"type": "spoiler"}
        elif name == "tg-emoji":
            emoji_id = attrs.get("emoji-id", "")
            if not emoji_id.isdigit():
                raise EntityParseError(
                    f"Invalid custom emoji identifier specified at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            tag.entity = {"type": "custom_emoji", "custom_emoji_id": emoji_id}
        elif name == "blockquote":
            kind = "expandable_blockquote" if "expandable" in attrs else "blockquote"
            tag.entity = {"type": kind}
        elif name == "code" and stack and stack[-1].name == "pre":
            # <pre><code class="language-x">: one pre entity with a language
            language = attrs.get("class", "")
            if language.startswith("language-") and stack[-1].entity is not None:
                stack[-1].entity["language"] = language[len("language-") :]
            tag.entity = None
        else:
            tag.entity = {"type": kind}
        stack.append(tag)
        i = after
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    visible = "".join(out)
    return _trim(visible, entities)


def _trim(visible: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    stripped = visible.strip()
    if stripped == visible:
        trimmed_entities = entities
    else:
        lead = utf16_len(visible[: len(visible) - len(visible.lstrip())])
        total = utf16_len(stripped)
        trimmed_entities = []
        for entity in entities:
            start = max(0, entity["offset"] - lead)
            end = min(total, entity["offset"] + entity["length"] - lead)
            if end > start:
                trimmed_entities.append({**entity, "offset": start, "length": end - start})
    trimmed_entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, trimmed_entities


def visible_text(html: str) -> str:
    """The text a user sees for ``html`` sent with ``parse_mode=HTML`` (tags and entities
    resolved, trimmed).  Raises :class:`EntityParseError` if Telegram would refuse it."""
    return parse_html(html)[0]


_MDV2_SPECIAL = "_*[]()~`>#+-=|{}.!"
_MDV2_MARKERS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
    "code": "Code",
    "pre": "Pre",
}


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse ``text`` as ``parse_mode=MarkdownV2``: (visible text, entities).

    Covers bold, italic, underline, strikethrough, spoiler, inline links, inline code, pre
    blocks, ``\\`` escapes and ``>`` quotes at line start (kept as text, no entity).  Raises
    :class:`EntityParseError` for an unescaped reserved character ("Character '.' is reserved
    and must be escaped with the preceding '\\'") or an unclosed entity ("Can't find end of
    Bold entity at byte offset N").
    """
    out: list[str] = []
    cur16 = 0
    stack: list[tuple[str, int, int]] = []  # (marker, start16, index)
    entities: list[dict[str, Any]] = []
    n = len(text)
    i = 0

    def emit(chars: str) -> None:
        nonlocal cur16
        out.append(chars)
        cur16 += utf16_len(chars)

    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise EntityParseError(
                    "Character '\\' is reserved and must be escaped with the preceding '\\'"
                )
            emit(text[i + 1])
            i += 2
            continue
        if ch == "`":
            fence = "```" if text.startswith("```", i) else "`"
            body_start = i + len(fence)
            j = body_start
            while j < n and not text.startswith(fence, j):
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                kind = "pre" if fence == "```" else "code"
                raise EntityParseError(
                    f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset "
                    f"{_byte_offset(text, i)}"
                )
            body = re.sub(r"\\(.)", r"\1", text[body_start:j], flags=re.S)
            entity: dict[str, Any] = {"type": "code"}
            if fence == "```":
                entity = {"type": "pre"}
                first, sep, rest = body.partition("\n")
                if sep and first and " " not in first:
                    entity["language"] = first
                    body = rest
            start = cur16
            emit(body)
            if cur16 > start:
                entities.append({**entity, "offset": start, "length": cur16 - start})
            i = j + len(fence)
            continue
        marker = None
        if ch == "_":
            marker = "__" if text.startswith("__", i) else "_"
        elif ch in "*~":
            marker = ch
        elif ch == "|" and text.startswith("||", i):
            marker = "||"
        if marker is not None:
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                if cur16 > start:
                    entities.append(
                        {"type": _MDV2_MARKERS[marker], "offset": start, "length": cur16 - start}
                    )
            else:
                stack.append((marker, cur16, i))
            i += len(marker)
            continue
        if ch == "[":
            stack.append(("[", cur16, i))
            i += 1
            continue
        if ch == "]" and stack and stack[-1][0] == "[":
            _, start, _ = stack.pop()
            if not text.startswith("(", i + 1):
                raise EntityParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            j = i + 2
            url_chars: list[str] = []
            while j < n and text[j] != ")":
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                url_chars.append(text[j])
                j += 1
            if j >= n:
                raise EntityParseError(
                    f"Can't find end of a URL at byte offset {_byte_offset(text, i + 1)}"
                )
            if cur16 > start:
                entities.append(
                    {
                        "type": "text_link",
                        "url": "".join(url_chars),
                        "offset": start,
                        "length": cur16 - start,
                    }
                )
            i = j + 1
            continue
        if ch == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a quote line: accepted, no entity recorded
            continue
        if ch in _MDV2_SPECIAL:
            raise EntityParseError(
                f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
            )
        emit(ch)
        i += 1
    if stack:
        marker, _, index = stack[-1]
        kind = "text_link" if marker == "[" else _MDV2_MARKERS[marker]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset "
            f"{_byte_offset(text, index)}"
        )
    return _trim("".join(out), entities)


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """(visible text, entities) of ``text`` sent with ``parse_mode`` ("" or None: plain).

    Raises :class:`EntityParseError` if Telegram would refuse the text, ``ValueError`` for a
    parse mode Telegram does not know.  Legacy ``Markdown`` is accepted without checking.
    """
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return text.strip(), []
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return re.sub(r"[*_`\[\]]", "", text).strip(), []
    raise ValueError(f"unsupported parse_mode {parse_mode}")


def visible_or_none(text: str, parse_mode: str) -> str | None:
    """The visible text, or None if it does not parse (for the schema's length rules)."""
    try:
        return parse_text(text, parse_mode)[0]
    except ValueError:  # EntityParseError is a ValueError too
        return None
