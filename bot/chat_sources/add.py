"""Adding a source to a chat, and removing it: the one way both ``/addsource`` and an OPML
import go.

``add_source(services, chat_id, url)`` checks the URL at once: it fetches it under
``STRICT`` (public addresses only, or ``[polling] allow_hosts``; the same caps, timeouts and
redirect rules as every fetch), reads what came back (``discover``), follows a page's one feed
link, or asks the chat to choose among several, and answers with an :class:`AddOutcome`.  A
URL another chat added already is shared (one entry, one fetch per interval) without a fetch.

What is stored, in ONE journal commit, or not at all: the registry entry, the source's poll
state as after a first poll, and the headlines found (recorded, nobody alerted: the first poll
only records).  The registry in memory changes only after that commit, and nothing is awaited
between the last check of the chat's limit and the commit, so two adds racing (two chats, the
same URL; an OPML import beside ``/addsource``) cannot overshoot a limit or make two entries.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from bot.chat_sources.discover import Candidate, Discovery, discover
from bot.chat_sources.own import renamed
from bot.config import Settings
from bot.matching import MatchIndex, QueryError, parse_query
from bot.sources import SourceState
from bot.sources.feeds import ParseReport
from bot.sources.fetch import (
    BodyTooLarge,
    Fetcher,
    FetchError,
    FetchRefused,
    FetchResponse,
    TooManyRedirects,
)
from bot.sources.netguard import STRICT
from bot.sources.pace import merge_hints
from bot.sources.registry import CHAT, Registry, SourceEntry, url_key
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

__all__ = [
    "REASONS",
    "AddOutcome",
    "Candidate",
    "RemoveOutcome",
    "Services",
    "add_source",
    "normalize_url",
    "remove_source",
]

#: Why an add is refused (each has its reply ``addsource_refused_<reason>`` in ``bot.i18n``)
REASONS = (
    "not_a_feed", "unreachable", "too_large", "redirect_loop", "forbidden_address",
    "limit_reached", "already_added", "disabled", "bad_url", "url_too_long", "unavailable",
)
MAX_URL_CHARS = 2000
MAX_TITLE_CHARS = 64


class Services(Protocol):
    """What adding and removing need (``bot.core.Core`` is one)."""

    settings: Settings
    store: Store
    index: MatchIndex
    registry: Registry
    fetcher: Fetcher | None

    @property
    def clock(self) -> Callable[[], datetime]: ...  # read only: Core's is a dataclass field


@dataclass(frozen=True, slots=True)
class AddOutcome:
    status: str  # "added" | "choose" | "refused"
    entry: SourceEntry | None = None  # added; already_added: the source that has this URL
    headlines: int = 0  # added: items the check found (shared: the last poll's count)
    candidates: tuple[Candidate, ...] = ()  # choose: the feeds the page names
    reason: str | None = None  # refused: one of REASONS
    detail: str = ""  # refused: plain English (the fetch error, ...), for logs and replies
    shared: bool = False  # added: the URL was polled for another chat already (no fetch)
    fetched: bool = False  # the add fetched the URL (an import counts its tries by this)

    @property
    def ok(self) -> bool:
        return self.status == "added"


def refused(reason: str, detail: str = "", entry: SourceEntry | None = None) -> AddOutcome:
    assert reason in REASONS, reason
    return AddOutcome("refused", entry=entry, reason=reason, detail=detail)


@dataclass(frozen=True, slots=True)
class RemoveOutcome:
    entry: SourceEntry | None  # None: the chat has no own source of that name
    removed_queries: tuple[str, ...] = ()  # the chat's keywords scoped to it alone, unfollowed


#: what a typed address without a scheme starts with: a host name with a dot, or an IP
_HOSTLIKE = re.compile(r"(?:[\w-]+\.)+[\w-]+(?::\d+)?(?:[/?#]|$)|\[[0-9a-fA-F:.]+\]|localhost\b")


def _host_ok(host: str) -> bool:
    """A host a URL may name: an IP address, or a name of letters, digits, hyphens and dots
    (in any script, as IDNA encodes it; an underscore, which some hosts have)."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    return re.fullmatch(r"[0-9a-z._-]+|[0-9a-f:.]+", ascii_host.lower()) is not None


def normalize_url(text: str) -> str | None:
    """A URL as typed (``technode.com/feed``, ``<https://...>``) -> ``https://technode.com/feed``;
    None when it is no http(s) URL of a host (or carries a user name or password)."""
    text = text.strip().strip("<>").strip()
    if not text or len(text) > MAX_URL_CHARS or any(c.isspace() for c in text):
        return None
    if "://" not in text and not _HOSTLIKE.match(text):
        return None  # 华为, <b>x</b>: words, not an address
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    if not _host_ok(host):
        return None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, ""))


# ---------------------------------------------------------------------------------- adding


@dataclass(frozen=True, slots=True)
class _Fetched:
    url: str  # the feed's URL, as it will be polled
    response: FetchResponse
    report: ParseReport  # what the feed holds (parsed as ``discover`` parses)
    title: str  # the best title known so far (the page's link title), may be ""


