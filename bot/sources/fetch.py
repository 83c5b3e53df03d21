"""HTTP for sources: polite, bounded, and never reaching an internal address unasked.

* an honest User-Agent, ``Accept-Encoding: gzip, deflate`` (decoded here, see below);
* connect/read timeouts plus an overall deadline per request (a server that trickles bytes
  cannot hold a slot forever);
* the DECODED body is capped at ``max_body_bytes``: the raw stream is decompressed
  incrementally with a bounded output size, so an endless body or a gzip bomb is cut off
  after the cap, never buffered whole;
* at most ``max_in_flight`` requests at once, and one request at a time per host;
* conditional GET: ``get(url, etag, last_modified)`` sends If-None-Match / If-Modified-Since;
* every fetch carries a ``FetchPolicy`` (``bot.sources.netguard``): a host trusted by name
  (the policy's own host, or ``[polling] allow_hosts``) goes through one client; any other
  through a second client whose connections are checked by address at connect time, so only
  public addresses are reached.  Two clients, so a kept-alive connection to a trusted internal
  host is never reused by a fetch that does not trust it.  Proxy variables are ignored (a
  proxy would hide the address from the check); ``SSL_CERT_FILE`` is honoured;
* redirects are followed here (at most 5), each hop under the same policy; https -> http is
  refused; a permanent one (301/308 all the way) to the same host is reported to the caller,
  which then updates the stored URL -- one to another host is followed but not reported;
* ``summary(url, policy=...)``: an article page's description, fetched once per URL and
  policy (in-memory cache).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import sys
import weakref
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from bot.config import PollingSettings
from bot.sources.netguard import STRICT, AddressRefused, FetchPolicy, HostTrust, guard_transport
from bot.sources.netguard import same_host as _same_host

log = logging.getLogger(__name__)


def _record_sniffio_absent() -> None:
    """httpcore 1.0 runs ``import sniffio`` each time one of its locks is set up (several
    times per request); without sniffio installed (anyio 4 no longer needs it) every one of
    those is a failed search of ``sys.path``: about 1 ms of CPU per request, a fifth of a poll
    cycle.  Record the absence once, so that each such import fails at once, as it would."""
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_record_sniffio_absent()

MAX_REDIRECTS = 5
#: a non-2xx answer's body up to this size is read and dropped, so that its connection stays
#: open for the next request (an unread body, even the empty one of a 304, closes it)
DRAIN_BYTES = 64 * 1024
_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """The request failed before a usable answer (network, timeout, oversized body...)."""


class BodyTooLarge(FetchError):
    pass


class TooManyRedirects(FetchError):
    """More than ``MAX_REDIRECTS`` hops (a redirect loop, most likely)."""


class FetchRefused(FetchError):
    """Refused by the outbound policy (an internal address, a downgrade); ``str(e)`` says why."""


@dataclass(slots=True)
class FetchResponse:
    status: int
    url: str  # the URL that finally answered
    headers: httpx.Headers
    body: bytes = b""
    permanent_url: str | None = None  # set when every redirect hop was permanent (301/308)

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def retry_after(self, now: datetime | None = None) -> float | None:
        """Seconds to wait from ``Retry-After`` (delta-seconds or HTTP date), if present."""
        return parse_retry_after(self.headers.get("retry-after"), now)

    def hints(self, now: datetime | None = None) -> dict[str, float]:
        """How long this answer asks not to be asked again (see ``cache_hints``)."""
        return cache_hints(self.headers, now)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is True, float("²") fails
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _http_date(value: str | None) -> datetime | None:
    try:
        when = parsedate_to_datetime(value) if value else None
    except (TypeError, ValueError, IndexError):
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when


def _digits(value: str) -> int | None:
    value = value.strip().strip('"')
    return int(value) if value.isascii() and value.isdigit() else None


def cache_hints(headers: httpx.Headers, now: datetime | None = None) -> dict[str, float]:
    """Seconds the answer asks not to be fetched again for, by kind: ``max-age`` (less
    ``Age``), else ``expires`` (``Expires`` less ``Date``), and ``retry-after``.

    ``no-cache`` / ``no-store`` ask for nothing; a malformed ``max-age`` counts as stale and
    shadows ``Expires`` (RFC 9111); only positive values are returned."""
    now = now or datetime.now(UTC)
    hints: dict[str, float] = {}
    directives: dict[str, str] = {}
    for part in headers.get("cache-control", "").split(","):
        name, _, value = part.partition("=")
        directives[name.strip().lower()] = value
    if "no-cache" in directives or "no-store" in directives:
        pass
    elif "max-age" in directives:
        max_age = _digits(directives["max-age"])
        age = _digits(headers.get("age", "")) or 0
        if max_age is not None and max_age - age > 0:
            hints["max-age"] = float(max_age - age)
    elif "expires" in headers:
        expires = _http_date(headers.get("expires"))
        date = _http_date(headers.get("date")) or now
        if expires is not None and (expires - date).total_seconds() > 0:
            hints["expires"] = (expires - date).total_seconds()
    retry = parse_retry_after(headers.get("retry-after"), now)
    if retry:
        hints["retry-after"] = retry
    return hints


async def _drain(resp: httpx.Response) -> None:
    """Read and drop a body of at most ``DRAIN_BYTES`` (a bigger one is left unread: the
    connection is then closed, which costs less than reading it).  Never raises: a failure
    here only closes the connection."""
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_BYTES:
        return
    read = 0
    try:
        async for raw in resp.aiter_raw():
            read += len(raw)
            if read > DRAIN_BYTES:
                return
    except (httpx.HTTPError, httpx.StreamError):
        return  # the answer is what counts; the connection is closed


class _Decoder:
    """Content-Encoding decoding with a bounded output per step."""

    def __init__(self, encoding: str) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj()
            self._raw_deflate_fallback = True
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}")
        self._first = True

    def feed(self, chunk: bytes, budget: int) -> tuple[bytes, bool]:
        """Decode ``chunk``; return (output of at most ``budget`` + 1 bytes, overflowed)."""
        if self._z is None:
            return chunk, len(chunk) > budget
        out = bytearray()
        data = chunk
        try:
            while data:
                room = budget - len(out) + 1
                if room <= 0:
                    return bytes(out), True
                piece = self._z.decompress(data, room)
                out += piece
                data = self._z.unconsumed_tail
                if self._z.eof:
                    break
        except zlib.error as exc:
            if self._first and getattr(self, "_raw_deflate_fallback", False):
                # some servers send raw deflate without the zlib header
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                self._raw_deflate_fallback = False
                return self.feed(chunk, budget)
            raise FetchError(f"bad compressed body: {exc}") from exc
        self._first = False
        return bytes(out), len(out) > budget


class Fetcher:
    """Owns two ``httpx.AsyncClient`` (hosts trusted by name; the guarded rest); use
    ``async with Fetcher(...)`` or call ``close()``.

    ``transport`` lets tests plug in an ``httpx.MockTransport`` (it replaces the network, the
    address guard included); ``total_timeout`` is the deadline of one request including its
    body (default: 3 x ``timeout_seconds``).
    """

    def __init__(
        self,
        polling: PollingSettings | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        total_timeout: float | None = None,
        summary_cache_size: int = 4096,
        summary_max_bytes: int = 1_000_000,
    ) -> None:
        self.polling = polling or PollingSettings()
        p = self.polling
        self.total_timeout = total_timeout or p.timeout_seconds * 3
        self.max_body_bytes = p.max_body_bytes
        self.summary_max_bytes = min(summary_max_bytes, p.max_body_bytes)
        self.trust = HostTrust(p.allow_hosts)
        limits = httpx.Limits(
            max_connections=max(p.max_in_flight, 1) * 2,
            max_keepalive_connections=max(p.max_in_flight, 1) * 2,
        )
        # hosts trusted by name, and the rest: checked by address at every connect
        if transport is None:
            # certificates from SSL_CERT_FILE / SSL_CERT_DIR if set, else certifi's
            tls = httpx.create_ssl_context()
            trusted: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport(verify=tls, limits=limits)
            guarded: httpx.AsyncBaseTransport = guard_transport(
                httpx.AsyncHTTPTransport(verify=tls, limits=limits)
            )
        else:
            trusted = guarded = transport
        self._trusted = self._make_client(trusted)
        self._client = self._make_client(guarded)
        self._slots = asyncio.Semaphore(p.max_in_flight)
        # weak values: a host's lock lives while a request holds or waits for it, then goes,
        # so the dict does not grow with every article host ever fetched; one request per
        # host still holds, since everyone using a host's lock keeps it alive
        self._host_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._summaries: OrderedDict[tuple[FetchPolicy, str], str] = OrderedDict()
        self._summary_cache_size = summary_cache_size
        self._summary_pending: dict[tuple[FetchPolicy, str], asyncio.Future[str]] = {}
        self.requests_made = 0

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.aclose()
        await self._trusted.aclose()

    def _make_client(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
        p = self.polling
        return httpx.AsyncClient(
            headers={
                "User-Agent": p.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                "application/xml;q=0.9, application/json;q=0.9, text/html;q=0.8, */*;q=0.5",
            },
            timeout=httpx.Timeout(
                p.timeout_seconds, connect=min(p.timeout_seconds, 10.0), pool=None
            ),
            follow_redirects=False,
            trust_env=False,  # no proxy from the environment: the guard must see the address
            transport=transport,
        )

    def _host_lock(self, url: str) -> asyncio.Lock:
        host = (urlsplit(url).hostname or "").lower()
        lock = self._host_locks.get(host)
        if lock is None:
            lock = self._host_locks[host] = asyncio.Lock()
        return lock

    async def get(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        *,
        max_bytes: int | None = None,
        policy: FetchPolicy = STRICT,
    ) -> FetchResponse:
        """GET ``url`` (conditional when validators are given) under ``policy``; raises
        ``FetchError`` (``FetchRefused`` when the policy refuses a hop).

        Any HTTP status is returned, not raised; the body is read only for 2xx answers.
        """
        limit = max_bytes or self.max_body_bytes
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        permanent: str | None = None
        all_permanent = True
        current = url
        for hop in range(MAX_REDIRECTS + 1):
            try:
                response = await self._one(current, headers, limit, policy)
            except FetchRefused as exc:
                raise FetchRefused(f"redirect to {current}: {exc}" if hop else str(exc)) from exc
            if response.status in _REDIRECTS and "location" in response.headers:
                target = urljoin(current, response.headers["location"])
                scheme = urlsplit(target).scheme
                if scheme not in ("http", "https"):
                    raise FetchError(f"redirect to unsupported URL {target!r}")
                if scheme == "http" and urlsplit(current).scheme == "https":
                    raise FetchRefused(f"redirect from https to http refused: {target}")
                if response.status in _PERMANENT and all_permanent:
                    permanent = target
                else:
                    all_permanent = False
                current = target
                continue
            if permanent is not None and not _same_host(permanent, url):
                permanent = None  # followed this time, never saved: another host
            response.permanent_url = permanent
            return response
        raise TooManyRedirects(f"more than {MAX_REDIRECTS} redirects")

    async def _one(
        self, url: str, headers: dict[str, str], limit: int, policy: FetchPolicy
    ) -> FetchResponse:
        client = self._trusted if self.trust.trusts(url, policy) else self._client
        try:
            async with self._host_lock(url), self._slots:
                self.requests_made += 1
                async with asyncio.timeout(self.total_timeout):
                    return await self._stream(client, url, headers, limit)
        except AddressRefused as exc:
            raise FetchRefused(f"{exc} (not in [polling] allow_hosts)") from exc
        except TimeoutError as exc:
            raise FetchError(f"timed out after {self.total_timeout:g} s") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"timeout ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise FetchError(
                f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            ) from exc
        except (OSError, ValueError) as exc:  # invalid URL, socket errors not wrapped by httpx
            raise FetchError(f"{type(exc).__name__}: {exc}") from exc

    async def _stream(
        self, client: httpx.AsyncClient, url: str, headers: dict[str, str], limit: int
    ) -> FetchResponse:
        async with client.stream("GET", url, headers=headers) as resp:
            result = FetchResponse(status=resp.status_code, url=str(resp.url), headers=resp.headers)
            if not 200 <= resp.status_code < 300:
                await _drain(resp)
                return result
            declared = resp.headers.get("content-length", "")
            encoding = resp.headers.get("content-encoding", "")
            if declared.isdigit() and not encoding and int(declared) > limit:
                raise BodyTooLarge(f"body of {int(declared)} bytes exceeds the {limit} byte cap")
            decoder = _Decoder(encoding)
            body = bytearray()
            async for raw in resp.aiter_raw():
                out, over = decoder.feed(raw, limit - len(body))
                body += out
                if over or len(body) > limit:
                    raise BodyTooLarge(f"body exceeds the {limit} byte cap (decoded); cut off")
            result.body = bytes(body)
            return result

    # ------------------------------------------------------------------ article summaries

    async def summary(self, url: str, *, policy: FetchPolicy = STRICT) -> str:
        """The article's og:description / meta description / first paragraph, cached per URL
        and policy (what one policy refuses another may allow, and the reverse).

        Errors give ``""`` (and are cached too: a page is fetched once).
        """
        key = (policy, url)
        if key in self._summaries:
            self._summaries.move_to_end(key)
            return self._summaries[key]
        pending = self._summary_pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._summary_pending[key] = future
        text = ""
        try:
            from bot.sources.pages import extract_summary

            response = await self.get(url, max_bytes=self.summary_max_bytes, policy=policy)
            if response.status == 200 and response.body:
                text = extract_summary(response.body, response.url)
        except FetchRefused as exc:
            log.info("article page not fetched: %s", exc)
            text = ""
        except FetchError:
            text = ""
        except Exception:  # a parser crash on one page must not break a poll
            text = ""
        finally:
            self._summaries[key] = text
            while len(self._summaries) > self._summary_cache_size:
                self._summaries.popitem(last=False)
            self._summary_pending.pop(key, None)
            future.set_result(text)
        return text
