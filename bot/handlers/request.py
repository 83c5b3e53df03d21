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
import html
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any

from telegram import InlineKeyboardMarkup, Update

from bot.core import BotContext, Core
from bot.handlers.admins import is_chat_admin
from bot.handlers.replies import argument_text, reply, reply_all
from bot.handlers.targets import channel_argument, channel_label, find_linked
from bot.i18n import language_for, normalise_language, t
from bot.models import Chat

log = logging.getLogger(__name__)

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
    return await is_chat_admin(context.core, context.bot, chat.id, user.id)


@dataclass(frozen=True)
class Request:
    """What a chat handler is handed: the update, the chat it changes and the language.

    ``chat`` is the chat the command was typed in, or the linked channel named first
    (``channel`` is then true and ``text`` is what follows the channel's name); answers always
    go to the chat the command was typed in."""

    update: Update
    context: BotContext
    chat: Chat
    lang: str
    args: str = ""
    channel: bool = False

    @property
    def core(self) -> Core:
        return self.context.core

    @property
    def text(self) -> str:
        """Everything after the command word (and after a channel's name), as typed."""
        return self.args

    def t(self, key: str, **values: Any) -> str:
        """The text ``key`` in the chat's language."""
        return t(self.lang, key, **values)

    async def reply(self, text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
        """Answer where the command was typed (naming the channel it was about)."""
        await reply(self.update, self._about() + text, markup=markup)

    async def reply_all(
        self, messages: list[str], *, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        about = self._about()
        await reply_all(self.update, [about + m for m in messages], markup=markup)

    def _about(self) -> str:
        if not self.channel:
            return ""
        return f"📢 <b>{html.escape(channel_label(self.chat))}</b>\n"

    async def is_admin(self) -> bool:
        """May the sender change this chat (the group admin rule)?  Nothing is sent.  A
        channel's administrator was checked when the request was made."""
        return self.channel or await is_group_admin(self.update, self.context)

    async def may_change(self) -> bool:
        """Like :meth:`is_admin`, but a refusal is sent to the chat."""
        if await self.is_admin():
            return True
        await self.reply(self.t("admins_only"))
        return False


def for_chat(
    *, admins_only: bool = False, channels: bool = False
) -> Callable[[Callable[[Request], Awaitable[None]]], Callback]:
    """Turn ``handler(request)`` into a python-telegram-bot callback that first remembers the
    chat, finds its language and, with ``admins_only``, applies the group admin rule.  With
    ``channels``, a private chat may name a linked channel first (``/follow @name eVTOL``):
    the handler then changes that channel, if the sender is still one of its admins."""

    def decorate(handler: Callable[[Request], Awaitable[None]]) -> Callback:
        @functools.wraps(handler)
        async def callback(update: Update, context: BotContext) -> None:
            chat = remember_chat(update, context.core)
            if chat is None:
                return  # not a chat's update: nothing to answer
            lang = chat_language(chat, update)
            request = Request(update, context, chat, lang, argument_text(update))
            if channels and chat.kind == "private":
                target = await channel_request(request)
                if target is None:
                    return  # a channel was named but may not be changed: answered
                request = target
            if admins_only and not await request.may_change():
                return
            await handler(request)

        return callback

    return decorate


async def channel_request(request: Request) -> Request | None:
    """``request`` itself, or one aimed at the linked channel its argument names first;
    None (after saying why) when that channel is not linked or the sender is no admin."""
    named = channel_argument(request.text)
    if named is None:
        return request
    core = request.core
    channel = find_linked(core, request.chat, named.ref)
    if channel is None:
        await request.reply(request.t("channel_not_linked", channel=html.escape(named.ref)))
        return None
    user = request.update.effective_user
    if user is None or not await is_chat_admin(core, request.context.bot, channel.id, user.id):
        label = html.escape(channel_label(channel))
        await request.reply(request.t("channel_not_admin", channel=label))
        return None
    return replace(request, chat=channel, args=named.rest, channel=True)
