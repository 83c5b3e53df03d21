"""Which handler answers what: the commands, the operators' commands, buttons, group
migrations, unknown commands and plain text; and the command menu Telegram shows."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.core import BotApplication, BotContext, Core
from bot.handlers import (
    buttons,
    channels,
    inline,
    membership,
    operators,
    opml,
    settings,
    sources,
    subscriptions,
    welcome,
)
from bot.handlers.replies import reply, shown
from bot.handlers.request import Callback, chat_language, lang_of
from bot.i18n import ADMIN_COMMANDS, COMMANDS, t

log = logging.getLogger(__name__)

#: Everyone's commands, in the order they are tried (the menu's order is ``bot.i18n``'s).
COMMAND_HANDLERS: tuple[tuple[str, Callback], ...] = (
    ("start", welcome.start),
    ("help", welcome.help_command),
    ("follow", subscriptions.follow),
    ("unfollow", subscriptions.unfollow),
    ("list", subscriptions.list_command),
    ("latest", subscriptions.latest),
    ("settings", settings.settings_command),
    ("digest", settings.digest),
    ("instant", settings.instant),
    ("quiet", settings.quiet),
    ("timezone", settings.timezone_command),
    ("pause", settings.pause),
    ("resume", settings.resume),
    ("language", settings.language),
    ("share", subscriptions.share),
    ("channel", channels.channel_command),
    ("channels", channels.channels_command),
    ("sources", sources.sources_command),
    ("addsource", sources.addsource),
    ("removesource", sources.removesource),
    ("export", opml.export),
)
#: The operators' commands: answered only in an operator's private chat; anywhere else, and
#: for anyone else, they are unknown commands (and absent from the menu).
OPERATOR_HANDLERS: tuple[tuple[str, Callback], ...] = (
    ("stats", operators.stats),
    ("health", operators.health),
)


def register(application: BotApplication, admin_ids: list[int]) -> None:
    """Add every handler to ``application``; ``admin_ids`` may use the operators' commands
    in their private chats.  Only new messages are commands: an edit runs nothing."""
    new = filters.UpdateType.MESSAGE
    for name, handler in COMMAND_HANDLERS:
        application.add_handler(CommandHandler(name, handler, filters=new))
    operators_here = filters.User(user_id=admin_ids) & filters.ChatType.PRIVATE & new
    for name, handler in OPERATOR_HANDLERS:
        application.add_handler(CommandHandler(name, handler, filters=operators_here))
    application.add_handler(CallbackQueryHandler(buttons.button))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(MessageHandler(opml_files() & new, opml.upload))
    forwarded = filters.ChatType.PRIVATE & filters.FORWARDED & ~filters.COMMAND & new
    application.add_handler(MessageHandler(forwarded, channels.forwarded_post))
    application.add_handler(
        ChatMemberHandler(membership.member_changed, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
    application.add_handler(MessageHandler(filters.COMMAND & new, unknown_command))
    application.add_handler(
        MessageHandler(
            filters.TEXT & filters.ChatType.PRIVATE & ~filters.COMMAND & new, plain_text
        )
    )


def opml_files() -> filters.BaseFilter:
    """Documents that go to the OPML import: in a group, those named or typed as OPML/XML;
    in a private chat, any (the import says what it takes), except a forwarded one that is no
    OPML file (a channel's post forwarded to link the channel)."""
    named = filters.Document.FileExtension("opml") | filters.Document.FileExtension("xml")
    for mime in opml.OPML_TYPES:
        named = named | filters.Document.MimeType(mime)
    private = filters.ChatType.PRIVATE & (named | ~filters.FORWARDED)
    return filters.Document.ALL & (named | private)


async def unknown_command(update: Update, context: BotContext) -> None:
    """A command the bot does not know: point to /help (in groups, only if addressed to us);
    one addressed to another bot is left alone everywhere (``/follow@otherbot``: the bot
    knows /follow, but was not asked)."""
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    command = message.text.split(maxsplit=1)[0]
    name, _, target = command.partition("@")
    ours = target.lower() == (context.bot.username or "").lower()
    if not ours and (target or chat.type != "private"):
        return  # another bot's; in groups, only commands addressed to this bot by name
    lang = lang_of(update, context)
    await reply(update, t(lang, "unknown_command", command=shown(name)))


async def slow_down(update: Update, core: Core) -> None:
    """Over its command budget (``bot.fairness``): tell the chat, once a minute at most."""
    chat = update.effective_chat
    lang = chat_language(core.store.chat(chat.id) if chat else None, update)
    text = t(lang, "slow_down")
    if update.callback_query is not None:
        await update.callback_query.answer(text)
    else:
        await reply(update, text)


async def plain_text(update: Update, context: BotContext) -> None:
    """Plain text in a private chat: say what the bot can do."""
    await reply(update, t(lang_of(update, context), "plain_text"))


async def migrated(update: Update, context: BotContext) -> None:
    """A group became a supergroup: Telegram says so in both chats.  Move the subscriptions
    and settings at once, so /list in the supergroup is right before any alert is sent."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    core = context.core
    if core.store.chat(old) is None:
        return  # already moved (the other of the two messages, or the deliverer)
    core.store.migrate_chat(old, new)
    core.move_chat(old, new)
    log.info("chat %s became supergroup %s; subscriptions moved", old, new)


def bot_commands(lang: str = "en", *, admin: bool = False) -> list[BotCommand]:
    """The command menu in ``lang``; with ``admin``, the operators' commands too."""
    table = COMMANDS + (ADMIN_COMMANDS if admin else [])
    return [BotCommand(name, zh if lang == "zh" else en) for name, en, zh, _ in table]


async def publish_commands(bot: Bot, admin_ids: list[int]) -> None:
    """The command menu: everyone's, in English and Chinese, plus the operators' own."""
    await bot.set_my_commands(bot_commands("en"))
    await bot.set_my_commands(bot_commands("zh"), language_code="zh")
    for admin_id in admin_ids:
        try:
            await bot.set_my_commands(
                bot_commands("en", admin=True), scope=BotCommandScopeChat(admin_id)
            )
        except TelegramError as exc:  # the operator has not talked to the bot yet
            log.info("no operator command menu for %s yet: %s", admin_id, exc)
