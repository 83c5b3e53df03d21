"""Sources a chat chooses: /sources, /addsource, /removesource and their buttons.

* ``/sources``: the operator's sources, then the chat's own (only this chat sees them), each
  with its short name and about how many headlines a day it brings; buttons "Follow all" (a
  whole-source follow, ``source:<slug>``, through /follow's own path) and, for the chat's own,
  "Remove", which asks first: its row becomes "Yes, remove" and "Keep" (the toast says
  which keywords would go with it).
* ``/addsource <url>``: ``bot.chat_sources.add_source`` checks the URL at once (fetched under
  the ``STRICT`` policy, parsed, autodiscovery); the reply says what was found, or why not.
  A page naming several feeds gets one button per feed; the choice is kept in memory
  (``bot_data``, the newest ``CHOICES_KEPT``), and a button of a forgotten choice says so.
* ``/removesource <name>``: ``remove_source``, saying which keywords naming it went too.

In groups only administrators add or remove (the button presses are checked the same way by
``bot.handlers.buttons``).  The callback data is in ``bot.buttons``.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections import OrderedDict
from datetime import timedelta

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from bot import buttons as keyboards
from bot.chat_sources import AddOutcome, Candidate, add_source, queries_scoped_to, remove_source
from bot.delivery.lengths import cut_text
from bot.handlers.replies import pack_lines, redraw, shown
from bot.handlers.request import Request, for_chat
from bot.handlers.subscriptions import follow_text
from bot.sources import SourceState
from bot.sources.registry import SourceEntry
from bot.store import StoreError

log = logging.getLogger(__name__)

RATE_DAYS = 3  # headlines a day are counted over this many days
MAX_SOURCE_ROWS = 30  # rows of buttons under /sources
CHOICES_KEPT = 500  # pages whose feeds a chat is choosing among, kept in memory
CHOICES_KEY = "feed_choices"
DETAIL_CHARS = 160
LABEL_CHARS = 40


# -------------------------------------------------------------------------------- /sources


@for_chat()
async def sources_command(request: Request) -> None:
    """/sources: what this chat can name in ``source:``, with buttons."""
    lines, markup = sources_view(request)
    await request.reply_all(pack_lines(lines), markup=markup)


def sources_view(
    request: Request, confirming: str | None = None
) -> tuple[list[str], InlineKeyboardMarkup | None]:
    """The /sources message, line by line, and its buttons (the row of the chat's own source
    ``confirming`` asking whether to remove it)."""
    core = request.core
    registry, chat_id = core.registry, request.chat.id
    operators, own = registry.operators(), registry.own(chat_id)
    rates = _rates(request, [*operators, *own])
    lines = [request.t("sources_list_heading" if operators or own else "sources_none")]
    lines += [_line(request, entry, rates) for entry in operators]
    settings = core.settings.chat_sources
    if own:
        lines.append(request.t("sources_own_heading", count=len(own), limit=settings.per_chat))
        lines += [_line(request, entry, rates) for entry in own]
    lines.append(request.t("sources_add_hint" if settings.enabled else "sources_off_hint"))
    with_buttons = [*operators, *own]
    if len(with_buttons) > MAX_SOURCE_ROWS:  # the chat's own first: only they can be removed
        with_buttons = [*own, *operators][:MAX_SOURCE_ROWS]
        lines.append(request.t("sources_more_buttons", count=MAX_SOURCE_ROWS))
    return lines, _keyboard(request, with_buttons, confirming)


def _line(request: Request, entry: SourceEntry, rates: dict[str, str]) -> str:
    return request.t(
        "sources_line", title=html.escape(entry.title or entry.slug),
        slug=html.escape(entry.slug), rate=rates[entry.slug],
    )


def _rates(request: Request, entries: list[SourceEntry]) -> dict[str, str]:
    """About how many headlines a day each source brought, over the last ``RATE_DAYS`` (or
    since it was first polled, if later); "new" for one polled under an hour."""
    core = request.core
    now = core.clock()
    counts = core.store.headline_counts(now - timedelta(days=RATE_DAYS))
    out = {}
    for entry in entries:
        count = counts.get(entry.slug, 0) + (counts.get(entry.name, 0) if entry.name else 0)
        since = SourceState.from_dict(core.store.source_state(entry.state_name)).watching_since
        age = (now - since) if since is not None else timedelta(0)
        if age < timedelta(hours=1):
            out[entry.slug] = request.t("sources_rate_new")
            continue
        days = min(max(age / timedelta(days=1), 1.0), RATE_DAYS)
        out[entry.slug] = request.t("sources_rate", count=round(count / days))
    return out


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _keyboard(request: Request, entries: list[SourceEntry],
              confirming: str | None = None) -> InlineKeyboardMarkup | None:
    rows = []
    for entry in entries:
        if entry.own and entry.slug == confirming:
            rows.append(_confirm_row(request, entry.slug))
            continue
        row = [InlineKeyboardButton(
            _label(request.t("button_follow_all", name=entry.slug)),
            callback_data=f"{keyboards.FOLLOW_SOURCE}:{entry.slug}",
        )]
        if entry.own:
            row.append(InlineKeyboardButton(
                _label(request.t("button_remove_source", name=entry.slug)),
                callback_data=f"{keyboards.REMOVE_SOURCE}:{entry.slug}",
            ))
        rows.append(row)
    return InlineKeyboardMarkup(rows) if rows else None


def _confirm_row(request: Request, slug: str) -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(_label(request.t("button_confirm_remove", name=slug)),
                             callback_data=f"{keyboards.CONFIRM_REMOVE_SOURCE}:{slug}"),
        InlineKeyboardButton(_label(request.t("button_keep_source", name=slug)),
                             callback_data=f"{keyboards.KEEP_SOURCE}:{slug}"),
    ]


# ------------------------------------------------------------------------------ /addsource


@for_chat(admins_only=True)
async def addsource(request: Request) -> None:
    """/addsource <url>: check the feed (or the page naming one) and add it to this chat."""
    settings = request.core.settings.chat_sources
    url = request.text.strip()
    if not settings.enabled:
        await request.reply(request.t("addsource_refused_disabled"))
        return
    if not url:
        await request.reply(request.t("addsource_usage", limit=settings.per_chat))
        return
    outcome = await add_source(request.core, request.chat.id, url)
    await answer_outcome(request, outcome)


async def answer_outcome(request: Request, outcome: AddOutcome) -> None:
    """Say what an add did: added, a choice to make (buttons), or why not."""
    entry = outcome.entry
    if outcome.status == "added" and entry is not None:
        log.info("chat %s added source %s%s", request.chat.id, entry.slug,
                 " (shared)" if outcome.shared else "")
        text = request.t(
            "addsource_added", title=html.escape(entry.title), slug=html.escape(entry.slug),
            count=outcome.headlines,
        )
        await request.reply(text)  # a shared feed reads as any other: no word of other chats
        return
    if outcome.status == "choose":
        token = _keep_choice(request, outcome.candidates)
        await request.reply(
            request.t("addsource_choose", count=len(outcome.candidates)),
            markup=_choice_keyboard(token, outcome.candidates),
        )
        return
    await request.reply(refusal_text(request, outcome))


def refusal_text(request: Request, outcome: AddOutcome) -> str:
    """An add's refusal, worded for the chat (every reason in ``REASONS`` has its text)."""
    detail = outcome.detail
    detail = detail if len(detail) <= DETAIL_CHARS else detail[: DETAIL_CHARS - 1] + "…"
    entry = outcome.entry
    return request.t(
        f"addsource_refused_{outcome.reason}",
        detail=html.escape(detail) or "-",
        limit=request.core.settings.chat_sources.per_chat,
        title=html.escape(entry.title if entry else ""),
        slug=html.escape(entry.slug if entry else ""),
    )


