"""Telling a chat about its own source: failing for a day, or working again.

``bot.chat_sources.health`` decides (once, recorded in the source's saved state before this
runs); this sends the notice to each chat of the source that is still there and active, in the
chat's language, the time in the chat's time zone, paced as a bulk send (replies to commands go
first).  A chat that blocked the bot or is gone is skipped; a failed send is logged, never
retried (the notice is a courtesy: the source's state already says the same in /sources).
"""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot import schedule
from bot.chat_sources.health import Notice
from bot.delivery.pacing import BULK
from bot.i18n import language_for, t
from bot.store import Store

log = logging.getLogger(__name__)

DETAIL_CHARS = 80


def notice_text(lang: str, notice: Notice, settings: dict[str, Any] | None = None) -> str:
    """The notice in ``lang`` (HTML), its time in the zone of ``settings``."""
    entry = notice.entry
    values = {"title": html.escape(entry.title), "slug": html.escape(entry.slug)}
    if notice.kind == "recovered":
        return t(lang, "health_recovered", **values)
    since = notice.since.astimezone(schedule.zone(settings or {}))
    detail = notice.detail if len(notice.detail) <= DETAIL_CHARS else (
        notice.detail[: DETAIL_CHARS - 1] + "…"
    )
    reason = t(lang, f"health_reason_{notice.reason}", detail=html.escape(detail))
    return t(
        lang, "health_failing", since=since.strftime("%Y-%m-%d %H:%M %Z"), reason=reason,
        **values,
    )


async def send_notice(bot: Any, store: Store, notice: Notice) -> int:
    """Send ``notice`` to the source's chats (``bot``: the Application's ``ExtBot``, whose
    rate limiter reads ``rate_limit_args``); return how many were told."""
    told = 0
    for chat_id in sorted(notice.entry.chats):
        chat = store.chat(chat_id)
        if chat is None or not chat.active:
            continue
        lang = language_for(chat.settings, chat.settings.get("lang_hint"))
        try:
            await bot.send_message(
                chat_id,
                notice_text(lang, notice, chat.settings),
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                rate_limit_args=dict(BULK),
            )
        except TelegramError as exc:
            log.info("chat %s not told that %s is %s: %s", chat_id, notice.entry.slug,
                     notice.kind, exc)
            continue
        told += 1
    log.info("source %s %s: %d chat(s) told", notice.entry.slug, notice.kind, told)
    return told
