"""The commands users type, and the buttons they press.

Small async handlers in python-telegram-bot's style.  Each one reads the shared ``Core``
(store, matching index, settings) from ``context.bot_data``, answers at once in the chat's
language, and never raises on user input: bad input gets a reply that says what was wrong and
what to type.  In groups, only administrators may change what the group receives.
"""

from __future__ import annotations

import html
import logging
import time
from collections import Counter
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import buttons, schedule
from bot.deeplinks import follow_link, query_from_payload
from bot.delivery.format import render_latest
from bot.i18n import ADMIN_COMMANDS, COMMANDS, LANGUAGES, language_for, normalise_language, t
from bot.matching import QueryError, parse_query
from bot.models import Chat

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 100
MAX_QUERIES_PER_CHAT = 50
LATEST_COUNT = 5
# Raw HTML characters per message: under Telegram's 4096 visible characters with room to spare.
MESSAGE_BUDGET = 4000
ADMIN_CACHE_SECONDS = 60.0
ADMIN_CACHE_SIZE = 10_000
# Telegram's "GroupAnonymousBot": messages of anonymous group admins come from it.
ANONYMOUS_ADMIN_ID = 1087968824


def core_of(context: ContextTypes.DEFAULT_TYPE) -> Core:
    return context.bot_data["core"]


# ---------------------------------------------------------------------------- helpers


def remember_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Chat | None:
    """Record the chat (kind, title, a language hint) when it first talks to us or comes
    back after blocking the bot; return it."""
    chat = update.effective_chat
    if chat is None:
        return None
    store = core_of(context).store
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
    user = update.effective_user if update else None
    settings = chat.settings if chat else {}
    return language_for(
        settings, (user.language_code if user else None) or settings.get("lang_hint")
    )


def lang_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    chat = update.effective_chat
    known = core_of(context).store.chat(chat.id) if chat else None
    return chat_language(known, update)


async def reply(update: Update, text: str, *, markup: InlineKeyboardMarkup | None = None) -> None:
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


def argument_text(update: Update) -> str:
    """Everything after the command word, as typed (quotes and spacing kept)."""
    message = update.effective_message
    text = (message.text or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def is_group_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
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
    cache = core_of(context).admin_cache
    key = (chat.id, user.id)
    cached = cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[1] < ADMIN_CACHE_SECONDS:
        return cached[0]
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
        allowed = member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)
    except TelegramError as exc:
        log.warning("cannot check admin rights in chat %s: %s", chat.id, exc)
        allowed = False
    if len(cache) >= ADMIN_CACHE_SIZE:  # forget the expired answers, so it cannot grow
        for stale in [k for k, (_, at) in cache.items() if now - at >= ADMIN_CACHE_SECONDS]:
            del cache[stale]
    cache[key] = (allowed, now)
    return allowed


async def admins_only(update: Update, context: ContextTypes.DEFAULT_TYPE, lang: str) -> bool:
    """True when the sender may not change this chat; the refusal has been sent."""
    if await is_group_admin(update, context):
        return False
    await reply(update, t(lang, "admins_only"))
    return True


def _key(stored_text: str) -> str | None:
    try:
        return parse_query(stored_text).key
    except QueryError:
        return None


def _list_lines(lang: str, queries: list[str]) -> list[str]:
    if not queries:
        return [t(lang, "list_empty")]
    lines = [t(lang, "list_heading", count=len(queries))]
    lines += [f"{n}. {html.escape(q)}" for n, q in enumerate(queries, start=1)]
    return lines


def _list_body(lang: str, queries: list[str], *, first: str | None = None) -> list[str]:
    """The /list answer (after ``first``, a line of its own) as messages under Telegram's
    length limit: 50 keywords of 100 characters, escaped, do not fit in one."""
    return pack_lines(([first] if first else []) + _list_lines(lang, queries))


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


