"""Channels: /channel links one (by @username, numeric id, or a post forwarded from it),
/channels lists them.  Linked, a channel is managed from the private chat by naming it first
in any subscription or settings command (see ``targets``)."""

from __future__ import annotations

import html
import logging

from telegram import ChatFullInfo, MessageOriginChannel
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.handlers.admins import is_chat_admin
from bot.handlers.request import Request, for_chat
from bot.handlers.targets import CHANNEL_REF, LINKED, channel_label, linked_channels
from bot.models import Chat

log = logging.getLogger(__name__)

#: How many channels one person may link.
MAX_CHANNELS = 20


@for_chat()
async def channel_command(request: Request) -> None:
    """/channel @name: link a channel (the bot must be an admin there that may post)."""
    if request.chat.kind != "private":
        await request.reply(request.t("channel_private_only"))
        return
    ref = request.text.split(maxsplit=1)[0] if request.text else ""
    if not CHANNEL_REF.fullmatch(ref):
        await request.reply(request.t("channel_usage"))
        return
    await link_channel(request, ref)


@for_chat()
async def forwarded_post(request: Request) -> None:
    """A post forwarded from a channel into the private chat: link that channel."""
    message = request.update.effective_message
    origin = message.forward_origin if message else None
    if request.chat.kind != "private" or not isinstance(origin, MessageOriginChannel):
        return
    await link_channel(request, origin.chat.id)


@for_chat()
async def channels_command(request: Request) -> None:
    """/channels: the channels linked from this chat, with what each follows."""
    channels = linked_channels(request.core, request.chat)
    if not channels:
        await request.reply(request.t("channels_empty"))
        return
    lines = [request.t("channels_heading", count=len(channels))]
    store = request.core.store
    for channel in channels:
        state = request.t("active") if channel.active else request.t("inactive")
        lines.append(
            request.t(
                "channels_line",
                channel=html.escape(channel_label(channel)),
                title=html.escape(channel.title or ""),
                count=len(store.subscriptions(channel.id)),
                state=state,
            )
        )
    lines.append(request.t("channels_hint"))
    await request.reply("\n".join(lines))


async def link_channel(request: Request, ref: str | int) -> None:
    """Check with Telegram that ``ref`` is a channel, that the sender administers it and that
    the bot may post there; then link it to the sender's private chat."""
    bot = request.context.bot
    try:
        info = await bot.get_chat(ref)
    except TelegramError as exc:
        log.info("channel %s cannot be seen: %s", ref, exc)
        await request.reply(request.t("channel_unknown", channel=html.escape(str(ref))))
        return
    if info.type != ChatType.CHANNEL:
        await request.reply(request.t("channel_not_channel", channel=html.escape(str(ref))))
        return
    label = html.escape(f"@{info.username}" if info.username else info.title or str(info.id))
    # The bot's own rights first: a bot that is no admin cannot even see who the admins are.
    if not await bot_may_post(request, info):
        await request.reply(request.t("channel_bot_cannot_post", channel=label))
        return
    user = request.update.effective_user
    if user is None or not await is_chat_admin(request.core, bot, info.id, user.id):
        await request.reply(request.t("channel_not_admin", channel=label))
        return
    linked = [int(c) for c in request.chat.settings.get(LINKED) or []]
    if info.id not in linked and len(linked) >= MAX_CHANNELS:
        await request.reply(request.t("channels_too_many", limit=MAX_CHANNELS))
        return
    remember_channel(request, info, linked)
    await request.reply(request.t("channel_linked", channel=label))


async def bot_may_post(request: Request, info: ChatFullInfo) -> bool:
    """Is the bot an administrator of channel ``info`` with the right to post?"""
    bot = request.context.bot
    try:
        member = await bot.get_chat_member(info.id, bot.id)
    except TelegramError as exc:
        log.info("cannot read the bot's rights in channel %s: %s", info.id, exc)
        return False
    return member.status == ChatMemberStatus.ADMINISTRATOR and bool(
        getattr(member, "can_post_messages", False)
    )


def remember_channel(request: Request, info: ChatFullInfo, linked: list[int]) -> Chat:
    """Store the channel (active, its @username) and add it to the sender's linked list,
    in one durable batch."""
    store = request.core.store
    with store.batch():
        known = store.chat(info.id)
        if known is None or not known.active or known.kind != "channel":
            store.upsert_chat(info.id, kind="channel", title=info.title or "")
        store.set_setting(info.id, "username", info.username or "")
        if info.id not in linked:
            store.set_setting(request.chat.id, LINKED, [*linked, info.id])
    channel = store.chat(info.id)
    assert channel is not None
    return channel
