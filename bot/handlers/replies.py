"""Reading a command's argument and sending answers: HTML, no link previews, no quoting, and
long answers cut into messages under Telegram's length limit; the message a button was pressed
under redrawn."""

from __future__ import annotations

import html
import logging

from telegram import CallbackQuery, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

log = logging.getLogger(__name__)

# Raw HTML characters per message: under Telegram's 4096 visible characters with room to spare.
MESSAGE_BUDGET = 4000
#: What a reply echoes of what the user typed: at most this many characters.
ECHO_CHARS = 100


async def redraw(callback: CallbackQuery, messages: list[str],
                 markup: InlineKeyboardMarkup | None, what: str) -> None:
    """Show ``messages`` (``what``: "/list", "/sources") again in the message whose button
    was pressed: text and buttons when they fit one message, else the buttons only (a long
    answer keeps its text).  An edit Telegram refuses (the message is too old) is logged:
    what the press did stands."""
    try:
        if len(messages) == 1:
            await callback.edit_message_text(
                messages[0], parse_mode=ParseMode.HTML, reply_markup=markup
            )
        else:
            await callback.edit_message_reply_markup(markup)
    except BadRequest as exc:
        log.info("could not redraw %s: %s", what, exc)


def shown(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` as a reply may echo it: cut to ``limit`` characters (with "…"), HTML-escaped."""
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return html.escape(text)


def argument_text(update: Update) -> str:
    """Everything after the command word, as typed (quotes and spacing kept)."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def reply(update: Update, text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the update's chat, in Telegram HTML."""
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        reply_markup=markup,
        do_quote=False,
    )


async def reply_all(
    update: Update, messages: list[str], *, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send ``messages`` in order; the buttons go under the last one."""
    for number, text in enumerate(messages, start=1):
        await reply(update, text, markup=markup if number == len(messages) else None)


def pack_lines(lines: list[str], budget: int = MESSAGE_BUDGET) -> list[str]:
    """Join ``lines`` into as few messages as fit in ``budget`` characters each."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(line) + 1 > budget:
            messages.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        messages.append("\n".join(current))
    return messages