async def reply_all(
    update: Update, messages: list[str], *, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send ``messages`` in order; the buttons go under the last one."""
    for number, text in enumerate(messages, start=1):
        await reply(update, text, markup=markup if number == len(messages) else None)


def _list_markup(lang: str, queries: list[str]) -> InlineKeyboardMarkup | None:
    return buttons.list_keyboard(lang, [(q, _key(q) or q) for q in queries])


def wake_delivery(context: ContextTypes.DEFAULT_TYPE) -> None:
    deliverer = core_of(context).deliverer
    if deliverer is not None:
        deliverer.wake()


def _zone_name(chat: Chat | None) -> str:
    return (chat.settings.get("timezone") if chat else None) or "UTC"


# ---------------------------------------------------------------------------- commands


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    lang = chat_language(chat, update)
    query = query_from_payload(argument_text(update))
    if query:
        if await admins_only(update, context, lang):
            return
        await follow_text(update, context, query)
        return
    await reply(update, t(lang, "start"))


def help_text(lang: str) -> str:
    lines = [t(lang, "help_heading")]
    for name, english, chinese, example in COMMANDS:
        description = chinese if lang == "zh" else english
        lines.append(
            t(lang, "help_line", name=name, description=html.escape(description), example=example)
        )
    lines += [
        "",
        t(lang, "query_help", max_queries=MAX_QUERIES_PER_CHAT, max_chars=MAX_QUERY_CHARS),
    ]
    return "\n".join(lines)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    await reply(update, help_text(chat_language(chat, update)))


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    if await admins_only(update, context, chat_language(chat, update)):
        return
    await follow_text(update, context, argument_text(update))


async def follow_text(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    lang = lang_of(update, context)
    if not text:
        await reply(update, t(lang, "follow_usage"))
        return
    if len(text) > MAX_QUERY_CHARS:
        await reply(update, t(lang, "too_long", length=len(text), limit=MAX_QUERY_CHARS))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await reply(update, t(lang, "bad_query", reason=html.escape(exc.text(lang))))
        return
    core = core_of(context)
    existing = core.store.subscriptions(chat.id)
    shown = html.escape(query.text)
    if any(_key(stored) == query.key for stored in existing):
        await reply(update, t(lang, "already", query=shown))
        return
    if len(existing) >= MAX_QUERIES_PER_CHAT:
        await reply(update, t(lang, "too_many", count=len(existing), limit=MAX_QUERIES_PER_CHAT))
        return
    core.store.add_subscription(chat.id, query.text)  # durable when it returns
    core.index.add(chat.id, query)
    await reply(update, t(lang, "followed", query=shown, count=len(existing) + 1))


def _find_subscription(existing: list[str], text: str) -> str | None:
    """The exact text, else the same query written differently, else the same letters in
    another case (``/unfollow EVTOL`` for ``eVTOL``, though EVTOL alone reads as an acronym)."""
    key = _key(text)
    for stored in existing:
        if stored == text or (key is not None and _key(stored) == key):
            return stored
    folded = text.casefold()
    return next((stored for stored in existing if stored.casefold() == folded), None)


def _unsubscribe(core: Core, chat_id: int, stored: str) -> None:
    core.store.remove_subscription(chat_id, stored)
    key = _key(stored)
    if key is not None:
        core.index.remove(chat_id, key)


async def unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    if chat is None:
        return
    lang = chat_language(chat, update)
    if await admins_only(update, context, lang):
        return
    text = argument_text(update)
    core = core_of(context)
    existing = core.store.subscriptions(chat.id)
    if not text:
        await reply_all(update, _list_body(lang, existing, first=t(lang, "unfollow_usage")))
        return
    target = _find_subscription(existing, text)
    if target is None:
        refusal = t(lang, "not_following", query=html.escape(text))
        await reply_all(update, _list_body(lang, existing, first=refusal))
        return
    _unsubscribe(core, chat.id, target)
    await reply(update, t(lang, "unfollowed", query=html.escape(target)))


async def list_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    if chat is None:
        return
    lang = chat_language(chat, update)
    queries = core_of(context).store.subscriptions(chat.id)
    await reply_all(update, _list_body(lang, queries), markup=_list_markup(lang, queries))


async def latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    lang = chat_language(chat, update)
    tz = schedule.zone(chat.settings) if chat else None
    text = argument_text(update)
    store = core_of(context).store
    if not text:
        headlines = store.latest(LATEST_COUNT)
        if not headlines:
            await reply(update, t(lang, "nothing_seen"))
            return
        await reply(update, render_latest(headlines, t(lang, "latest_heading"), tz=tz))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await reply(update, t(lang, "bad_search", reason=html.escape(exc.text(lang))))
        return
    headlines = store.latest(LATEST_COUNT, lambda h: query.find(h.title, h.summary) is not None)
    if not headlines:
        await reply(update, t(lang, "no_match", query=html.escape(query.text)))
        return
    await reply(update, render_latest(headlines, t(lang, "latest_on", query=query.text), tz=tz))


async def settings_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    if chat is None:
        return
    lang = chat_language(chat, update)
    await reply(update, settings_text(core_of(context), chat, lang))


def settings_text(core: Core, chat: Chat, lang: str) -> str:
    s = chat.settings
    zone = _zone_name(chat)
    digest = s.get("digest") or []
    mode = t(lang, "mode_digest", times=", ".join(digest)) if digest else t(lang, "mode_instant")
    quiet = "–".join(s["quiet"]) if s.get("quiet") else t(lang, "none")
    until = schedule.paused_until(s, core.clock())
    paused = (
        t(lang, "until", until=until.astimezone(schedule.zone(s)).strftime("%Y-%m-%d %H:%M"))
        if until
        else t(lang, "no")
    )
    return t(
        lang,
        "settings",
        count=len(core.store.subscriptions(chat.id)),
        mode=html.escape(mode),
        quiet=html.escape(quiet),
        zone=html.escape(zone),
        paused=html.escape(paused),
        language=LANGUAGES[lang],
        active=t(lang, "active") if chat.active else t(lang, "inactive"),
    )


async def _change_setting(
    update: Update, context: ContextTypes.DEFAULT_TYPE
) -> tuple[Chat, str] | None:
    """The chat and its language when the sender may change its settings, else None."""
    chat = remember_chat(update, context)
    if chat is None:
        return None
    lang = chat_language(chat, update)
    if await admins_only(update, context, lang):
        return None
    return chat, lang


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    zone = html.escape(_zone_name(chat))
    words = argument_text(update).replace(",", " ").split()
    if not words:
        await reply(update, t(lang, "digest_usage", zone=zone))
        return
    try:
        times = schedule.parse_digest_times(words)
    except schedule.ScheduleError as exc:
        await reply(update, exc.text(lang) + "\n" + t(lang, "digest_usage", zone=zone))
        return
    core_of(context).store.set_setting(chat.id, "digest", times)
    await reply(update, t(lang, "digest_set", times=", ".join(times), zone=zone))


async def instant(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    store = core_of(context).store
    store.set_setting(chat.id, "digest", [])
    await reply(update, t(lang, "instant_set"))
    wake_delivery(context)  # what the digest was holding goes out now


async def quiet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    zone = html.escape(_zone_name(chat))
    text = argument_text(update)
    store = core_of(context).store
    if text.lower() in ("off", "none", "关闭"):
        store.set_setting(chat.id, "quiet", None)
        await reply(update, t(lang, "quiet_off"))
        wake_delivery(context)  # what the quiet hours were holding goes out now
        return
    if not text:
        await reply(update, t(lang, "quiet_usage", zone=zone))
        return
    try:
        window = schedule.parse_quiet(text)
    except schedule.ScheduleError as exc:
        await reply(update, exc.text(lang) + "\n" + t(lang, "quiet_usage", zone=zone))
        return
    store.set_setting(chat.id, "quiet", window)
    await reply(update, t(lang, "quiet_set", start=window[0], end=window[1], zone=zone))


async def timezone_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = argument_text(update)
    if not text:
        chat = remember_chat(update, context)
        lang = chat_language(chat, update)
        await reply(update, t(lang, "timezone_usage", zone=html.escape(_zone_name(chat))))
        return
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    try:
        zone = schedule.parse_timezone(text)
    except schedule.ScheduleError as exc:
        await reply(update, exc.text(lang))
        return
    core_of(context).store.set_setting(chat.id, "timezone", zone)
    await reply(update, t(lang, "timezone_set", zone=html.escape(zone)))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    text = argument_text(update)
    if not text:
        await reply(update, t(lang, "pause_usage"))
        return
    try:
        duration = schedule.parse_duration(text)
    except schedule.ScheduleError as exc:
        await reply(update, exc.text(lang) + "\n" + t(lang, "pause_usage"))
        return
    await reply(update, pause_chat(core_of(context), chat, lang, duration))


def pause_chat(core: Core, chat: Chat, lang: str, duration: timedelta) -> str:
    until = core.clock() + duration
    core.store.set_setting(chat.id, "paused_until", until.isoformat())
    local = until.astimezone(schedule.zone(chat.settings)).strftime("%Y-%m-%d %H:%M")
    return t(lang, "paused", until=local, zone=html.escape(_zone_name(chat)))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    if schedule.paused_until(chat.settings, core_of(context).clock()) is None:
        await reply(update, t(lang, "not_paused"))
        return
    core_of(context).store.set_setting(chat.id, "paused_until", None)
    await reply(update, t(lang, "resumed"))


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    allowed = await _change_setting(update, context)
    if allowed is None:
        return
    chat, lang = allowed
    chosen = normalise_language(argument_text(update))
    if chosen is None:
        await reply(update, t(lang, "language_usage"))
        return
    core_of(context).store.set_setting(chat.id, "language", chosen)
    await reply(update, t(chosen, "language_set"))


async def share(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat = remember_chat(update, context)
    lang = chat_language(chat, update)
    text = argument_text(update)
    if not text:
        await reply(update, t(lang, "share_usage"))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await reply(update, t(lang, "bad_query", reason=html.escape(exc.text(lang))))
        return
    link = follow_link(context.bot.username, query.text)
    if link is None:
        await reply(update, t(lang, "share_too_long"))
        return
    await reply(update, t(lang, "share", query=html.escape(query.text), link=html.escape(link)))


# ---------------------------------------------------------------------------- operators


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    lang = lang_of(update, context)
    store = core_of(context).store
    chats = store.chats()
    counts: Counter[str] = Counter()
    for _, text in store.all_subscriptions():
        counts[_key(text) or text] += 1
    top = ", ".join(f"{html.escape(k)} ({n})" for k, n in counts.most_common(10)) or "-"
    totals = store.stats()
    await reply(
        update,
        t(
            lang,
            "stats",
            chats=len(chats),
            active=sum(1 for c in chats if c.active),
            subs=totals["subscriptions"],
            sent=store.sent_since(core_of(context).clock() - timedelta(hours=24)),
            pending=totals["pending"],
            top=top,
        ),
    )


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    remember_chat(update, context)
    lang = lang_of(update, context)
    core = core_of(context)
    lines = [t(lang, "sources_heading")]
    for source in core.settings.sources:
        state = core.store.source_state(source.name)
        failures = int(state.get("failures") or 0)
        mark = "⏸" if not source.enabled else ("⚠️" if failures else "✅")
        error = f" — {html.escape(str(state.get('last_error')))}" if failures else ""
        lines.append(
            t(
                lang,
                "source_line",
                mark=mark,
                name=html.escape(source.name),
                status=html.escape(
                    f"{failures} failures" if failures else str(state.get("last_status") or "-")
                ),
                items=state.get("last_items", 0),
                last_ok=html.escape(_short_time(state.get("last_success_at"))),
                next=html.escape(_short_time(state.get("next_poll_at"))),
                error=error,
            )
        )
    await reply(update, "\n".join(lines))


def _short_time(value: object) -> str:
    return str(value)[:16].replace("T", " ") if value else "-"


# ---------------------------------------------------------------------------- fallbacks


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    chat = update.effective_chat
    if message is None or chat is None or not message.text:
        return
    command = message.text.split(maxsplit=1)[0]
    name, _, target = command.partition("@")
    if chat.type != "private" and target.lower() != (context.bot.username or "").lower():
        return  # in groups, only answer commands addressed to this bot by name
    lang = lang_of(update, context)
    await reply(update, t(lang, "unknown_command", command=html.escape(name)))


async def plain_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await reply(update, t(lang_of(update, context), "plain_text"))


# ---------------------------------------------------------------------------- buttons


async def answer(callback: CallbackQuery, text: str | None = None, **options: Any) -> None:
    """Answer a button press.  A press made while the bot was down arrives after a restart
    and is still carried out, but Telegram no longer takes its answer ("query is too old"):
    that is no error of the user's."""
    try:
        await callback.answer(text, **options)
    except BadRequest as exc:
        log.info("button answer not delivered: %s", exc)


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    callback = update.callback_query
    chat = update.effective_chat
    if callback is None or chat is None:
        return
    core = core_of(context)
    known = remember_chat(update, context)
    lang = chat_language(known, update)
    parsed = buttons.parse(callback.data)
    if parsed is None:
        await answer(callback)
        return
    if not await is_group_admin(update, context):
        await answer(callback, t(lang, "admins_only"), show_alert=True)
        return
    action, argument = parsed
    if action == "mute" and known is not None:
        pause_chat(core, known, lang, timedelta(days=1))
        await answer(callback, t(lang, "muted"))
        return
    existing = core.store.subscriptions(chat.id)
    target = next((q for q in existing if buttons.query_hash(_key(q) or q) == argument), None)
    if target is None:
        await answer(callback, t(lang, "button_gone"))
        return
    _unsubscribe(core, chat.id, target)
    await answer(callback, t(lang, "unfollowed_toast", query=target))
    if action == buttons.REMOVE and callback.message is not None:
        remaining = core.store.subscriptions(chat.id)
        messages = _list_body(lang, remaining)
        try:
            if len(messages) == 1:  # redraw the list; a long one keeps its text, loses a button
                await callback.edit_message_text(
                    messages[0],
                    parse_mode=ParseMode.HTML,
                    reply_markup=_list_markup(lang, remaining),
                )
            else:
                await callback.edit_message_reply_markup(_list_markup(lang, remaining))
        except BadRequest as exc:  # e.g. the message is too old to edit: the removal stands
            log.info("could not redraw /list: %s", exc)


async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    core = core_of(context)
    if core.store.chat(old) is None:
        return  # already moved (the other of the two messages, or the deliverer)
    core.store.migrate_chat(old, new)
    core.index.move_chat(old, new)
    log.info("chat %s became supergroup %s; subscriptions moved", old, new)


# ---------------------------------------------------------------------------- wiring


def register(application: Application, admin_ids: list[int]) -> None:
    admins = filters.User(user_id=admin_ids)
    for name, handler in (
        ("start", start),
        ("help", help_command),
        ("follow", follow),
        ("unfollow", unfollow),
        ("list", list_command),
        ("latest", latest),
        ("settings", settings_command),
        ("digest", digest),
        ("instant", instant),
        ("quiet", quiet),
        ("timezone", timezone_command),
        ("pause", pause),
        ("resume", resume),
        ("language", language),
        ("share", share),
    ):
        application.add_handler(CommandHandler(name, handler))
    # Operators only: for anyone else these are unknown commands, absent from their menu.
    application.add_handler(CommandHandler("stats", stats, filters=admins))
    application.add_handler(CommandHandler("sources", sources, filters=admins))
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
    application.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    application.add_handler(
        MessageHandler(filters.TEXT & filters.ChatType.PRIVATE & ~filters.COMMAND, plain_text)
    )


def bot_commands(lang: str = "en", *, admin: bool = False) -> list[BotCommand]:
    table = COMMANDS + (ADMIN_COMMANDS if admin else [])
    return [BotCommand(name, zh if lang == "zh" else en) for name, en, zh, _ in table]


async def publish_commands(bot: object, admin_ids: list[int]) -> None:
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
