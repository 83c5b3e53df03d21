"""What a chat follows: /follow, /unfollow, /list, /latest and /share."""

from __future__ import annotations

import html
from collections.abc import Callable

from telegram import InlineKeyboardMarkup

from bot import buttons, schedule
from bot.chat_sources.own import is_own_id
from bot.core import stored_key
from bot.deeplinks import follow_link
from bot.delivery.format import render_latest
from bot.handlers.one_story import OneStoryEach
from bot.handlers.replies import pack_lines, shown
from bot.handlers.request import Request, for_chat
from bot.handlers.wording import query_reason
from bot.i18n import t
from bot.matching import Query, QueryError, parse_query
from bot.models import Headline
from bot.sources.registry import Registry

MAX_QUERY_CHARS = 100
MAX_QUERIES_PER_CHAT = 50
LATEST_COUNT = 5


@for_chat(admins_only=True, channels=True)
async def follow(request: Request) -> None:
    """/follow <keyword or phrase>: alerts for new headlines that match."""
    await follow_text(request, request.text)


async def follow_text(request: Request, text: str) -> None:
    """Follow ``text`` in the request's chat (from /follow, or a shared link's /start)."""
    if not text:
        await request.reply(request.t("follow_usage"))
        return
    if len(text) > MAX_QUERY_CHARS:
        await request.reply(request.t("too_long", length=len(text), limit=MAX_QUERY_CHARS))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await request.reply(request.t("bad_query", reason=query_reason(request.lang, exc)))
        return
    if not await known_sources(request, query):
        return
    chat_id = request.chat.id
    existing = request.core.store.subscriptions(chat_id)
    shown = html.escape(query.text)
    if any(stored_key(stored) == query.key for stored in existing):
        await request.reply(request.t("already", query=shown))
        return
    if len(existing) >= MAX_QUERIES_PER_CHAT:
        await request.reply(
            request.t("too_many", count=len(existing), limit=MAX_QUERIES_PER_CHAT)
        )
        return
    request.core.subscribe(chat_id, query)  # durable when it returns
    await request.reply(request.t("followed", query=shown, count=len(existing) + 1))


@for_chat(admins_only=True, channels=True)
async def unfollow(request: Request) -> None:
    """/unfollow <keyword>: stop its alerts; without one, the list to choose from."""
    text = request.text
    chat_id = request.chat.id
    existing = request.core.store.subscriptions(chat_id)
    if not text:
        usage = request.t("unfollow_usage")
        await request.reply_all(list_lines(request, existing, first=usage))
        return
    target = find_subscription(existing, text)
    if target is None:
        refusal = request.t("not_following", query=shown(text))
        await request.reply_all(list_lines(request, existing, first=refusal))
        return
    request.core.unsubscribe(chat_id, target)
    await request.reply(request.t("unfollowed", query=html.escape(target)))


@for_chat(channels=True)
async def list_command(request: Request) -> None:
    """/list: the chat's keywords, each with a remove button."""
    queries = request.core.store.subscriptions(request.chat.id)
    # A channel's list has no remove buttons: they would act on the chat they are pressed in.
    markup = None if request.channel else list_markup(request.lang, queries)
    await request.reply_all(list_lines(request, queries), markup=markup)


@for_chat()
async def latest(request: Request) -> None:
    """/latest [keyword]: the newest stories seen, or the newest that match, each once with
    the other sources that reported it."""
    text = request.text
    core = request.core
    seen = visible_filter(core.registry, request.chat.id)
    if not text:
        await _answer_latest(request, seen, None, request.t("latest_heading"))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await request.reply(request.t("bad_search", reason=query_reason(request.lang, exc)))
        return
    if not await known_sources(request, query):
        return
    registry = core.registry

    def wanted(h: Headline) -> bool:
        return seen(h) and query.find_in(h.title, h.summary, source_of(registry, h)) is not None

    await _answer_latest(request, wanted, query, request.t("latest_on", query=query.text))


async def _answer_latest(request: Request, wanted: Callable[[Headline], bool],
                         query: Query | None, heading: str) -> None:
    core, store = request.core, request.core.store
    once = OneStoryEach(core.stories, wanted)
    if query is None:
        headlines = store.latest(LATEST_COUNT, once)
    else:
        headlines = store.search(query, LATEST_COUNT, once)
    if not headlines:
        if query is None:
            await request.reply(request.t("nothing_seen"))
        else:
            await request.reply(request.t("no_match", query=html.escape(query.text)))
        return
    also = once.also(
        store, headlines, max_sources=core.settings.stories.max_sources, lang=request.lang
    )
    tz = schedule.zone(request.chat.settings)
    await request.reply(render_latest(headlines, heading, tz=tz, also=also))


