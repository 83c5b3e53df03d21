"""Same story, one alert, in delivery: which of a chat's fresh alerts fold into a message it
already has, and which are new messages, one entry per story.

:meth:`Folder.sort` looks up each fresh alert's story (``bot.story_keeper``):

* a story the chat was alerted to in the last ``window`` (a :class:`~bot.models.Post` of
  it, not ``gone``), reported by a source that message does not show yet (nor another
  report folded into it in this drain), folds into it: :meth:`Folder.edit_part` re-renders
  the message with the new reports among the "Also:" sources of the story's first entry, a
  :class:`Part` with ``edit`` set that the sender sends as ``editMessageText`` (no new
  message);
* a story whose message is ``gone`` (an earlier edit found it deleted or not editable):
  nothing is sent for the report;
* every other alert is grouped with the fresh alerts of the same story from other sources,
  the first one the entry's title and the rest its "Also:" links
  (:meth:`Folder.new_parts`); each new message carries the draft of its
  :class:`~bot.models.Post`, which the ledger stores with Telegram's message id once the
  message is confirmed.  A second report of one source is an entry, an alert, of its own:
  a source that writes again about its story usually has news.

Without stories (``[stories] enabled = false``) every alert is an entry of its own and no
post is kept: delivery is as it was before stories.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from telegram import InlineKeyboardMarkup

from bot.buttons import alert_keyboard, mute_keyboard
from bot.delivery.also import also_html
from bot.delivery.format import (
    PlainMatch,
    QueryText,
    render_alert,
    render_batch_message,
    render_batch_parts,
)
from bot.delivery.ledger import Part
from bot.matching import QueryError, parse_query
from bot.models import Alert, Chat, Headline, Post, PostEntry

__all__ = ["Entry", "Fold", "Folder", "markup_for", "matches_of"]

log = logging.getLogger("bot.delivery.outbox")

Pair = tuple[Alert, Headline]


@dataclass
class Entry:
    """One story in a new message: its fresh alerts, the first one the title."""

    story: str | None
    pairs: list[Pair] = field(default_factory=list)

    def post_entry(self) -> PostEntry | None:
        if self.story is None:
            return None
        lead = self.pairs[0][0]
        return PostEntry(self.story, tuple(a.headline_id for a, _ in self.pairs), lead.queries)


@dataclass
class Fold:
    """Fresh alerts of stories a message already shows: they edit it."""

    post: Post
    pairs: list[Pair] = field(default_factory=list)


class Folder:
    """Sorts and renders a chat's fresh alerts by story; see the module docstring."""

    def __init__(self, store: Any, *, story_of: Callable[[str], str | None],
                 window: timedelta, max_sources: int, summary_chars: int) -> None:
        self.store = store
        self.story_of = story_of
        self.window = window
        self.max_sources = max_sources
        self.summary_chars = summary_chars

    def sort(self, chat_id: int, fresh: Sequence[Pair], now: datetime
             ) -> tuple[list[Fold], list[Alert], list[Entry]]:
        """(folds into existing messages, alerts of a gone message, new entries)."""
        folds: dict[str, Fold] = {}
        gone: list[Alert] = []
        entries: dict[str, Entry] = {}
        for alert, headline in fresh:
            story = self.story_of(headline.id)
            post = self.store.post_of_story(chat_id, story) if story is not None else None
            if post is not None and (_holds(post, headline.id) or (
                    post.sent >= now - self.window
                    and self._folds(post, story, headline, folds.get(post.key)))):
                if post.gone:
                    gone.append(alert)
                else:
                    folds.setdefault(post.key, Fold(post)).pairs.append((alert, headline))
                continue
            key = story if story is not None else f"#{headline.id}"
            entry = entries.get(key)
            if entry is not None and headline.source in {h.source for _, h in entry.pairs}:
                key = f"{key}#{headline.id}"  # a source's second report: its own entry
            entries.setdefault(key, Entry(story)).pairs.append((alert, headline))
        return list(folds.values()), gone, list(entries.values())

    def _folds(self, post: Post, story: str | None, headline: Headline,
               fold: Fold | None) -> bool:
        """The report, of a source neither the post shows nor a report of the story folded
        into it in this drain, edits ``post``."""
        folded = {h.source for _, h in fold.pairs
                  if self.story_of(h.id) == story} if fold is not None else set()
        return headline.source not in self._sources(post, story) | folded

    def _sources(self, post: Post, story: str | None) -> set[str]:
        """The sources whose reports of ``story`` the post shows."""
        found: set[str] = set()
        for entry in post.entries:
            if entry.story == story:
                found.update(h.source for hid in entry.headlines
                             if (h := self.store.headline(hid)) is not None)
        return found

    # ------------------------------------------------------------------ new messages

    def new_parts(self, chat: Chat, entries: list[Entry], *, tz: tzinfo, lang: str,
                  now: datetime) -> list[Part]:
        """The messages of the new entries, each with the draft of its post."""
        items = [(e.pairs[0][1], matches_of(e.pairs[0][0].queries, e.pairs[0][1]))
                 for e in entries]
        also = [self._also(e.pairs[0][1], [h for _, h in e.pairs[1:]], lang) for e in entries]
        rendered = render_batch_parts(items, summary_chars=self.summary_chars, tz=tz,
                                      lang=lang, also=also)
        kind = "alert" if len(entries) == 1 else "batch"
        markup = markup_for(chat.kind, lang, items[0][1] if kind == "alert" else None)
        parts = []
        for number, (text, indices) in enumerate(rendered, start=1):
            shown = [pe for i in indices if (pe := entries[i].post_entry()) is not None]
            draft = Post(chat.id, 0, kind, tuple(shown), sent=now, number=number,
                         parts=len(rendered), total=len(entries)) if shown else None
            parts.append(Part(
                [a for i in indices for a, _ in entries[i].pairs], [text],
                preview=kind == "alert", markup=markup, post=draft,
            ))
        return parts

    def _also(self, lead: Headline, others: Sequence[Headline], lang: str) -> str:
        return also_html(lead, others, max_sources=self.max_sources, lang=lang)

    # ------------------------------------------------------------------ edits

    def edit_part(self, chat: Chat, fold: Fold, *, tz: tzinfo, lang: str) -> Part | str:
        """The edit that adds the fold's reports to its message; or why there is none:
        ``"folded"`` (the message would not change; an edit whose outcome was unknown is
        sent again all the same) or
        ``"anew"`` (the message cannot be rendered again, a lead gone or no room even for
        "+N more": the reports are sent as new alerts, :meth:`anew`)."""
        post = fold.post
        added: dict[str, list[str]] = {}
        for alert, headline in fold.pairs:
            story = self.story_of(headline.id)
            if story is not None:
                added.setdefault(story, []).append(alert.headline_id)
        entries = list(post.entries)
        for story, ids in added.items():  # to the story's first entry only
            at = next((i for i, e in enumerate(entries) if e.story == story), None)
            if at is not None:
                new = tuple(h for h in ids if not _holds(post, h))
                entries[at] = replace(entries[at], headlines=entries[at].headlines + new)
        updated = replace(post, entries=tuple(entries))
        before = self.render_post(chat, post, tz, lang)
        after = self.render_post(chat, updated, tz, lang, shrink_first=frozenset(added))
        if after is None:
            log.warning("chat %s: message %s cannot show %d more report(s); sent anew",
                        chat.id, post.message_id, len(fold.pairs))
            return "anew"
        retried = any(_holds(post, a.headline_id) for a, _ in fold.pairs)
        if before is not None and before[0] == after[0] and not retried:
            return "folded"
        text, markup = after
        return Part([a for a, _ in fold.pairs], [text], preview=post.kind == "alert",
                    markup=markup, post=updated, edit=True)

    def anew(self, fold: Fold) -> tuple[list[Entry], list[Alert]]:
        """The fold's reports as new entries, one per story, when their message cannot
        show them: better a new alert than a report lost; and the alerts of reports the
        message holds already (an edit whose answer was lost): no second message for them."""
        entries: dict[str | None, Entry] = {}
        held = [a for a, _ in fold.pairs if _holds(fold.post, a.headline_id)]
        for alert, headline in fold.pairs:
            if alert in held:
                continue
            story = self.story_of(headline.id)
            entries.setdefault(story, Entry(story)).pairs.append((alert, headline))
        return list(entries.values()), held

    def render_post(self, chat: Chat, post: Post, tz: tzinfo, lang: str, *,
                    shrink_first: frozenset[str] = frozenset()
                    ) -> tuple[str, InlineKeyboardMarkup | None] | None:
        """The text and buttons of the message ``post`` describes; None if a lead headline
        is gone or it no longer fits even with one "Also:" link, then none ("+N more"): the
        "Also:" of the stories ``shrink_first`` (those an edit adds to) first, then all."""
        items, reports = [], []
        for entry in post.entries:
            headlines = [self.store.headline(h) for h in entry.headlines]
            lead = headlines[0]
            if lead is None:
                return None
            items.append((lead, matches_of(entry.queries, lead)))
            reports.append((lead, [h for h in headlines[1:] if h is not None]))
        if post.kind == "alert":
            (lead, matches), = items
            markup = markup_for(chat.kind, lang, matches)
            text = render_alert(lead, matches, summary_chars=self.summary_chars, tz=tz,
                                lang=lang, also=self._also(*reports[0], lang))
            return text, markup
        for shown in self._shrinking(post, shrink_first):
            also = [also_html(lead, others, max_sources=n, lang=lang)
                    for (lead, others), n in zip(reports, shown, strict=True)]
            batch = render_batch_message(items, also, total=post.total, number=post.number,
                                         parts=post.parts, tz=tz, lang=lang)
            if batch is not None:
                return batch, markup_for(chat.kind, lang, None)
        return None

    def _shrinking(self, post: Post, first: frozenset[str]) -> list[tuple[int, ...]]:
        """How many "Also:" links each entry may show, try after try: all it has, then one,
        then none, for the entries of the stories ``first`` alone, then for every entry."""
        levels = sorted({self.max_sources, min(1, self.max_sources), 0}, reverse=True)
        tries = [tuple(n if e.story in first else self.max_sources for e in post.entries)
                 for n in levels]
        tries += [tuple(n for _ in post.entries) for n in levels]
        return list(dict.fromkeys(tries))


