"""What the fake records and answers: sent messages, inline answers, violations, errors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ERROR_TEXTS",
    "ApiError",
    "DropConnection",
    "ForcedError",
    "InlineAnswer",
    "SentMessage",
    "Violation",
    "coerce",
]


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


@dataclass
class InlineAnswer:
    """The bot's answerInlineQuery to one inline query pushed by a test."""

    inline_query_id: str
    user_id: int
    query: str
    results: list[dict[str, Any]]
    cache_time: int | None
    is_personal: bool
    next_offset: str | None
    button: dict[str, Any] | None
    asked_at: float  # time.monotonic() when the query was queued
    answered_at: float  # ... and when the answer arrived

    @property
    def latency(self) -> float:
        """Seconds from queueing the inline_query update to the bot's answer."""
        return self.answered_at - self.asked_at


@dataclass
class Violation:
    """A call that does not match the Bot API reference (answered 400, fails the test)."""

    method: str
    params: dict[str, Any]
    problems: list[str]

    def __str__(self) -> str:
        return f"{self.method}: " + "; ".join(self.problems)


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters


class DropConnection(Exception):
    """Close the connection without an answer (simulated network failure)."""


@dataclass
class ForcedError:
    code: int | str
    retry_after: int
    chat_id: int | None
    description: str | None


ERROR_TEXTS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

# How the method handlers want their parameters (the schema checks the raw ones).
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
        "is_personal",
        "return_bots",
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
        "results",
        "button",
    }
)


def coerce(params: dict[str, Any]) -> dict[str, Any]:
    """Decode form fields (text) into the values the method handlers work with."""
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
