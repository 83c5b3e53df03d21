"""The strict fake Bot API server, proven against the real python-telegram-bot 22."""

from __future__ import annotations

import asyncio
import html
import json
import threading
import time
import urllib.error
import urllib.request
import warnings

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.helpers import escape_markdown

from tests.fakes.telegram import (
    EntityParseError,
    FakeTelegram,
    parse_html,
    parse_markdown_v2,
    utf16_len,
    visible_text,
)

# PTB 22.2+ itself warns when it builds a RetryAfter (retry_after becoming a timedelta).
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

USER = 1001
GROUP = -2001


def _raw(fake: FakeTelegram, method: str, body: dict | None = None, token: str | None = None):
    """POST a JSON body with urllib (no PTB): returns (status, decoded JSON)."""
    url = f"{fake.base_url}{token or fake.token}/{method}"
    data = json.dumps(body or {}).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22.2+ warns that it will become a timedelta
        warnings.simplefilter("ignore")
        retry = exc.retry_after
    return retry.total_seconds() if hasattr(retry, "total_seconds") else float(retry)


# ------------------------------------------------------------------ basics


async def test_get_me_and_base_url(fake: FakeTelegram, bot: telegram.Bot) -> None:
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/bot"
    me = await bot.get_me()
    assert me.is_bot and me.username == "newsbot_test_bot" and me.id == 123456
    assert me.can_join_groups is True


