"""StoryKeeper: the same-story rule (``bot.stories``, pure) kept over the store's headlines.

The poller hands the keeper every new headline inside the batch that stores it
(:meth:`StoryKeeper.file`): the keeper's :class:`~bot.stories.StoryIndex` gives it a story id
and the store keeps the row (``bot/store/stories.py``) with the headline, durably and at the
same moment.  At start (:meth:`StoryKeeper.load`) the rows of the last ``window_hours``
rebuild the index, so a report that arrives after a restart joins the story it belongs to;
headlines of the window with no row (a store written before stories were kept, or while
``[stories] enabled = false``) are filed then, in time order.

The index compares a report only with the reports of the window (bounded work per report,
see ``bot/stories/index.py``); which chats see a fold is delivery's business (a chat folds
only into a story it was already alerted to).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.config import StoriesSettings
from bot.models import Headline, utcnow
from bot.store import Store, StoreError
from bot.stories import Rule, StoryIndex

log = logging.getLogger(__name__)


def rule_from(settings: StoriesSettings) -> Rule:
    """The same-story rule with the ``[stories]`` thresholds."""
    return Rule(
        window_hours=settings.window_hours,
        title=settings.title_threshold,
        named=settings.named_threshold,
        summary=settings.summary_threshold,
    )


def placed_at(headline: Headline, now: datetime) -> datetime:
    """The time the rule places a report at: its published time, never after ``now``
    (a source's clock or time zone may be wrong; a report from the future would expire
    the whole window)."""
    published = headline.published
    return now if published is None or published > now else published


class StoryKeeper:
    """One :class:`StoryIndex` over every headline the bot stores; see the module docstring."""

    def __init__(self, store: Store, settings: StoriesSettings | None = None) -> None:
        self.settings = settings or StoriesSettings()
        self.store = store
        self.enabled = self.settings.enabled
        self.rule = rule_from(self.settings)
        self.index = StoryIndex(self.rule)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.settings.window_hours)

    def load(self, now: datetime | None = None, *, write: bool = True) -> int:
        """Rebuild the index from the store; file the window's headlines that have no story
        yet (their rows written unless ``write`` is false, e.g. a read-only store).  Returns
        how many reports the index holds."""
        if not self.enabled:
            return 0
        now = now or utcnow()
        since = now - self.window
        for hid, story, when in self.store.story_rows(since):
            headline = self.store.headline(hid)
            if headline is None:
                continue
            members = self.store.story_members(story)
            self.index.restore(
                key=hid, story_id=story, when=when, source=headline.source,
                title=headline.title, summary=headline.summary, link=headline.link,
                lead=members[0] if members else hid,
            )
        self.index.number_from(self.store.story_top() + 1)
        unfiled = [h for h in self.store.headlines_since(since)
                   if self.store.story_of(h.id) is None]
        if unfiled:
            rows = self._add(unfiled, now)
            if write:
                try:
                    self.store.set_stories(rows)
                except StoreError as exc:
                    log.error("stories of %d stored headlines not kept: %s", len(rows), exc)
            log.info("stories: %d headlines of the last %g h filed", len(rows),
                     self.settings.window_hours)
        return len(self.index)

    def file(self, headlines: Iterable[Headline], now: datetime) -> dict[str, str]:
        """Give each new headline its story and write the rows (call it inside the store
        batch that adds the headlines); returns headline id -> story id."""
        if not self.enabled:
            return {}
        rows = self._add(list(headlines), now)
        if rows:
            self.store.set_stories(rows)
        return {hid: story for hid, story, _ in rows}

    def _add(self, headlines: list[Headline], now: datetime) -> list[tuple[str, str, float]]:
        placed = sorted(((placed_at(h, now), n, h) for n, h in enumerate(headlines)),
                        key=lambda t: (t[0], t[1]))
        rows = []
        for when, _, headline in placed:
            story = self.index.add(headline, key=headline.id, when=when)
            rows.append((headline.id, story, when.timestamp()))
        return rows

    def story_of(self, headline_id: str) -> str | None:
        return self.store.story_of(headline_id) if self.enabled else None


def story_headlines(store: Store, story_id: str) -> list[Headline]:
    """The stored headlines of a story, in the order they were filed."""
    found = (store.headline(hid) for hid in store.story_members(story_id))
    return [h for h in found if h is not None]
