"""Presses of the inline buttons under alerts, /list, /sources and /addsource's choice (see
``bot.buttons``)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import CallbackQuery
from telegram.error import BadRequest

from bot import buttons as keyboards
from bot.core import stored_key
from bot.delivery.lengths import cut_utf16
from bot.handlers import sources
from bot.handlers.replies import redraw
from bot.handlers.request import Request, for_chat
from bot.handlers.settings import pause_chat
from bot.handlers.subscriptions import list_lines, list_markup

log = logging.getLogger(__name__)

#: The most a button press's answer may hold (UTF-16 units, as Telegram counts).
TOAST_UNITS = 200


async def answer(callback: CallbackQuery, text: str | None = None, **options: Any) -> None:
    """Answer a button press (the text cut to Telegram's 200 units).  A press made while the
    bot was down arrives after a restart and is still carried out, but Telegram no longer
    takes its answer ("query is too old"): that is no error of the user's."""
    try:
        await callback.answer(cut_utf16(text, TOAST_UNITS) if text else text, **options)
    except BadRequest as exc:
        log.info("button answer not delivered: %s", exc)


@for_chat()
async def button(request: Request) -> None:
    """A button press: unfollow (under an alert), remove (under /list), mute for a day, or
    one of /sources' and /addsource's (``bot.handlers.sources``)."""
    callback = request.update.callback_query
    if callback is None:
        return
    parsed = keyboards.parse(callback.data)
    if parsed is None:
        await answer(callback)
        return
    if not await request.is_admin():
        await answer(callback, request.t("admins_only"), show_alert=True)
        return
    action, argument = parsed
    if action in keyboards.SOURCE_ACTIONS:
        toast = await sources.pressed(request, callback, action, argument)
        await answer(callback, toast or None)
        return
    if action == "mute":
        pause_chat(request.core, request.chat, request.lang, timedelta(days=1))
        await answer(callback, request.t("muted"))
        return
    chat_id = request.chat.id
    existing = request.core.store.subscriptions(chat_id)
    target = next(
        (q for q in existing if keyboards.query_hash(stored_key(q) or q) == argument), None
    )
    if target is None:
        await answer(callback, request.t("button_gone"))
        return
    request.core.unsubscribe(chat_id, target)
    await answer(callback, request.t("unfollowed_toast", query=target))
    if action == keyboards.REMOVE and callback.message is not None:
        await _redraw_list(request, callback)


async def _redraw_list(request: Request, callback: CallbackQuery) -> None:
    """Redraw /list after a removal; a long one keeps its text and loses a button."""
    remaining = request.core.store.subscriptions(request.chat.id)
    await redraw(callback, list_lines(request, remaining),
                 list_markup(request.lang, remaining), "/list")
