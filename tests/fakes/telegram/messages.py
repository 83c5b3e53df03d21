"""The methods that send and edit messages, and answer button presses."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.fakes.telegram.entities import (
    MAX_MESSAGE_LENGTH,
    EntityParseError,
    parse_text,
    utf16_len,
)
from tests.fakes.telegram.records import ApiError, SentMessage

MAX_CALLBACK_DATA_BYTES = 64
_BUTTON_KINDS = (
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
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply "
    "markup are exactly the same as a current content and reply markup of the message"
)

METHODS = {
    "sendmessage": "_m_send_message",
    "editmessagetext": "_m_edit_message_text",
    "editmessagereplymarkup": "_m_edit_message_reply_markup",
    "answercallbackquery": "_m_answer_callback_query",
}


def parse_message_text(
    text: Any, parse_mode: Any, entities: Any
) -> tuple[str, list[dict[str, Any]]]:
    """(visible text, entities) of a message text, or the ApiError Telegram answers."""
    if text is None or (isinstance(text, str) and not text.strip()):
        raise ApiError(400, "Bad Request: message text is empty")
    text = str(text)
    if entities and isinstance(entities, list):
        visible, parsed = text, list(entities)
    else:
        try:
            visible, parsed = parse_text(text, parse_mode)
        except EntityParseError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err.reason}") from None
        except ValueError:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}") from None
    if not visible.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_len(visible) > MAX_MESSAGE_LENGTH:
        raise ApiError(400, "Bad Request: message is too long")
    return visible, parsed


def check_markup(markup: Any) -> dict[str, Any] | None:
    """The inline keyboard as Telegram checks it (also without the Bot API reference)."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
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
            if not any(k in button for k in _BUTTON_KINDS):
                raise ApiError(400, 'Bad Request: can\'t find field "callback_data"')
    return markup


def validate_send(params: dict[str, Any]) -> None:
    """The checks of a sent or edited text that need no world (for a refused call)."""
    parse_message_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
    check_markup(params.get("reply_markup"))


VALIDATORS = {
    "sendmessage": validate_send,
    "editmessagetext": validate_send,
    "editmessagereplymarkup": lambda params: check_markup(params.get("reply_markup")),
}


class Messages:
    """sendMessage, editMessageText, editMessageReplyMarkup, answerCallbackQuery."""

    bot_id: int
    bot_user: dict[str, Any]
    _lock: threading.RLock
    _cond: threading.Condition
    _chats: dict[int, dict[str, Any]]

    def _init_messages(self) -> None:
        self._stored: dict[tuple[int, int], dict[str, Any]] = {}
        self._by_bot: set[tuple[int, int]] = set()
        self._frozen: set[tuple[int, int]] = set()  # too old to edit
        self._next_message_id: dict[int, int] = {}
        self._open_callbacks: set[str] = set()
        self.sent: list[SentMessage] = []
        self.edits: list[SentMessage] = []
        self.callback_answers: list[dict[str, Any]] = []

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """A user deletes a message of the chat: editing it answers "message to edit not
        found", as Telegram does."""
        with self._lock:
            self._stored.pop((chat_id, message_id), None)

    def freeze_message(self, chat_id: int, message_id: int) -> None:
        """The message can no longer be edited (say, too old): "message can't be edited"."""
        with self._lock:
            self._frozen.add((chat_id, message_id))

    def shown(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The message as the chat shows it now (after its edits), or None if deleted."""
        with self._lock:
            message = self._stored.get((chat_id, message_id))
            return dict(message) if message is not None else None

    def _next_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _bot_message(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        link_preview_options: Any,
    ) -> dict[str, Any]:
        chat = dict(self._chats[chat_id])
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time())}
        if chat["type"] == "channel":  # a channel post is signed by the channel
            message["sender_chat"] = dict(chat)
        else:
            message["from"] = dict(self.bot_user)
        message.update({"chat": chat, "text": text})
        if entities:
            message["entities"] = entities
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        if isinstance(link_preview_options, dict) and link_preview_options:
            message["link_preview_options"] = link_preview_options
        return message

    def _m_send_message(self, method: str, params: dict[str, Any]) -> Any:
        raw_chat = params.get("chat_id")
        self._apply_forced(raw_chat)  # type: ignore[attr-defined]
        chat_id = self._resolve_chat(raw_chat)  # type: ignore[attr-defined]
        self._check_can_send(chat_id)  # type: ignore[attr-defined]
        visible, entities = parse_message_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat_id, params)
        self._check_flood(chat_id)  # type: ignore[attr-defined]
        message_id = self._next_id(chat_id)
        message = self._bot_message(
            chat_id, message_id, visible, entities, markup, params.get("link_preview_options")
        )
        if reply_to is not None:
            message["reply_to_message"] = dict(reply_to)
        self._stored[(chat_id, message_id)] = message
        self._by_bot.add((chat_id, message_id))
        self.sent.append(self._record(method, chat_id, message_id, params, visible, entities))
        self._cond.notify_all()
        return message

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply_parameters = params.get("reply_parameters")
        reply_id = params.get("reply_to_message_id")
        allow_without = bool(params.get("allow_sending_without_reply"))
        if isinstance(reply_parameters, dict):
            reply_id = reply_parameters.get("message_id")
            allow_without = allow_without or bool(
                reply_parameters.get("allow_sending_without_reply")
            )
        if reply_id is None:
            return None
        reply_to = self._stored.get((chat_id, int(reply_id)))
        if reply_to is None and not allow_without:
            raise ApiError(400, "Bad Request: message to be replied not found")
        return reply_to

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

    def _find_message(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat_id = self._resolve_chat(params.get("chat_id"))  # type: ignore[attr-defined]
        self._check_can_send(chat_id)  # type: ignore[attr-defined]
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise ApiError(400, "Bad Request: message identifier is not specified")
        message = self._stored.get((chat_id, message_id))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if (chat_id, message_id) not in self._by_bot or (chat_id, message_id) in self._frozen:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat_id, message

    def _m_edit_message_text(self, method: str, params: dict[str, Any]) -> Any:
        self._apply_forced(params.get("chat_id"))  # type: ignore[attr-defined]
        chat_id, old = self._find_message(params)
        visible, entities = parse_message_text(
            params.get("text"), params.get("parse_mode"), params.get("entities")
        )
        markup = check_markup(params.get("reply_markup"))
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if (
            visible == old.get("text")
            and entities == old.get("entities", [])
            and new_markup == old.get("reply_markup")
        ):
            raise ApiError(400, _NOT_MODIFIED)
        self._check_flood(chat_id)  # type: ignore[attr-defined]
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
        chat_id, old = self._find_message(params)
        markup = check_markup(params.get("reply_markup"))
        new_markup = markup if markup and "inline_keyboard" in markup else None
        if new_markup == old.get("reply_markup"):
            raise ApiError(400, _NOT_MODIFIED)
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
