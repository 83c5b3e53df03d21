"""Builds the python-telegram-bot ``Application``: handlers, jobs, delivery, shutdown.

``build_application(settings, store)`` wires everything; ``Application.run_polling`` -- or
``run_webhook(**webhook_options(settings))`` when ``[telegram] webhook_url`` is set -- then
runs it (``python -m bot``), and ``running(app)`` runs the very same start and stop sequence,
in the same mode and with the same arguments, inside an existing event loop (the end-to-end
tests use it).

``post_init`` also starts the metrics endpoint (``/healthz``, ``/metrics``; see
``bot.metrics``) in the bot's event loop; ``post_stop`` stops it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, cast

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application
from telegram.request import BaseRequest

from bot import handlers, webhook
from bot.chat_sources.health import Notice
from bot.config import Settings
from bot.core import (
    CONTEXT_TYPES,
    CORE_KEY,
    BotApplication,
    BotContext,
    Core,
    attach,
    build_index,
    build_registry,
    core_of,
)
from bot.delivery.notices import send_notice
from bot.delivery.outbox import Deliverer
from bot.delivery.pacing import Pacer
from bot.fairness import Budgets, ChatLanes
from bot.i18n import t
from bot.metrics import Metrics, MetricsServer
from bot.models import utcnow
from bot.poller import Poller
from bot.sources.fetch import Fetcher
from bot.store import Store
from bot.story_keeper import StoryKeeper

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
# Messages in flight may finish within this at shutdown: inside `docker stop`'s 10 s, so the
# final snapshot is written before the container is killed.
STOP_GRACE_SECONDS = 5.0
PRUNE_SECONDS = 3600.0
#: /healthz fails when the poll job has not run for this long (3 ticks).
HEALTH_TICK_SECONDS = 3 * TICK_SECONDS
#: The update types the bot handles, asked of Telegram in both modes.
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "inline_query"]


def build_application(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], datetime] = utcnow,
    requests: tuple[BaseRequest, BaseRequest] | None = None,
) -> BotApplication:
    """``clock`` is what schedules, pauses and alert ages read (tests move it by hand);
    ``requests`` (for calls, for getUpdates) replace the HTTP clients (``bot.shell``)."""
    token = settings.token
    if not token:
        raise ValueError("no bot token: set TELEGRAM_BOT_TOKEN")
    metrics = Metrics()
    lanes = ChatLanes(Budgets())
    builder = Application.builder()
    if requests is not None:
        builder = builder.request(requests[0]).get_updates_request(requests[1])
    application = (
        builder
        .token(token)
        .context_types(CONTEXT_TYPES)  # handlers and jobs get a BotContext: context.core
        .base_url(settings.telegram.api_base_url)
        .base_file_url(settings.telegram.file_base_url)
        .rate_limiter(Pacer(metrics=metrics))
        .post_init(start_services)
        .post_stop(stop_services)
        .post_shutdown(close_store)
        # Each chat's updates run in a lane of their own, within a command budget: a reply
        # that waits for its chat's pacing (3 s in a group) holds no shared slot (bot.fairness).
        .concurrent_updates(lanes)
        .build()
    )
    webhook.install(application)  # our webhook server: bodies capped, judged by headers first
    core = Core(
        settings=settings,
        store=store,
        index=build_index(store),
        registry=build_registry(store, settings),
        stories=StoryKeeper(store, settings.stories),
        metrics=metrics,
        clock=clock,
    )
    if core.stories is not None:
        core.stories.load(clock())  # the stories of the window, before the first poll
    metrics.track(lambda: store_gauges(core))
    attach(application, core)
    lanes.username = lambda: bot_username(application)
    lanes.on_refused = lambda update: handlers.slow_down(update, core)
    handlers.register(application, settings.telegram.admin_ids)
    application.add_error_handler(on_error)
    return application


def bot_username(application: BotApplication) -> str | None:
    """The bot's @username once ``getMe`` answered (None before)."""
    try:
        return application.bot.username
    except RuntimeError:  # not initialised yet
        return None


