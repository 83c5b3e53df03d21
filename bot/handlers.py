"""The commands users type.

Small async handlers in python-telegram-bot's style.  Each one reads the shared ``Core``
(store, matching index, settings) from ``context.bot_data``, answers at once, and never
raises on user input: bad input gets a reply that says what was wrong and what to type.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.delivery.format import render_latest
from bot.matching import QueryError, parse_query

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 100
MAX_QUERIES_PER_CHAT = 50
LATEST_COUNT = 5

COMMANDS: list[tuple[str, str, str]] = [
    ("follow", "Get alerts for a keyword or phrase", "/follow eVTOL"),
    ("unfollow", "Stop alerts for a keyword", "/unfollow eVTOL"),
    ("list", "Show the keywords this chat follows", "/list"),
    ("latest", "The newest headlines, or the newest that match", "/latest Nexperia"),
    ("help", "How to use the bot", "/help"),
    ("start", "Start (or restart) alerts in this chat", "/start"),
]

START_TEXT = (
    "Hi! I watch tech news (Caixin Global's CX Tech first) and send you every new headline "
    "that matches a keyword you follow.\n"
    "Try <code>/follow eVTOL</code> or <code>/follow 华为</code>, then /latest. /help lists "
    "everything."
)

QUERY_HELP = (
    "<b>Keywords</b>: case-insensitive whole words; plurals and possessives count "
    "(<code>eVTOL</code> finds “eVTOLs”, <code>Nexperia</code> finds “Nexperia’s”). "
    "Short capitals such as <code>AI</code>, <code>US</code>, <code>TSMC</code> match only in "
    "capitals. Phrases match words in order, hyphens or not "
    '(<code>low altitude economy</code>). <code>"exact phrase"</code> in quotes takes no '
    "plurals. <code>A OR B</code> for either, <code>-word</code> to exclude "
    "(<code>Nexperia -rumor</code>). Chinese, Japanese and Korean text matches anywhere "
    "(<code>华为</code>)."
)


def core_of(context: ContextTypes.DEFAULT_TYPE) -> Core:
    return context.bot_data["core"]


def help_text() -> str:
    lines = ["<b>Commands</b>"]
    for name, description, example in COMMANDS:
        lines.append(f"/{name}: {html.escape(description)}. Example: <code>{example}</code>")
    lines += ["", QUERY_HELP]
    lines.append(
        f"Up to {MAX_QUERIES_PER_CHAT} keywords per chat, {MAX_QUERY_CHARS} characters each."
    )
    return "\n".join(lines)


async def reply(update: Update, text: str, *, preview: bool = False) -> None:
    message = update.effective_message
    if message is None:
        return
    await message.reply_text(
        text,
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=not preview),
        do_quote=False,
    )


def remember_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record the chat (kind, title) the first time it talks to us, or when it comes back."""
    chat = update.effective_chat
    if chat is None:
        return
    store = core_of(context).store
    known = store.chat(chat.id)
    title = chat.title or chat.full_name or ""
    if known is None or not known.active or known.kind != chat.type:
        store.upsert_chat(chat.id, kind=chat.type, title=title)


def argument_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """Everything after the command word, as typed (quotes and spacing kept)."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    payload = argument_text(update, context)
    if payload.startswith("follow-") and len(payload) > len("follow-"):
        await follow_text(update, context, payload.removeprefix("follow-").replace("_", " "))
        return
    await reply(update, START_TEXT)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    await reply(update, help_text())


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    await follow_text(update, context, argument_text(update, context))


async def follow_text(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    if not text:
        await reply(
            update,
            "Usage: <code>/follow keyword or phrase</code>, for example "
            "<code>/follow eVTOL</code> or <code>/follow Nexperia -rumor</code>.",
        )
        return
    if len(text) > MAX_QUERY_CHARS:
        await reply(
            update,
            f"That keyword is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}. "
            "Try a shorter phrase.",
        )
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await reply(update, f"I can't follow that: {html.escape(str(exc))}")
        return
    core = core_of(context)
    existing = core.store.subscriptions(chat.id)
    if any(_key(stored) == query.key for stored in existing):
        await reply(update, f"You already follow <b>{html.escape(query.text)}</b>.")
        return
    if len(existing) >= MAX_QUERIES_PER_CHAT:
        await reply(
            update,
            f"This chat follows {len(existing)} keywords, the limit is "
            f"{MAX_QUERIES_PER_CHAT}. Remove one with /unfollow first.",
        )
        return
    core.store.add_subscription(chat.id, query.text)  # durable when it returns
    core.index.add(chat.id, query)
    await reply(
        update,
        f"✅ Following <b>{html.escape(query.text)}</b>. New matching headlines will arrive "
        f"here. This chat follows {len(existing) + 1} keyword(s); see /list.",
    )


def _key(stored_text: str) -> str | None:
    try:
        return parse_query(stored_text).key
    except QueryError:
        return None


async def unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    chat = update.effective_chat
    if chat is None:
        return
    text = argument_text(update, context)
    core = core_of(context)
    existing = core.store.subscriptions(chat.id)
    if not text:
        await reply(
            update,
            "Usage: <code>/unfollow keyword</code>, as shown by /list.\n" + _list_body(existing),
        )
        return
    try:
        key = parse_query(text).key
    except QueryError:
        key = None
    # The exact text, else the same query written differently, else the same letters in
    # another case (`/unfollow EVTOL` for `eVTOL`, though EVTOL alone reads as an acronym).
    target = next(
        (stored for stored in existing if stored == text or (key and _key(stored) == key)),
        None,
    ) or next((stored for stored in existing if stored.casefold() == text.casefold()), None)
    if target is None:
        await reply(
            update,
            f"This chat does not follow <b>{html.escape(text)}</b>.\n" + _list_body(existing),
        )
        return
    core.store.remove_subscription(chat.id, target)
    stored_key = _key(target)
    if stored_key is not None:
        core.index.remove(chat.id, stored_key)
    await reply(update, f"Stopped following <b>{html.escape(target)}</b>.")


def _list_body(queries: list[str]) -> str:
    if not queries:
        return "This chat follows no keywords yet. Try <code>/follow eVTOL</code>."
    lines = [f"This chat follows {len(queries)} keyword(s):"]
    lines += [f"{n}. {html.escape(q)}" for n, q in enumerate(queries, start=1)]
    return "\n".join(lines)


async def list_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    chat = update.effective_chat
    if chat is None:
        return
    await reply(update, _list_body(core_of(context).store.subscriptions(chat.id)))


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    text = argument_text(update, context)
    store = core_of(context).store
    if not text:
        headlines = store.latest(LATEST_COUNT)
        if not headlines:
            await reply(update, "I have not seen any headlines yet; try again in a few minutes.")
            return
        await reply(update, render_latest(headlines, "Latest headlines"))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await reply(update, f"I can't search for that: {html.escape(str(exc))}")
        return
    headlines = store.latest(LATEST_COUNT, lambda h: query.find(h.title, h.summary) is not None)
    if not headlines:
        await reply(
            update,
            f"No recent headline matches <b>{html.escape(query.text)}</b>. "
            f"<code>/follow {html.escape(query.text)}</code> to be told when one appears.",
        )
        return
    await reply(update, render_latest(headlines, f"Latest on {query.text}"))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    command = message.text.split(maxsplit=1)[0]
    name, _, target = command.partition("@")
    if chat.type != "private" and target.lower() != (context.bot.username or "").lower():
        return  # in groups, only answer commands addressed to this bot by name
    await reply(update, f"I don't know {html.escape(name)}. Send /help for the list of commands.")


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, "Send /help to see what I can do, or /follow a keyword.")


def register(application: Application) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("follow", follow))
    application.add_handler(CommandHandler("unfollow", unfollow))
    application.add_handler(CommandHandler("list", list_command))
    application.add_handler(CommandHandler("latest", latest))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(
        MessageHandler(filters.TEXT & filters.ChatType.PRIVATE & ~filters.COMMAND, plain_text)
    )


def bot_commands() -> list[BotCommand]:
    return [BotCommand(name, description) for name, description, _ in COMMANDS]