def _choices(request: Request) -> OrderedDict[str, tuple[int, tuple[Candidate, ...]]]:
    kept = request.context.bot_data.get(CHOICES_KEY)
    if not isinstance(kept, OrderedDict):
        kept = OrderedDict()
        request.context.bot_data[CHOICES_KEY] = kept
    return kept


def _keep_choice(request: Request, candidates: tuple[Candidate, ...]) -> str:
    kept = _choices(request)
    token = secrets.token_urlsafe(6)
    kept[token] = (request.chat.id, candidates)
    while len(kept) > CHOICES_KEPT:
        kept.popitem(last=False)
    return token


def _choice_keyboard(token: str, candidates: tuple[Candidate, ...]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(
            _label(candidate.title or candidate.url),
            callback_data=f"{keyboards.CHOOSE_FEED}:{token}:{number}",
        )]
        for number, candidate in enumerate(candidates)
    ])


# --------------------------------------------------------------------------- /removesource


@for_chat(admins_only=True)
async def removesource(request: Request) -> None:
    """/removesource <name>: remove one of this chat's own sources."""
    name = request.text.strip()
    own = request.core.registry.own(request.chat.id)
    if not own and _operator_slug(request, name) is None:
        await request.reply(request.t("removesource_none"))
        return
    if not name:
        await request.reply(request.t("removesource_usage", names=_slugs(own)))
        return
    await request.reply_all(pack_lines(removal_lines(request, name)))


def _operator_slug(request: Request, name: str) -> str | None:
    """The slug of the operator's source ``name`` names (only the operator changes it)."""
    folded = name.strip().removeprefix("source:").casefold()
    return folded if any(e.slug == folded for e in request.core.registry.operators()) else None


