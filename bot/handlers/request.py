"""What every chat handler starts with: the chat remembered, its language, the admin rule.

A handler decorated with :func:`for_chat` is handed one :class:`Request` (the update, the
remembered chat, its language, the shared ``Core``, ways to answer) instead of python-telegram-
bot's ``(update, context)``::

    @for_chat(admins_only=True)
    async def instant(request: Request) -> None:
        \"\"\"/instant: alerts as soon as news appears.\"\"\"
        ...

``admins_only=True`` refuses, with a reply, a sender who is not an administrator of the group;
a handler whose rule depends on its argument calls ``await request.may_change()`` itself.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.core import BotContext, Core
from bot.handlers.replies import argument_text, reply, reply_all
from bot.i18n import language_for, normalise_language, t
from bot.models import Chat

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 60.0
ADMIN_CACHE_SIZE = 10_000
# Telegram's "GroupAnonymousBot": messages of anonymous group admins come from it.
ANONYMOUS_ADMIN_ID = 1087968824

#: A python-telegram-bot callback, as ``Application.add_handler`` takes it.
Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


def remember_chat(update: Update, core: Core) -> Chat | None:
    """Record the chat (kind, title, a language hint) when it first talks to us or comes
    back after blocking the bot; return it."""
    chat = update.effective_chat
    if chat is None:
        return None
    store = core.store
    known = store.chat(chat.id)
    title = chat.title or chat.full_name or ""
    if known is None or not known.active or known.kind != chat.type:
        known = store.upsert_chat(chat.id, kind=chat.type, title=title)
    user = update.effective_user
    hint = normalise_language(user.language_code if user else None)
    if hint and known.settings.get("lang_hint") != hint and chat.type == "private":
        store.set_setting(chat.id, "lang_hint", hint)
        known.settings["lang_hint"] = hint
    return known


def chat_language(chat: Chat | None, update: Update | None = None) -> str:
    """The chat's chosen language, else the sender's Telegram language, else the hint."""
    user = update.effective_user if update else None
    settings = chat.settings if chat else {}
    return language_for(
        settings, (user.language_code if user else None) or settings.get("lang_hint")
    )


def lang_of(update: Update, context: BotContext) -> str:
    """The language to answer ``update`` in, without recording the chat."""
    chat = update.effective_chat
    known = context.core.store.chat(chat.id) if chat else None
    return chat_language(known, update)


async def is_group_admin(update: Update, context: BotContext) -> bool:
    """May the sender change this chat's alerts?  Everyone in a private chat; in a group
    only its administrators (anonymous admins included).  Answers are cached a minute."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or chat.type == "private":
        return True
    message = update.effective_message
    if message is not None and message.sender_chat is not None:
        return message.sender_chat.id == chat.id  # an anonymous admin, or the channel itself
    if user is None:
        return False
    if user.id == ANONYMOUS_ADMIN_ID:
        return True
    cache = context.core.admin_cache
    key = (chat.id, user.id)
    cached = cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[1] < ADMIN_CACHE_SECONDS:
        return cached[0]
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
        allowed = member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
    except TelegramError as exc:
        log.warning("cannot check admin rights in chat %s: %s", chat.id, exc)
        allowed = False
    if len(cache) >= ADMIN_CACHE_SIZE:  # forget the expired answers, so it cannot grow
        for stale in [k for k, (_, at) in cache.items() if now - at >= ADMIN_CACHE_SECONDS]:
            del cache[stale]
    cache[key] = (allowed, now)
    return allowed


@dataclass(frozen=True)
class Request:
    """What a chat handler is handed: the update, the remembered chat and its language."""

    update: Update
    context: BotContext
    chat: Chat
    lang: str

    @property
    def core(self) -> Core:
        return self.context.core

    @property
    def text(self) -> str:
        """Everything after the command word, as typed."""
        return argument_text(self.update)

    def t(self, key: str, **values: Any) -> str:
        """The text ``key`` in the chat's language."""
        return t(self.lang, key, **values)

    async def reply(self, text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
        await reply(self.update, text, markup=markup)

    async def reply_all(
        self, messages: list[str], *, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        await reply_all(self.update, messages, markup=markup)

    async def is_admin(self) -> bool:
        """May the sender change this chat (the group admin rule)?  Nothing is sent."""
        return await is_group_admin(self.update, self.context)

    async def may_change(self) -> bool:
        """Like :meth:`is_admin`, but a refusal is sent to the chat."""
        if await self.is_admin():
            return True
        await self.reply(self.t("admins_only"))
        return False


def for_chat(
    *, admins_only: bool = False
) -> Callable[[Callable[[Request], Awaitable[None]]], Callback]:
    """Turn ``handler(request)`` into a python-telegram-bot callback that first remembers the
    chat, finds its language and, with ``admins_only``, applies the group admin rule."""

    def decorate(handler: Callable[[Request], Awaitable[None]]) -> Callback:
        @functools.wraps(handler)
        async def callback(update: Update, context: BotContext) -> None:
            chat = remember_chat(update, context.core)
            if chat is None:
                return  # not a chat's update: nothing to answer
            request = Request(update, context, chat, chat_language(chat, update))
            if admins_only and not await request.may_change():
                return
            await handler(request)

        return callback

    return decorate