@for_chat()
async def share(request: Request) -> None:
    """/share <keyword>: a link that follows the keyword in one tap."""
    text = request.text
    if not text:
        await request.reply(request.t("share_usage"))
        return
    try:
        query = parse_query(text)
    except QueryError as exc:
        await request.reply(request.t("bad_query", reason=query_reason(request.lang, exc)))
        return
    if not await known_sources(request, query):
        return
    link = follow_link(request.context.bot.username, query.text)
    if link is None:
        await request.reply(request.t("share_too_long"))
        return
    await request.reply(
        request.t("share", query=html.escape(query.text), link=html.escape(link))
    )


def find_subscription(existing: list[str], text: str) -> str | None:
    """The exact text, else the same query written differently, else the same letters in
    another case (``/unfollow EVTOL`` for ``eVTOL``, though EVTOL alone reads as an acronym)."""
    key = stored_key(text)
    for stored in existing:
        if stored == text or (key is not None and stored_key(stored) == key):
            return stored
    folded = text.casefold()
    return next((stored for stored in existing if stored.casefold() == folded), None)


async def known_sources(request: Request, query: Query) -> bool:
    """True if every source the query names is one this chat may use; else refuse, with
    the names it may use."""
    usable = sorted(e.slug for e in request.core.registry.visible(request.chat.id))
    unknown = sorted(query.scope.names - set(usable))
    if not unknown:
        return True
    names = ", ".join(f"<code>{html.escape(n)}</code>" for n in usable) or "-"
    await request.reply(request.t("unknown_source", name=html.escape(unknown[0]), names=names))
    return False


def source_of(registry: Registry, headline: Headline) -> str | None:
    """The slug of the headline's source (None: not in the registry)."""
    if headline.source_id:
        return headline.source_id
    entry = registry.for_name(headline.source)
    return entry.slug if entry is not None else None


def visible_filter(registry: Registry, chat_id: int) -> Callable[[Headline], bool]:
    """Is a stored headline one this chat may see (not another chat's own source)?"""

    def visible(headline: Headline) -> bool:
        entry = registry.get(headline.source_id) if headline.source_id else None
        if is_own_id(headline.id):  # a chat's own source: its chats only, even if unknown
            return entry is not None and entry.own and chat_id in entry.chats
        return entry is None or not entry.own or chat_id in entry.chats

    return visible


def list_lines(request: Request, queries: list[str], *, first: str | None = None) -> list[str]:
    """:func:`list_body` for the request's chat, saying which keywords name a removed source."""
    usable = {e.slug for e in request.core.registry.visible(request.chat.id)}
    return list_body(request.lang, queries, first=first, usable=usable)


def list_body(
    lang: str, queries: list[str], *, first: str | None = None, usable: set[str] | None = None
) -> list[str]:
    """The /list answer (after ``first``, a line of its own) as messages under Telegram's
    length limit: 50 keywords of 100 characters, escaped, do not fit in one.  With
    ``usable`` (the chat's source slugs), a keyword naming another source says it is gone."""
    return pack_lines(([first] if first else []) + _list_lines(lang, queries, usable))


def _gone_note(lang: str, text: str, usable: set[str] | None) -> str:
    """What a keyword naming a source the chat can no longer use says in /list: it never
    matches when no source it applies in is left, else only that the source is gone."""
    if usable is None:
        return ""
    try:
        scope = parse_query(text).scope
    except QueryError:
        return ""
    gone = ", ".join(sorted(scope.names - usable))
    if not gone:
        return ""
    if scope.include and not scope.include & usable:
        return t(lang, "list_source_gone", names=gone)
    return t(lang, "list_source_gone_partly", names=gone)


def _list_lines(lang: str, queries: list[str], usable: set[str] | None) -> list[str]:
    if not queries:
        return [t(lang, "list_empty")]
    lines = [t(lang, "list_heading", count=len(queries))]
    for n, q in enumerate(queries, start=1):
        note = _gone_note(lang, q, usable)
        lines.append(f"{n}. {html.escape(q)}{html.escape(note)}")
    return lines


def list_markup(lang: str, queries: list[str]) -> InlineKeyboardMarkup | None:
    """The remove buttons under /list."""
    return buttons.list_keyboard(lang, [(q, stored_key(q) or q) for q in queries])
