"""Sources: fetch a source politely, parse it into ``Headline`` objects, never crash on input.

Public API::

    state = SourceState.from_dict(store.source_state(name))
    policy = FetchPolicy.for_source(source.url)     # an operator's source; STRICT for a user's
    async with Fetcher(settings.polling) as fetcher:
        result = await poll_source(fetcher, source, state, now, policy=policy)  # never raises
        store.set_source_state(name, result.state.to_dict())
        headlines = await fill_summaries(fetcher, new_headlines, policy=policy)  # optional

Every fetch carries a ``FetchPolicy`` (``bot.sources.netguard``): an operator-configured
source trusts its own host; ``STRICT`` trusts only public addresses and ``allow_hosts``.

``poll_source`` takes the normal interval from ``source.interval_seconds``, else
``interval=`` if given, else ``fetcher.polling.interval_seconds``; the backoff cap from
``fetcher.polling.max_backoff_seconds`` (or ``max_backoff=``).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.config import SourceConfig
from bot.models import Headline
from bot.sources.feeds import ParseError, ParseReport, parse_feed
from bot.sources.fetch import Fetcher, FetchError, FetchRefused, FetchResponse, parse_retry_after
from bot.sources.jsonapi import parse_json_api
from bot.sources.netguard import STRICT, FetchPolicy, same_host
from bot.sources.pace import merge_hints
from bot.sources.pages import extract_summary, parse_listing
from bot.sources.text import scrub

__all__ = [
    "STRICT",
    "FetchError",
    "FetchPolicy",
    "FetchRefused",
    "FetchResponse",
    "Fetcher",
    "ParseError",
    "PollResult",
    "SourceState",
    "backoff_seconds",
    "extract_summary",
    "fill_summaries",
    "parse_body",
    "parse_retry_after",
    "poll_source",
]

#: cap on how long a Retry-After is honoured (a server asking for a week is not obeyed blindly)
MAX_RETRY_AFTER = 24 * 3600.0
_ERROR_TEXT_MAX = 300


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _positive(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
    return float(value) if ok else None


@dataclass(slots=True)
class SourceState:
    """What the poller keeps per source between polls (persist with ``to_dict``)."""

    url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    next_poll_at: datetime | None = None
    last_error: str | None = None
    last_status: int | None = None
    last_ids: list[str] = field(default_factory=list)
    polls: int = 0
    last_success_at: datetime | None = None
    last_items: int = 0
    # pacing (bot/sources/pace.py): the source's own hints (seconds by kind), when it was
    # first polled, and the interval chosen after the last poll with its reason
    hints: dict[str, float] = field(default_factory=dict)
    watching_since: datetime | None = None
    interval: float | None = None
    interval_reason: str | None = None
    # a chat's own source (bot/chat_sources/health.py): when its failure was reported to its
    # chats (None: not reported, or announced recovered since)
    reported_failing: datetime | None = None
    # when the run of failed polls began (None: the last poll worked)
    failing_since: datetime | None = None

    def failed(self, now: datetime) -> None:
        """Count a failed poll made ``now`` (the run's start is kept; a run begun before runs
        were dated began, at the latest, after the last success)."""
        if self.failures <= 0:
            self.failing_since = now
        elif self.failing_since is None:
            self.failing_since = self.last_success_at or self.watching_since or now
        self.failures += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "etag": self.etag,
            "last_modified": self.last_modified,
            "failures": self.failures,
            "next_poll_at": self.next_poll_at.isoformat() if self.next_poll_at else None,
            "last_error": self.last_error,
            "last_status": self.last_status,
            "last_ids": list(self.last_ids),
            "polls": self.polls,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "last_items": self.last_items,
            "hints": dict(self.hints),
            "watching_since": self.watching_since.isoformat() if self.watching_since else None,
            "interval": self.interval,
            "interval_reason": self.interval_reason,
            "reported_failing": (
                self.reported_failing.isoformat() if self.reported_failing else None
            ),
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> SourceState:
        data = data or {}
        return cls(
            url=data.get("url"),
            etag=data.get("etag"),
            last_modified=data.get("last_modified"),
            failures=int(data.get("failures", 0) or 0),
            next_poll_at=_dt(data.get("next_poll_at")),
            last_error=data.get("last_error"),
            last_status=data.get("last_status"),
            last_ids=list(data.get("last_ids") or []),
            polls=int(data.get("polls", 0) or 0),
            last_success_at=_dt(data.get("last_success_at")),
            last_items=int(data.get("last_items", 0) or 0),
            hints=merge_hints(hints if isinstance(hints := data.get("hints"), dict) else {}),
            watching_since=_dt(data.get("watching_since")),
            interval=_positive(data.get("interval")),
            interval_reason=data.get("interval_reason") or None,
            reported_failing=_dt(data.get("reported_failing")),
            failing_since=_dt(data.get("failing_since")),
        )

    def copy(self) -> SourceState:
        return replace(self, last_ids=list(self.last_ids), hints=dict(self.hints))


@dataclass(slots=True)
class PollResult:
    source: str
    status: str  # "ok" | "not_modified" | "error"
    http_status: int | None
    headlines: list[Headline]
    error: str | None
    state: SourceState  # the new state (the input state is not modified)
    skipped: int = 0  # items dropped by the parser (no link / title)
    elapsed: float = 0.0  # seconds spent fetching + parsing
    refused: bool = False  # the outbound policy refused the fetch (``error`` says why)

    @property
    def ok(self) -> bool:
        return self.status != "error"


def backoff_seconds(
    failures: int, interval: float, cap: float, rng: random.Random | None = None
) -> float:
    """Delay after ``failures`` consecutive failures: interval x 2^(failures-1), +/-20% jitter,
    never above ``cap`` (and never below 1 s)."""
    exponent = min(max(failures - 1, 0), 30)
    delay = min(cap, interval * (2**exponent))
    delay *= (rng or random).uniform(0.8, 1.2)
    return max(1.0, min(cap, delay))


def parse_body(
    source: SourceConfig, body: bytes, url: str, now: datetime, content_type: str = ""
) -> ParseReport:
    """Parse a body fetched for ``source`` according to its type; raises ParseError."""
    if source.type == "rss":
        return parse_feed(body, url, source.name, source.timezone, now, content_type)
    if source.type == "json":
        fields = source.fields or {"title": "title", "link": "link|url", "summary": "summary"}
        return parse_json_api(
            body, url, source.name, fields, source.items_path, source.timezone, now
        )
    if source.type == "html":
        return parse_listing(body, url, source.name, source.link_selector or "a[href]", now)
    raise ParseError(f"unknown source type {source.type!r}")


def _short(text: str) -> str:
    text = " ".join(scrub(text).split())
    return text if len(text) <= _ERROR_TEXT_MAX else text[: _ERROR_TEXT_MAX - 1] + "…"


class _Failure(Exception):
    """Why a step of a poll failed; :meth:`_Poll.fail` turns it into an "error" result."""

    def __init__(self, error: str, http_status: int | None = None,
                 retry_after: float | None = None, *, refused: bool = False) -> None:
        super().__init__(error)
        self.error = error
        self.http_status = http_status
        self.retry_after = retry_after  # the server's wish, instead of the back-off
        self.refused = refused  # the outbound policy refused the fetch


async def poll_source(
    fetcher: Fetcher,
    source: SourceConfig,
    state: SourceState,
    now: datetime,
    *,
    policy: FetchPolicy,
    interval: float | None = None,
    max_backoff: float | None = None,
    rng: random.Random | None = None,
) -> PollResult:
    """Fetch and parse ``source`` once under ``policy`` (``FetchPolicy.for_source(source.url)``
    for an operator's source).  Never raises on bad input or network trouble.

    The steps: fetch, classify the response, parse, then the new state (:class:`_Poll`)."""
    poll = _Poll.begin(fetcher, source, state, now, interval=interval,
                       max_backoff=max_backoff, rng=rng)
    try:
        response = await _fetch(fetcher, poll.url, poll.new, policy)
        poll.follow(response)
        if _classify(response, now) == "not_modified":
            return poll.not_modified(response)
        # a 300 kB feed takes feedparser ~240 ms: parsed in a worker thread, so the loop
        # (replies, other polls, delivery) keeps its turns every switch interval (5 ms)
        report = await asyncio.to_thread(_parse, source, response, now)
    except _Failure as failure:
        return poll.fail(failure)
    return poll.ok(response, report)


async def _fetch(fetcher: Fetcher, url: str, state: SourceState,
                 policy: FetchPolicy) -> FetchResponse:
    """The conditional GET; every way it can fail is a :class:`_Failure`."""
    try:
        return await fetcher.get(url, state.etag, state.last_modified, policy=policy)
    except FetchRefused as exc:
        raise _Failure(f"refused: {exc}", refused=True) from exc
    except FetchError as exc:
        raise _Failure(str(exc) or type(exc).__name__) from exc
    except Exception as exc:  # a bug or an unexpected library error: still never raise
        raise _Failure(f"unexpected {type(exc).__name__}: {exc}") from exc


def _classify(response: FetchResponse, now: datetime) -> str:
    """Either "ok" (a body to parse) or "not_modified"; any other answer is a `_Failure`."""
    code = response.status
    if code == 304:
        return "not_modified"
    if code in (429, 503):
        wait = response.retry_after(now)
        raise _Failure(
            f"HTTP {code}" + (f", Retry-After {wait:g} s" if wait is not None else ""), code, wait
        )
    if code != 200:
        raise _Failure(f"HTTP {code}", code)
    if not response.body.strip():
        raise _Failure("empty body", code)
    return "ok"


def _parse(source: SourceConfig, response: FetchResponse, now: datetime) -> ParseReport:
    try:
        return parse_body(source, response.body, response.url, now, response.content_type)
    except ParseError as exc:
        raise _Failure(f"parse error: {exc}", response.status) from exc
    except Exception as exc:  # parsers are robust, but garbage must never crash a poll
        raise _Failure(f"parse error: {type(exc).__name__}: {exc}", response.status) from exc


@dataclass
class _Poll:
    """One poll's clock and intervals, and the new state it writes (the input one is kept)."""

    source: SourceConfig
    now: datetime
    normal: float  # the interval after a success
    cap: float  # the longest back-off
    rng: random.Random | None
    new: SourceState
    url: str  # what is fetched
    started: float  # loop time

    @classmethod
    def begin(cls, fetcher: Fetcher, source: SourceConfig, state: SourceState, now: datetime,
              *, interval: float | None, max_backoff: float | None,
              rng: random.Random | None) -> _Poll:
        started = asyncio.get_running_loop().time()
        normal = float(source.interval_seconds or interval or fetcher.polling.interval_seconds)
        cap = float(max_backoff or fetcher.polling.max_backoff_seconds)
        new = state.copy()
        # a stored URL is a permanent redirect on the source's own host; anything else
        # (saved by an older version) is forgotten
        if state.url and not same_host(state.url, source.url):
            new.url = None
        return cls(source, now, normal, cap, rng, new, new.url or source.url, started)

    def follow(self, response: FetchResponse) -> None:
        """Remember a permanent redirect (the fetcher saves only one on the same host)."""
        if response.permanent_url and response.permanent_url != self.url:
            self.new.url = response.permanent_url

    def fail(self, failure: _Failure) -> PollResult:
        new = self.new
        new.failed(self.now)
        new.last_error = _short(failure.error)
        new.last_status = failure.http_status
        if failure.retry_after is not None:
            delay = min(max(failure.retry_after, 1.0), MAX_RETRY_AFTER)
        else:
            delay = backoff_seconds(new.failures, self.normal, self.cap, self.rng)
        new.next_poll_at = self.now + timedelta(seconds=delay)
        return PollResult(self.source.name, "error", failure.http_status, [], new.last_error,
                          new, elapsed=self._elapsed(), refused=failure.refused)

    def not_modified(self, response: FetchResponse) -> PollResult:
        self._succeed(response.status)
        headers = response.hints(self.now)
        self.new.hints = merge_hints(self.new.hints, headers=headers, not_modified=True)
        return PollResult(self.source.name, "not_modified", response.status, [], None,
                          self.new, elapsed=self._elapsed())

    def ok(self, response: FetchResponse, report: ParseReport) -> PollResult:
        new = self.new
        self._succeed(response.status)
        new.hints = merge_hints(new.hints, headers=response.hints(self.now), feed=report.hints)
        new.etag = response.etag
        new.last_modified = response.last_modified
        new.last_ids = [h.id for h in report.headlines]
        new.last_items = len(report.headlines)
        new.polls += 1
        return PollResult(self.source.name, "ok", response.status, report.headlines, None,
                          new, skipped=report.skipped, elapsed=self._elapsed())

    def _succeed(self, http_status: int) -> None:
        new = self.new
        new.failures = 0
        new.failing_since = None
        new.last_error = None
        new.last_status = http_status
        new.next_poll_at = self.now + timedelta(seconds=self.normal)
        new.last_success_at = self.now

    def _elapsed(self) -> float:
        return asyncio.get_running_loop().time() - self.started


async def fill_summaries(
    fetcher: Fetcher,
    headlines: list[Headline],
    *,
    policy: FetchPolicy,
    limit: int = 20,
    concurrency: int = 4,
) -> list[Headline]:
    """The same headlines, those with an empty summary filled from their article page,
    fetched under ``policy`` (a page the policy refuses leaves the summary empty).

    At most ``limit`` pages are fetched per call (the others stay as they are); each article
    URL is fetched once for the life of the fetcher (cached); errors leave the summary empty.
    """
    gate = asyncio.Semaphore(max(1, concurrency))
    todo = [i for i, h in enumerate(headlines) if not h.summary][: max(0, limit)]
    out = list(headlines)

    async def one(index: int) -> None:
        async with gate:
            try:
                text = await fetcher.summary(out[index].link, policy=policy)
            except Exception:
                text = ""
        if text:
            out[index] = replace(out[index], summary=text)

    await asyncio.gather(*(one(i) for i in todo))
    return out