def _slugs(entries: list[SourceEntry]) -> str:
    return ", ".join(f"<code>{html.escape(e.slug)}</code>" for e in entries)


def removal_lines(request: Request, name: str) -> list[str]:
    """Remove the chat's own source ``name``; what to tell the chat."""
    core, chat_id = request.core, request.chat.id
    try:
        outcome = remove_source(core, chat_id, name)
    except StoreError as exc:
        log.error("chat %s: source %s not removed: %s", chat_id, name, exc)
        return [request.t("addsource_refused_unavailable")]
    entry = outcome.entry
    if entry is None:
        slug = _operator_slug(request, name)
        if slug is not None:
            return [request.t("removesource_operator", name=html.escape(slug))]
        return [request.t("removesource_unknown", name=shown(name),
                          names=_slugs(core.registry.own(chat_id)) or "-")]
    lines = [request.t("removesource_done", title=html.escape(entry.title),
                       slug=html.escape(entry.slug))]
    if outcome.removed_queries:
        queries = ", ".join(f"<code>{html.escape(q)}</code>" for q in outcome.removed_queries)
        lines.append(request.t("removesource_unfollowed", queries=queries))
    return lines


# -------------------------------------------------------------------------------- buttons


async def pressed(request: Request, callback: CallbackQuery, action: str, argument: str) -> str:
    """A press of a /sources or /addsource button (the admin rule already applied); the
    short answer to show (Telegram's toast)."""
    if action == keyboards.FOLLOW_SOURCE:
        await follow_text(request, f"source:{argument}")
        return ""
    if action == keyboards.REMOVE_SOURCE:
        return await _ask_to_remove(request, callback, argument)
    if action == keyboards.CONFIRM_REMOVE_SOURCE:
        if not _is_own(request, argument):
            await _redraw_sources(request, callback)
            return request.t("source_gone")
        await request.reply_all(pack_lines(removal_lines(request, argument)))
        await _redraw_sources(request, callback)
        return ""
    if action == keyboards.KEEP_SOURCE:
        await _redraw_buttons(request, callback)
        return request.t("source_kept", name=argument)
    return await _chosen(request, callback, argument)


async def _ask_to_remove(request: Request, callback: CallbackQuery, slug: str) -> str:
    """The first press of "Remove": its row asks "Yes, remove" / "Keep"; the toast names the
    keywords that would go with it."""
    core, chat_id = request.core, request.chat.id
    if not _is_own(request, slug):
        await _redraw_sources(request, callback)
        return request.t("source_gone")
    await _redraw_buttons(request, callback, confirming=slug)
    queries = queries_scoped_to(core, chat_id, slug)
    if not queries:
        return request.t("source_remove_ask", name=slug)
    named = cut_text(", ".join(queries), 90, sentence=False)
    return request.t("source_remove_ask_keywords", name=slug, count=len(queries),
                     queries=named)


def _is_own(request: Request, slug: str) -> bool:
    return any(entry.slug == slug for entry in request.core.registry.own(request.chat.id))


async def _chosen(request: Request, callback: CallbackQuery, argument: str) -> str:
    token, _, number = argument.rpartition(":")
    choice = _choices(request).get(token)
    if choice is None or choice[0] != request.chat.id or not number.isdigit():
        return request.t("addsource_choice_gone")
    candidates = choice[1]
    if int(number) >= len(candidates):
        return request.t("addsource_choice_gone")
    del _choices(request)[token]  # one choice per page: the other buttons are gone now
    candidate = candidates[int(number)]
    await _drop_buttons(callback)
    outcome = await add_source(request.core, request.chat.id, candidate.url,
                               title=candidate.title or None, discover_feeds=False)
    await answer_outcome(request, outcome)
    return ""


async def _drop_buttons(callback: CallbackQuery) -> None:
    try:
        await callback.edit_message_reply_markup(None)
    except BadRequest as exc:  # too old to edit: the buttons then answer "expired"
        log.info("could not remove the choice buttons: %s", exc)


async def _redraw_buttons(request: Request, callback: CallbackQuery,
                          confirming: str | None = None) -> None:
    """The /sources message's buttons again, the text as it is."""
    _, markup = sources_view(request, confirming)
    try:
        await callback.edit_message_reply_markup(markup)
    except BadRequest as exc:  # too old to edit, or pressed twice: nothing to change
        log.info("could not redraw the /sources buttons: %s", exc)


async def _redraw_sources(request: Request, callback: CallbackQuery) -> None:
    """The /sources message again after a removal (a long one keeps its text)."""
    if callback.message is None:
        return
    lines, markup = sources_view(request)
    await redraw(callback, pack_lines(lines), markup, "/sources")
