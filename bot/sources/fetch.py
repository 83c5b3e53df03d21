"""HTTP for sources: one ``httpx.AsyncClient``, polite and bounded.

* an honest User-Agent, ``Accept-Encoding: gzip, deflate`` (decoded here, see below);
* connect/read timeouts plus an overall deadline per request (a server that trickles bytes
  cannot hold a slot forever);
* the DECODED body is capped at ``max_body_bytes``: the raw stream is decompressed
  incrementally with a bounded output size, so an endless body or a gzip bomb is cut off
  after the cap, never buffered whole;
* at most ``max_in_flight`` requests at once, and one request at a time per host;
* conditional GET: ``get(url, etag, last_modified)`` sends If-None-Match / If-Modified-Since;
* redirects are followed here (at most 5) so that a permanent one (301/308 all the way) can be
  reported to the caller, which then updates the stored URL;
* ``summary(url)``: an article page's description, fetched once per URL (in-memory cache).
"""

from __future__ import annotations

import asyncio
import weakref
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from bot.config import PollingSettings

MAX_REDIRECTS = 5
_PERMANENT = (301, 308)
_REDIRECTS = (301, 302, 303, 307, 308)


class FetchError(Exception):
    """The request failed before a usable answer (network, timeout, oversized body...)."""


class BodyTooLarge(FetchError):
    pass


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
    """Owns one ``httpx.AsyncClient``; use ``async with Fetcher(...)`` or call ``close()``.

    ``transport`` lets tests plug in an ``httpx.MockTransport``; ``total_timeout`` is the
    deadline of one request including its body (default: 3 x ``timeout_seconds``).
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
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": p.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": "application/rss+xml, application/atom+xml, application/feed+json, "
                "application/xml;q=0.9, application/json;q=0.9, text/html;q=0.8, */*;q=0.5",
            },
            timeout=httpx.Timeout(
                p.timeout_seconds, connect=min(p.timeout_seconds, 10.0), pool=None
            ),
            limits=httpx.Limits(
                max_connections=max(p.max_in_flight, 1) * 2,
                max_keepalive_connections=max(p.max_in_flight, 1) * 2,
            ),
            follow_redirects=False,
            transport=transport,
        )
        self._slots = asyncio.Semaphore(p.max_in_flight)
        # weak values: a host's lock lives while a request holds or waits for it, then goes,
        # so the dict does not grow with every article host ever fetched; one request per
        # host still holds, since everyone using a host's lock keeps it alive
        self._host_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._summaries: OrderedDict[str, str] = OrderedDict()
        self._summary_cache_size = summary_cache_size
        self._summary_pending: dict[str, asyncio.Future[str]] = {}
        self.requests_made = 0

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._client.aclose()

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
    ) -> FetchResponse:
        """GET ``url`` (conditional when validators are given); raises ``FetchError``.

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
        for _hop in range(MAX_REDIRECTS + 1):
            response = await self._one(current, headers, limit)
            if response.status in _REDIRECTS and "location" in response.headers:
                target = urljoin(current, response.headers["location"])
                if urlsplit(target).scheme not in ("http", "https"):
                    raise FetchError(f"redirect to unsupported URL {target!r}")
                if response.status in _PERMANENT and all_permanent:
                    permanent = target
                else:
                    all_permanent = False
                current = target
                continue
            response.permanent_url = permanent
            return response
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    async def _one(self, url: str, headers: dict[str, str], limit: int) -> FetchResponse:
        try:
            async with self._host_lock(url), self._slots:
                self.requests_made += 1
                async with asyncio.timeout(self.total_timeout):
                    return await self._stream(url, headers, limit)
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

    async def _stream(self, url: str, headers: dict[str, str], limit: int) -> FetchResponse:
        async with self._client.stream("GET", url, headers=headers) as resp:
            result = FetchResponse(status=resp.status_code, url=str(resp.url), headers=resp.headers)
            if not 200 <= resp.status_code < 300:
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

    async def summary(self, url: str) -> str:
        """The article's og:description / meta description / first paragraph, cached per URL.

        Errors give ``""`` (and are cached too: a page is fetched once).
        """
        if url in self._summaries:
            self._summaries.move_to_end(url)
            return self._summaries[url]
        pending = self._summary_pending.get(url)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._summary_pending[url] = future
        text = ""
        try:
            from bot.sources.pages import extract_summary

            response = await self.get(url, max_bytes=self.summary_max_bytes)
            if response.status == 200 and response.body:
                text = extract_summary(response.body, response.url)
        except FetchError:
            text = ""
        except Exception:  # a parser crash on one page must not break a poll
            text = ""
        finally:
            self._summaries[url] = text
            while len(self._summaries) > self._summary_cache_size:
                self._summaries.popitem(last=False)
            self._summary_pending.pop(url, None)
            future.set_result(text)
        return text
