"""Inline mode: ``@bot nexperia`` in any chat lists the newest matching headlines.

Answered from memory (the headlines the bot has seen), with the query language of /follow;
an empty query lists the newest headlines; a story reported by several sources is one result
(its newest report), whose posted message links the other sources too ("Also: ...").
Results are the same for everyone (``is_personal`` false, worded in the default language)
and cached briefly by Telegram. An invalid query gets no results and a button, in the
asker's language (that answer is personal), that opens the private chat, where /start
explains the rules.
"""

from __future__ import annotations

import hashlib

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode

from bot.core import BotContext
from bot.delivery.format import render_post
from bot.delivery.lengths import cut_text
from bot.handlers.one_story import OneStoryEach
from bot.handlers.subscriptions import source_of, visible_filter
from bot.handlers.wording import query_reason
from bot.i18n import DEFAULT, language_for, t
from bot.matching import QueryError, parse_query
from bot.models import Headline

#: Results per answer (Telegram allows 50).
INLINE_RESULTS = 10
#: Seconds Telegram may reuse an answer for the same query.
INLINE_CACHE_SECONDS = 30
#: The /start payload of the "how to search" button.
HELP_PAYLOAD = "inline-help"
#: A chat id no source belongs to: inline answers show only the operator's sources.
NO_CHAT = 0


async def inline_query(update: Update, context: BotContext) -> None:
    """``@bot <query>``: the newest headlines that match, as inline results."""
    inline = update.inline_query
    if inline is None:
        return
    lang = language_for(None, inline.from_user.language_code if inline.from_user else None)
    text = inline.query.strip()
    core = context.core
    # Results are the same for everyone, so no chat's own sources are among them.
    public = visible_filter(core.registry, NO_CHAT)
    if not text:
        once = OneStoryEach(core.stories, public)
        headlines = core.store.latest(INLINE_RESULTS, once)
    else:
        try:
            query = parse_query(text)
        except QueryError as exc:
            await inline.answer(
                [], cache_time=INLINE_CACHE_SECONDS, is_personal=True,
                button=InlineQueryResultsButton(
                    text=t(lang, "inline_bad_query", reason=cut_text(
                        query_reason(lang, exc), 60, sentence=False))[:64],
                    start_parameter=HELP_PAYLOAD,
                ),
            )
            return
        registry = core.registry

        def wanted(h: Headline) -> bool:
            if not public(h):
                return False
            return query.find_in(h.title, h.summary, source_of(registry, h)) is not None

        once = OneStoryEach(core.stories, wanted)
        headlines = core.store.search(query, INLINE_RESULTS, once)
    # shared by everyone who types the same query: not in the asker's language
    also = once.also(core.store, headlines, max_sources=core.settings.stories.max_sources,
                     lang=DEFAULT)
    await inline.answer(
        [inline_result(h, a) for h, a in zip(headlines, also, strict=True)],
        cache_time=INLINE_CACHE_SECONDS,
        is_personal=False,
    )


def inline_result(headline: Headline, also: str = "") -> InlineQueryResultArticle:
    """One headline as an inline result: title, source and time, a line of summary; the
    message it posts carries ``also``, the story's other sources."""
    when = f"{headline.published:%d %b %H:%M} UTC" if headline.published else ""
    description = " · ".join(p for p in (headline.source, when) if p)
    if headline.summary:
        description += "\n" + cut_text(headline.summary, 120, sentence=False)
    return InlineQueryResultArticle(
        id=result_id(headline),
        title=cut_text(headline.title or "(untitled)", 200, sentence=False),
        description=description,
        url=headline.link if headline.link.startswith(("https://", "http://")) else None,
        input_message_content=InputTextMessageContent(
            render_post(headline, also=also),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=False),
        ),
    )


def result_id(headline: Headline) -> str:
    """A result id of at most 64 bytes that names the headline."""
    return hashlib.sha256(headline.id.encode("utf-8")).hexdigest()[:32]