def _holds(post: Post, headline_id: str) -> bool:
    """The post shows ``headline_id`` already (stored when its edit was sent)."""
    return any(headline_id in entry.headlines for entry in post.entries)


def markup_for(kind: str, lang: str, matches: Sequence[Any] | None
               ) -> InlineKeyboardMarkup | None:
    """The buttons of a message in a chat of ``kind``: under one alert (its ``matches``),
    unfollow each matched query and mute; under a batch (None), mute only."""
    if kind == "channel":
        return None  # anyone in a channel could press them
    if matches is not None:
        keyed = [(m.query.text, m.query.key) for m in matches if _has_key(m)]
        return alert_keyboard(lang, keyed)
    return mute_keyboard(lang)


def _has_key(match: Any) -> bool:
    """A real ``Match`` (not the plain stand-in used when re-matching failed)."""
    return isinstance(getattr(getattr(match, "query", None), "key", None), str)


def matches_of(queries: Sequence[str], headline: Headline) -> list[Any]:
    """The queries re-run on the headline, for the spans to bold."""
    out: list[Any] = []
    for text in queries:
        try:
            found = parse_query(text).find(headline.title, headline.summary)
        except QueryError:
            found = None
        except Exception:  # a matcher bug must not stop delivery
            log.exception("re-matching %r failed", text)
            found = None
        out.append(found if found is not None else PlainMatch(QueryText(text)))
    return out