async def start_services(application: BotApplication) -> None:
    """post_init: the command menu, fetcher, deliverer, poller, jobs and metrics."""
    core = core_of(application)
    settings = core.settings
    await publish_commands(application)
    if core.fetcher is None:  # the shell brings one of its own (its demo source)
        core.fetcher = Fetcher(settings.polling)
    core.deliverer = Deliverer(
        application.bot,
        core.store,
        max_age=timedelta(hours=settings.delivery.max_age_hours),
        summary_chars=settings.delivery.summary_chars,
        on_migrated=core.move_chat,
        clock=core.clock,
        metrics=core.metrics,
        stories=core.stories,
        max_sources=settings.stories.max_sources,
    )
    core.poller = Poller(
        settings,
        core.store,
        core.index,
        core.fetcher,
        on_alerts=core.deliverer.wake,
        clock=core.clock,
        metrics=core.metrics,
        registry=core.registry,
        stories=core.stories,
        on_notice=functools.partial(tell_chats, application),
    )
    chat_sources = {e.state_name for e in core.registry.chat_sources() if e.chats}
    core.store.prune_sources({s.name for s in settings.sources} | chat_sources)
    core.tasks.append(asyncio.create_task(core.deliverer.run(), name="delivery"))
    job_queue = application.job_queue
    if job_queue is None:  # pragma: no cover - the job-queue extra is a dependency
        raise RuntimeError("python-telegram-bot was installed without the job-queue extra")
    job_queue.run_repeating(poll_tick, interval=TICK_SECONDS, first=0.2, name="poll")
    job_queue.run_repeating(prune, interval=PRUNE_SECONDS, first=PRUNE_SECONDS, name="prune")
    await start_metrics(application)
    log.info(
        "newsbot started (%s): %d sources, %d subscriptions",
        "webhook" if settings.telegram.webhook_url else "long polling",
        len(core.poller.sources),
        len(core.index),
    )


def tell_chats(application: BotApplication, notice: Notice) -> None:
    """The poller's ``on_notice``: tell a chat source's chats that it fails or works again,
    in a task of its own (the poll does not wait for Telegram); stopped with the bot."""
    core = core_of(application)

    async def send() -> None:
        await send_notice(application.bot, core.store, notice)

    core.tasks[:] = [task for task in core.tasks if not task.done()]
    core.tasks.append(asyncio.create_task(send(), name=f"notice:{notice.entry.slug}"))


async def start_metrics(application: BotApplication) -> None:
    """Serve /healthz and /metrics if enabled.  A taken port is logged, not fatal: the bot's
    job is alerts, and a failing health check shows the problem."""
    core = core_of(application)
    config = core.settings.metrics
    if not config.enabled or core.metrics_server is not None:
        return
    server = MetricsServer(
        core.metrics, lambda: health(application), listen=config.listen, port=config.port
    )
    try:
        await server.start()
    except OSError as exc:
        log.error("metrics endpoint not started on %s:%s: %s", config.listen, config.port, exc)
        return
    core.metrics_server = server
    log.info("health and metrics on %s:%s (/healthz, /metrics)", config.listen, server.port)


async def stop_metrics(application: BotApplication) -> None:
    core = core_of(application)
    server, core.metrics_server = core.metrics_server, None
    if server is not None:
        await server.stop()


def health(application: BotApplication) -> tuple[bool, dict[str, Any]]:
    """Healthy = the application runs, the poll job ran lately, the store takes writes."""
    core = core_of(application)
    now = time.monotonic()
    tick_age = None if core.last_tick is None else now - core.last_tick
    store_ok = core.store.accepts_writes()
    checks = {
        "application": bool(application.running),
        "poll_tick": tick_age is not None and tick_age <= HEALTH_TICK_SECONDS,
        "store": store_ok,
    }
    details: dict[str, Any] = {
        "mode": "webhook" if core.settings.telegram.webhook_url else "polling",
        "checks": checks,
        "last_poll_tick_seconds_ago": None if tick_age is None else round(tick_age, 3),
        "uptime_seconds": round(now - core.started, 1),
    }
    return all(checks.values()), details


def store_gauges(core: Core) -> dict[str, float]:
    """The gauges of /metrics, read from the store at scrape time."""
    stats = core.store.stats()
    values: dict[str, float] = {
        "chats": stats["chats"],
        "chats_active": sum(1 for chat in core.store.chats() if chat.active),
        "subscriptions": stats["subscriptions"],
        "outbox_pending": stats["pending"],
    }
    if core.last_tick is not None:
        values["poll_tick_age_seconds"] = time.monotonic() - core.last_tick
    return values


async def publish_commands(application: BotApplication) -> None:
    """The command menu; a failure (Telegram busy or unreachable) must not stop the start:
    it is logged and tried again in a minute."""
    core = core_of(application)
    try:
        await handlers.publish_commands(application.bot, core.settings.telegram.admin_ids)
    except TelegramError as exc:
        log.warning("could not set the command menu (%s); trying again in a minute", exc)
        if application.job_queue is not None:
            application.job_queue.run_once(retry_publish_commands, when=60, name="commands")


