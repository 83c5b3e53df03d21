"""Run the Application until told to stop, and say plainly what goes wrong on the way.

``serve(application, settings)`` replaces python-telegram-bot's ``run_polling`` /
``run_webhook`` (whose start-up retry loop logs only at DEBUG, and which leaves the Pacer's
task pending when start-up fails) with the same sequence -- initialize, ``post_init``,
updater, start; then updater stop, stop, ``post_stop``, shutdown, ``post_shutdown`` -- where:

* the Bot API cannot be reached: a WARNING names the API base URL (never the token) and the
  reason (DNS failure, connection refused, TLS, timeout) at the first failure, or after
  ``FIRST_WARNING_SECONDS`` without an answer; then the bot retries with growing delays
  (1 s doubling up to ``MAX_RETRY_DELAY``) and logs at most one WARNING a minute;
* the token is refused (401/404): ``serve`` returns ``EXIT_TOKEN`` and the caller prints
  ``TOKEN_REFUSED``, one line, no traceback;
* SIGINT or SIGTERM at any moment (or ``stop`` set) ends the current phase and runs the
  cleanup for what was started, so no task is left pending and no client unclosed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES
from bot.config import TOKEN_ENV, Settings

log = logging.getLogger("bot.startup")

EXIT_TOKEN = 2
TOKEN_REFUSED = (
    f"newsbot: Telegram refused the bot token: check {TOKEN_ENV} "
    "(a token comes from @BotFather in Telegram: /newbot, or /token for an existing bot)"
)
FIRST_WARNING_SECONDS = 8.0
MAX_RETRY_DELAY = 60.0
WARN_EVERY_SECONDS = 60.0
POLL_TIMEOUT = 10  # long-poll timeout of getUpdates, as run_polling's (whole seconds: the API
# takes an Integer, and a fake that reads "10.0" as 0 turns the long poll into a busy loop)
# Telegram unreachable at start of the updater (deleteWebhook / setWebhook): keep trying.
UPDATER_RETRIES = -1


class TokenRefused(Exception):
    """The Bot API answered 401/404 to getMe: the token is wrong or revoked."""


def describe_network_error(exc: BaseException) -> str:
    """Why a Bot API call failed, in words: the first recognised cause in the chain."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 20:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for item in chain:
        if isinstance(item, httpx.ConnectTimeout):
            return "timed out connecting"
        if isinstance(item, httpx.TimeoutException):
            return "timed out waiting for an answer"
    for item in chain:
        if isinstance(item, socket.gaierror):
            return f"DNS failure ({item.strerror or item})"
        if isinstance(item, ConnectionRefusedError):
            return "connection refused"
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted ({item.verify_message or item.reason})"
        if isinstance(item, ssl.SSLError) and not isinstance(
            item, ssl.SSLWantReadError | ssl.SSLWantWriteError
        ):
            return f"TLS error ({item.reason or item})"
        if isinstance(item, ConnectionResetError):
            return "connection reset by the server"
        if isinstance(item, OSError) and item.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"no route to the server ({item.strerror})"
    if isinstance(exc, TimedOut):
        return "timed out"
    return str(exc) or type(exc).__name__


def api_location(base_url: str) -> str:
    """The API base URL as shown in logs: scheme, host, port and path, nothing secret."""
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}" if host else "(invalid URL)"


@dataclass
class Reachability:
    """Warns about an unreachable Bot API: the first failure at once, then at most once per
    ``every`` seconds (the rest at DEBUG); says so once the API answers again."""

    where: str
    every: float = WARN_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    failures: int = 0
    first_failure: float | None = None
    last_warning: float | None = None

    def failed(self, reason: str, retry_in: float | None = None) -> None:
        now = self.clock()
        self.failures += 1
        if self.first_failure is None:
            self.first_failure = now
        then = f"; retrying in {retry_in:.0f} s" if retry_in is not None else "; retrying"
        if self.last_warning is None:
            message = f"cannot reach the Telegram Bot API at {self.where}: {reason}{then}"
        elif now - self.last_warning >= self.every:
            message = (
                f"still cannot reach the Telegram Bot API at {self.where} "
                f"({self.failures} attempts in {now - self.first_failure:.0f} s): {reason}{then}"
            )
        else:
            log.debug("Bot API at %s: %s%s", self.where, reason, then)
            return
        self.last_warning = now
        log.warning("%s", message)

    def waiting(self, seconds: float) -> None:
        """The first attempt has had no answer for ``seconds``."""
        if self.last_warning is None:
            self.last_warning = self.clock()
            log.warning(
                "no answer yet from the Telegram Bot API at %s after %.0f s; still trying",
                self.where,
                seconds,
            )

    def succeeded(self) -> None:
        if self.failures or self.last_warning is not None:
            log.info("reached the Telegram Bot API at %s", self.where)
        self.failures = 0
        self.first_failure = self.last_warning = None