async def test_wrong_token_is_invalid_token(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with telegram.Bot("999:WRONG", base_url=fake.base_url):
            pass
    status, body = _raw(fake, "getMe", token="999:WRONG")
    assert status == 401
    assert body == {"ok": False, "error_code": 401, "description": "Unauthorized"}


def test_unknown_method_and_json_body(fake: FakeTelegram) -> None:
    status, body = _raw(fake, "sendCarrierPigeon")
    assert (status, body["description"]) == (404, "Not Found")
    fake.expect_violations("unknown method 'sendCarrierPigeon'")
    fake.add_chat(USER)
    status, body = _raw(fake, "sendMessage", {"chat_id": USER, "text": "json body"})
    assert status == 200 and body["ok"] and body["result"]["text"] == "json body"
    assert body["result"]["from"]["is_bot"] is True
    assert isinstance(body["result"]["date"], int) and body["result"]["date"] < 10**11


# ------------------------------------------------------------------ strict sendMessage


async def test_unknown_chat_is_chat_not_found(fake: FakeTelegram, bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(USER, "hello")
    assert fake.errors == [("sendMessage", USER, 400, "Bad Request: chat not found")]
    assert fake.sent == []
    fake.add_chat(USER)
    msg = await bot.send_message(USER, "hello")
    assert msg.chat.id == USER and msg.text == "hello" and msg.from_user.id == fake.bot_id
    assert [m.text for m in fake.messages(USER)] == ["hello"]


async def test_blocked_and_kicked_are_forbidden(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    fake.add_chat(GROUP, "group", title="Friends")
    fake.block(USER)
    fake.kick(GROUP)
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(USER, "hi")
    with pytest.raises(Forbidden, match="kicked from the group chat"):
        await bot.send_message(GROUP, "hi")
    assert fake.count(403) == 2
    fake.push_message(USER, "/start")  # a user writing again is reachable again
    await bot.send_message(USER, "welcome back")
    fake.unblock(GROUP)
    await bot.send_message(GROUP, "hi again")
    assert len(fake.sent) == 2


async def test_bad_html_is_refused(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    for bad in ("a < b & c", "AT&T", "<b>bold", "<b><i>x</b></i>", "<br>", "x</b>", "&nbsp;"):
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, bad, parse_mode="HTML")
    description = fake.errors[0][3]
    assert description.startswith("Bad Request: can't parse entities: ")
    assert "byte offset 2" in description
    assert fake.sent == []


async def test_escaped_html_passes_with_entities(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    title = 'Chips <"AI"> & Co\'s 华为 🚀'
    text = f'<a href="https://example.com/?a=1&amp;b=2">{html.escape(title)}</a>\n<i>Caixin</i>'
    msg = await bot.send_message(USER, text, parse_mode="HTML")
    assert msg.text == f"{title}\nCaixin"
    link, italic = msg.entities
    assert link.type == "text_link" and link.url == "https://example.com/?a=1&b=2"
    assert (link.offset, link.length) == (0, utf16_len(title))
    assert italic.type == "italic" and italic.offset == utf16_len(title) + 1
    [sent] = fake.sent
    assert sent.text == text and sent.parse_mode == "HTML" and sent.visible == msg.text
    assert visible_text(text) == msg.text


async def test_length_counts_visible_utf16(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    fake.enforce_limits = False
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    await bot.send_message(USER, "&amp;" * 4096, parse_mode="HTML")
    for too_long in ("x" * 4097, "🚀" * 2049):
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(USER, too_long)
    await bot.send_message(USER, "🚀" * 2048)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "   ")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode="HTML")
    assert len(fake.sent) == 3 and fake.count(400) == 4
    fake.expect_violations(
        "4097 characters",
        "4098 characters",
        "0 characters, the reference allows 1-4096",
        "0 characters, the reference allows 1-4096",
    )


async def test_migration_raises_chat_migrated(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.push_message(GROUP, "/follow AI", chat_type="group", user_id=USER, chat_title="Team")
    fake.migrate(GROUP, -1001234567890)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(GROUP, "alert")
    assert info.value.new_chat_id == -1001234567890
    msg = await bot.send_message(-1001234567890, "alert")
    assert msg.chat.type == "supergroup" and msg.chat.title == "Team"
    assert fake.errors[0][2:] == (400, "Bad Request: group chat was upgraded to a supergroup chat")


# ------------------------------------------------------------------ flood limits


async def test_private_burst_then_retry_after(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    for i in range(3):
        await bot.send_message(USER, f"burst {i}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(USER, "one too many")
    seconds = _retry_seconds(info.value)
    assert seconds == 1
    with pytest.raises(RetryAfter):  # not waiting retry_after is punished again
        await bot.send_message(USER, "impatient")
    await asyncio.sleep(seconds + 0.05)
    await bot.send_message(USER, "patient")
    assert len(fake.messages(USER)) == 4 and fake.count(429) == 2
    assert fake.errors[0][3] == "Too Many Requests: retry after 1"


async def test_global_limit_30_per_second(fake: FakeTelegram, bot: telegram.Bot) -> None:
    chats = list(range(1, 32))
    for chat in chats:
        fake.add_chat(chat)
    for chat in chats[:30]:
        await bot.send_message(chat, "fan-out")
    with pytest.raises(RetryAfter):
        await bot.send_message(chats[30], "fan-out")
    assert len(fake.sent) == 30
    spread = fake.sent[-1].at - fake.sent[0].at
    assert spread < 1.0


async def test_group_limit_20_per_minute(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(GROUP, "supergroup")
    for i in range(20):
        await bot.send_message(GROUP, f"group {i}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(GROUP, "21st")
    seconds = _retry_seconds(info.value)
    assert 55 <= seconds <= 60
    fake.add_chat(USER)
    await bot.send_message(USER, "other chats still flow")


async def test_limits_can_be_disabled(bot: telegram.Bot, fake: FakeTelegram) -> None:
    fake.enforce_limits = False
    fake.add_chat(USER)
    for i in range(10):
        await bot.send_message(USER, str(i))
    assert fake.count(429) == 0


async def test_forced_errors(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    fake.add_chat(USER + 1)
    fake.enforce_limits = False
    fake.force_errors(1, code=429, retry_after=7, chat_id=USER + 1)
    await bot.send_message(USER, "not the targeted chat")
    with pytest.raises(RetryAfter):
        await bot.send_message(USER + 1, "targeted")
    fake.force_errors(1, code=500)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "server error")
    fake.force_errors(1, code="drop")
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "dropped")
    await bot.send_message(USER, "fine again")
    assert [m.text for m in fake.messages(USER)] == ["not the targeted chat", "fine again"]
    assert [e[2] for e in fake.errors] == [429, 500, 0]


# ------------------------------------------------------------------ updates


async def test_get_updates_offset_and_long_poll(fake: FakeTelegram, bot: telegram.Bot) -> None:
    first = fake.push_message(USER, "/follow@newsbot_test_bot eVTOL")
    fake.push_message(GROUP, "hello all", chat_type="group", user_id=USER)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates] == ["/follow@newsbot_test_bot eVTOL", "hello all"]
    assert updates[0].message.message_id == first
    [entity] = updates[0].message.entities
    assert (entity.type, entity.offset, entity.length) == (
        "bot_command",
        0,
        len("/follow@newsbot_test_bot"),
    )
    assert updates[1].message.entities == ()
    assert updates[1].message.chat.type == "group"
    # not confirmed yet: delivered again; confirmed by offset: gone
    assert len(await bot.get_updates(timeout=0)) == 2
    assert await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0) == ()
    assert fake.pending_updates == 0

    # long poll: returns as soon as something is pushed
    threading.Timer(0.3, fake.push_message, args=(USER, "late")).start()
    started = time.monotonic()
    late = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=5)
    assert 0.2 < time.monotonic() - started < 2.0
    assert [u.message.text for u in late] == ["late"]
    assert abs(late[0].message.date.timestamp() - time.time()) < 5


async def test_application_answers_commands(fake: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more")]])
        await update.effective_message.reply_text(
            "Hello <b>there</b>", parse_mode="HTML", reply_markup=keyboard
        )

    async def more(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("ok")
        await query.edit_message_text("Edited")

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(more))
    async with app:
        await app.bot.set_my_commands([("start", "Say hello")])
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            fake.push_message(USER, "/start")
            fake.push_message(GROUP, "/start@newsbot_test_bot", chat_type="group", user_id=USER)
            fake.push_message(GROUP, "/start@other_bot", chat_type="group", user_id=USER)
            [reply] = await fake.wait_for_messages_async(USER, timeout=5)
            await fake.wait_for_messages_async(GROUP, timeout=5)
            assert reply.visible == "Hello there" and reply.parse_mode == "HTML"
            assert reply.reply_markup == {
                "inline_keyboard": [[{"text": "More", "callback_data": "more"}]]
            }
            fake.push_callback(USER, reply.message_id, "more")
            for _ in range(500):
                if fake.edits:
                    break
                await asyncio.sleep(0.01)
            assert [e.text for e in fake.edits] == ["Edited"]
            assert fake.callback_answers[0]["text"] == "ok"
        finally:
            await app.updater.stop()
            await app.stop()
    assert len(fake.messages(GROUP)) == 1  # /start@other_bot was not for us
    assert fake.commands == [{"command": "start", "description": "Say hello"}]
    assert fake.count(409) == 0


def test_wait_for_messages_sync_and_timeout(fake: FakeTelegram) -> None:
    fake.add_chat(USER)

    def send_later() -> None:
        time.sleep(0.2)
        _raw(fake, "sendMessage", {"chat_id": USER, "text": "from another thread"})

    threading.Thread(target=send_later).start()
    [msg] = fake.wait_for_messages(USER, count=1, timeout=5)
    assert msg.text == "from another thread"
    with pytest.raises(TimeoutError, match="expected 2 message"):
        fake.wait_for_messages(USER, count=2, timeout=0.2)
    fake.reset()
    assert fake.sent == [] and fake.calls == []


# ------------------------------------------------------------------ the HTML helper


@pytest.mark.parametrize(
    ("source", "visible"),
    [
        ("plain", "plain"),
        ("&lt;b&gt; &amp; &quot;x&quot; &#39; &#x27;", "<b> & \"x\" ' '"),
        ('<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler>', "st"),
        ('<pre><code class="language-python">x = 1</code></pre>', "x = 1"),
        ("<blockquote expandable>q</blockquote> a > b", "q a > b"),
        ("  <b> padded </b>  ", "padded"),
    ],
)
def test_visible_text(source: str, visible: str) -> None:
    assert visible_text(source) == visible


def test_parse_html_entities_and_errors() -> None:
    text, entities = parse_html('<pre><code class="language-python">x</code></pre><s>y</s>')
    assert text == "xy"
    assert entities == [
        {"type": "pre", "language": "python", "offset": 0, "length": 1},
        {"type": "strikethrough", "offset": 1, "length": 1},
    ]
    with pytest.raises(EntityParseError, match='Unsupported start tag "" at byte offset 2'):
        parse_html("a < b")
    with pytest.raises(EntityParseError, match="byte offset 6"):
        parse_html("华为&x")  # offsets are in UTF-8 bytes, like Telegram's
    with pytest.raises(EntityParseError, match='expected "</b>", found "</i>"'):
        parse_html("<b>x</i>")
    with pytest.raises(EntityParseError, match="tg-spoiler"):
        parse_html('<span class="x">y</span>')


def test_parse_markdown_v2() -> None:
    source = "*bold* _it_ __u__ ~s~ ||sp|| [link](https://x.y/a\\)b) `c\\`` end\\."
    text, entities = parse_markdown_v2(source)
    assert text == "bold it u s sp link c` end."
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "text_link",
        "code",
    ]
    assert entities[5]["url"] == "https://x.y/a)b"
    text, entities = parse_markdown_v2("```python\nx = 1\n```")
    assert (text, entities[0]["language"]) == ("x = 1", "python")
    with pytest.raises(EntityParseError, match=r"Character '\.' is reserved"):
        parse_markdown_v2("Version 2.0")
    with pytest.raises(EntityParseError, match="Can't find end of Bold entity at byte offset 0"):
        parse_markdown_v2("*open")


async def test_markdown_v2_over_the_wire(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    title = "Nexperia's Q3 (2025): +12% [est.]!"
    msg = await bot.send_message(
        USER, f"*{escape_markdown(title, version=2)}*", parse_mode="MarkdownV2"
    )
    assert msg.text == title and msg.entities[0].type == "bold"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(USER, title, parse_mode="MarkdownV2")


def test_second_get_updates_terminates_the_first(fake: FakeTelegram) -> None:
    first: list = []
    poller = threading.Thread(target=lambda: first.append(_raw(fake, "getUpdates", {"timeout": 5})))
    poller.start()
    time.sleep(0.2)
    assert _raw(fake, "getUpdates", {"timeout": 0}) == (200, {"ok": True, "result": []})
    poller.join(5)
    [(status, body)] = first
    assert status == 409 and body["description"].startswith("Conflict: terminated by other")


async def test_chat_and_member_methods(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.push_message(GROUP, "hi", chat_type="group", user_id=USER, chat_title="Readers")
    chat = await bot.get_chat(GROUP)
    assert (chat.id, chat.type, chat.title) == (GROUP, "group", "Readers")
    member = await bot.get_chat_member(GROUP, USER)
    assert member.status == "creator" and member.user.id == USER
    assert (await bot.get_chat_member(GROUP, fake.bot_id)).status == "member"
    [owner] = await bot.get_chat_administrators(GROUP)
    assert owner.user.id == USER
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(424242)

    assert await bot.set_my_commands([("follow", "Follow a keyword")], language_code="de")
    assert fake.commands == [] and fake.commands_for(language_code="de")[0]["command"] == "follow"
    assert [c.command for c in await bot.get_my_commands(language_code="de")] == ["follow"]
    assert await bot.delete_my_commands(language_code="de")
    assert await bot.get_my_commands(language_code="de") == ()

    assert await bot.set_webhook("https://example.com/hook")
    assert (await bot.get_webhook_info()).url == "https://example.com/hook"
    with pytest.raises(telegram.error.Conflict):
        await bot.get_updates()
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_edit_and_callback_errors(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(USER)
    msg = await bot.send_message(USER, "v1")
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("v2", chat_id=USER, message_id=msg.message_id + 50)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("v1", chat_id=USER, message_id=msg.message_id)
    edited = await bot.edit_message_text("v2", chat_id=USER, message_id=msg.message_id)
    assert edited.text == "v2" and edited.edit_date is not None
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x")]])
    edited = await bot.edit_message_reply_markup(USER, msg.message_id, reply_markup=markup)
    assert edited.reply_markup == markup
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query("no-such-query")
    pressed = fake.push_callback(USER, msg.message_id, "x")
    with pytest.raises(BadRequest, match="text: 201 characters"):  # 0-200 UTF-16 units
        await bot.answer_callback_query(pressed, "🚀" * 100 + "!")
    fake.expect_violations("text: 201 characters, the reference allows 0-200 characters")
    assert await bot.answer_callback_query(pressed, "🚀" * 100)
    too_big = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "buttons", reply_markup=too_big)
    fake.expect_violations("callback_data: 65 bytes, the reference allows 1-64 bytes")
    with pytest.raises(ValueError, match="sent no message"):
        fake.push_callback(USER, 999, "x")
    assert [e.method for e in fake.edits] == ["editMessageText", "editMessageReplyMarkup"]
