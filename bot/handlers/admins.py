"""Is a user an administrator of a chat?  Asked of Telegram, answers cached a minute.

Used for the group admin rule (only a group's administrators change what it receives) and for
channels (only a channel's creator or administrators manage what the bot posts there).
"""

from __future__ import annotations

import logging
import time

from telegram import Bot
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.core import Core

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 60.0
ADMIN_CACHE_SIZE = 10_000
ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def is_chat_admin(core: Core, bot: Bot, chat_id: int, user_id: int) -> bool:
    """True if ``user_id`` is the creator or an administrator of ``chat_id``; an error
    (the bot cannot see the chat) counts as no.  Cached for ``ADMIN_CACHE_SECONDS``."""
    cache = core.admin_cache
    key = (chat_id, user_id)
    now = time.monotonic()
    cached = cache.get(key)
    if cached is not None and now - cached[1] < ADMIN_CACHE_SECONDS:
        return cached[0]
    try:
        member = await bot.get_chat_member(chat_id, user_id)
        allowed = member.status in ADMIN_STATUSES
    except TelegramError as exc:
        log.warning("cannot check admin rights in chat %s: %s", chat_id, exc)
        allowed = False
    if len(cache) >= ADMIN_CACHE_SIZE:  # forget the expired answers, so it cannot grow
        for stale in [k for k, (_, at) in cache.items() if now - at >= ADMIN_CACHE_SECONDS]:
            del cache[stale]
    cache[key] = (allowed, now)
    return allowed
