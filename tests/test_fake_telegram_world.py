"""The fake's channels, my_chat_member updates, edited messages and forwards, through the real
python-telegram-bot 22.  Every update read here went through getUpdates, whose answers the
fake checks against the Bot API reference when it is present (so their shape is checked too).
"""

from __future__ import annotations

import pytest
import telegram
from telegram import ChatMemberAdministrator, MessageOriginChannel, Update
from telegram.error import BadRequest, Forbidden, RetryAfter

from tests.fakes.telegram import FakeTelegram

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")

USER = 1001
ADMIN = 1002
OTHER = 1003
CHANNEL = -1001234567890
GROUP = -2001


async def updates(bot: telegram.Bot) -> list[Update]:
    """Every queued update, confirmed so the next call sees only newer ones."""
    got = await bot.get_updates(timeout=0)
    if got:
        await bot.get_updates(offset=got[-1].update_id + 1, timeout=0)
    return list(got)


def channel(fake: FakeTelegram, **options: object) -> None:
    fake.add_user(USER, "Ann", username="ann")
    fake.add_channel(
        CHANNEL,
        "Caixin eVTOL alerts",
        username="evtol_alerts",
        creator=ADMIN,
        admins=[OTHER],
        description="News about eVTOLs",
        **options,  # type: ignore[arg-type]
    )


# ------------------------------------------------------------------ channels


