"""An OPML file's feeds added to a chat, up to its limit: what was added, what it had already,
what was refused and why.

``import_feeds(services, chat_id, document)`` hands each feed to ``add_source`` (the one way
a chat's sources change), a few at once, in the file's order of preference: while the chat
has room for k more, the next k feeds are tried; those left once the chat is full are refused
``limit_reached`` without being fetched.  At most ``tries(per_chat)`` feeds are fetched in all,
so a file of thousands of dead addresses costs a few dozen fetches, not thousands (the rest
are refused ``not_tried``); feeds the chat or the operator has, and shared feeds joined
without a fetch, use up no tries.  Every add commits alone (one journal record), so an
import stopped at any moment -- kill -9 included -- leaves each feed either added whole or
not at all, and the next import of the same file counts the added ones as already there.

No Telegram here: ``bot.handlers.opml`` downloads the file and words the report.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bot.chat_sources.add import AddOutcome, Services, add_source, normalize_url
from bot.chat_sources.opml import OpmlDocument, OpmlFeed
from bot.sources.registry import SourceEntry, url_key

__all__ = ["CONCURRENCY", "NOT_TRIED", "ImportReport", "import_feeds", "tries"]

CONCURRENCY = 4  # feeds checked at once (each is one fetch, under the fetcher's own limits)
#: a page (an outline with an htmlUrl only) naming several feeds: the chat picks with
#: /addsource, an import cannot ask
SEVERAL_FEEDS = "several_feeds"
#: left unfetched: the import had tried as many feeds as it may
NOT_TRIED = "not_tried"


def tries(per_chat: int) -> int:
    """How many of a file's feeds one import fetches at most: twice the chat's limit, and
    never fewer than 10 (room for some dead addresses in a file of good ones)."""
    return max(10, 2 * per_chat)


@dataclass
class ImportReport:
    """What an import did, feed by feed, in the file's order within each group."""

    added: list[tuple[OpmlFeed, SourceEntry]] = field(default_factory=list)
    already: list[OpmlFeed] = field(default_factory=list)
    refused: dict[str, list[OpmlFeed]] = field(default_factory=dict)  # reason -> feeds
    duplicates: int = 0  # listed twice in the file (counted once)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.already) + sum(map(len, self.refused.values()))

    def refuse(self, reason: str, feed: OpmlFeed) -> None:
        self.refused.setdefault(reason, []).append(feed)


def _own_keys(services: Services, chat_id: int) -> set[str]:
    """The URLs the chat has already: its own sources and the operator's."""
    registry = services.registry
    return {url_key(entry.url) for entry in registry.own(chat_id) + registry.operators()}


def _key(feed: OpmlFeed) -> str:
    return url_key(normalize_url(feed.url) or feed.url)


def _given_title(feed: OpmlFeed) -> str | None:
    """The outline's own name, or None when the parser fell back to the host's."""
    return None if feed.title == (urlsplit(feed.url).hostname or "") else feed.title


async def import_feeds(
    services: Services, chat_id: int, document: OpmlDocument, *, concurrency: int = CONCURRENCY
) -> ImportReport:
    """Add ``document``'s feeds to the chat's own sources, up to its limit."""
    report = ImportReport(duplicates=document.duplicates)
    for skipped in document.skipped:
        report.refuse("bad_url", OpmlFeed(url=skipped.url, title=skipped.title))
    have = _own_keys(services, chat_id)
    pending: list[OpmlFeed] = []
    for feed in document.feeds:
        (report.already if _key(feed) in have else pending).append(feed)
    slots = asyncio.Semaphore(max(1, concurrency))

    async def add(feed: OpmlFeed) -> AddOutcome:
        async with slots:
            return await add_source(
                services, chat_id, feed.url, title=_given_title(feed),
                discover_feeds=feed.page_only,
            )

    limit = services.settings.chat_sources.per_chat
    left = tries(limit)
    while pending:
        room = limit - len(services.registry.own(services.registry.current(chat_id)))
        if room <= 0 or left <= 0:
            for feed in pending:
                report.refuse("limit_reached" if room <= 0 else NOT_TRIED, feed)
            break
        batch, pending = pending[: min(room, left)], pending[min(room, left) :]
        outcomes = await asyncio.gather(*(add(feed) for feed in batch))
        left -= sum(outcome.fetched for outcome in outcomes)
        _file(report, batch, outcomes)
    return report


def _file(report: ImportReport, feeds: Sequence[OpmlFeed], outcomes: Sequence[AddOutcome]) -> None:
    for feed, outcome in zip(feeds, outcomes, strict=True):
        if outcome.status == "added" and outcome.entry is not None:
            report.added.append((feed, outcome.entry))
        elif outcome.reason == "already_added":
            report.already.append(feed)
        elif outcome.status == "choose":
            report.refuse(SEVERAL_FEEDS, feed)
        else:
            report.refuse(outcome.reason or "unreachable", feed)
