"""A local HTTP server for source tests: 127.0.0.1, ephemeral port, background thread.

Usable from sync and async tests alike (it runs in its own thread)::

    with FeedServer() as server:
        server.add("/feed", body, etag='"v1"', last_modified="Mon, 01 Apr 2024 07:52:00 GMT")
        server.add("/busy", status=429, headers={"Retry-After": "120"})
        server.redirect("/old", "/feed", status=301)
        server.add("/slow", body, delay=2.0)
        server.endless("/endless")
        server.gzip_bomb("/bomb", decoded_size=50_000_000)
        url = server.url("/feed")
        ...
        server.count("/feed"); server.requests  # RecordedRequest(path, method, headers, at)

``FeedServer.internal()`` is the "internal" host: 127.0.0.2, every path answers a page whose
description is ``INTERNAL_MARKER``, and it counts every TCP connection (``connections``) as
well as every request of any method, so a test can assert that nothing reached it.
``FeedServer(tls=True)`` serves HTTPS with ``TLS_CERT`` (a self-signed certificate for
127.0.0.1 and localhost: point ``SSL_CERT_FILE`` at it to trust it).

A route with ``etag`` / ``last_modified`` answers 304 to a matching If-None-Match /
If-Modified-Since.  ``gzip=True`` compresses the body when the client accepts gzip.
"""

from __future__ import annotations

import gzip as gzip_module
import ssl
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TLS_CERT = FIXTURES / "tls" / "cert.pem"
TLS_KEY = FIXTURES / "tls" / "key.pem"
INTERNAL_HOST = "127.0.0.2"
INTERNAL_MARKER = "INTERNAL-ONLY page: this text must never reach an alert"
INTERNAL_PAGE = (
    "<html><head><title>intranet</title>"
    f'<meta property="og:description" content="{INTERNAL_MARKER}"></head>'
    f"<body><p>{INTERNAL_MARKER}</p></body></html>"
).encode()


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0  # seconds before the status line
    gzip: bool = False
    endless: bool = False  # stream chunks until the client goes away
    chunk: bytes = b"<item>" + b"x" * 4090 + b"</item>\n"
    raw_gzip: bytes | None = None  # pre-compressed body sent with Content-Encoding: gzip
    handler: Callable[[RecordedRequest], Route] | None = None  # dynamic routes


@dataclass
class RecordedRequest:
    path: str
    method: str
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it arrived (time.monotonic())


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0  # TCP connections accepted

    def get_request(self) -> tuple[Any, Any]:
        request = super().get_request()
        self.connections += 1
        return request

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up mid-body (timeouts, size caps) is expected here
        pass


class FeedServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls: bool = False,
        default: Route | None = None,
    ) -> None:
        self.routes: dict[str, Route] = {}
        self.default = default  # answers paths without a route (else 404)
        self.tls = tls
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server._handle(self)

            do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_GET

        self._httpd = _QuietServer((host, port), Handler)
        self._httpd.daemon_threads = True
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(TLS_CERT, TLS_KEY)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread: threading.Thread | None = None

    @classmethod
    def internal(cls) -> FeedServer:
        """The "internal" host (127.0.0.2): every path answers ``INTERNAL_PAGE``."""
        return cls(INTERNAL_HOST, default=Route(body=INTERNAL_PAGE, content_type="text/html"))

    # ------------------------------------------------------------------ lifecycle
    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._httpd.connections

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def host(self) -> str:
        return self._httpd.server_address[0]

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> FeedServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ configuration
    def add(self, path: str, body: bytes | str = b"", **options: Any) -> Route:
        if isinstance(body, str):
            body = body.encode("utf-8")
        route = Route(body=body, **options)
        with self._lock:
            self.routes[path] = route
        return route

    def redirect(self, path: str, to: str, status: int = 301) -> Route:
        target = to if to.startswith("http") else self.url(to)
        return self.add(path, status=status, headers={"Location": target})

    def endless(self, path: str, **options: Any) -> Route:
        return self.add(path, endless=True, **options)

    def gzip_bomb(self, path: str, decoded_size: int = 50_000_000, **options: Any) -> Route:
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        zeros = b"\0" * 1_000_000
        parts = [compressor.compress(zeros) for _ in range(decoded_size // len(zeros))]
        parts.append(compressor.flush())
        return self.add(path, raw_gzip=b"".join(parts), **options)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path == path)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
        self._httpd.connections = 0

    # ------------------------------------------------------------------ serving
    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path
        length = h.headers.get("Content-Length", "")
        if length.isdigit():  # a request body (POST...): read it, so keep-alive stays in step
            h.rfile.read(min(int(length), 1_000_000))
        recorded = RecordedRequest(path=path, method=h.command, headers=dict(h.headers.items()))
        with self._lock:
            self.requests.append(recorded)
            route = self.routes.get(path) or self.routes.get(path.split("?", 1)[0]) or self.default
        if route is not None and route.handler is not None:
            route = route.handler(recorded)
        if route is None:
            self._send(h, 404, {"Content-Type": "text/plain"}, b"not found")
            return
        if route.delay:
            end = time.monotonic() + route.delay
            while time.monotonic() < end and not self._stopping.is_set():
                time.sleep(0.01)
        headers = {"Content-Type": route.content_type, **route.headers}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        if route.status == 200 and self._not_modified(h, route):
            self._send(h, 304, {k: v for k, v in headers.items() if k != "Content-Type"}, b"")
            return
        if route.endless:
            self._stream_endless(h, route, headers)
            return
        body = route.body
        if route.raw_gzip is not None:
            headers["Content-Encoding"] = "gzip"
            body = route.raw_gzip
        elif route.gzip and "gzip" in h.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            body = gzip_module.compress(body)
        self._send(h, route.status, headers, body)

    @staticmethod
    def _not_modified(h: BaseHTTPRequestHandler, route: Route) -> bool:
        inm = h.headers.get("If-None-Match")
        ims = h.headers.get("If-Modified-Since")
        if route.etag and inm is not None:
            return route.etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        return bool(route.last_modified and ims is not None and ims == route.last_modified)

    def _send(
        self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        try:
            h.send_response(status)
            for key, value in headers.items():
                h.send_header(key, value)
            if status != 304:
                h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            if h.command != "HEAD" and status != 304:
                h.wfile.write(body)
        except OSError:  # the client hung up
            h.close_connection = True

    def _stream_endless(
        self, h: BaseHTTPRequestHandler, route: Route, headers: dict[str, str]
    ) -> None:
        h.close_connection = True
        try:
            h.send_response(route.status)
            for key, value in headers.items():
                h.send_header(key, value)
            h.send_header("Connection", "close")
            h.end_headers()
            h.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            while not self._stopping.is_set():
                h.wfile.write(route.chunk)
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass
