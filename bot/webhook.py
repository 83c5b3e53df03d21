"""The webhook listener: Telegram's POSTs, judged by their headers before any body is read.

python-telegram-bot's own webhook server (tornado) reads the whole body, up to tornado's
default 100 MB, before it looks at the secret, and compares the secret with ``!=``.  This one:

* answers on the webhook path only, POST only; every handler streams the body
  (``stream_request_body``), so no request anywhere is buffered before it is judged;
* refuses a missing or wrong ``X-Telegram-Bot-Api-Secret-Token`` with 403 as soon as the
  headers are in, compared in constant time (``hmac.compare_digest``); the connection is then
  closed, so the body is never read;
* refuses a declared ``Content-Length`` over ``MAX_BODY_BYTES`` (1 MB; Telegram's updates are
  a few KB) with 413 the same way, and cuts off a chunked body that grows past it;
* puts each update on the Application's ``update_queue``, as PTB's server does.

``WebhookUpdater`` is PTB's ``Updater`` with this server in place of PTB's, so
``run_webhook`` / ``Updater.start_webhook`` (and their ``setWebhook`` bootstrap) work as before:
``install(application)`` swaps it in before the application is initialised.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram import Update
from telegram.ext import Application, ExtBot, Updater

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
#: a body must arrive within this (Telegram sends a few KB at once)
BODY_TIMEOUT = 20.0
IDLE_TIMEOUT = 120.0


class _App(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log (updates are logged by the bot when handled)."""


@tornado.web.stream_request_body
class _Refuse404(tornado.web.RequestHandler):
    """Any other path: 404 from the headers alone."""

    def prepare(self) -> None:
        self.send_error(404)

    def data_received(self, chunk: bytes) -> None:
        pass


@tornado.web.stream_request_body
class _UpdateHandler(tornado.web.RequestHandler):
    SUPPORTED_METHODS = ("POST",)  # type: ignore[assignment]

    def initialize(
        self, bot: Any, update_queue: asyncio.Queue[object], secret: bytes | None, limit: int
    ) -> None:
        self.bot = bot
        self.update_queue = update_queue
        self.secret = secret
        self.limit = limit
        self.body = bytearray()

    def _refuse(self, status: int, reason: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"ok": False, "error": reason}))

    def prepare(self) -> None:
        headers = self.request.headers
        if self.secret is not None:
            given = headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
            if not hmac.compare_digest(given, self.secret):
                log.debug("webhook: refused a request without the right secret")
                self._refuse(403, "wrong or missing secret token")
                return
        media = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
        if media != "application/json":
            self._refuse(415, "expected application/json")
            return
        declared = headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.limit:
            self._refuse(413, f"body over {self.limit} bytes")

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        if len(self.body) + len(chunk) > self.limit:
            self._refuse(413, f"body over {self.limit} bytes")
            return
        self.body += chunk

    async def post(self) -> None:
        if self._finished:
            return
        try:
            data = json.loads(bytes(self.body))
            update = Update.de_json(data, self.bot) if isinstance(data, dict) else None
        except Exception as exc:  # any garbage: refused, never a crash
            log.warning("webhook: an unreadable update was refused: %s", type(exc).__name__)
            update = None
        if update is None:
            self._refuse(400, "not a Telegram update")
            return
        if isinstance(self.bot, ExtBot):
            self.bot.insert_callback_data(update)
        await self.update_queue.put(update)
        self.set_status(200)
        self.finish()


class WebhookServer:
    """The tornado server, shaped like PTB's ``WebhookServer`` (``serve_forever``,
    ``shutdown``, ``is_running``, ``listen``, ``port``) so PTB's ``Updater`` can drive it."""

    def __init__(
        self,
        listen: str,
        port: int,
        url_path: str,
        bot: Any,
        update_queue: asyncio.Queue[object],
        secret_token: str | None,
        *,
        limit: int = MAX_BODY_BYTES,
    ) -> None:
        secret = secret_token.encode("utf-8") if secret_token is not None else None
        app = _App(
            [
                (
                    rf"{url_path}/?",
                    _UpdateHandler,
                    {"bot": bot, "update_queue": update_queue, "secret": secret, "limit": limit},
                ),
                (r".*", _Refuse404),
            ]
        )
        self._http_server = tornado.httpserver.HTTPServer(
            app,
            max_body_size=limit,
            max_buffer_size=limit + 65536,
            body_timeout=BODY_TIMEOUT,
            idle_connection_timeout=IDLE_TIMEOUT,
        )
        self.listen = listen
        self.port = port  # the bound port once serving (useful with port 0)
        self.is_running = False

    async def serve_forever(self, ready: asyncio.Event | None = None) -> None:
        sockets = tornado.netutil.bind_sockets(
            self.port, address=self.listen or None, family=socket.AF_UNSPEC
        )
        self._http_server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self.is_running = True
        if ready is not None:
            ready.set()

    async def shutdown(self) -> None:
        if not self.is_running:
            return
        self.is_running = False
        self._http_server.stop()
        await self._http_server.close_all_connections()


class WebhookUpdater(Updater):
    """PTB's ``Updater`` serving the webhook with ``WebhookServer``.

    Overrides ``Updater._start_webhook`` (PTB 22's private step that builds and starts its
    server; the public ``start_webhook`` and ``stop`` stay PTB's): same bootstrap
    (``setWebhook`` with the secret), another server."""

    async def _start_webhook(  # type: ignore[override]
        self,
        listen: str,
        port: int,
        url_path: str,
        bootstrap_retries: int,
        allowed_updates: Any,
        cert: str | Path | None = None,
        key: str | Path | None = None,
        drop_pending_updates: bool | None = None,
        webhook_url: str | None = None,
        ready: asyncio.Event | None = None,
        ip_address: str | None = None,
        max_connections: int = 40,
        secret_token: str | None = None,
        unix: Any = None,
    ) -> None:
        if cert is not None or key is not None or unix is not None:
            raise ValueError("the webhook serves plain HTTP on a TCP port behind a TLS proxy")
        if not url_path.startswith("/"):
            url_path = f"/{url_path}"
        server = WebhookServer(listen, port, url_path, self.bot, self.update_queue, secret_token)
        self._httpd = server  # type: ignore[assignment]  # PTB's stop() shuts it down
        await self._bootstrap(
            max_retries=bootstrap_retries,
            drop_pending_updates=drop_pending_updates,
            webhook_url=webhook_url,
            allowed_updates=allowed_updates,
            ip_address=ip_address,
            max_connections=max_connections,
            secret_token=secret_token,
        )
        await server.serve_forever(ready=ready)


def install(application: Application) -> None:
    """Use ``WebhookUpdater`` for ``application`` (before it is initialised)."""
    current = application.updater
    if current is None or isinstance(current, WebhookUpdater):
        return
    application.updater = WebhookUpdater(bot=current.bot, update_queue=current.update_queue)
