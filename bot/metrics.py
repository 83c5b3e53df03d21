"""Prometheus metrics and the HTTP endpoint that serves them with a health check.

``Metrics`` holds the counters of one bot in its own ``CollectorRegistry`` (never the global
one), so several bots in one process -- the tests -- do not collide.  ``build_application``
creates one, keeps it on ``Core`` and hands it to the Poller, the Deliverer and the Pacer.

Counters (Prometheus appends ``_total``):

=================================  =========================================================
``newsbot_polls_total``            source polls, by ``source`` and ``status`` (ok,
                                   not_modified, error)
``newsbot_items_total``            items parsed, by ``source``
``newsbot_new_items_total``        items not seen before, by ``source``
``newsbot_alerts_queued_total``    alerts put in the outbox
``newsbot_messages_sent_total``    alert messages Telegram confirmed
``newsbot_alerts_delivered_total`` alerts in those messages (a batch carries several), and
                                   in the edits below
``newsbot_messages_edited_total``  alert messages edited to add another source of their story
``newsbot_telegram_429_total``     "429 Too Many Requests" answers from Telegram
``newsbot_errors_total``           errors, by ``kind``: ``source`` (a failed poll),
                                   ``poller`` (a bug while polling), ``handler`` (a command
                                   failed), ``delivery_<kind>`` (forbidden, network,
                                   retry_after, bad_request, ...)
=================================  =========================================================

Gauges, read from the store when scraped: ``newsbot_chats``, ``newsbot_chats_active``,
``newsbot_subscriptions``, ``newsbot_outbox_pending`` and ``newsbot_poll_tick_age_seconds``.

``MetricsServer`` is a small tornado server (tornado comes with PTB's ``webhooks`` extra)
running in the bot's own event loop, so reading the store at scrape time needs no locks:
``GET /healthz`` answers 200 with ``{"status": "ok", ...}`` or 503, ``GET /metrics`` the
Prometheus text format (or OpenMetrics when the scraper's ``Accept`` asks for it).  It answers
GET and HEAD only and reads no request body: any other method gets 405, any other path 404,
from the headers alone (every handler streams, and the connection is closed unread).
"""

from __future__ import annotations

import json
import logging
import socket
from collections import Counter as _Tally
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

__all__ = ["Health", "Metrics", "MetricsServer"]

log = logging.getLogger(__name__)

#: ``() -> (healthy, details)``; the details go into the /healthz JSON.
Health = Callable[[], tuple[bool, dict[str, Any]]]

_GAUGES = {
    "chats": "Chats the bot knows",
    "chats_active": "Chats that receive alerts (not blocked, not left)",
    "subscriptions": "Keywords followed, over all chats",
    "outbox_pending": "Alerts waiting to be sent",
    "poll_tick_age_seconds": "Seconds since the poll job last ran",
}


class Metrics:
    """The counters of one bot, in their own registry; see the module docstring."""

    def __init__(self, namespace: str = "newsbot") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.namespace = namespace
        r, ns = self.registry, namespace
        self.polls = Counter(
            "polls", "Source polls by outcome", ["source", "status"], namespace=ns, registry=r
        )
        self.items = Counter("items", "Items parsed", ["source"], namespace=ns, registry=r)
        self.new_items = Counter(
            "new_items", "Items not seen before", ["source"], namespace=ns, registry=r
        )
        self.alerts_queued = Counter(
            "alerts_queued", "Alerts put in the outbox", namespace=ns, registry=r
        )
        self.messages_sent = Counter(
            "messages_sent", "Alert messages Telegram confirmed", namespace=ns, registry=r
        )
        self.alerts_delivered = Counter(
            "alerts_delivered",
            "Alerts delivered (a batch message carries several)",
            namespace=ns,
            registry=r,
        )
        self.messages_edited = Counter(
            "messages_edited",
            "Alert messages edited to add another source of their story",
            namespace=ns,
            registry=r,
        )
        self.telegram_429 = Counter(
            "telegram_429",
            "429 Too Many Requests answers from Telegram",
            namespace=ns,
            registry=r,
        )
        self.errors = Counter("errors", "Errors by kind", ["kind"], namespace=ns, registry=r)
        self._state: Callable[[], Mapping[str, float]] | None = None
        self.registry.register(_StateCollector(self))

    # ------------------------------------------------------------------ recording

    def poll(self, source: str, status: str, *, items: int = 0, new: int = 0) -> None:
        """One finished poll of ``source``."""
        self.polls.labels(source=source, status=status).inc()
        if items:
            self.items.labels(source=source).inc(items)
        if new:
            self.new_items.labels(source=source).inc(new)
        if status == "error":
            self.error("source")

    def queued(self, alerts: int) -> None:
        if alerts:
            self.alerts_queued.inc(alerts)

    def sent(self, messages: int, alerts: int) -> None:
        """Telegram confirmed ``messages`` messages carrying ``alerts`` alerts."""
        if messages:
            self.messages_sent.inc(messages)
        if alerts:
            self.alerts_delivered.inc(alerts)

    def edited(self, alerts: int) -> None:
        """Telegram confirmed an edit adding ``alerts`` reports to an alert message."""
        self.messages_edited.inc()
        if alerts:
            self.alerts_delivered.inc(alerts)

    def flood(self) -> None:
        """Telegram answered 429."""
        self.telegram_429.inc()

    def error(self, kind: str, count: int = 1) -> None:
        if count > 0:
            self.errors.labels(kind=kind).inc(count)

    def error_tally(self, prefix: str) -> _Tally[str]:
        """A ``collections.Counter`` whose increments also count as ``errors{kind=prefix_key}``:
        for a report's ``errors[kind] += 1``, so no error kind is ever left out."""
        return _MirroredTally(self, prefix)

    def track(self, state: Callable[[], Mapping[str, float]] | None) -> None:
        """Read the gauges from ``state()`` at every scrape (keys as in ``_GAUGES``)."""
        self._state = state

    # ------------------------------------------------------------------ reading

    def exposition(self) -> bytes:
        """The Prometheus text format of everything in the registry."""
        return generate_latest(self.registry)

    def value(self, name: str, **labels: str) -> float:
        """One sample's value, 0.0 if absent (for tests and /stats)."""
        found = self.registry.get_sample_value(f"{self.namespace}_{name}", labels or None)
        return found or 0.0