async def _fetch(fetcher: Fetcher, url: str) -> FetchResponse | AddOutcome:
    try:
        response = await fetcher.get(url, policy=STRICT)
    except FetchRefused as exc:
        return refused("forbidden_address", str(exc))
    except BodyTooLarge as exc:
        return refused("too_large", str(exc))
    except TooManyRedirects as exc:
        return refused("redirect_loop", str(exc))
    except FetchError as exc:
        return refused("unreachable", str(exc) or type(exc).__name__)
    except Exception as exc:  # a bug or a library surprise: still a clear refusal
        log.exception("checking %s failed unexpectedly", url)
        return refused("unreachable", f"unexpected {type(exc).__name__}")
    if response.status != 200:
        return refused("unreachable", f"HTTP {response.status}")
    return response


def _known(services: Services, chat_id: int, url: str) -> AddOutcome | None:
    """A refusal when the chat may not add ``url`` whatever it holds; None to go on."""
    registry = services.registry
    existing = registry.for_url(url)
    if existing is not None and chat_id in existing.chats:
        return refused("already_added", entry=existing)
    operator = next((e for e in registry.operators() if url_key(e.url) == url_key(url)), None)
    if operator is not None:
        return refused("already_added", entry=operator)
    limit = services.settings.chat_sources.per_chat
    if len(registry.own(chat_id)) >= limit:
        return refused("limit_reached", f"{limit} sources per chat")
    return None


async def add_source(
    services: Services,
    chat_id: int,
    url: str,
    *,
    title: str | None = None,
    discover_feeds: bool = True,
) -> AddOutcome:
    """Add the feed at ``url`` (or the one feed the page at ``url`` names) to the chat's own
    sources.  ``title``: a name to use (an OPML outline's); ``discover_feeds=False``: the URL
    must be a feed itself (an OPML import).  Never raises on bad input or network trouble."""
    if not services.settings.chat_sources.enabled:
        return refused("disabled")
    chat_id = services.registry.current(chat_id)
    normal = normalize_url(url)
    if normal is None:
        if len(url.strip()) > MAX_URL_CHARS:
            return refused("url_too_long", f"{len(url.strip()):,} characters")
        return refused("bad_url", url[:100] + ("…" if len(url) > 100 else ""))
    early = _known(services, chat_id, normal)
    if early is not None:
        return early
    shared = services.registry.for_url(normal)
    if shared is not None and shared.chats and not _failing(services, shared):
        return _join(services, chat_id, shared)
    if services.fetcher is None:
        return refused("unreachable", "the bot is not polling yet")
    found = await _check(services.fetcher, normal, discover_feeds)
    if not isinstance(found, _Fetched):
        return replace(found, fetched=True)
    return replace(_commit(services, chat_id, found, title), fetched=True)


def _failing(services: Services, entry: SourceEntry) -> bool:
    """Did the last poll of the shared ``entry`` fail?  Then a chat joining it is checked
    like a first one (fetched): it is told now if the feed is gone, not a day later."""
    return int(services.store.source_state(entry.state_name).get("failures") or 0) > 0


async def _check(fetcher: Fetcher, url: str, discover_feeds: bool) -> _Fetched | AddOutcome:
    """Fetch ``url``; a feed, or a page's one feed (fetched too), or a choice, or a refusal."""
    response = await _fetch(fetcher, url)
    if isinstance(response, AddOutcome):
        return response
    found = await _discover(response)
    if found.kind == "feed" and found.report is not None:
        return _Fetched(url, response, found.report, "")
    if found.kind == "none" or not discover_feeds:
        detail = found.detail if found.kind == "none" else "a web page, not a feed"
        return refused("not_a_feed", detail)
    if len(found.candidates) > 1:
        return AddOutcome("choose", candidates=found.candidates)
    return await _fetch_candidate(fetcher, found)


async def _fetch_candidate(fetcher: Fetcher, page: Discovery) -> _Fetched | AddOutcome:
    candidate = page.candidates[0]
    response = await _fetch(fetcher, candidate.url)
    if isinstance(response, AddOutcome):
        return response
    found = await _discover(response)
    if found.kind != "feed" or found.report is None:
        return refused("not_a_feed", f"the page names {candidate.url}, which is not a feed")
    return _Fetched(candidate.url, response, found.report, candidate.title)


async def _discover(response: FetchResponse) -> Discovery:
    """``discover`` in a worker thread: a 300 kB feed takes feedparser ~240 ms, which the
    event loop (other chats' replies, polls, delivery) must not wait for."""
    return await asyncio.to_thread(
        discover, response.body, response.url, response.content_type
    )


def _join(services: Services, chat_id: int, entry: SourceEntry) -> AddOutcome:
    """Add the chat (its id as now: the callers resolve it) to a source other chats use
    already: one entry, one fetch."""
    joined = replace(entry, chats=entry.chats | {chat_id})
    try:
        services.store.put_registry_entry(joined.slug, joined.to_dict())
    except StoreError as exc:
        return refused("unavailable", str(exc))
    services.registry.put(joined)
    items = int(services.store.source_state(entry.state_name).get("last_items") or 0)
    return AddOutcome("added", entry=joined, headlines=items, shared=True)