async def test_a_channel_has_a_title_username_and_administrators(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    channel(fake)
    for chat_id in (CHANNEL, "@evtol_alerts", "@EVTOL_ALERTS"):
        chat = await bot.get_chat(chat_id)
        assert (chat.id, chat.type, chat.title) == (CHANNEL, "channel", "Caixin eVTOL alerts")
        assert chat.username == "evtol_alerts" and chat.description == "News about eVTOLs"
    admins = await bot.get_chat_administrators("@evtol_alerts")
    assert [(a.user.id, a.status) for a in admins] == [
        (ADMIN, "creator"),
        (OTHER, "administrator"),
        (fake.bot_id, "administrator"),
    ]
    me = admins[-1]
    assert isinstance(me, ChatMemberAdministrator) and me.can_post_messages
    assert (await bot.get_chat_member(CHANNEL, ADMIN)).status == "creator"
    assert (await bot.get_chat_member(CHANNEL, OTHER)).status == "administrator"
    assert (await bot.get_chat_member(CHANNEL, USER)).status == "left"  # known, not a member
    with pytest.raises(BadRequest, match="User not found"):
        await bot.get_chat_member(CHANNEL, 777)
    fake.set_admins(CHANNEL, [USER], can_post_messages=False)
    member = await bot.get_chat_member(CHANNEL, USER)
    assert member.status == "administrator" and member.can_post_messages is False
    assert (await bot.get_chat_member(CHANNEL, OTHER)).status == "left"


async def test_the_bot_posts_into_a_channel_and_edits_its_post(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    channel(fake)
    post = await bot.send_message("@evtol_alerts", "<b>eVTOL</b> news", parse_mode="HTML")
    assert post.chat.id == CHANNEL and post.sender_chat is not None
    assert post.sender_chat.id == CHANNEL and post.from_user is None  # signed by the channel
    [recorded] = fake.posts(CHANNEL)
    assert recorded.visible == "eVTOL news" and recorded.reply_markup is None
    edited = await bot.edit_message_text("eVTOL news, updated", CHANNEL, post.message_id)
    assert edited.text == "eVTOL news, updated" and edited.sender_chat is not None


async def test_a_bot_that_may_not_post_or_is_not_in_the_channel(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    channel(fake, bot_can_post=False)
    me = await bot.get_chat_member(CHANNEL, fake.bot_id)
    assert me.status == "administrator" and me.can_post_messages is False
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights in the channel chat"):
        await bot.send_message(CHANNEL, "hello")
    fake.add_channel(-1009, "Private channel", creator=ADMIN, bot_is_admin=False)
    fake.add_channel(-1010, "Public channel", username="public_one", bot_is_admin=False)
    for chat_id in (-1009, -1010):
        with pytest.raises(Forbidden, match="bot is not a member of the channel chat"):
            await bot.send_message(chat_id, "hello")
        with pytest.raises(BadRequest, match=r"(?i)member list is inaccessible"):
            await bot.get_chat_administrators(chat_id)
        with pytest.raises(BadRequest, match=r"(?i)member list is inaccessible"):
            await bot.get_chat_member(chat_id, ADMIN)
        assert (await bot.get_chat_member(chat_id, fake.bot_id)).status == "left"
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(-1009)  # a private channel the bot is not in
    assert (await bot.get_chat("@public_one")).title == "Public channel"
    assert fake.posts(CHANNEL) == []


async def test_channels_are_paced_like_groups(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.group_per_minute = 3
    channel(fake)
    for i in range(3):
        await bot.send_message(CHANNEL, f"post {i}")
    with pytest.raises(RetryAfter):
        await bot.send_message(CHANNEL, "one too many")
    assert len(fake.posts(CHANNEL)) == 3


# ------------------------------------------------------------------ my_chat_member


async def test_bot_added_to_a_channel_as_admin_then_removed_then_kicked(
    fake: FakeTelegram, bot: telegram.Bot
) -> None:
    channel(fake, bot_is_admin=False)
    fake.add_bot_as_admin(CHANNEL, by=ADMIN)
    [update] = await updates(bot)
    change = update.my_chat_member
    assert change is not None and change.chat.type == "channel" and change.from_user.id == ADMIN
    assert change.old_chat_member.status == "left"
    new = change.new_chat_member
    assert isinstance(new, ChatMemberAdministrator) and new.can_post_messages
    assert new.user.id == fake.bot_id
    await bot.send_message(CHANNEL, "now I may post")

    fake.remove_bot(CHANNEL, by=ADMIN)
    [update] = await updates(bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.old_chat_member.status == "administrator"
    assert update.my_chat_member.new_chat_member.status == "left"
    with pytest.raises(Forbidden, match="not a member of the channel chat"):
        await bot.send_message(CHANNEL, "gone")

    fake.kick_bot(CHANNEL, by=ADMIN)
    [update] = await updates(bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match="bot was kicked from the channel chat"):
        await bot.send_message(CHANNEL, "gone")

    fake.add_bot_as_admin(CHANNEL, by=ADMIN, can_post_messages=False)
    [update] = await updates(bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.can_post_messages is False  # type: ignore[union-attr]
    with pytest.raises(BadRequest, match=r"(?i)need administrator rights"):
        await bot.send_message(CHANNEL, "may not")


async def test_bot_added_to_and_removed_from_a_group(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.add_chat(GROUP, "group", title="Team")
    fake.set_member(GROUP, ADMIN, "creator")
    fake.add_bot_as_member(GROUP, by=ADMIN)
    fake.remove_bot(GROUP, by=ADMIN)
    joined, left = await updates(bot)
    assert joined.my_chat_member is not None and left.my_chat_member is not None
    assert joined.my_chat_member.new_chat_member.status == "member"
    assert left.my_chat_member.new_chat_member.status == "left"
    assert left.my_chat_member.chat.title == "Team"
    with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
        await bot.send_message(GROUP, "hello")
    fake.add_bot_as_admin(GROUP, by=ADMIN)
    [update] = await updates(bot)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "administrator"
    await bot.send_message(GROUP, "back")
    admins = await bot.get_chat_administrators(GROUP)
    assert {(a.user.id, a.status) for a in admins} == {
        (ADMIN, "creator"),
        (fake.bot_id, "administrator"),
    }


async def test_a_user_blocks_and_unblocks_the_bot(fake: FakeTelegram, bot: telegram.Bot) -> None:
    fake.push_message(USER, "/start")
    fake.user_blocks_bot(USER)
    start, blocked = await updates(bot)
    assert start.message is not None and blocked.my_chat_member is not None
    change = blocked.my_chat_member
    assert change.chat.type == "private" and change.from_user.id == USER
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("member", "kicked")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "hello?")
    fake.user_unblocks_bot(USER)
    [unblocked] = await updates(bot)
    assert unblocked.my_chat_member is not None
    assert unblocked.my_chat_member.new_chat_member.status == "member"
    await bot.send_message(USER, "welcome back")
    with pytest.raises(ValueError, match="cannot become 'creator'"):
        fake.set_bot_status(USER, "creator")
    with pytest.raises(ValueError, match="unknown chat"):
        fake.remove_bot(424242, by=USER)


# ------------------------------------------------------------------ edits and forwards


async def test_edited_messages_and_channel_posts(fake: FakeTelegram, bot: telegram.Bot) -> None:
    message_id = fake.push_message(USER, "/follow eVTOL")
    fake.push_edit(USER, message_id, "/follow eVTOLs")
    channel(fake)
    post_id = fake.push_channel_post(CHANNEL, "Breaking: eVTOL")
    fake.push_edit(CHANNEL, post_id, "Breaking: eVTOLs")
    original, edited, post, edited_post = await updates(bot)
    assert original.message is not None and edited.edited_message is not None
    assert edited.edited_message.message_id == message_id
    assert edited.edited_message.text == "/follow eVTOLs"
    assert edited.edited_message.edit_date is not None
    assert edited.edited_message.entities[0].type == "bot_command"
    assert post.channel_post is not None and post.channel_post.sender_chat is not None
    assert edited_post.edited_channel_post is not None
    assert edited_post.edited_channel_post.text == "Breaking: eVTOLs"
    sent = await bot.send_message(USER, "mine")
    with pytest.raises(ValueError, match="no user message"):
        fake.push_edit(USER, sent.message_id, "the bot's own message")


async def test_a_message_forwarded_from_a_channel(fake: FakeTelegram, bot: telegram.Bot) -> None:
    channel(fake)
    post = await bot.send_message(CHANNEL, "Investors flock to eVTOLs")
    fake.push_forward(USER, CHANNEL)
    fake.push_forward(USER, CHANNEL, "another post", channel_message_id=7, first_name="Ann")
    newest, other = await updates(bot)
    assert newest.message is not None and other.message is not None
    origin = newest.message.forward_origin
    assert isinstance(origin, MessageOriginChannel)
    assert origin.chat.id == CHANNEL and origin.chat.username == "evtol_alerts"
    assert origin.message_id == post.message_id
    assert newest.message.text == "Investors flock to eVTOLs"
    assert newest.message.chat.id == USER and newest.message.from_user is not None
    assert other.message.text == "another post"
    assert other.message.forward_origin.message_id == 7  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no channel"):
        fake.push_forward(USER, GROUP)
