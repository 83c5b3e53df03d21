"""The services the handlers and jobs share, and the typed context that hands them over.

``Core`` holds the settings, the store, the matching index, the story keeper and the services
started with the bot (fetcher, poller, deliverer, metrics).  ``build_application``
(``bot.app``) puts one in ``application.bot_data`` with :func:`attach`; the ``Application``
is built with :data:`CONTEXT_TYPES`, so every handler and job receives a :class:`BotContext`
and reads ``context.core``, typed, in the way of python-telegram-bot's
``examples/contexttypesbot.py``.  Code that is handed the ``Application`` itself
(``post_init`` and the like) uses :func:`core_of`.

This module imports neither ``bot.app`` nor ``bot.handlers``: both import it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.config import Settings
from bot.delivery.outbox import Deliverer
from bot.matching import MatchIndex, Query, QueryError, parse_query
from bot.metrics import Metrics, MetricsServer
from bot.models import utcnow
from bot.poller import Poller
from bot.sources.fetch import Fetcher
from bot.sources.registry import Registry, SourceEntry
from bot.store import Store
from bot.story_keeper import StoryKeeper

log = logging.getLogger(__name__)

#: The key of the ``Core`` in ``application.bot_data``; read only through this module.
CORE_KEY = "core"


@dataclass
class Core:
    """What the handlers and jobs share."""

    settings: Settings
    store: Store
    index: MatchIndex
    registry: Registry = field(default_factory=Registry)
    fetcher: Fetcher | None = None
    poller: Poller | None = None
    deliverer: Deliverer | None = None
    stories: StoryKeeper | None = None  # the same-story rule over the stored headlines
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # (chat, user) -> (is admin, when checked): group admin checks, cached a minute
    admin_cache: dict[tuple[int, int], tuple[bool, float]] = field(default_factory=dict)
    clock: Callable[[], datetime] = utcnow
    metrics: Metrics = field(default_factory=Metrics)
    metrics_server: MetricsServer | None = None
    last_tick: float | None = None  # time.monotonic() of the last poll job run
    started: float = field(default_factory=time.monotonic)

    def subscribe(self, chat_id: int, query: Query) -> None:
        """Follow ``query`` in the chat: stored (durably) and matched from now on."""
        self.store.add_subscription(chat_id, query.text)
        self.index.add(chat_id, query)

    def unsubscribe(self, chat_id: int, stored: str) -> None:
        """Stop following the stored query text ``stored`` in the chat."""
        self.store.remove_subscription(chat_id, stored)
        key = stored_key(stored)
        if key is not None:
            self.index.remove(chat_id, key)

    def move_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup (the store already moved it): the index and the
        registry follow."""
        self.index.move_chat(old_id, new_id)
        self.registry.move_chat(old_id, new_id)

    def wake_delivery(self) -> None:
        """Let the deliverer look at the outbox now (a setting released held alerts)."""
        if self.deliverer is not None:
            self.deliverer.wake()


def stored_key(stored_text: str) -> str | None:
    """The matching key of a stored query text; None if it no longer parses."""
    try:
        return parse_query(stored_text).key
    except QueryError:
        return None


def build_registry(store: Store, settings: Settings) -> Registry:
    """The source registry from the store, with the config's sources matched to it (a new
    source gets its slug; a renamed one keeps it; a removed one is marked gone)."""
    registry = Registry(SourceEntry.from_dict(e) for e in store.registry_entries())
    changed = registry.reconcile((s.name, s.url) for s in settings.sources if s.enabled)
    if changed:
        with store.batch():
            for entry in changed:
                store.put_registry_entry(entry.slug, entry.to_dict())
    return registry


def build_index(store: Store) -> MatchIndex:
    """The matching index of every stored subscription, built once at start."""
    index = MatchIndex()
    for chat_id, text in store.all_subscriptions():
        try:
            index.add(chat_id, parse_query(text))
        except QueryError as exc:
            log.warning("stored query %r of chat %s no longer parses: %s", text, chat_id, exc)
    return index


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The ``context`` every handler and job receives: python-telegram-bot's, plus ``core``."""

    @property
    def core(self) -> Core:
        """The shared services (``attach``-ed when the application was built)."""
        core: Core = self.bot_data[CORE_KEY]
        return core


#: Hands every handler and job a :class:`BotContext`.
CONTEXT_TYPES = ContextTypes(context=BotContext)

#: The application newsbot builds: python-telegram-bot's, with :class:`BotContext`.
#: (The builder leaves the job queue's context type unnamed, hence ``JobQueue[Any]``.)
BotApplication = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], JobQueue[Any]
]


def attach(application: BotApplication, core: Core) -> None:
    """Make ``core`` what ``context.core`` and :func:`core_of` return."""
    application.bot_data[CORE_KEY] = core


def core_of(application: BotApplication) -> Core:
    """The application's ``Core``, for code handed the ``Application`` (``post_init`` ...)."""
    core: Core = application.bot_data[CORE_KEY]
    return core
