"""The bot's own membership of a chat (``my_chat_member``): kicked, left or blocked makes the
chat inactive at once and drops its queued alerts; added back or unblocked makes it active."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberRestricted, Update

from bot.core import BotContext

log = logging.getLogger(__name__)

#: Reason of the alerts dropped when the bot leaves a chat (as the outbox records it).
LEFT_REASON = "left"


def is_present(member: ChatMember) -> bool:
    """Is the bot in the chat (and, in a private chat, not blocked) as ``member`` says?"""
    if isinstance(member, ChatMemberRestricted):
        return member.is_member
    return member.status not in (ChatMember.LEFT, ChatMember.BANNED)


async def member_changed(update: Update, context: BotContext) -> None:
    """The bot was added, removed, blocked or unblocked: the chat follows at once."""
    change = update.my_chat_member
    if change is None:
        return
    chat = change.chat
    store = context.core.store
    known = store.chat(chat.id)
    if is_present(change.new_chat_member):
        if known is None or not known.active:
            store.upsert_chat(chat.id, kind=chat.type, title=chat.title or chat.full_name or "")
            log.info("chat %s: the bot is back (%s)", chat.id, change.new_chat_member.status)
        return
    if known is None:
        return
    queued = store.pending(chat.id)
    with store.batch():
        if queued:
            store.drop(queued, LEFT_REASON)
        if known.active:
            store.set_active(chat.id, False)
    log.info("chat %s: the bot was removed or blocked (%s); %d queued alerts dropped",
             chat.id, change.new_chat_member.status, len(queued))
