"""A source's own word on how often to ask: feed hints (ttl, sy:) and HTTP hints, parsed where
the bytes are read, and kept in the source's state by poll_source."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import formatdate

import httpx
import pytest

from bot.config import PollingSettings, SourceConfig
from bot.sources import Fetcher, SourceState, poll_source
from bot.sources.feeds import feed_hints, parse_feed
from bot.sources.fetch import cache_hints
from bot.sources.netguard import FetchPolicy
from tests.fakes.feedserver import FeedServer

NOW = datetime(2025, 11, 20, 4, 0, tzinfo=UTC)
HTTP_NOW = "Thu, 20 Nov 2025 04:00:00 GMT"


def rss(channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
        f"<title>T</title><link>https://t.example/</link>{channel_extra}"
        "<item><title>One</title><link>https://t.example/1</link></item>"
        "</channel></rss>"
    ).encode()


# ---------------------------------------------------------------------------- feeds


def test_ttl_and_sy_from_a_real_parse():
    report = parse_feed(
        rss(
            "<ttl>15</ttl><sy:updatePeriod>\n\thourly\t</sy:updatePeriod>"
            "<sy:updateFrequency> 2 </sy:updateFrequency>"
        ),
        "https://t.example/feed",
        "T",
    )
    assert report.hints == {"ttl": 900.0, "sy": 1800.0}
    assert len(report.headlines) == 1


@pytest.mark.parametrize(
    ("channel", "hints"),
    [
        ({}, {}),
        ({"ttl": "60"}, {"ttl": 3600.0}),
        ({"ttl": "0"}, {}),
        ({"ttl": "-5"}, {}),
        ({"ttl": "soon"}, {}),
        ({"ttl": "６０"}, {}),  # full-width digits are not a number of minutes
        ({"sy_updateperiod": "daily"}, {"sy": 86400.0}),  # frequency defaults to once
        ({"sy_updatefrequency": "4"}, {"sy": 21600.0}),  # period defaults to daily
        ({"sy_updateperiod": "Weekly", "sy_updatefrequency": "7"}, {"sy": 86400.0}),
        ({"sy_updateperiod": "fortnightly"}, {}),
        ({"sy_updateperiod": "hourly", "sy_updatefrequency": "0"}, {}),
        ({"sy_updateperiod": "hourly", "sy_updatefrequency": "x"}, {}),
    ],
)
def test_feed_hints(channel, hints):
    assert feed_hints(channel) == hints


def test_a_json_feed_has_no_hints():
    body = b'{"version": "https://jsonfeed.org/version/1.1", "items": []}'
    assert parse_feed(body, "https://t.example/feed.json", "T").hints == {}


# ---------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("headers", "hints"),
    [
        ({}, {}),
        ({"Cache-Control": "public, max-age=300"}, {"max-age": 300.0}),
        ({"Cache-Control": 'max-age="600"'}, {"max-age": 600.0}),
        ({"Cache-Control": "max-age=300", "Age": "280"}, {"max-age": 20.0}),
        ({"Cache-Control": "max-age=300", "Age": "400"}, {}),
        ({"Cache-Control": "max-age=0"}, {}),
        ({"Cache-Control": "no-cache, max-age=300"}, {}),
        ({"Cache-Control": "no-store"}, {}),
        # max-age wins over Expires; a malformed one is stale and shadows Expires too
        ({"Cache-Control": "max-age=60", "Expires": "Thu, 20 Nov 2025 05:00:00 GMT"},
         {"max-age": 60.0}),
        ({"Cache-Control": "max-age=soon", "Expires": "Thu, 20 Nov 2025 05:00:00 GMT"}, {}),
        ({"Expires": "Thu, 20 Nov 2025 04:10:00 GMT", "Date": HTTP_NOW}, {"expires": 600.0}),
        # Expires is read against the server's Date, not our clock
        ({"Expires": "Thu, 20 Nov 2025 04:10:00 GMT", "Date": "Thu, 20 Nov 2025 04:05:00 GMT"},
         {"expires": 300.0}),
        ({"Expires": "Thu, 20 Nov 2025 04:10:00 GMT"}, {"expires": 600.0}),
        ({"Expires": "0"}, {}),
        ({"Expires": "-1"}, {}),
        ({"Expires": "Wed, 19 Nov 2025 04:00:00 GMT"}, {}),
        ({"Retry-After": "120"}, {"retry-after": 120.0}),
        ({"Retry-After": "Thu, 20 Nov 2025 04:02:00 GMT"}, {"retry-after": 120.0}),
        ({"Retry-After": "²".encode(), "Age": "²".encode()}, {}),
        ({"Cache-Control": "max-age=300", "Retry-After": "900"},
         {"max-age": 300.0, "retry-after": 900.0}),
    ],
)
def test_cache_hints(headers, hints):
    assert cache_hints(httpx.Headers(headers), NOW) == hints


# ---------------------------------------------------------------------------- poll_source


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


async def poll(server: FeedServer, state: SourceState, source_type: str = "rss") -> SourceState:
    polling = PollingSettings(timeout_seconds=2)
    source = SourceConfig(name="T", url=server.url("/feed"), type=source_type)
    async with Fetcher(polling) as fetcher:
        result = await poll_source(
            fetcher, source, state, NOW, policy=FetchPolicy.for_source(source.url)
        )
    assert result.status != "error", result.error
    return result.state


async def test_poll_keeps_hints_in_the_state(server: FeedServer):
    server.add("/feed", rss("<ttl>10</ttl>"), etag='"v1"',
               headers={"Cache-Control": "max-age=120"})
    state = await poll(server, SourceState())
    assert state.hints == {"ttl": 600.0, "max-age": 120.0}
    assert SourceState.from_dict(state.to_dict()).hints == state.hints  # survives a restart

    # a 304 that repeats no caching header keeps both; the body's ttl is not re-read
    server.add("/feed", rss("<ttl>10</ttl>"), etag='"v1"')
    state = await poll(server, state)
    assert state.last_status == 304 and state.hints == {"ttl": 600.0, "max-age": 120.0}

    # a 304 with new caching headers replaces the header hints only
    server.add("/feed", rss("<ttl>10</ttl>"), etag='"v1"',
               headers={"Cache-Control": "max-age=30"})
    state = await poll(server, state)
    assert state.hints == {"ttl": 600.0, "max-age": 30.0}

    # a 200 without hints clears them
    server.add("/feed", rss(), etag='"v2"')
    state = await poll(server, state)
    assert state.last_status == 200 and state.hints == {}


async def test_a_json_source_gets_header_hints(server: FeedServer):
    # the fake server sends its own Date (the real clock): Expires is read against it
    expires = formatdate(time.time() + 300, usegmt=True)
    server.add("/feed", b'{"datas": []}', content_type="application/json",
               headers={"Expires": expires})
    state = await poll(server, SourceState(), "json")
    assert list(state.hints) == ["expires"]
    assert state.hints["expires"] == pytest.approx(300, abs=2)


def test_old_state_dicts_still_load():
    old = {"url": None, "etag": '"x"', "failures": 0, "polls": 3, "last_ids": ["a"]}
    state = SourceState.from_dict(old)
    assert state.polls == 3 and state.hints == {} and state.interval is None
    assert state.watching_since is None and state.interval_reason is None
    junk = {**old, "hints": "ttl", "interval": "soon"}
    assert SourceState.from_dict(junk).hints == {}
    assert SourceState.from_dict(junk).interval is None
    bad_values = {**old, "hints": {"ttl": "60", "max-age": 30}, "interval": -1}
    state = SourceState.from_dict(bad_values)
    assert state.hints == {"max-age": 30.0} and state.interval is None
