"""Builds the python-telegram-bot ``Application``: handlers, jobs, delivery, shutdown.

``build_application(settings, store)`` wires everything; ``Application.run_polling`` then
runs it (``python -m bot``), and ``running(app)`` runs the very same start and stop sequence
inside an existing event loop (the end-to-end tests use it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Update
from telegram.ext import Application, ContextTypes

from bot import handlers
from bot.config import Settings
from bot.delivery.outbox import Deliverer
from bot.delivery.pacing import Pacer
from bot.matching import MatchIndex, QueryError, parse_query
from bot.poller import Poller
from bot.sources.fetch import Fetcher
from bot.store import Store

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
PRUNE_SECONDS = 3600.0


@dataclass
class Core:
    """What the handlers and jobs share, kept in ``application.bot_data["core"]``."""

    settings: Settings
    store: Store
    index: MatchIndex
    fetcher: Fetcher | None = None
    poller: Poller | None = None
    deliverer: Deliverer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def build_index(store: Store) -> MatchIndex:
    """The matching index of every stored subscription, built once at start."""
    index = MatchIndex()
    for chat_id, text in store.all_subscriptions():
        try:
            index.add(chat_id, parse_query(text))
        except QueryError as exc:
            log.warning("stored query %r of chat %s no longer parses: %s", text, chat_id, exc)
    return index


def build_application(settings: Settings, store: Store) -> Application:
    token = settings.token
    if not token:
        raise ValueError("no bot token: set TELEGRAM_BOT_TOKEN")
    application = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram.api_base_url)
        .rate_limiter(Pacer())
        .post_init(start_services)
        .post_stop(stop_services)
        .post_shutdown(close_store)
        .build()
    )
    application.bot_data["core"] = Core(settings=settings, store=store, index=build_index(store))
    handlers.register(application)
    application.add_error_handler(on_error)
    return application


async def start_services(application: Application) -> None:
    core: Core = application.bot_data["core"]
    settings = core.settings
    await application.bot.set_my_commands(handlers.bot_commands())
    core.fetcher = Fetcher(settings.polling)
    core.deliverer = Deliverer(
        application.bot,
        core.store,
        max_age=timedelta(hours=settings.delivery.max_age_hours),
        summary_chars=settings.delivery.summary_chars,
        on_migrated=core.index.move_chat,
    )
    core.poller = Poller(
        settings, core.store, core.index, core.fetcher, on_alerts=core.deliverer.wake
    )
    core.store.prune_sources({s.name for s in settings.sources})
    core.tasks.append(asyncio.create_task(core.deliverer.run(), name="delivery"))
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    job_queue.run_repeating(poll_tick, interval=TICK_SECONDS, first=0.2, name="poll")
    job_queue.run_repeating(prune, interval=PRUNE_SECONDS, first=PRUNE_SECONDS, name="prune")
    log.info(
        "newsbot started: %d sources, %d subscriptions",
        len(core.poller.sources),
        len(core.index),
    )


async def poll_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    core: Core = context.bot_data["core"]
    if core.poller is not None:
        core.poller.tick()


async def prune(context: ContextTypes.DEFAULT_TYPE) -> None:
    core: Core = context.bot_data["core"]
    removed = core.store.prune()
    log.info("pruned the store: %s", removed)


async def stop_services(application: Application) -> None:
    core: Core = application.bot_data["core"]
    if core.poller is not None:
        await core.poller.stop()
    if core.deliverer is not None:
        await core.deliverer.stop()
    for task in core.tasks:
        task.cancel()
    await asyncio.gather(*core.tasks, return_exceptions=True)
    core.tasks.clear()
    if core.fetcher is not None:
        await core.fetcher.close()


async def close_store(application: Application) -> None:
    core: Core = application.bot_data["core"]
    core.store.close()
    log.info("newsbot stopped; store closed")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                "Sorry, something went wrong on my side. Please try again."
            )
        except Exception:  # the chat may be gone; nothing more to do
            log.debug("could not tell the user about the error", exc_info=True)


@asynccontextmanager
async def running(application: Application, *, poll_timeout: float = 1.0) -> AsyncIterator[None]:
    """Run ``application`` in the current event loop, in ``run_polling``'s order."""
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        await application.updater.start_polling(poll_interval=0.0, timeout=poll_timeout)
        await application.start()
        try:
            yield
        finally:
            if application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