class _MirroredTally(_Tally[str]):
    def __init__(self, metrics: Metrics, prefix: str) -> None:
        super().__init__()
        self._metrics = metrics
        self._prefix = prefix

    def __setitem__(self, key: str, value: int) -> None:
        delta = value - self.get(key, 0)
        super().__setitem__(key, value)
        if delta > 0:
            self._metrics.error(f"{self._prefix}_{key}", delta)


class _StateCollector(Collector):
    """The gauges, computed from the store when scraped."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, doc in _GAUGES.items():
            yield GaugeMetricFamily(f"{self.metrics.namespace}_{name}", doc)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        reader = self.metrics._state
        if reader is None:
            return
        try:
            values = reader()
        except Exception:  # a closed store: no gauges rather than a failed scrape
            log.debug("metrics: reading the gauges failed", exc_info=True)
            return
        for name, doc in _GAUGES.items():
            if name in values:
                yield GaugeMetricFamily(
                    f"{self.metrics.namespace}_{name}", doc, value=float(values[name])
                )


# ---------------------------------------------------------------------- HTTP endpoint


class _App(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """No access log: a health check every few seconds is not news."""


@tornado.web.stream_request_body
class _Handler(tornado.web.RequestHandler):
    """GET and HEAD only; a request body is never read (the connection closes instead)."""

    SUPPORTED_METHODS: tuple[str, ...] = ("GET", "HEAD")  # type: ignore[assignment]

    def data_received(self, chunk: bytes) -> None:
        pass  # nothing is ever read from a body

    def head(self) -> None:
        self.get()  # tornado sends the headers (Content-Length included) and no body


class _NotFound(_Handler):
    SUPPORTED_METHODS = tornado.web.RequestHandler.SUPPORTED_METHODS  # 404 whatever the method

    def prepare(self) -> None:
        self.send_error(404)


class _HealthHandler(_Handler):
    def initialize(self, health: Health) -> None:
        self.health = health

    def get(self) -> None:
        try:
            ok, details = self.health()
        except Exception as exc:
            log.exception("health check failed")
            ok, details = False, {"error": type(exc).__name__}
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"status": "ok" if ok else "unavailable", **details}))


class _MetricsHandler(_Handler):
    def initialize(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def get(self) -> None:
        # the format the scraper asks for (Prometheus text, or OpenMetrics), as
        # prometheus_client's own server does
        encoder, content_type = choose_encoder(self.request.headers.get("Accept", ""))
        self.set_header("Content-Type", content_type)
        self.finish(encoder(self.metrics.registry))


class MetricsServer:
    """``GET /healthz`` and ``GET /metrics`` on ``listen:port``, in the running event loop."""

    def __init__(self, metrics: Metrics, health: Health, *, listen: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.listen = listen
        self.port = port  # the bound port once started (useful with port 0)
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def url(self) -> str:
        host = self.listen if self.listen not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; raises ``OSError`` if the address is taken."""
        app = _App(
            [
                (r"/healthz", _HealthHandler, {"health": self.health}),
                (r"/metrics", _MetricsHandler, {"metrics": self.metrics}),
                (r".*", _NotFound),
            ]
        )
        sockets = tornado.netutil.bind_sockets(
            self.port, address=self.listen or None, family=socket.AF_UNSPEC
        )
        # no body is read, so none may be large: 1 KB is plenty for a stray GET body
        server = tornado.httpserver.HTTPServer(
            app, xheaders=False, max_body_size=1024, max_buffer_size=65536
        )
        server.add_sockets(sockets)
        self._server = server
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            await server.close_all_connections()

    @property
    def running(self) -> bool:
        return self._server is not None
