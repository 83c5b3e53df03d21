"""Inline mode: a user types ``@bot query`` (an ``inline_query`` update), the bot answers
with answerInlineQuery, the user picks a result (``chosen_inline_result``)."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from typing import Any

from tests.fakes.telegram.entities import EntityParseError, parse_text
from tests.fakes.telegram.records import ApiError, InlineAnswer

MAX_RESULTS = 50
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")

METHODS = {"answerinlinequery": "_m_answer_inline_query"}


def validate_answer(params: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """answerInlineQuery's results and button as Telegram checks them; returns them."""
    results = params.get("results")
    if not isinstance(results, list):
        raise ApiError(400, "Bad Request: can't parse inline query results JSON object")
    if len(results) > MAX_RESULTS:
        raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
    ids = [r.get("id") if isinstance(r, dict) else None for r in results]
    if any(not isinstance(i, str) or not 1 <= len(i.encode()) <= 64 for i in ids):
        raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
    if len(set(ids)) != len(ids):
        raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
    for result in results:
        _check_result_text(result)
    button = params.get("button")
    start = button.get("start_parameter") if isinstance(button, dict) else None
    if start is not None and not _START_PARAMETER.fullmatch(str(start)):
        raise ApiError(400, "Bad Request: START_PARAM_INVALID")
    return results, button if isinstance(button, dict) else None


VALIDATORS = {"answerinlinequery": validate_answer}


class Inline:
    """Inline queries pushed by tests and the bot's answers to them."""

    inline_mode: bool
    _lock: threading.RLock
    _cond: threading.Condition
    _users: dict[int, dict[str, Any]]

    def _init_inline(self) -> None:
        self._inline_ids = itertools.count(1)
        self._open_inline: dict[str, dict[str, Any]] = {}  # id -> the InlineQuery + asked_at
        self._inline_asked: dict[str, dict[str, Any]] = {}
        self.inline_answers: list[InlineAnswer] = []

    def push_inline_query(
        self,
        user_id: int,
        query: str,
        *,
        offset: str = "",
        chat_type: str | None = "private",
        first_name: str = "Test",
        language_code: str = "en",
    ) -> str:
        """User ``user_id`` types ``@bot query`` in a chat of ``chat_type`` ("sender" for
        their chat with the bot, "private", "group", "supergroup", "channel", or None);
        queues an ``inline_query`` update and returns the query id."""
        if not self.inline_mode:
            raise RuntimeError(
                "inline mode is off (BotFather /setinline): use FakeTelegram(inline_mode=True)"
            )
        if len(query) > 256:
            raise ValueError("an inline query is at most 256 characters")
        with self._lock:
            user = self._users.get(user_id) or self.add_user(  # type: ignore[attr-defined]
                user_id, first_name, language_code=language_code
            )
            query_id = str(next(self._inline_ids) * 1_000_003)
            inline: dict[str, Any] = {
                "id": query_id,
                "from": dict(user),
                "query": query,
                "offset": offset,
            }
            if chat_type is not None:
                inline["chat_type"] = chat_type
            self._open_inline[query_id] = {**inline, "asked_at": time.monotonic()}
            self._inline_asked[query_id] = self._open_inline[query_id]
            self._enqueue({"inline_query": inline})  # type: ignore[attr-defined]
            return query_id

    def push_chosen_inline_result(self, query_id: str, result_id: str) -> int:
        """The user picks result ``result_id`` of the bot's answer to ``query_id``: a
        ``chosen_inline_result`` update (with an ``inline_message_id`` when the result has a
        keyboard).  Needs the feedback setting on in BotFather (``/setinlinefeedback``)."""
        with self._lock:
            answer = next((a for a in self.inline_answers if a.inline_query_id == query_id), None)
            if answer is None:
                raise ValueError(f"the bot did not answer inline query {query_id}")
            result = next((r for r in answer.results if r.get("id") == result_id), None)
            if result is None:
                raise ValueError(f"the answer to {query_id} has no result {result_id!r}")
            asked = self._inline_asked[query_id]
            chosen: dict[str, Any] = {
                "result_id": result_id,
                "from": dict(asked["from"]),
                "query": asked["query"],
            }
            if result.get("reply_markup"):
                chosen["inline_message_id"] = f"inline-{query_id}-{result_id}"
            return int(self._enqueue({"chosen_inline_result": chosen}))  # type: ignore[attr-defined]

    def wait_for_inline_answer(self, query_id: str, timeout: float = 10.0) -> InlineAnswer:
        """Block until the bot answered inline query ``query_id``; TimeoutError if not."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self._inline_answer(query_id)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._no_answer_text(query_id))
                self._cond.wait(remaining)

    async def wait_for_inline_answer_async(
        self, query_id: str, timeout: float = 10.0
    ) -> InlineAnswer:
        """Like :meth:`wait_for_inline_answer` without blocking the running event loop."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = self._inline_answer(query_id)
                if found is not None:
                    return found
                if time.monotonic() >= deadline:
                    raise TimeoutError(self._no_answer_text(query_id))
            await asyncio.sleep(0.005)

    def _inline_answer(self, query_id: str) -> InlineAnswer | None:
        return next((a for a in self.inline_answers if a.inline_query_id == query_id), None)

    def _no_answer_text(self, query_id: str) -> str:
        errors = [e for e in self.errors if e[0].lower() == "answerinlinequery"]  # type: ignore[attr-defined]
        return f"no answer to inline query {query_id}; answerInlineQuery errors: {errors[-5:]!r}"

    def _m_answer_inline_query(self, method: str, params: dict[str, Any]) -> Any:
        query_id = str(params.get("inline_query_id", ""))
        asked = self._open_inline.get(query_id)
        if asked is None:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        results, button = validate_answer(params)
        del self._open_inline[query_id]
        cache_time = params.get("cache_time")
        self.inline_answers.append(
            InlineAnswer(
                inline_query_id=query_id,
                user_id=int(asked["from"]["id"]),
                query=str(asked["query"]),
                results=[dict(r) for r in results],
                cache_time=cache_time if isinstance(cache_time, int) else None,
                is_personal=bool(params.get("is_personal", False)),
                next_offset=params.get("next_offset"),
                button=button,
                asked_at=float(asked["asked_at"]),
                answered_at=time.monotonic(),
            )
        )
        self._cond.notify_all()
        return True


def _check_result_text(result: Any) -> None:
    """The message a result would post must parse, like a sendMessage text."""
    content = result.get("input_message_content") if isinstance(result, dict) else None
    if not isinstance(content, dict) or "message_text" not in content:
        return
    if content.get("entities"):
        return
    try:
        visible, _ = parse_text(str(content["message_text"]), content.get("parse_mode"))
    except EntityParseError as err:
        raise ApiError(400, f"Bad Request: can't parse entities: {err.reason}") from None
    except ValueError:
        raise ApiError(400, "Bad Request: unsupported parse_mode") from None
    if not visible:
        raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
