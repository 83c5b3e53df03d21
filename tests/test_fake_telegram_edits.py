"""The fake's editMessageText, as strict as Telegram: a deleted message, one that can no
longer be edited, no change, bad entities, too long; buttons not sent again are removed."""

from __future__ import annotations

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from tests.fakes.telegram import FakeTelegram

USER = 1001
OTHER = 1002


async def test_an_edit_changes_what_the_chat_shows(fake: FakeTelegram, bot: telegram.Bot):
    fake.add_chat(USER)
    keys = InlineKeyboardMarkup([[InlineKeyboardButton("Mute", callback_data="mute:1d")]])
    msg = await bot.send_message(USER, "<b>v1</b>", parse_mode="HTML", reply_markup=keys)
    await bot.edit_message_text("<b>v2</b> <a href=\"https://x.example/\">x</a>",
                                chat_id=USER, message_id=msg.message_id, parse_mode="HTML",
                                reply_markup=keys)
    shown = fake.shown(USER, msg.message_id)
    assert shown["text"] == "v2 x" and shown["reply_markup"] == keys.to_dict()
    assert [e["type"] for e in shown["entities"]] == ["bold", "text_link"]
    assert shown["edit_date"] >= shown["date"]
    await bot.edit_message_text("v3", chat_id=USER, message_id=msg.message_id)
    assert "reply_markup" not in fake.shown(USER, msg.message_id)  # not sent again: gone
    assert [e.method for e in fake.edits] == ["editMessageText", "editMessageText"]
    assert len(fake.messages(USER)) == 1  # an edit is no new message


@pytest.mark.parametrize(
    ("setup", "text", "parse_mode", "says"),
    [
        ("delete", "v2", None, "message to edit not found"),
        ("freeze", "v2", None, "message can't be edited"),
        ("", "v1", None, "message is not modified"),
        ("", "<b>open", "HTML", "can't parse entities"),
        ("", "x" * 4097, None, "message is too long"),
        ("other-chat", "v2", None, "message to edit not found"),
    ],
    ids=["deleted", "too-old", "same", "entities", "too-long", "other-chat"],
)
async def test_an_edit_refused_as_telegram_refuses_it(fake: FakeTelegram, bot: telegram.Bot,
                                                      setup: str, text: str,
                                                      parse_mode: str | None, says: str):
    fake.add_chat(USER)
    fake.add_chat(OTHER)
    msg = await bot.send_message(USER, "v1")
    chat = USER
    if setup == "delete":
        fake.delete_message(USER, msg.message_id)
    elif setup == "freeze":
        fake.freeze_message(USER, msg.message_id)
    elif setup == "other-chat":
        chat = OTHER
    with pytest.raises(BadRequest, match=f"(?i){says}"):
        await bot.edit_message_text(text, chat_id=chat, message_id=msg.message_id,
                                    parse_mode=parse_mode)
    assert fake.count(400) == 1 and fake.edits == []
    if setup != "delete":
        assert fake.shown(USER, msg.message_id)["text"] == "v1"
    if len(text) > 4096:  # the reference check saw it too
        fake.expect_violations("1-4096 characters")
