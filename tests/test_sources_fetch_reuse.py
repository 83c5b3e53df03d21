"""The fetcher keeps connections open across answers that carry no body worth reading (a 304,
a small 404, a redirect), and does not pay for httpcore's import of an absent sniffio."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

from bot.config import PollingSettings
from bot.sources import Fetcher, FetchPolicy
from bot.sources.fetch import DRAIN_BYTES
from tests.fakes.feedserver import FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


async def _get_many(server: FeedServer, path: str, times: int, **kwargs) -> list[int]:
    url = server.url(path)
    async with Fetcher(PollingSettings()) as fetcher:
        return [
            (await fetcher.get(url, policy=FetchPolicy.for_source(url), **kwargs)).status
            for _ in range(times)
        ]


async def test_304_answers_keep_the_connection(server: FeedServer):
    server.add("/feed", b"<rss/>", etag='"v1"')
    assert await _get_many(server, "/feed", 20, etag='"v1"') == [304] * 20
    assert server.connections == 1


async def test_small_error_bodies_and_redirects_keep_it_too(server: FeedServer):
    server.add("/gone", b"not here " * 100, status=404)
    server.redirect("/old", "/feed", status=302)
    server.add("/feed", b"<rss/>")
    assert await _get_many(server, "/gone", 5) == [404] * 5
    assert await _get_many(server, "/old", 5) == [200] * 5
    assert server.connections == 2  # one per Fetcher


async def test_a_big_error_body_is_not_read(server: FeedServer):
    server.add("/err", b"x" * (DRAIN_BYTES * 50), status=500)
    started = time.monotonic()
    assert await _get_many(server, "/err", 3) == [500] * 3
    assert time.monotonic() - started < 5
    assert server.connections == 3  # closed each time rather than read


def test_an_absent_sniffio_is_recorded_once():
    import importlib.util

    import bot.sources.fetch  # noqa: F401  (the module records it on import)

    module = sys.modules.get("sniffio", "unrecorded")
    if module is None:
        with pytest.raises(ImportError):
            import sniffio  # noqa: F401
    else:  # installed: found, and left alone
        assert module != "unrecorded" or importlib.util.find_spec("sniffio") is not None
