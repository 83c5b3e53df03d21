"""The Bot API reference checker: every kind of mismatch is caught, correct calls pass.

These tests read the real reference (``../shared/telegram/bot-api.json``) and skip without it;
tests/test_botapi_rules.py reads the rules from a small reference of its own, so it always runs.
Calls are encoded the way python-telegram-bot 22 encodes them (form fields: scalars as text,
objects as JSON), built from PTB's own objects.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    MessageEntity,
    ReplyParameters,
)
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from tests.fakes.botapi_schema import BotApiSchema
from tests.fakes.telegram.entities import visible_or_none

SCHEMA = BotApiSchema.load(visible_text=visible_or_none)
needs_reference = pytest.mark.skipif(SCHEMA is None, reason="../shared/telegram is absent")


def ptb(**params: Any) -> dict[str, str]:
    """``params`` as python-telegram-bot puts them on the wire (form fields)."""
    request = RequestData(
        [RequestParameter.from_input(k, v) for k, v in params.items() if v is not None]
    )
    return request.json_parameters


def problems(method: str, params: dict[str, Any]) -> list[str]:
    assert SCHEMA is not None
    return SCHEMA.check_call(method, params)


def one_problem(method: str, params: dict[str, Any], *fragments: str) -> str:
    """The call has exactly one problem, and it says each of ``fragments``."""
    found = problems(method, params)
    assert len(found) == 1, found
    for fragment in fragments:
        assert fragment in found[0], found[0]
    return found[0]


def article(result_id: str = "1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "article",
        "id": result_id,
        "title": "Headline",
        "input_message_content": {"message_text": "<b>Headline</b>", "parse_mode": "HTML"},
        **extra,
    }


def answer(results: list[Any], **extra: Any) -> dict[str, Any]:
    return {"inline_query_id": "7", "results": json.dumps(results), **extra}


# ------------------------------------------------------------------ correct calls pass


@needs_reference
def test_calls_the_bot_makes_pass_as_ptb_encodes_them() -> None:
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Unfollow eVTOL", callback_data="u:eVTOL")],
            [InlineKeyboardButton("Read", url="https://example.com/a?b=1")],
        ]
    )
    assert (
        problems(
            "sendMessage",
            ptb(
                chat_id=42,
                text='<a href="https://example.com">Title</a> — <b>eVTOL</b>',
                parse_mode="HTML",
                reply_markup=keyboard,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                disable_notification=True,
                reply_parameters=ReplyParameters(message_id=3, allow_sending_without_reply=True),
            ),
        )
        == []
    )
    assert problems("sendMessage", ptb(chat_id="@caixin_alerts", text="x" * 4096)) == []
    assert problems("sendMessage", ptb(chat_id=-1001234567890, text="🚀" * 2048)) == []
    entities = [MessageEntity("bold", 0, 5)]
    assert problems("sendMessage", ptb(chat_id=1, text="Hello", entities=entities)) == []
    assert problems("editMessageText", ptb(chat_id=1, message_id=2, text="v2")) == []
    assert problems("editMessageReplyMarkup", ptb(chat_id=1, message_id=2)) == []
    assert problems("answerCallbackQuery", ptb(callback_query_id="9", text="Muted")) == []
    assert problems("getChatMember", ptb(chat_id=-100, user_id=5)) == []
    assert problems("getChat", ptb(chat_id="@some_channel")) == []
    assert problems("getUpdates", ptb(offset=10, limit=100, timeout=10)) == []
    assert problems("getMe", {}) == []
    commands = [BotCommand("follow", "Follow a keyword"), BotCommand("list", "关键词")]
    assert problems("setMyCommands", ptb(commands=commands, language_code="zh")) == []
    scope = BotCommandScopeChat(chat_id=-100)
    assert problems("setMyCommands", ptb(commands=commands, scope=scope)) == []
    assert problems("setWebhook", ptb(url="https://bot.example.com/tg", secret_token="s-3_t")) == []


@needs_reference
def test_an_inline_answer_the_issue_describes_passes() -> None:
    results = [
        InlineQueryResultArticle(
            id=f"h{i}",
            title="Nexperia’s chips",
            input_message_content=InputTextMessageContent(
                '<a href="https://example.com">Nexperia’s chips</a>\nCaixin · 08:00',
                parse_mode="HTML",
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            ),
            description="Caixin · 08:00 — a line of summary",
            url="https://example.com",
        )
        for i in range(10)
    ]
    button = InlineQueryResultsButton("How to search", start_parameter="inline-help")
    params = ptb(
        inline_query_id="7", results=results, cache_time=5, is_personal=False, button=button
    )
    assert problems("answerInlineQuery", params) == []
    assert problems("answerInlineQuery", answer([article(str(i)) for i in range(50)])) == []


@needs_reference
def test_a_json_body_with_native_values_passes() -> None:
    body = {
        "chat_id": 42,
        "text": "hi",
        "disable_notification": False,
        "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]},
    }
    assert problems("sendMessage", body) == []
    assert problems("sendMessage", {"chat_id": "42", "text": "hi"}) == []


# ------------------------------------------------------------------ calls that are wrong


@needs_reference
def test_unknown_method_unknown_and_missing_parameters() -> None:
    assert "unknown method 'sendCarrierPigeon'" in problems("sendCarrierPigeon", {})[0]
    assert problems("SENDMESSAGE", {"chat_id": "1", "text": "x"}) == []  # case-insensitive
    one_problem("sendMessage", {"chat_id": "1", "text": "x", "colour": "red"}, "'colour'")
    one_problem("sendMessage", {"chat_id": "1"}, "missing required 'text'")
    one_problem("getChatMember", {"chat_id": "1"}, "missing required 'user_id'")
    # "Required if inline_message_id is not specified"
    found = problems("editMessageText", {"message_id": "2", "text": "v2"})
    assert found == ["editMessageText: 'chat_id' is required when inline_message_id is not given"]
    assert problems("editMessageText", {"inline_message_id": "abc", "text": "v2"}) == []


@needs_reference
@pytest.mark.parametrize(
    ("method", "params", "says"),
    [
        ("getChatMember", {"chat_id": "1", "user_id": "five"}, "expected Integer, got 'five'"),
        ("getChatMember", {"chat_id": "1", "user_id": "5.0"}, "expected Integer"),
        ("getChatMember", {"chat_id": "1", "user_id": True}, "expected Integer"),  # JSON body
        ("sendMessage", {"chat_id": "1", "text": "x", "protect_content": "yes"}, "Boolean"),
        ("sendMessage", {"chat_id": "1", "text": 5}, "expected String, got 5"),
        ("sendLocation", {"chat_id": "1", "latitude": "north", "longitude": "1.5"}, "Float"),
        ("getUpdates", {"allowed_updates": '"message"'}, "expected Array of String"),
        ("getUpdates", {"allowed_updates": "[1]"}, "allowed_updates[0]: expected String"),
        ("getUpdates", {"allowed_updates": "[message"}, "a JSON-serialized Array of String"),
        ("sendMessage", {"chat_id": [1], "text": "x"}, "expected Integer or String, got [1]"),
        ("sendMessage", {"chat_id": "alerts", "text": "x"}, "neither an integer id nor an @"),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "reply_markup": "{"},
            "expected InlineKeyboardMarkup or ReplyKeyboardMarkup",
        ),
    ],
)
def test_wrong_types_are_caught(method: str, params: dict[str, Any], says: str) -> None:
    one_problem(method, params, says)


@needs_reference
def test_floats_and_booleans_read_from_text() -> None:
    location = {"chat_id": "1", "latitude": "31.23", "longitude": "121"}
    assert problems("sendLocation", location) == []
    for flag in ("true", "false", "True", "1", "0"):
        assert problems("sendMessage", {"chat_id": "1", "text": "x", "protect_content": flag}) == []


@needs_reference
@pytest.mark.parametrize(
    ("markup", "says"),
    [
        (
            {"inline_keyboard": [{"text": "a", "callback_data": "b"}]},
            "inline_keyboard[0]: expected",
        ),
        ({"inline_keyboard": [[{"text": "a", "callback_data": "b", "colour": 1}]]}, "'colour'"),
        ({"inline_keyboard": [[{"callback_data": "b"}]]}, "missing required 'text'"),
        ({"inline_keyboard": [[{"text": "a"}]]}, "exactly one of"),
        (
            {"inline_keyboard": [[{"text": "a", "url": "https://x.y", "callback_data": "b"}]]},
            "exactly one of",
        ),
        (
            {"inline_keyboard": [[{"text": "a", "callback_data": 7}]]},
            "callback_data: expected String",
        ),
        ({"inline_keyboard": [[{"text": "a", "url": "ftp://x.y"}]]}, "HTTP or tg:// URL"),
        ({"inline_keyboard": [[{"text": "a", "url": "x", "style": "red"}]]}, "not one of"),
        ({"keyboard": [[{"text": "a"}]], "is_persistent": "yes"}, "expected Boolean"),
    ],
)
def test_nested_objects_are_checked(markup: dict[str, Any], says: str) -> None:
    found = problems(
        "sendMessage", {"chat_id": "1", "text": "x", "reply_markup": json.dumps(markup)}
    )
    assert found and any(says in p for p in found), found


@needs_reference
def test_nested_objects_deeper_down() -> None:
    lpo = json.dumps({"is_disabled": "yes"})  # inside JSON, a Boolean must be a JSON boolean
    one_problem(
        "sendMessage",
        {"chat_id": "1", "text": "x", "link_preview_options": lpo},
        "link_preview_options.is_disabled: expected Boolean",
    )
    entities = json.dumps([{"type": "bold", "offset": 0}])
    one_problem(
        "sendMessage",
        {"chat_id": "1", "text": "x", "entities": entities},
        "entities[0]: missing required 'length'",
    )
    entities = json.dumps([{"type": "shouting", "offset": 0, "length": 1}])
    one_problem(
        "sendMessage",
        {"chat_id": "1", "text": "x", "entities": entities},
        "'shouting' is not one of",
    )
    reply = json.dumps({"message_id": "3"})
    one_problem(
        "sendMessage",
        {"chat_id": "1", "text": "x", "reply_parameters": reply},
        "reply_parameters.message_id: expected Integer",
    )
    commands = json.dumps([{"command": "follow"}])
    one_problem("setMyCommands", {"commands": commands}, "missing required 'description'")
    no_content = article()
    del no_content["input_message_content"]
    one_problem(
        "answerInlineQuery", answer([no_content]), "missing required 'input_message_content'"
    )
    extra = article()
    extra["input_message_content"]["disable_web_page_preview"] = True
    one_problem("answerInlineQuery", answer([extra]), "input_message_content")
    one_problem(
        "answerInlineQuery",
        answer([{**article(), "type": "articel"}]),
        "type='articel' is none of article, audio",
    )
    scope = json.dumps({"type": "chat"})
    one_problem("setMyCommands", {"commands": "[]", "scope": scope}, "missing required 'chat_id'")
    scope = json.dumps({"type": "everyone"})
    one_problem("setMyCommands", {"commands": "[]", "scope": scope}, "none of all_chat_")


# ------------------------------------------------------------------ limits stated in words


@needs_reference
def test_callback_data_is_1_to_64_bytes() -> None:
    def send(data: str) -> list[str]:
        markup = {"inline_keyboard": [[{"text": "a", "callback_data": data}]]}
        return problems(
            "sendMessage", {"chat_id": "1", "text": "x", "reply_markup": json.dumps(markup)}
        )

    assert send("x" * 64) == [] and send("中" * 21) == []  # 63 bytes
    assert "65 bytes, the reference allows 1-64 bytes" in send("x" * 65)[0]
    assert "66 bytes" in send("中" * 22)[0]
    assert "0 bytes" in send("")[0]


@needs_reference
def test_inline_results_ids_count_and_button() -> None:
    assert problems("answerInlineQuery", answer([article("x" * 64)])) == []
    one_problem("answerInlineQuery", answer([article("x" * 65)]), "id: 65 bytes")
    one_problem("answerInlineQuery", answer([article("")]), "id: 0 bytes")
    one_problem(
        "answerInlineQuery",
        answer([article(str(i)) for i in range(51)]),
        "51 given",
        "No more than 50 results",
    )
    one_problem("answerInlineQuery", answer([article("a"), article("a")]), "unique", "['a']")
    button = json.dumps({"text": "Help", "start_parameter": "help me"})
    one_problem("answerInlineQuery", answer([], button=button), "start_parameter", "A-Z a-z 0-9")
    button = json.dumps({"text": "Help", "start_parameter": "x" * 65})
    one_problem("answerInlineQuery", answer([], button=button), "65 characters")
    button = json.dumps({"text": "Help"})  # "You must use exactly one of the optional fields"
    one_problem("answerInlineQuery", answer([], button=button), "exactly one of")
    one_problem("answerInlineQuery", answer([], cache_time="soon"), "cache_time: expected Integer")


@needs_reference
def test_bot_commands_names_and_descriptions() -> None:
    def commands(name: str, description: str = "Follow a keyword") -> list[str]:
        payload = json.dumps([{"command": name, "description": description}])
        return problems("setMyCommands", {"commands": payload})

    assert commands("follow_2") == [] and commands("x" * 32) == []
    assert "lowercase English letters" in commands("Follow")[0]
    assert "lowercase English letters" in commands("fol-low")[0]
    assert "33 characters" in commands("x" * 33)[0]
    assert "0 characters" in commands("")[0]
    assert commands("follow", "x" * 256) == [] and commands("follow", "x") == []
    assert "257 characters, the reference allows 1-256" in commands("follow", "x" * 257)[0]
    assert "0 characters" in commands("follow", "")[0]
    too_many = json.dumps([{"command": f"c{i}", "description": "d"} for i in range(101)])
    one_problem("setMyCommands", {"commands": too_many}, "101 items", "at most 100")
    one_problem("setMyCommands", {"commands": "[]", "language_code": "zho"}, "two-letter")
    assert problems("getMyCommands", {"language_code": ""}) == []


@needs_reference
def test_text_is_1_to_4096_characters_after_entity_parsing() -> None:
    def send(text: str, **extra: str) -> list[str]:
        return problems("sendMessage", {"chat_id": "1", "text": text, **extra})

    assert send("<b>" + "x" * 4096 + "</b>", parse_mode="HTML") == []  # tags do not count
    assert send("&amp;" * 4096, parse_mode="HTML") == []
    assert "4097 characters" in send("<i>" + "x" * 4097 + "</i>", parse_mode="HTML")[0]
    assert "4098 characters" in send("🚀" * 2049)[0]  # UTF-16 code units, like Telegram
    assert "0 characters" in send("   ")[0]
    assert "0 characters" in send("<b> </b>", parse_mode="HTML")[0]
    assert send("<b>unclosed", parse_mode="HTML") == []  # Telegram's own 400, not a wrong call
    long_caption = json.dumps({"message_text": "x" * 4097})
    result = {**article(), "input_message_content": json.loads(long_caption)}
    one_problem("answerInlineQuery", answer([result]), "message_text: 4097 characters")
    one_problem("answerCallbackQuery", {"callback_query_id": "1", "text": "x" * 201}, "0-200")


@needs_reference
def test_ranges_enums_and_formats() -> None:
    one_problem("getUpdates", {"limit": "101"}, "101 is outside 1-100")
    one_problem("getUpdates", {"limit": "0"}, "0 is outside 1-100")
    assert problems("getUpdates", {"limit": "1"}) == []
    one_problem("setWebhook", {"url": "https://x.y/z", "max_connections": "101"}, "1-100")
    one_problem("setWebhook", {"url": "https://x.y/z", "secret_token": "a b"}, "A-Z a-z 0-9 _ -")
    one_problem("sendDice", {"chat_id": "1", "emoji": "🐍"}, "is not one of")
    assert problems("sendDice", {"chat_id": "1", "emoji": "🎯"}) == []


# ------------------------------------------------------------------ answers and updates


@needs_reference
def test_objects_the_fake_answers_are_checked_too() -> None:
    assert SCHEMA is not None
    user = {"id": 5, "is_bot": False, "first_name": "Ann"}
    channel = {"id": -1001, "type": "channel", "title": "Alerts", "username": "alerts"}
    update = {
        "update_id": 1,
        "message": {
            "message_id": 2,
            "date": 1,
            "chat": {"id": 5, "type": "private", "first_name": "Ann"},
            "from": user,
            "text": "hi",
            "forward_origin": {"type": "channel", "chat": channel, "message_id": 9, "date": 1},
        },
    }
    assert SCHEMA.check_object("Update", update) == []
    member = {"status": "left", "user": user}
    assert SCHEMA.check_result("getChatMember", member) == []
    assert "until_date" in SCHEMA.check_result("getChatMember", {**member, "status": "kicked"})[0]
    del update["message"]["date"]  # type: ignore[attr-defined]
    assert "missing required 'date'" in SCHEMA.check_object("Update", update)[0]
    assert SCHEMA.check_result("answerInlineQuery", True) == []
    assert "expected Boolean" in SCHEMA.check_result("answerInlineQuery", "ok")[0]
