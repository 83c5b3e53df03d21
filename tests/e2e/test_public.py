"""Holding up in public (issue 11): operators' commands stay private, the bot's membership is
followed at once, edits run nothing, hostile keywords and long arguments get short refusals."""

from __future__ import annotations

import logging
import time

from bot.config import load_settings
from bot.models import Alert
from tests.e2e.conftest import BOT_USERNAME, Bot, Feed, until, write_config
from tests.fakes.telegram import visible_text

USER = 7001
ADMIN = 7002
GROUP = -7003


async def text_of(bot: Bot, chat_id: int, text: str, **kwargs) -> str:
    return visible_text((await bot.say(chat_id, text, **kwargs)).text)


async def test_operator_commands_answer_only_in_an_operators_private_chat(
    tmp_path, fake, feeds, monkeypatch
):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    feed = Feed(feeds, "/s.xml")
    config = write_config(tmp_path, fake, [("S", feed.url)], admin_ids=(ADMIN,))
    bot = Bot(fake, load_settings(config))
    await bot.start()
    try:
        await bot.polls_done("S", 1)
        await bot.say(USER, "/follow secret plans")
        for command in ("/stats", "/health"):
            answer = await text_of(
                bot, GROUP, f"{command}@{BOT_USERNAME}", chat_type="group", user_id=ADMIN
            )
            assert f"don't know {command}" in answer, answer
            assert "secret plans" not in answer and feed.url not in answer
        assert "Chats:" in await text_of(bot, ADMIN, "/stats")  # still there in private
    finally:
        await bot.stop()


def member(bot_user: dict, status: str) -> dict:
    return {"user": bot_user, "status": status, **({"until_date": 0} if status == "kicked" else {})}


def membership_update(chat: dict, bot_user: dict, old: str, new: str) -> dict:
    return {
        "my_chat_member": {
            "chat": chat,
            "from": {"id": abs(chat["id"]), "is_bot": False, "first_name": "U"},
            "date": int(time.time()),
            "old_chat_member": member(bot_user, old),
            "new_chat_member": member(bot_user, new),
        }
    }


async def test_kick_or_block_makes_the_chat_inactive_at_once_and_drops_its_queue(newsbot: Bot):
    store = newsbot.core.store
    fake = newsbot.fake
    asked = [p.get("allowed_updates") for m, p in fake.calls if m == "getUpdates"]
    assert asked and all("my_chat_member" in str(a) for a in asked)
    await newsbot.say(USER, "/follow eVTOL")
    await newsbot.say(USER, "/pause 8h")  # queued alerts stay queued
    store.enqueue([Alert(USER, "h1", ("eVTOL",)), Alert(USER, "h2", ("eVTOL",))])
    private = {"id": USER, "type": "private", "first_name": "U"}
    fake.push_update(membership_update(private, fake.bot_user, "member", "kicked"))
    await until(lambda: not store.chat(USER).active)
    assert store.pending(USER) == []
    assert {store.alert_state(USER, h) for h in ("h1", "h2")} == {"dropped"}

    fake.push_update(membership_update(private, fake.bot_user, "kicked", "member"))
    await until(lambda: store.chat(USER).active)
    assert store.subscriptions(USER) == ["eVTOL"]

    group = {"id": GROUP, "type": "group", "title": "G"}
    await newsbot.say(GROUP, f"/help@{BOT_USERNAME}", chat_type="group")
    fake.push_update(membership_update(group, fake.bot_user, "member", "left"))
    await until(lambda: not store.chat(GROUP).active)
    fake.push_update(membership_update(group, fake.bot_user, "left", "member"))
    await until(lambda: store.chat(GROUP).active)


async def test_an_edited_message_is_not_a_command(newsbot: Bot):
    fake = newsbot.fake
    await newsbot.say(USER, "/start")
    before = len(fake.messages(USER))
    text = "/follow edited"
    fake.push_update(
        {
            "edited_message": {
                "message_id": 999,
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": {"id": USER, "type": "private", "first_name": "U"},
                "from": {"id": USER, "is_bot": False, "first_name": "U"},
                "text": text,
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            }
        }
    )
    listing = await text_of(newsbot, USER, "/list")  # answered after the edit was handled
    assert "edited" not in listing
    assert newsbot.core.store.subscriptions(USER) == []
    assert len(fake.messages(USER)) == before + 1  # the /list answer only


async def test_a_keyword_with_a_bidi_override_is_refused_with_the_reason(newsbot: Bot):
    answer = await text_of(newsbot, USER, "/follow \u202eevil")
    assert "control or formatting characters" in answer and "U+202E" in answer
    assert newsbot.core.store.subscriptions(USER) == []
    chinese = await text_of(newsbot, USER + 1, "/follow a\u200bb", language_code="zh")
    assert "控制字符" in chinese


async def test_a_huge_argument_gets_a_short_clear_refusal(newsbot: Bot, caplog):
    caplog.set_level(logging.ERROR)
    huge = "Asia/" + "x" * 5000
    answer = await text_of(newsbot, USER, f"/timezone {huge}")
    assert "time zone" in answer and len(answer) < 400, answer
    assert "…" in answer
    answer = await text_of(newsbot, USER, f"/unfollow {'y' * 5000}")
    assert len(answer) < 600, answer
    answer = await text_of(newsbot, USER, f"/{'z' * 3000}")
    assert "don't know" in answer and len(answer) < 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert newsbot.fake.count(400) == 0
