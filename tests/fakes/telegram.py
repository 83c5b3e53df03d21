"""A strict, local fake of the Telegram Bot API server for end-to-end tests.

The real python-telegram-bot ``Bot`` / ``Application`` is pointed at it with
``base_url=fake.base_url``.  The server runs in a background thread with its own event
loop, bound to 127.0.0.1 on an ephemeral port.  It answers like Telegram does (same JSON
envelope, HTTP status = error_code, same error texts), and it is stricter than a mock:
unknown chats, blocked users, kicked bots, migrated groups, bad HTML, over-long text and
flood limits all fail the way Telegram fails.

Typical use::

    with FakeTelegram() as fake:
        fake.push_message(42, "/start")
        ...  # run the Application with .base_url(fake.base_url).token(fake.token)
        [reply] = fake.wait_for_messages(42)

All public methods are thread-safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

__all__ = [
    "ApiError",
    "EntityParseError",
    "FakeTelegram",
    "SentMessage",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
    "visible_text",
]

MAX_MESSAGE_LENGTH = 4096  # UTF-16 code units of the text after entity parsing
MAX_CALLBACK_DATA_BYTES = 64

# Methods that send or edit a message: subject to flood limits and forced errors.
SEND_METHODS = frozenset({"sendmessage", "editmessagetext"})


# --------------------------------------------------------------------------------------
# Helpers: UTF-16 length, HTML entity parsing (like Telegram's parse_mode=HTML)
# --------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------


@dataclass
class SentMessage:
    """One message the bot successfully sent (or edited, in ``FakeTelegram.edits``)."""

    chat_id: int
    text: str  # raw, as sent (with HTML tags if parse_mode="HTML")
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    link_preview_options: dict[str, Any] | None
    disable_notification: bool
    message_id: int
    at: float  # time.monotonic() when accepted
    method: str = "sendMessage"
    visible: str = ""  # text after entity parsing
    entities: list[dict[str, Any]] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # all decoded request parameters


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters


class _DropConnection(Exception):
    """Close the connection without an answer (simulated network failure)."""


@dataclass
class _ForcedError:
    code: int | str
    retry_after: int
    chat_id: int | None
    description: str | None


_ERROR_TEXTS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_INT_FIELDS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "reply_to_message_id",
        "message_thread_id",
        "cache_time",
        "max_connections",
    }
)
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "show_alert",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "allow_paid_broadcast",
    }
)
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "link_preview_options",
        "entities",
        "commands",
        "scope",
        "allowed_updates",
        "reply_parameters",
    }
)


def _coerce(params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in _JSON_FIELDS:
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from exc
            elif key in _BOOL_FIELDS:
                value = value.strip().lower() in ("true", "1")
            elif key in _INT_FIELDS and re.fullmatch(r"\s*-?\d+\s*", value):
                value = int(value)
        elif key in _INT_FIELDS and isinstance(value, float) and value.is_integer():
            value = int(value)
        out[key] = value
    return out


# --------------------------------------------------------------------------------------
# The fake server
# --------------------------------------------------------------------------------------


class FakeTelegram:
    """A strict fake Telegram Bot API server on 127.0.0.1 (see module docstring)."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "newsbot_test_bot",
        enforce_limits: bool = True,
        global_per_second: int = 30,
        private_per_second: float = 1.0,
        private_burst: int = 3,
        group_per_minute: int = 20,
    ) -> None:
        self._token = token
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        bot_id_text = token.split(":", 1)[0]
        self.bot_id = int(bot_id_text) if bot_id_text.isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Newsbot Test",
            "username": bot_username,
        }

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)

        # server plumbing
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._stop_event: asyncio.Event | None = None
        self._port = 0
        self._start_error: BaseException | None = None
        self._waiters: set[asyncio.Event] = set()
        self._poll_generation = 0

        # world state
        self._chats: dict[int, dict[str, Any]] = {}
        self._chat_users: dict[int, list[int]] = {}
        self._admins: dict[int, set[int]] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._unreachable: dict[int, ApiError] = {}
        self._migrated: dict[int, int] = {}
        self._stored: dict[tuple[int, int], dict[str, Any]] = {}
        self._next_message_id: dict[int, int] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}

        # flood state
        self._global_window: deque[float] = deque()
        self._group_windows: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, stamp)
        self._global_hold_until = 0.0
        self._chat_hold_until: dict[int, float] = {}
        self._forced: deque[_ForcedError] = deque()

        # observations
        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.errors: list[tuple[str, int | str | None, int, str]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.callback_answers: list[dict[str, Any]] = []

    # ---------------------------------------------------------------- lifecycle

    @property
    def token(self) -> str:
        return self._token

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """What ``ApplicationBuilder().base_url(...)`` wants: PTB appends token and method."""
        if not self._port:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def url(self) -> str:
        """Full API prefix including the token: ``{base_url}{token}``."""
        return f"{self.base_url}{self._token}"

    def start(self) -> FakeTelegram:
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="FakeTelegram", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeTelegram did not start within 10 s")
        if self._start_error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError("FakeTelegram failed to start") from self._start_error
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._request_stop)
        thread.join(15)
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegram:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _request_stop(self) -> None:
        assert self._stop_event is not None
        self._stop_event.set()
        for waiter in list(self._waiters):
            waiter.set()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._astart())
        except BaseException as exc:
            self._start_error = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            assert self._stop_event is not None
            loop.run_until_complete(self._stop_event.wait())
            assert self._runner is not None
            loop.run_until_complete(self._runner.cleanup())
        finally:
            loop.close()

    async def _astart(self) -> None:
        self._stop_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    # ---------------------------------------------------------------- HTTP layer

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z0-9_]*)/?", path)
        if match is None:
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = match.group(1), match.group(2)
        if token != self._token:
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            params = await self._read_params(request)
        except ApiError as err:
            return self._error_response(method, None, err)
        with self._lock:
            self.calls.append((method, params))
        lname = method.lower()
        try:
            if lname == "getupdates":
                result = await self._get_updates(params)
            else:
                handler = self._METHODS.get(lname)
                if handler is None:
                    raise ApiError(404, "Not Found")
                with self._lock:
                    result = handler(self, method, params)
        except _DropConnection:
            with self._lock:
                self.errors.append((method, params.get("chat_id"), 0, "connection dropped"))
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError from None
        except ApiError as err:
            return self._error_response(method, params.get("chat_id"), err)
        return self._json(200, {"ok": True, "result": result})

    def _error_response(self, method: str, chat_id: Any, err: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            body["parameters"] = err.parameters
        with self._lock:
            self.errors.append((method, chat_id, err.code, err.description))
            self._cond.notify_all()
        return self._json(err.code, body)

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body, ensure_ascii=False),
            content_type="application/json",
        )

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise ApiError(400, "Bad Request: can't parse JSON body") from exc
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON body must be an object")
                params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                    else:  # an uploaded file: keep its name
                        params[key] = getattr(value, "filename", "file")
            else:
                await request.read()
        return _coerce(params)

    # ---------------------------------------------------------------- world: users push

    def _wake_pollers(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def wake() -> None:
            for waiter in list(self._waiters):
                waiter.set()

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake)

    def _chat_object(self, chat_id: int) -> dict[str, Any]:
        return dict(self._chats[chat_id])

    def _register_chat(
        self,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or "Test"
            if username:
                chat["username"] = username
        else:
            chat["title"] = title or f"Test {chat_type} {chat_id}"
            if username:
                chat["username"] = username
        self._chats[chat_id] = chat
        # Anything arriving from a chat means the bot is reachable there again.
        self._unreachable.pop(chat_id, None)
        return chat

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> None:
        """Make a chat known (as if it had talked to the bot) without queueing an update."""
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat_type {chat_type!r}")
        with self._lock:
            self._register_chat(
                chat_id, chat_type, title=title, first_name=first_name, username=username
            )

    def _next_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _enqueue(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        update = {"update_id": update_id, **update}
        self._updates.append(update)
        self._wake_pollers()
        return update_id

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str = "en",
        chat_title: str | None = None,
    ) -> int:
        """Queue a text message from a user for getUpdates; returns its ``message_id``.

        A text starting with "/" carries a ``bot_command`` entity over its first word
        (e.g. "/follow@newsbot_test_bot"), so PTB's ``CommandHandler`` sees it.
        """
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat_type {chat_type!r}")
        if user_id is None:
            user_id = abs(chat_id)  # a group's default member: a stable positive id
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            user["username"] = username
        with self._lock:
            existing = self._chats.get(chat_id)
            if existing is not None and existing["type"] == chat_type and chat_title is None:
                self._unreachable.pop(chat_id, None)
                chat = existing
            else:
                chat = self._register_chat(
                    chat_id,
                    chat_type,
                    title=chat_title,
                    first_name=first_name,
                    username=username if chat_type == "private" else None,
                )
            self._users[user_id] = user
            members = self._chat_users.setdefault(chat_id, [])
            if user_id not in members:
                members.append(user_id)
            message_id = self._next_id(chat_id)
            message: dict[str, Any] = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": dict(chat),
                "from": user,
                "text": text,
            }
            if text.startswith("/"):
                command = re.split(r"\s", text, maxsplit=1)[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
                ]
            self._stored[(chat_id, message_id)] = message
            self._enqueue({"message": message})
            return message_id

    def push_callback(
        self, chat_id: int, message_id: int, data: str, user_id: int | None = None
    ) -> str:
        """Queue a callback_query (a button press) on a message the bot sent; returns its id."""
        with self._lock:
            message = self._stored.get((chat_id, message_id))
            if message is None or message.get("from", {}).get("id") != self.bot_id:
                raise ValueError(f"the bot sent no message {message_id} to chat {chat_id}")
            if user_id is None:
                members = self._chat_users.get(chat_id)
                user_id = members[-1] if members else chat_id
            user = self._users.get(user_id) or {
                "id": user_id,
                "is_bot": False,
                "first_name": "Test",
                "language_code": "en",
            }
            self._users[user_id] = user
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
            self._unreachable.pop(chat_id, None)
            self._enqueue(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user,
                        "message": dict(message),
                        "chat_instance": str(chat_id),
                        "data": data,
                    }
                }
            )
            return query_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned if missing); returns the update_id.

        Chats found in ``message``/``edited_message``/``my_chat_member`` become known.
        """
        with self._lock:
            for key in ("message", "edited_message", "channel_post", "my_chat_member"):
                chat = (update.get(key) or {}).get("chat")
                if isinstance(chat, dict) and "id" in chat and "type" in chat:
                    self._chats[int(chat["id"])] = dict(chat)
                    self._unreachable.pop(int(chat["id"]), None)
            if "update_id" in update:
                self._updates.append(dict(update))
                self._update_ids = itertools.count(int(update["update_id"]) + 1)
                self._wake_pollers()
                return int(update["update_id"])
            return self._enqueue(dict(update))

    # ---------------------------------------------------------------- world: chat states

    def block(self, chat_id: int) -> None:
        """Every send to ``chat_id`` fails 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self._unreachable[chat_id] = ApiError(403, "Forbidden: bot was blocked by the user")

    def kick(self, chat_id: int) -> None:
        """Every send fails 403 "Forbidden: bot was kicked from the group chat"."""
        with self._lock:
            kind = (
                "supergroup"
                if self._chats.get(chat_id, {}).get("type") == "supergroup"
                else ("group")
            )
            self._unreachable[chat_id] = ApiError(
                403, f"Forbidden: bot was kicked from the {kind} chat"
            )

    def deactivate(self, chat_id: int) -> None:
        """Every send fails 403 "Forbidden: user is deactivated" (deleted account)."""
        with self._lock:
            self._unreachable[chat_id] = ApiError(403, "Forbidden: user is deactivated")

    def unblock(self, chat_id: int) -> None:
        """Undo block/kick/deactivate.  (Any update pushed from the chat also does this.)"""
        with self._lock:
            self._unreachable.pop(chat_id, None)

    def set_admins(self, chat_id: int, user_ids: list[int]) -> None:
        """Make ``user_ids`` administrators of group ``chat_id`` (getChatMember says so)."""
        with self._lock:
            self._admins[chat_id] = set(user_ids)
            members = self._chat_users.setdefault(chat_id, [])
            members.extend(u for u in user_ids if u not in members)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group ``chat_id`` became supergroup ``new_chat_id``: sends to the old id fail
        400 with ``parameters.migrate_to_chat_id``; the new id is known (type supergroup)."""
        with self._lock:
            old = self._chats.get(chat_id, {})
            self._migrated[chat_id] = new_chat_id
            self._register_chat(
                new_chat_id, "supergroup", title=old.get("title") or f"Supergroup {new_chat_id}"
            )
            self._chat_users[new_chat_id] = list(self._chat_users.get(chat_id, []))

    def force_errors(
        self,
        n: int = 1,
        code: int | str = 429,
        retry_after: int = 1,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``n`` sends (to ``chat_id`` if given) fail with ``code``.

        ``code=429`` answers "Too Many Requests: retry after N" with ``retry_after`` (and, like
        a real flood answer, holds that chat -- or everything when ``chat_id`` is None -- for
        that long); ``code=500`` an internal error; ``code="drop"`` (or 0) closes the
        connection without answering, a network error for the client.  Other codes use
        ``description`` or a default text.
        """
        with self._lock:
            for _ in range(n):
                self._forced.append(_ForcedError(code, retry_after, chat_id, description))

    # ---------------------------------------------------------------- observations

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def count(self, code: int) -> int:
        """How many error answers with ``error_code == code`` were given (0: dropped)."""
        with self._lock:
            return sum(1 for e in self.errors if e[2] == code)

    def wait_for_messages(
        self, chat_id: int | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Block until at least ``count`` messages were sent (to ``chat_id`` if given) and
        return all sent so far that match.  Raises ``TimeoutError`` describing what arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.sent if chat_id is None or m.chat_id == chat_id]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_text(chat_id, count, found))
                self._cond.wait(remaining)

    async def wait_for_messages_async(
        self,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[SentMessage]:
        """Like :meth:`wait_for_messages` without blocking the running event loop."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(chat_id)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                with self._lock:
                    raise TimeoutError(self._timeout_text(chat_id, count, found))
            await asyncio.sleep(0.01)

    def _timeout_text(self, chat_id: int | None, count: int, found: list[SentMessage]) -> str:
        where = "in total" if chat_id is None else f"to chat {chat_id}"
        return (
            f"expected {count} message(s) {where}, got {len(found)}: "
            f"{[m.text for m in found]!r}; errors so far: {self.errors[-10:]!r}"
        )

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The last setMyCommands list for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._commands.get(self._scope_key(scope, language_code), []))

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def reset(self) -> None:
        """Clear observations (sent, edits, errors, calls, callback answers) and flood
        state; the world (known chats, blocks, migrations, queued updates) is kept."""
        with self._lock:
            self.sent.clear()
            self.edits.clear()
            self.errors.clear()
            self.calls.clear()
            self.callback_answers.clear()
            self._forced.clear()
            self._global_window.clear()
            self._group_windows.clear()
            self._buckets.clear()
            self._global_hold_until = 0.0
            self._chat_hold_until.clear()

    # ---------------------------------------------------------------- chat resolution

    def _resolve_chat(self, raw: Any) -> int:
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool):
            raise ApiError(400, "Bad Request: chat not found")
        if isinstance(raw, int):
            chat_id = raw
        elif isinstance(raw, str) and raw.startswith("@"):
            for cid, chat in self._chats.items():
                if chat.get("username", "").lower() == raw[1:].lower():
                    chat_id = cid
                    break
            else:
                raise ApiError(400, "Bad Request: chat not found")
        else:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    # ---------------------------------------------------------------- flood control

    @staticmethod
    def _retry_in(seconds: float) -> int:
        return max(1, math.ceil(seconds - 1e-9))

    def _too_many(self, retry_after: int) -> ApiError:
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def _apply_forced(self, chat_id_raw: Any) -> None:
        for forced in list(self._forced):
            if forced.chat_id is not None and forced.chat_id != chat_id_raw:
                continue
            self._forced.remove(forced)
            code = forced.code
            if code in (0, "drop"):
                raise _DropConnection
            if code == 429:
                now = time.monotonic()
                if forced.chat_id is None:
                    self._global_hold_until = max(self._global_hold_until, now + forced.retry_after)
                else:
                    self._chat_hold_until[forced.chat_id] = now + forced.retry_after
                raise self._too_many(forced.retry_after)
            assert isinstance(code, int)
            raise ApiError(code, forced.description or _ERROR_TEXTS.get(code, f"Error {code}"))

    def _check_flood(self, chat_id: int) -> None:
        """Raise 429 if this send breaks a limit; otherwise account for it."""
        if not self.enforce_limits:
            return
        now = time.monotonic()
        if now < self._global_hold_until:
            raise self._too_many(self._retry_in(self._global_hold_until - now))
        hold = self._chat_hold_until.get(chat_id, 0.0)
        if now < hold:
            raise self._too_many(self._retry_in(hold - now))

        window = self._global_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.global_per_second:
            retry = self._retry_in(window[0] + 1.0 - now)
            self._global_hold_until = now + retry
            raise self._too_many(retry)

        chat_type = self._chats[chat_id]["type"]
        new_bucket: tuple[float, float] | None = None
        group_window: deque[float] | None = None
        if chat_type == "private":
            tokens, stamp = self._buckets.get(chat_id, (float(self.private_burst), now))
            refill = (now - stamp) * self.private_per_second
            tokens = min(float(self.private_burst), tokens + refill)
            if tokens < 1.0:
                retry = self._retry_in((1.0 - tokens) / self.private_per_second)
                self._chat_hold_until[chat_id] = now + retry
                raise self._too_many(retry)
            new_bucket = (tokens - 1.0, now)
        elif chat_type in ("group", "supergroup"):
            group_window = self._group_windows.setdefault(chat_id, deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= self.group_per_minute:
                retry = self._retry_in(group_window[0] + 60.0 - now)
                self._chat_hold_until[chat_id] = now + retry
                raise self._too_many(retry)

        window.append(now)
        if new_bucket is not None:
            self._buckets[chat_id] = new_bucket
        if group_window is not None:
            group_window.append(now)

    # ---------------------------------------------------------------- text validation

    def _parse_text(
        self, text: Any, parse_mode: Any, entities: Any
    ) -> tuple[str, list[dict[str, Any]]]:
        if text is None or (isinstance(text, str) and not text.strip()):
            raise ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        mode = (parse_mode or "").strip()
        if entities and isinstance(entities, list):
            visible, parsed = text, list(entities)
        elif not mode:
            visible, parsed = text.strip(), []
        elif mode.lower() == "html":
            try:
                visible, parsed = parse_html(text)
            except EntityParseError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err.reason}") from None
        elif mode.lower() == "markdownv2":
            try:
                visible, parsed = parse_markdown_v2(text)
            except EntityParseError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err.reason}") from None
        elif mode.lower() == "markdown":  # legacy Markdown: accepted without checking
            visible, parsed = re.sub(r"[*_`\[\]]", "", text).strip(), []
        else:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {mode}")
        if not visible.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(visible) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return visible, parsed

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is not None:
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise ApiError(400, 'Bad Request: field "inline_keyboard" must be an Array')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not button.get("text"):
                        raise ApiError(
                            400, "Bad Request: text buttons are unallowed in the inline keyboard"
                        )
                    data = button.get("callback_data")
                    if data is not None and not (
                        1 <= len(str(data).encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                    ):
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    if not any(
                        k in button
                        for k in (
                            "url",
                            "callback_data",
                            "switch_inline_query",
                            "login_url",
                            "pay",
                            "web_app",
                            "switch_inline_query_current_chat",
                            "copy_text",
                            "switch_inline_query_chosen_chat",
                            "callback_game",
                        )
                    ):
                        raise ApiError(400, 'Bad Request: can\'t find field "callback_data"')
        return markup

    # ---------------------------------------------------------------- methods

    def _m_get_me(self, method: str, params: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_true(self, method: str, params: dict[str, Any]) -> Any:
        return True

    def _m_delete_webhook(self, method: str, params: dict[str, Any]) -> Any:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_set_webhook(self, method: str, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self._webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_get_webhook_info(self, method: str, params: dict[str, Any]) -> Any:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _confirm_and_take(self, offset: Any, limit: int) -> list[dict[str, Any]]:
        if isinstance(offset, int) and offset != 0:
            if offset > 0:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            else:
                while len(self._updates) > -offset:
                    self._updates.popleft()
        return list(itertools.islice(self._updates, limit))

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            if self._webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
        offset = params.get("offset")
        limit = params.get("limit", 100)
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        assert self._loop is not None and self._stop_event is not None
        deadline = self._loop.time() + max(0.0, timeout)
        waiter = asyncio.Event()
        # A new getUpdates terminates a pending one (409), like Telegram.
        for other in list(self._waiters):
            other.set()
        self._waiters.add(waiter)
        try:
            first = True
            while True:
                waiter.clear()
                with self._lock:
                    if generation != self._poll_generation:
                        raise ApiError(409, _ERROR_TEXTS[409])
                    result = self._confirm_and_take(offset if first else None, limit)
                first = False
                remaining = deadline - self._loop.time()
                if result or remaining <= 0 or self._stop_event.is_set():
                    return result
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), remaining)
        finally:
            self._waiters.discard(waiter)

    def _bot_message(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        link_preview_options: Any,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat_object(chat_id),
            "from": dict(self.bot_user),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if isinstance(link_preview_options, dict) and link_preview_options:
            message["link_preview_options"] = link_preview_options
        return message

    def _m_send_message(self, method: str, params: dict[str, Any]) -> Any:
        raw_chat = params.get("chat_id")
        self._apply_forced(raw_chat)
        chat_id = self._resolve_chat(raw_chat)
        if chat_id in self._unreachable:
            raise self._unreachable[chat_id]
        visible, entities = self._parse_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = None
        reply_parameters = params.get("reply_parameters")
        reply_id = params.get("reply_to_message_id")
        allow_without = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply_parameters, dict):
            reply_id = reply_parameters.get("message_id")
            allow_without = allow_without or bool(
                reply_parameters.get("allow_sending_without_reply")
            )
        if reply_id is not None:
            reply_to = self._stored.get((chat_id, int(reply_id)))
            if reply_to is None and not allow_without:
                raise ApiError(400, "Bad Request: message to be replied not found")
        self._check_flood(chat_id)
        message_id = self._next_id(chat_id)
        message = self._bot_message(
            chat_id, message_id, visible, entities, markup, params.get("link_preview_options")
        )
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
        self._stored[(chat_id, message_id)] = message
        self.sent.append(self._record(method, chat_id, message_id, params, visible, entities))
        self._cond.notify_all()
        return message

    def _record(
        self,
        method: str,
        chat_id: int,
        message_id: int,
        params: dict[str, Any],
        visible: str,
        entities: list[dict[str, Any]],
    ) -> SentMessage:
        markup = params.get("reply_markup")
        lpo = params.get("link_preview_options")
        if lpo is None and params.get("disable_web_page_preview"):
            lpo = {"is_disabled": True}
        return SentMessage(
            chat_id=chat_id,
            text=str(params.get("text", "")),
            parse_mode=params.get("parse_mode") or None,
            reply_markup=markup if isinstance(markup, dict) else None,
            link_preview_options=lpo if isinstance(lpo, dict) else None,
            disable_notification=bool(params.get("disable_notification", False)),
            message_id=message_id,
            at=time.monotonic(),
            method=method,
            visible=visible,
            entities=entities,
            params=dict(params),
        )

    def _find_message(self, params: dict[str, Any], *, edit: bool) -> tuple[int, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._resolve_chat(params.get("chat_id"))
        if chat_id in self._unreachable:
            raise self._unreachable[chat_id]
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self._stored.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat_id, message

    def _m_edit_message_text(self, method: str, params: dict[str, Any]) -> Any:
        self._apply_forced(params.get("chat_id"))
        chat_id, old = self._find_message(params, edit=True)
        visible, entities = self._parse_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = self._check_markup(params.get("reply_markup"))
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if (
            visible == old.get("text")
            and entities == old.get("entities", [])
            and new_markup == old.get("reply_markup")
        ):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._check_flood(chat_id)
        message = self._bot_message(
            chat_id,
            old["message_id"],
            visible,
            entities,
            markup,
            params.get("link_preview_options"),
        )
        message["date"] = old["date"]
        message["edit_date"] = int(time.time())
        self._stored[(chat_id, old["message_id"])] = message
        self.edits.append(
            self._record(method, chat_id, old["message_id"], params, visible, entities)
        )
        self._cond.notify_all()
        return message

    def _m_edit_message_reply_markup(self, method: str, params: dict[str, Any]) -> Any:
        chat_id, old = self._find_message(params, edit=True)
        markup = self._check_markup(params.get("reply_markup"))
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if new_markup == old.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message = dict(old)
        message.pop("reply_markup", None)
        if new_markup:
            message["reply_markup"] = new_markup
        message["edit_date"] = int(time.time())
        self._stored[(chat_id, old["message_id"])] = message
        self.edits.append(
            self._record(
                method,
                chat_id,
                old["message_id"],
                {**params, "text": old.get("text", "")},
                old.get("text", ""),
                old.get("entities", []),
            )
        )
        self._cond.notify_all()
        return message

    def _m_answer_callback_query(self, method: str, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callbacks.discard(query_id)
        self.callback_answers.append(dict(params))
        return True

    @staticmethod
    def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
        if not scope or scope == {"type": "default"}:
            scope_text = ""
        else:
            scope_text = json.dumps(scope, sort_keys=True)
        return scope_text, str(language_code or "")

    def _m_set_my_commands(self, method: str, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for cmd in commands:
            name = cmd.get("command", "") if isinstance(cmd, dict) else ""
            desc = cmd.get("description", "") if isinstance(cmd, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(desc)) <= 256:
                raise ApiError(400, "Bad Request: command description is empty")
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(c) for c in commands]
        return True

    def _m_get_my_commands(self, method: str, params: dict[str, Any]) -> Any:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    def _m_delete_my_commands(self, method: str, params: dict[str, Any]) -> Any:
        key = self._scope_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True

    def _m_get_chat(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(params.get("chat_id"))
        chat = self._chat_object(chat_id)
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        return chat

    def _member(self, chat_id: int, user_id: int, status: str) -> dict[str, Any]:
        if user_id == self.bot_id:
            user = dict(self.bot_user)
        else:
            user = self._users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "?"}
        member: dict[str, Any] = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member.update(
                {
                    "is_anonymous": False,
                    "can_be_edited": False,
                    **{
                        f"can_{right}": True
                        for right in (
                            "manage_chat", "delete_messages", "manage_video_chats",
                            "restrict_members", "promote_members", "change_info",
                            "invite_users", "post_stories", "edit_stories", "delete_stories",
                        )
                    },
                }
            )
        return member

    def _m_get_chat_member(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        if user_id == self.bot_id:
            status = "left" if chat_id in self._unreachable else "member"
            return self._member(chat_id, user_id, status)
        members = self._chat_users.get(chat_id, [])
        if user_id not in members and not (
            self._chats[chat_id]["type"] == "private" and user_id == chat_id
        ):
            raise ApiError(400, "Bad Request: user not found")
        if user_id in self._admins.get(chat_id, ()):
            status = "administrator"
        else:
            status = "creator" if members and members[0] == user_id else "member"
        return self._member(chat_id, user_id, status)

    def _m_get_chat_administrators(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if self._chats[chat_id]["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        members = self._chat_users.get(chat_id, [])
        return [self._member(chat_id, members[0], "creator")] if members else []

    _METHODS: ClassVar[dict[str, Any]] = {
        "getme": _m_get_me,
        "logout": _m_true,
        "close": _m_true,
        "deletewebhook": _m_delete_webhook,
        "setwebhook": _m_set_webhook,
        "getwebhookinfo": _m_get_webhook_info,
        "sendmessage": _m_send_message,
        "editmessagetext": _m_edit_message_text,
        "editmessagereplymarkup": _m_edit_message_reply_markup,
        "answercallbackquery": _m_answer_callback_query,
        "setmycommands": _m_set_my_commands,
        "getmycommands": _m_get_my_commands,
        "deletemycommands": _m_delete_my_commands,
        "getchat": _m_get_chat,
        "getchatmember": _m_get_chat_member,
        "getchatadministrators": _m_get_chat_administrators,
    }