async def retry_publish_commands(context: BotContext) -> None:
    """Job: the command menu, once more."""
    # PTB types a job's context.application with an unbound context type: it is ours
    await publish_commands(cast(BotApplication, context.application))


async def poll_tick(context: BotContext) -> None:
    """Job, every tick: the poller looks for sources that are due."""
    core = context.core
    core.last_tick = time.monotonic()
    if core.poller is not None:
        core.poller.tick()


async def prune(context: BotContext) -> None:
    """Job, hourly: drop what is older than the retention (see ``Store.prune``)."""
    core = context.core
    removed = core.store.prune()
    log.info("pruned the store: %s", removed)


async def stop_services(application: BotApplication) -> None:
    core = core_of(application)
    await stop_metrics(application)
    if isinstance(application.update_processor, ChatLanes):  # updates being answered finish
        await application.update_processor.drain(STOP_GRACE_SECONDS)
    if core.poller is not None:
        await core.poller.stop()
    if core.deliverer is not None:
        await core.deliverer.stop(grace=STOP_GRACE_SECONDS)
    for task in core.tasks:
        task.cancel()
    await asyncio.gather(*core.tasks, return_exceptions=True)
    core.tasks.clear()
    if core.fetcher is not None:
        await core.fetcher.close()


async def close_store(application: BotApplication) -> None:
    core = core_of(application)
    await stop_metrics(application)  # if start failed after post_init, post_stop never ran
    core.store.close()
    log.info("newsbot stopped; store closed")


async def on_error(update: object, context: BotContext) -> None:
    log.error("error while handling %s", type(update).__name__, exc_info=context.error)
    core: Core | None = context.bot_data.get(CORE_KEY)
    if core is not None:
        core.metrics.error("handler")
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            lang = handlers.lang_of(update, context)
            await update.effective_message.reply_text(t(lang, "error"))
        except Exception:  # the chat may be gone; nothing more to do
            log.debug("could not tell the user about the error", exc_info=True)


def webhook_options(settings: Settings) -> dict[str, Any] | None:
    """``run_webhook``'s (and ``Updater.start_webhook``'s) arguments; None for long polling.

    Telegram POSTs to ``webhook_url``; a reverse proxy (TLS) forwards to
    ``webhook_listen:webhook_port`` and the same path.  ``bot.webhook`` refuses, with 403 and
    before reading its body, any request whose ``X-Telegram-Bot-Api-Secret-Token`` header is
    not ``webhook_secret``."""
    telegram = settings.telegram
    if not telegram.webhook_url:
        return None
    return {
        "listen": telegram.webhook_listen,
        "port": telegram.webhook_port,
        # PTB puts the path into a URL pattern (a regular expression): match it literally
        "url_path": re.escape(telegram.webhook_path),
        "webhook_url": telegram.webhook_url,
        "secret_token": settings.webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


def webhook_port(application: BotApplication) -> int | None:
    """The port the webhook server is bound to (the configured one, or the one the OS picked
    for port 0); None when not serving a webhook."""
    httpd = getattr(application.updater, "_httpd", None)
    if httpd is None or not httpd.is_running:
        return None
    server = getattr(httpd, "_http_server", None)
    for sock in getattr(server, "_sockets", {}).values():  # tornado's bound sockets
        return int(sock.getsockname()[1])
    return int(httpd.port)


@asynccontextmanager
async def running(
    application: BotApplication, *, poll_timeout: float = 1.0
) -> AsyncIterator[None]:
    """Run ``application`` in the current event loop, in ``run_polling``'s (or, when the
    settings name a webhook URL, ``run_webhook``'s) order and with the same arguments."""
    core = core_of(application)
    await application.initialize()
    try:
        if application.post_init:
            await application.post_init(application)
        updater = application.updater
        if updater is None:
            raise RuntimeError("the application was built without an updater")
        options = webhook_options(core.settings)
        if options is not None:
            await updater.start_webhook(**options)
        else:
            await updater.start_polling(
                poll_interval=0.0,
                timeout=timedelta(seconds=poll_timeout),
                allowed_updates=ALLOWED_UPDATES,
            )
        await application.start()
        try:
            yield
        finally:
            if updater.running:
                await updater.stop()
            if application.running:
                await application.stop()
            if application.post_stop:
                await application.post_stop(application)
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
