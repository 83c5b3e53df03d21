"""The Bot API, answered in-process: what the person types becomes updates, what the bot
sends is printed.

``ShellApi`` keeps one chat (private, or a group in which the person is an administrator),
the updates waiting for ``getUpdates`` and every message shown, and answers the methods the
bot uses as Telegram does, errors included: text Telegram cannot parse or longer than 4096
characters is refused with Telegram's 400, an unknown message cannot be edited, a button
press must be answered once.  ``ShellRequest`` is the python-telegram-bot request class that
hands each call to it (no HTTP, no network).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from telegram.request import BaseRequest, RequestData

from bot.shell.render import HtmlError, Terminal, button_labels, visible

__all__ = ["ApiError", "Person", "ShellApi", "ShellRequest"]

BOT_ID = 7000000001
BOT_USERNAME = "newsbot_shell_bot"
TOKEN = f"{BOT_ID}:shell-no-token"
MAX_TEXT = 4096
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


@dataclass(frozen=True)
class Person:
    """Who types, and where: a private chat, or a group they administer."""

    user_id: int = 1000001
    first_name: str = "You"
    language: str = "en"
    group: bool = False

    @property
    def chat_id(self) -> int:
        return -1000000001 if self.group else self.user_id

    def user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "username": "you",
            "language_code": self.language,
        }

    def chat(self) -> dict[str, Any]:
        if self.group:
            return {"id": self.chat_id, "type": "group", "title": "newsbot shell group"}
        return {"id": self.chat_id, "type": "private", "first_name": self.first_name}


@dataclass
class Shown:
    """A message in the chat, as it stands now."""

    message: dict[str, Any]
    markup: dict[str, Any] | None = None


@dataclass
class ShellApi:
    person: Person
    terminal: Terminal
    updates: list[dict[str, Any]] = field(default_factory=list)
    messages: dict[int, Shown] = field(default_factory=dict)
    in_flight: int = 0  # calls being answered, getUpdates excepted
    pushed: int = 0  # updates pushed so far
    taken: int = 0  # updates handed to the bot so far
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _open_callbacks: set[str] = field(default_factory=set)
    _arrived: asyncio.Event | None = None

    # ------------------------------------------------------------------ the person

    def _event(self) -> asyncio.Event:
        if self._arrived is None:
            self._arrived = asyncio.Event()
        return self._arrived

    def _push(self, update: dict[str, Any]) -> None:
        update["update_id"] = next(self._update_ids)
        self.updates.append(update)
        self.pushed += 1
        self._event().set()

    def say(self, text: str) -> None:
        """The person sends ``text``; a leading command gets its ``bot_command`` entity."""
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self.person.chat(),
            "from": self.person.user(),
            "text": text,
        }
        command = _COMMAND.match(text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        self._push({"message": message})

    def last_buttons(self) -> Shown | None:
        """The newest message that has inline buttons now."""
        for message_id in sorted(self.messages, reverse=True):
            shown = self.messages[message_id]
            if button_labels(shown.markup):
                return shown
        return None

    def press(self, number: int) -> str:
        """Press button ``number`` (from 1) of the newest message with buttons; returns what
        to echo, or raises ``LookupError`` with the reason."""
        shown = self.last_buttons()
        if shown is None:
            raise LookupError("no message has buttons yet")
        buttons = button_labels(shown.markup)
        if not 1 <= number <= len(buttons):
            raise LookupError(f"that message has buttons 1 to {len(buttons)}")
        label, button = buttons[number - 1]
        if button.get("url"):
            return f"[{label}] opens {button['url']}"
        query_id = f"shell-{next(self._ids)}"
        self._open_callbacks.add(query_id)
        self._push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.person.user(),
                    "message": {**shown.message, "reply_markup": shown.markup},
                    "chat_instance": "newsbot-shell",
                    "data": button.get("callback_data", ""),
                }
            }
        )
        return f"[presses {number}: {label}]"

    @property
    def waiting(self) -> int:
        """Updates pushed that the bot has not fetched yet."""
        return self.pushed - self.taken

    # ------------------------------------------------------------------ the Bot API

    async def call(self, method: str, params: dict[str, Any],
                   files: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, Telegram's JSON envelope); ``files``: the
        uploads of the call by part name, ``(file name, content, type)``."""
        name = method.lower()
        if files:
            params = {**params, _FILES: files}
        handler = _METHODS.get(name)
        if handler is None:
            return 400, _error(400, f"Bad Request: the shell does not answer {method}")
        if name != "getupdates":
            self.in_flight += 1
        try:
            return 200, {"ok": True, "result": await handler(self, params)}
        except ApiError as exc:
            return exc.code, _error(exc.code, exc.description)
        finally:
            if name != "getupdates":
                self.in_flight -= 1

    async def _get_me(self, params: dict[str, Any]) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "newsbot",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _true(self, params: dict[str, Any]) -> Any:
        return True

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates:
            event = self._event()
            event.clear()
            timeout = float(params.get("timeout") or 0)
            if timeout > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
        batch = self.updates[: int(params.get("limit") or 100)]
        if batch:
            self.taken = max(self.taken, batch[-1]["update_id"])
        return batch

    def _check_chat(self, params: dict[str, Any]) -> None:
        if str(params.get("chat_id")) != str(self.person.chat_id):
            raise ApiError(400, "Bad Request: chat not found")

    def _check_text(self, params: dict[str, Any]) -> str:
        text = str(params.get("text") or "")
        try:
            shown = visible(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text
        except HtmlError as exc:
            raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from exc
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(shown.encode("utf-16-le")) // 2 > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text

    @staticmethod
    def _markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        for _, button in button_labels(markup):
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup if button_labels(markup) else None

    def _bot_message(self, message_id: int, text: str) -> dict[str, Any]:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self.person.chat(),
            "from": _BOT_USER,
            "text": text,
        }

    async def _send_message(self, params: dict[str, Any]) -> Any:
        self._check_chat(params)
        text = self._check_text(params)
        markup = self._markup(params)
        message = self._bot_message(next(self._ids), text)
        self.messages[message["message_id"]] = Shown(message, markup)
        self.terminal.message(text, params.get("parse_mode"), markup)
        return {**message, **({"reply_markup": markup} if markup else {})}

    async def _send_document(self, params: dict[str, Any]) -> Any:
        """A file the bot sends (``/export``): its name, size and, for a short text file, its
        first lines, under the caption."""
        self._check_chat(params)
        uploads = list((params.get(_FILES) or {}).values())
        if not uploads:
            raise ApiError(400, "Bad Request: there is no document in the request")
        file_name, content, _ = uploads[0]
        data = content if isinstance(content, bytes) else content.read()
        caption = str(params.get("caption") or "")
        message = {**self._bot_message(next(self._ids), ""), "caption": caption,
                   "document": {"file_id": f"shell-file-{len(self.messages)}",
                                "file_unique_id": "shell", "file_name": file_name,
                                "file_size": len(data)}}
        del message["text"]
        self.terminal.message(caption, params.get("parse_mode"), self._markup(params))
        self.terminal.note(f"a file: {file_name} ({len(data):,} bytes)")
        lines = data.decode("utf-8", "replace").splitlines()
        for line in lines[:_FILE_LINES]:
            self.terminal.note("  " + line)
        if len(lines) > _FILE_LINES:
            self.terminal.note(f"  ... {len(lines) - _FILE_LINES} more lines")
        return message

    def _find(self, params: dict[str, Any]) -> Shown:
        self._check_chat(params)
        shown = self.messages.get(int(params.get("message_id") or 0))
        if shown is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return shown

    async def _edit_message_text(self, params: dict[str, Any]) -> Any:
        shown = self._find(params)
        text = self._check_text(params)
        markup = self._markup(params)
        if text == shown.message["text"] and markup == shown.markup:
            raise ApiError(400, "Bad Request: message is not modified")
        shown.message = {**shown.message, "text": text, "edit_date": int(time.time())}
        shown.markup = markup
        self.terminal.message(text, params.get("parse_mode"), markup, edited=True)
        return {**shown.message, **({"reply_markup": markup} if markup else {})}

    async def _edit_message_reply_markup(self, params: dict[str, Any]) -> Any:
        shown = self._find(params)
        markup = self._markup(params)
        if markup == shown.markup:
            raise ApiError(400, "Bad Request: message is not modified")
        shown.markup = markup
        labels = [label for label, _ in button_labels(markup)]
        self.terminal.note("buttons now: " + ("  ".join(
            f"[{n}] {label}" for n, label in enumerate(labels, start=1)) or "none"))
        return {**shown.message, **({"reply_markup": markup} if markup else {})}

    async def _answer_callback_query(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callbacks.discard(query_id)
        if params.get("text"):
            self.terminal.toast(str(params["text"]), alert=bool(params.get("show_alert")))
        return True

    async def _get_chat_member(self, params: dict[str, Any]) -> Any:
        self._check_chat(params)
        user_id = int(params.get("user_id") or 0)
        if user_id == BOT_ID:
            return {"status": "member", "user": _BOT_USER}
        if user_id != self.person.user_id:
            raise ApiError(400, "Bad Request: user not found")
        status = "creator" if self.person.group else "member"
        return {"status": status, "user": self.person.user(), "is_anonymous": False}

    async def _get_chat_administrators(self, params: dict[str, Any]) -> Any:
        self._check_chat(params)
        if not self.person.group:
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [{"status": "creator", "user": self.person.user(), "is_anonymous": False}]

    async def _get_chat(self, params: dict[str, Any]) -> Any:
        self._check_chat(params)
        return {**self.person.chat(), "accent_color_id": 0, "max_reaction_count": 11}

    async def _delete_message(self, params: dict[str, Any]) -> Any:
        shown = self._find(params)
        del self.messages[shown.message["message_id"]]
        self.terminal.note("the bot deleted a message")
        return True

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": self.waiting}

    async def _get_my_commands(self, params: dict[str, Any]) -> Any:
        return []


_BOT_USER = {"id": BOT_ID, "is_bot": True, "first_name": "newsbot", "username": BOT_USERNAME}
_FILES = "__files__"  # a call's uploads among its parameters
_FILE_LINES = 12  # of a file the bot sends, the lines shown
_Handler = Callable[[ShellApi, dict[str, Any]], Awaitable[Any]]
_METHODS: dict[str, _Handler] = {
    "getme": ShellApi._get_me,
    "getupdates": ShellApi._get_updates,
    "deletewebhook": ShellApi._true,
    "getwebhookinfo": ShellApi._get_webhook_info,
    "setmycommands": ShellApi._true,
    "deletemycommands": ShellApi._true,
    "getmycommands": ShellApi._get_my_commands,
    "sendmessage": ShellApi._send_message,
    "senddocument": ShellApi._send_document,
    "editmessagetext": ShellApi._edit_message_text,
    "editmessagereplymarkup": ShellApi._edit_message_reply_markup,
    "answercallbackquery": ShellApi._answer_callback_query,
    "deletemessage": ShellApi._delete_message,
    "sendchataction": ShellApi._true,
    "getchat": ShellApi._get_chat,
    "getchatmember": ShellApi._get_chat_member,
    "getchatadministrators": ShellApi._get_chat_administrators,
    "close": ShellApi._true,
    "logout": ShellApi._true,
}


def _error(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


class ShellRequest(BaseRequest):
    """python-telegram-bot's transport, answered by a ``ShellApi`` instead of the network."""

    def __init__(self, api: ShellApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        endpoint = urlsplit(url).path.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        files = request_data.multipart_data if request_data is not None else None
        status, body = await self.api.call(endpoint, params, files)
        return status, json.dumps(body, ensure_ascii=False).encode()
