"""The handlers' opening helper, ``@for_chat``: the chat remembered, its language chosen,
the group admin rule applied; and a docstring on every handler.

A real ``Application`` (``build_application``) against the fake Bot API, not started: each
test hands it one update with ``process_update``, as python-telegram-bot's updater would.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram import Update
from telegram.ext import CommandHandler

from bot.app import build_application
from bot.config import load_settings
from bot.core import BotApplication
from bot.handlers.request import Request, for_chat
from bot.i18n import t
from bot.store import Store
from tests.e2e.conftest import write_config
from tests.fakes.telegram import FakeTelegram

USER = 1001
ADMIN = 7
MEMBER = 8
_ids = itertools.count(1)


@dataclass
class Harness:
    fake: FakeTelegram
    store: Store
    application: BotApplication
    seen: list[Request] = field(default_factory=list)

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        language_code: str | None = "en",
    ) -> None:
        """Hand the application a message from ``user_id`` in ``chat_id``."""
        user: dict[str, Any] = {"id": user_id or chat_id, "is_bot": False, "first_name": "Ann"}
        if language_code:
            user["language_code"] = language_code
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        chat.update({"first_name": "Ann"} if chat_type == "private" else {"title": "Club"})
        self.fake.add_chat(chat_id, chat_type, title=chat.get("title"))
        command = text.split(maxsplit=1)[0]
        message = {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        }
        update = Update.de_json({"update_id": next(_ids), "message": message}, self.application.bot)
        await self.application.process_update(update)

    def replies(self, chat_id: int) -> list[str]:
        return [m.text for m in self.fake.messages(chat_id)]


@pytest.fixture
async def harness(tmp_path, fake, store, monkeypatch) -> AsyncIterator[Harness]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    settings = load_settings(write_config(tmp_path, fake, []))
    application = build_application(settings, store)
    h = Harness(fake, store, application)

    @for_chat()
    async def probe(request: Request) -> None:
        """/probe: records its request."""
        h.seen.append(request)
        await request.reply("probed")

    @for_chat(admins_only=True)
    async def change(request: Request) -> None:
        """/change: records its request, for admins only."""
        h.seen.append(request)
        await request.reply("changed")

    # first in the bot's own group, ahead of its catch-all for unknown commands
    application.handlers[0][:0] = [CommandHandler("probe", probe), CommandHandler("change", change)]
    await application.initialize()
    try:
        yield h
    finally:
        await application.shutdown()


async def test_the_chat_is_remembered_and_handed_over(harness: Harness):
    assert harness.store.chat(USER) is None
    await harness.send(USER, "/probe  some words ", language_code="zh-hans")
    [request] = harness.seen
    stored = harness.store.chat(USER)
    assert stored is not None and stored.kind == "private" and stored.title == "Ann"
    assert stored.settings["lang_hint"] == "zh"  # a private chat keeps its user's language
    assert request.chat.id == USER and request.text == "some words"
    assert request.core is harness.application.bot_data["core"]
    assert harness.replies(USER) == ["probed"]


async def test_a_chat_that_had_blocked_the_bot_is_active_again(harness: Harness):
    harness.store.upsert_chat(USER, kind="private", title="Ann")
    harness.store.set_active(USER, False)
    await harness.send(USER, "/probe")
    assert harness.store.chat(USER).active


async def test_the_language_is_the_chats_choice_then_the_users(harness: Harness):
    await harness.send(USER, "/probe", language_code="zh")
    await harness.send(USER + 1, "/probe", language_code="de")
    harness.store.upsert_chat(USER + 2, kind="private", title="Ann")
    harness.store.set_setting(USER + 2, "language", "zh")
    await harness.send(USER + 2, "/probe", language_code="en")
    await harness.send(USER + 3, "/probe", language_code=None)  # then the remembered hint
    assert [r.lang for r in harness.seen] == ["zh", "en", "zh", "en"]
    harness.store.set_setting(USER + 3, "lang_hint", "zh")
    await harness.send(USER + 3, "/probe", language_code=None)
    assert harness.seen[-1].lang == "zh"


async def test_a_group_keeps_no_language_hint(harness: Harness):
    await harness.send(-5, "/probe", chat_type="group", user_id=ADMIN, language_code="zh")
    assert harness.seen[0].lang == "zh"
    assert "lang_hint" not in harness.store.chat(-5).settings


async def test_the_admin_rule_refuses_a_group_member_who_is_not_an_admin(harness: Harness):
    group = -100
    harness.fake.add_chat(group, "group", title="Club")
    harness.fake.set_admins(group, [ADMIN])
    harness.fake.push_message(group, "hello", chat_type="group", user_id=MEMBER)  # joins
    await harness.send(group, "/change", chat_type="group", user_id=MEMBER)
    assert harness.seen == []
    assert harness.replies(group) == [t("en", "admins_only")]
    assert harness.store.chat(group) is not None  # remembered all the same


async def test_the_admin_rule_lets_a_group_admin_through(harness: Harness):
    group = -101
    harness.fake.add_chat(group, "group", title="Club")
    harness.fake.set_admins(group, [ADMIN])
    await harness.send(group, "/change", chat_type="group", user_id=ADMIN)
    assert [r.chat.id for r in harness.seen] == [group]
    assert harness.replies(group) == ["changed"]


async def test_without_the_admin_rule_anyone_in_a_group_is_answered(harness: Harness):
    group = -102
    harness.fake.add_chat(group, "group", title="Club")
    harness.fake.set_admins(group, [ADMIN])
    harness.fake.push_message(group, "hello", chat_type="group", user_id=MEMBER)
    await harness.send(group, "/probe", chat_type="group", user_id=MEMBER)
    assert harness.replies(group) == ["probed"]


async def test_in_a_private_chat_the_admin_rule_always_allows(harness: Harness):
    await harness.send(USER, "/change")
    assert harness.replies(USER) == ["changed"]


def test_every_handler_has_a_one_line_docstring(harness: Harness):
    callbacks = [
        handler.callback
        for group in harness.application.handlers.values()
        for handler in group
    ]
    assert len(callbacks) >= 20
    for callback in callbacks:
        doc = (callback.__doc__ or "").strip()
        assert doc, f"{callback.__qualname__} has no docstring"
        assert len(doc.splitlines()[0]) <= 100, callback.__qualname__


def test_a_refusal_about_sources_gives_no_keyword_examples():
    """"source: is not a source name …; for example: eVTOL, …" helped nobody: a refusal about
    the sources names its own fix, one about keywords shows examples."""
    from bot.handlers.wording import query_reason
    from bot.matching import QueryError, parse_query

    def reason(text: str) -> str:
        try:
            parse_query(text)
        except QueryError as exc:
            return query_reason("en", exc)
        raise AssertionError(text)

    assert "for example" not in reason("AI source:")
    assert "for example" not in reason("source:a -source:a")
    assert "for example" in reason('"unbalanced')