def _title(given: str | None, feed_title: str, link_title: str, url: str) -> str:
    """The feed's own title first: other chats that add the URL later share the entry and
    its name, which must not be one a chat chose (an OPML outline's, ``given``)."""
    for text in (feed_title, given, link_title, urlsplit(url).hostname or url):
        text = " ".join((text or "").split())
        if text:
            return text[:MAX_TITLE_CHARS]
    return url[:MAX_TITLE_CHARS]


def _first_state(services: Services, response: FetchResponse, ids: list[str],
                 hints: dict[str, float], now: datetime) -> SourceState:
    """The source's state as after a first successful poll made ``now``."""
    interval = services.settings.polling.interval_seconds
    return SourceState(
        etag=response.etag,
        last_modified=response.last_modified,
        last_status=response.status,
        last_ids=ids,
        polls=1,
        last_success_at=now,
        last_items=len(ids),
        hints=merge_hints({}, headers=response.hints(now), feed=hints),
        watching_since=now,
        next_poll_at=now + timedelta(seconds=interval),
    )


def _commit(
    services: Services, chat_id: int, found: _Fetched, given: str | None
) -> AddOutcome:
    """Checks again (the fetch took time: the chat may even have a new id), then stores
    everything in one commit."""
    chat_id = services.registry.current(chat_id)
    again = _known(services, chat_id, found.url)
    if again is not None:
        return again
    registry = services.registry
    existing = registry.for_url(found.url)
    if existing is not None and existing.chats:
        return _join(services, chat_id, existing)  # another chat added it meanwhile
    response, report = found.response, found.report
    now = services.clock()
    name = _title(given, report.title, found.title, found.url)
    slug = existing.slug if existing is not None else registry.new_slug(name, found.url)
    entry = SourceEntry(slug, found.url, name, CHAT, chats=frozenset({chat_id}))
    headlines = [replace(h, published=h.published or now) for h in renamed(entry, report.headlines)]
    state = _first_state(services, response, [h.id for h in headlines], report.hints, now)
    data = state.to_dict()
    data["config_url"] = entry.url
    store = services.store
    try:
        with store.batch():
            store.put_registry_entry(entry.slug, entry.to_dict())
            store.set_source_state(entry.state_name, data)
            store.add_headlines(headlines)
    except StoreError as exc:
        return refused("unavailable", str(exc))
    registry.put(entry)
    log.info("chat %s added source %s (%s): %d headlines", chat_id, slug, found.url,
             len(headlines))
    return AddOutcome("added", entry=entry, headlines=len(headlines))


# -------------------------------------------------------------------------------- removing


def find_own(registry: Registry, chat_id: int, name: str) -> SourceEntry | None:
    """The chat's own source named ``name``: its slug, its URL, or its title (any case)."""
    text = name.strip().removeprefix("source:")
    own = registry.own(chat_id)
    folded = text.casefold()
    for entry in own:
        if entry.slug == folded or entry.title.casefold() == folded:
            return entry
    normal = normalize_url(text)
    if normal is not None:
        key = url_key(normal)
        return next((e for e in own if url_key(e.url) == key), None)
    return None


def _only_in(text: str, slug: str, others: set[str]) -> bool:
    """Does the keyword apply in ``slug`` and in no source of ``others``?"""
    try:
        include = parse_query(text).scope.include
    except QueryError:
        return False
    return slug in include and not include & others


def queries_scoped_to(services: Services, chat_id: int, slug: str) -> tuple[str, ...]:
    """The chat's keywords that apply only in the source ``slug`` (among the sources the chat
    can use): removing the source takes them, as they would never match again.  A keyword
    that leaves it out (``AI -source:x``) or applies in another source too stays: it still
    matches what it did."""
    others = {e.slug for e in services.registry.visible(chat_id)} - {slug}
    return tuple(q for q in services.store.subscriptions(chat_id) if _only_in(q, slug, others))


def remove_source(services: Services, chat_id: int, name: str) -> RemoveOutcome:
    """Remove the chat's own source ``name`` and the chat's keywords scoped to it alone.  The source
    stays polled while another chat has it; with none left its poll state goes, and its entry
    stays as a tombstone (its slug never handed to another source; its stored headlines
    shown to nobody)."""
    registry, store = services.registry, services.store
    entry = find_own(registry, chat_id, name)
    if entry is None:
        return RemoveOutcome(None)
    queries = queries_scoped_to(services, chat_id, entry.slug)
    left = replace(entry, chats=entry.chats - {chat_id})
    with store.batch():
        for query in queries:
            store.remove_subscription(chat_id, query)
        store.put_registry_entry(left.slug, left.to_dict())
        if not left.chats:
            store.forget_source_state(entry.state_name)
    registry.put(left)
    for query in queries:
        services.index.remove(chat_id, parse_query(query).key)
    log.info("chat %s removed source %s (%d keywords)", chat_id, entry.slug, len(queries))
    return RemoveOutcome(left, queries)
