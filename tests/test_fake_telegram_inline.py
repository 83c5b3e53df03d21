"""The fake's inline mode through the real python-telegram-bot 22: inline_query updates,
answerInlineQuery recorded (results, cache_time, is_personal, button), chosen results."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import telegram
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import Application, ContextTypes, InlineQueryHandler

from tests.fakes.telegram import FakeTelegram

USER = 1001


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(inline_mode=True) as server:
        yield server


def article(
    result_id: str, title: str = "Nexperia’s chips", **extra: object
) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title=title,
        input_message_content=InputTextMessageContent(
            f'<a href="https://example.com/{result_id}">{title}</a>', parse_mode="HTML"
        ),
        description="Caixin · 08:00",
        **extra,  # type: ignore[arg-type]
    )


async def inline_query(bot: telegram.Bot) -> telegram.InlineQuery:
    [update] = await bot.get_updates(timeout=0)
    await bot.get_updates(offset=update.update_id + 1, timeout=0)
    assert update.inline_query is not None
    return update.inline_query


async def test_inline_mode_must_be_switched_on(bot: telegram.Bot) -> None:
    with FakeTelegram() as off:
        with pytest.raises(RuntimeError, match="setinline"):
            off.push_inline_query(USER, "eVTOL")
        async with telegram.Bot(off.token, base_url=off.base_url) as plain:
            assert (await plain.get_me()).supports_inline_queries is False
    assert (await bot.get_me()).supports_inline_queries is True


async def test_an_inline_query_and_its_recorded_answer(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    query_id = fake.push_inline_query(USER, "nexperia", chat_type="supergroup", first_name="Ann")
    query = await inline_query(bot)
    assert (query.id, query.query, query.offset, query.chat_type) == (
        query_id,
        "nexperia",
        "",
        "supergroup",
    )
    assert query.from_user.id == USER and query.from_user.first_name == "Ann"
    button = InlineQueryResultsButton("How to search", start_parameter="inline-help")
    results = [article("h1"), article("h2", title="Second")]
    assert await query.answer(results, cache_time=5, is_personal=False, button=button)
    answer = fake.wait_for_inline_answer(query_id, timeout=1)
    assert [r["id"] for r in answer.results] == ["h1", "h2"]
    assert answer.results[0]["type"] == "article"
    assert answer.results[0]["input_message_content"]["parse_mode"] == "HTML"
    assert (answer.cache_time, answer.is_personal, answer.next_offset) == (5, False, None)
    assert answer.button == {"text": "How to search", "start_parameter": "inline-help"}
    assert (answer.user_id, answer.query) == (USER, "nexperia") and answer.latency >= 0
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await query.answer([])  # an inline query is answered once
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_inline_query("no-such-query", [])
    with pytest.raises(TimeoutError, match="no answer to inline query"):
        fake.wait_for_inline_answer(fake.push_inline_query(USER, ""), timeout=0.05)


async def test_answers_telegram_refuses(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.push_inline_query(USER, "a")
    query = await inline_query(bot)
    with pytest.raises(BadRequest, match=r"(?i)RESULTS_TOO_MUCH"):
        await query.answer([article(str(i)) for i in range(51)])
    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_DUPLICATE"):
        await query.answer([article("same"), article("same")])
    with pytest.raises(BadRequest, match=r"(?i)RESULT_ID_INVALID"):
        await query.answer([article("x" * 65)])
    fake.expect_violations("51 given", "result ids must be unique", "id: 65 bytes")
    bad_html = InlineQueryResultArticle(
        "1", "t", InputTextMessageContent("<b>unclosed", parse_mode="HTML")
    )
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await query.answer([bad_html])  # Telegram's answer, not a call the reference forbids
    assert fake.inline_answers == []
    assert await query.answer([article("ok")])
    assert len(fake.inline_answers) == 1


async def test_a_chosen_inline_result(fake: FakeTelegram, bot: telegram.Bot) -> None:
    query_id = fake.push_inline_query(USER, "eVTOL")
    query = await inline_query(bot)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Open", url="https://example.com")]])
    await query.answer([article("plain"), article("keyed", reply_markup=keyboard)])
    fake.push_chosen_inline_result(query_id, "plain")
    fake.push_chosen_inline_result(query_id, "keyed")
    plain, keyed = await bot.get_updates(timeout=0)
    assert plain.chosen_inline_result is not None and keyed.chosen_inline_result is not None
    assert plain.chosen_inline_result.result_id == "plain"
    assert plain.chosen_inline_result.query == "eVTOL"
    assert plain.chosen_inline_result.from_user.id == USER
    assert plain.chosen_inline_result.inline_message_id is None
    assert keyed.chosen_inline_result.inline_message_id  # a result with a keyboard has one
    with pytest.raises(ValueError, match="no result 'other'"):
        fake.push_chosen_inline_result(query_id, "other")
    with pytest.raises(ValueError, match="did not answer"):
        fake.push_chosen_inline_result("404", "plain")


async def test_an_application_answers_inline_queries(fake: FakeTelegram) -> None:
    async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.inline_query is not None
        words = update.inline_query.query or "newest"
        await update.inline_query.answer([article("1", title=words)], cache_time=10)

    app = Application.builder().token(fake.token).base_url(fake.base_url).build()
    app.add_handler(InlineQueryHandler(answer))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        try:
            first = fake.push_inline_query(USER, "nexperia")
            second = fake.push_inline_query(USER, "", chat_type=None)
            got = await fake.wait_for_inline_answer_async(first, timeout=5)
            empty = await fake.wait_for_inline_answer_async(second, timeout=5)
        finally:
            await app.updater.stop()
            await app.stop()
    assert got.results[0]["title"] == "nexperia" and got.cache_time == 10
    assert empty.results[0]["title"] == "newest" and not empty.is_personal