async def connect(application: Application, report: Reachability) -> None:
    """``application.initialize()`` (getMe) until it works; raises ``TokenRefused``."""
    delay = 1.0
    while True:
        attempt = asyncio.create_task(application.initialize(), name="connect")
        try:
            done, _ = await asyncio.wait({attempt}, timeout=FIRST_WARNING_SECONDS)
            if not done:
                report.waiting(FIRST_WARNING_SECONDS)
            await attempt
        except InvalidToken as exc:
            raise TokenRefused() from exc
        except TelegramError as exc:  # NetworkError, TimedOut, RetryAfter, a 5xx ...
            report.failed(describe_network_error(exc), delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_DELAY)
            continue
        finally:
            if not attempt.done():
                attempt.cancel()
                with contextlib.suppress(BaseException):
                    await attempt
        report.succeeded()
        me = application.bot.bot
        log.info("connected to the Telegram Bot API at %s as @%s", report.where, me.username)
        return


@dataclass
class _Progress:
    """What the start-up got to, so the cleanup undoes exactly that."""

    post_init: bool = False


async def _start(
    application: Application,
    options: dict[str, Any] | None,
    report: Reachability,
    progress: _Progress,
    poll_timeout: int,
) -> None:
    await connect(application, report)
    progress.post_init = True
    if application.post_init:
        await application.post_init(application)
    updater = application.updater
    assert updater is not None  # the builder always makes one here
    if options is not None:
        await updater.start_webhook(**options, bootstrap_retries=UPDATER_RETRIES)
    else:

        def polling_error(exc: TelegramError) -> None:
            if isinstance(exc, NetworkError):
                report.failed(describe_network_error(exc))
            else:
                log.error("fetching updates failed: %s", exc)

        await updater.start_polling(
            poll_interval=0.0,
            timeout=poll_timeout,
            bootstrap_retries=UPDATER_RETRIES,
            allowed_updates=ALLOWED_UPDATES,
            error_callback=polling_error,
        )
    await application.start()


async def _cleanup(application: Application, progress: _Progress) -> None:
    """Undo the start-up, whatever phase it reached; each step on its own."""
    steps: list[tuple[str, Callable[[], Any]]] = []
    updater = application.updater
    if updater is not None and updater.running:
        steps.append(("updater", updater.stop))
    if application.running:
        steps.append(("application", application.stop))
    if progress.post_init and application.post_stop:
        steps.append(("post_stop", lambda: application.post_stop(application)))  # type: ignore[misc]
    steps.append(("shutdown", application.shutdown))
    # A failed or interrupted initialize leaves the application "not initialized", so its
    # shutdown skips the bot's: the Pacer's task and the HTTP clients would stay open.
    steps.append(("bot", application.bot.shutdown))
    if application.post_shutdown:
        steps.append(("post_shutdown", lambda: application.post_shutdown(application)))  # type: ignore[misc]
    for name, step in steps:
        try:
            await step()
        except Exception:
            log.exception("stopping: %s failed", name)


async def serve(
    application: Application,
    settings: Settings,
    *,
    webhook: dict[str, Any] | None = None,
    stop: asyncio.Event | None = None,
    ready: asyncio.Event | None = None,
    poll_timeout: int = POLL_TIMEOUT,
    restore_signals: bool = True,
) -> int:
    """Run until SIGINT, SIGTERM or ``stop``; return the exit status (0, or ``EXIT_TOKEN``).

    ``webhook``: ``Updater.start_webhook``'s options (None: long polling).  ``ready`` is set
    once the bot takes updates.  Other errors propagate, after the cleanup.  A process that
    ends when this returns passes ``restore_signals=False`` (the handlers then only set the
    event until the loop closes) and calls ``ignore_stop_signals()`` after the loop: a second
    Ctrl-C during the shutdown then never interrupts it."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        loop.add_signal_handler(sig, stop.set)
    progress = _Progress()
    report = Reachability(api_location(settings.telegram.api_base_url))
    starting = asyncio.create_task(
        _start(application, webhook, report, progress, poll_timeout), name="start-up"
    )
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # TokenRefused or a start-up error: raise it here
            if ready is not None:
                ready.set()
            await stopping
        return 0
    except TokenRefused:
        return EXIT_TOKEN
    finally:
        for task in (starting, stopping):
            task.cancel()
        await asyncio.gather(starting, stopping, return_exceptions=True)
        await _cleanup(application, progress)  # a second signal only sets the event again
        if restore_signals:
            for sig in signals:
                loop.remove_signal_handler(sig)


def ignore_stop_signals() -> None:
    """From now on SIGINT and SIGTERM do nothing: the process is finishing its exit."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
