"""poll_source and Fetcher against the local feed server (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from bot.config import PollingSettings, SourceConfig
from bot.models import Headline
from bot.sources import (
    Fetcher,
    FetchPolicy,
    SourceState,
    backoff_seconds,
)
from bot.sources import fill_summaries as _fill_summaries
from bot.sources import poll_source as _poll_source
from bot.sources.fetch import parse_retry_after
from tests.fakes.feedserver import FeedServer, Route

FIX = Path(__file__).parent / "fixtures" / "sources"
RSS = (FIX / "rss_rules.xml").read_bytes()
NOW = datetime(2025, 11, 20, 4, 0, tzinfo=UTC)
LM = "Wed, 19 Nov 2025 10:00:00 GMT"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as srv:
        yield srv


def settings(**kw: object) -> PollingSettings:
    base = {
        "timeout_seconds": 0.5,
        "max_body_bytes": 200_000,
        "interval_seconds": 300,
        "max_backoff_seconds": 3600,
    }
    base.update(kw)
    return PollingSettings(**base)  # type: ignore[arg-type]


async def poll_source(fetcher: Fetcher, source: SourceConfig, *args: object, **kw: object):
    """As the poller calls it: an operator-configured source, its own host trusted."""
    return await _poll_source(
        fetcher, source, *args, policy=FetchPolicy.for_source(source.url), **kw  # type: ignore[arg-type]
    )


async def fill_summaries(
    fetcher: Fetcher, headlines: list[Headline], server: FeedServer, **kw: object
) -> list[Headline]:
    """Summaries of articles on the feed server, fetched as the feed's own host."""
    policy = FetchPolicy.for_source(server.url("/feed"))
    return await _fill_summaries(fetcher, headlines, policy=policy, **kw)  # type: ignore[arg-type]


def rss_source(url: str, **kw: object) -> SourceConfig:
    return SourceConfig(name="T", url=url, timezone="Asia/Shanghai", **kw)  # type: ignore[arg-type]


async def poll(server: FeedServer, path: str, state: SourceState | None = None, **kw: object):
    async with Fetcher(settings(**kw), total_timeout=1.5) as fetcher:
        return await poll_source(fetcher, rss_source(server.url(path)), state or SourceState(), NOW)


async def test_ok_then_304_with_etag(server: FeedServer) -> None:
    server.add("/feed", RSS, etag='"v1"', last_modified=LM)
    async with Fetcher(settings()) as fetcher:
        src = rss_source(server.url("/feed"))
        first = await poll_source(fetcher, src, SourceState(), NOW)
        assert first.status == "ok" and first.http_status == 200 and first.error is None
        assert len(first.headlines) == 5
        st = first.state
        assert (st.etag, st.last_modified) == ('"v1"', LM)
        assert st.last_ids == [h.id for h in first.headlines]
        assert st.polls == 1 and st.failures == 0
        assert st.next_poll_at == NOW + timedelta(seconds=300)
        second = await poll_source(fetcher, src, st, NOW)
    assert second.status == "not_modified" and second.http_status == 304
    assert second.headlines == [] and second.state.last_ids == st.last_ids
    sent = server.requests_for("/feed")[1].headers
    assert sent["If-None-Match"] == '"v1"' and sent["If-Modified-Since"] == LM
    assert "If-None-Match" not in server.requests_for("/feed")[0].headers


async def test_304_by_last_modified_only(server: FeedServer) -> None:
    server.add("/lm", RSS, last_modified=LM)
    first = await poll(server, "/lm")
    second = await poll(server, "/lm", first.state)
    assert first.status == "ok" and second.status == "not_modified"


async def test_source_interval_wins_over_default(server: FeedServer) -> None:
    server.add("/feed", RSS)
    async with Fetcher(settings()) as fetcher:
        res = await poll_source(
            fetcher, rss_source(server.url("/feed"), interval_seconds=42), SourceState(), NOW
        )
        res2 = await poll_source(
            fetcher, rss_source(server.url("/feed")), SourceState(), NOW, interval=77
        )
    assert res.state.next_poll_at == NOW + timedelta(seconds=42)
    assert res2.state.next_poll_at == NOW + timedelta(seconds=77)


async def test_429_retry_after_seconds(server: FeedServer) -> None:
    server.add("/busy", status=429, headers={"Retry-After": "120"})
    res = await poll(server, "/busy")
    assert res.status == "error" and res.http_status == 429 and "429" in (res.error or "")
    assert res.state.failures == 1
    assert res.state.next_poll_at == NOW + timedelta(seconds=120)


async def test_503_retry_after_http_date(server: FeedServer) -> None:
    when = format_datetime(NOW + timedelta(seconds=900), usegmt=True)
    server.add("/down", status=503, headers={"Retry-After": when})
    res = await poll(server, "/down")
    assert res.http_status == 503
    assert res.state.next_poll_at == NOW + timedelta(seconds=900)


def test_parse_retry_after() -> None:
    assert parse_retry_after("30") == 30
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=60), usegmt=True), NOW) == 60
    assert parse_retry_after("garbage") is None and parse_retry_after(None) is None


async def test_500_backs_off_exponentially_and_recovers(server: FeedServer) -> None:
    server.add("/flaky", status=500)
    state = SourceState()
    delays = []
    async with Fetcher(settings(max_backoff_seconds=2000)) as fetcher:
        src = rss_source(server.url("/flaky"))
        for _ in range(6):
            res = await poll_source(fetcher, src, state, NOW, rng=random.Random(1))
            assert res.status == "error" and res.error == "HTTP 500"
            state = res.state
            delays.append((state.next_poll_at - NOW).total_seconds())
        assert state.failures == 6 and state.last_error == "HTTP 500"
        assert delays[0] < delays[1] < delays[2] < delays[3]
        assert max(delays) <= 2000 and 1600 <= delays[-1] <= 2000  # capped (jitter below the cap)
        server.add("/flaky", RSS)
        ok = await poll_source(fetcher, src, state, NOW)
    assert ok.status == "ok" and ok.state.failures == 0 and ok.state.last_error is None
    assert ok.state.next_poll_at == NOW + timedelta(seconds=300)


def test_backoff_jitter_and_cap() -> None:
    values = {backoff_seconds(3, 100, 10_000, random.Random(seed)) for seed in range(20)}
    assert len(values) > 1 and all(320 <= v <= 480 for v in values)
    assert all(2880 <= backoff_seconds(50, 100, 3600) <= 3600 for _ in range(20))


async def test_slow_server_times_out(server: FeedServer) -> None:
    server.add("/slow", RSS, delay=3)
    started = time.monotonic()
    res = await poll(server, "/slow")
    assert time.monotonic() - started < 2.0
    assert res.status == "error" and "timeout" in (res.error or "").lower()
    assert res.http_status is None and res.state.failures == 1


async def test_endless_body_is_cut_off(server: FeedServer) -> None:
    server.endless("/endless")
    res = await poll(server, "/endless")
    assert res.status == "error" and "cap" in (res.error or "")


async def test_gzip_bomb_is_cut_off_by_decoded_size(server: FeedServer) -> None:
    server.gzip_bomb("/bomb", decoded_size=50_000_000)
    assert len(server.routes["/bomb"].raw_gzip or b"") < 200_000  # small on the wire
    res = await poll(server, "/bomb")
    assert res.status == "error" and "cap" in (res.error or "")


async def test_large_declared_body_refused(server: FeedServer) -> None:
    server.add("/big", b"<rss>" + b" " * 300_000 + b"</rss>")
    res = await poll(server, "/big")
    assert res.status == "error" and "cap" in (res.error or "")


async def test_gzip_body_is_decoded(server: FeedServer) -> None:
    server.add("/gz", RSS, gzip=True)
    res = await poll(server, "/gz")
    assert res.status == "ok" and len(res.headlines) == 5
    headers = server.requests_for("/gz")[0].headers
    assert "gzip" in headers["Accept-Encoding"]
    assert headers["User-Agent"].startswith("newsbot/")


@pytest.mark.parametrize(
    ("code", "permanent"), [(301, True), (308, True), (302, False), (307, False)]
)
async def test_redirects(server: FeedServer, code: int, permanent: bool) -> None:
    server.add("/new", RSS)
    server.redirect("/old", "/new", status=code)
    res = await poll(server, "/old")
    assert res.status == "ok" and len(res.headlines) == 5
    assert res.state.url == (server.url("/new") if permanent else None)


async def test_permanent_then_temporary_redirect_keeps_first_hop(server: FeedServer) -> None:
    server.add("/final", RSS)
    server.redirect("/tmp", "/final", status=302)
    server.redirect("/old", "/tmp", status=301)
    res = await poll(server, "/old")
    assert res.status == "ok" and res.state.url == server.url("/tmp")


async def test_redirect_loop_is_an_error(server: FeedServer) -> None:
    server.redirect("/a", "/b", status=302)
    server.redirect("/b", "/a", status=302)
    res = await poll(server, "/a")
    assert res.status == "error" and "redirect" in (res.error or "")


async def test_state_url_is_used(server: FeedServer) -> None:
    server.add("/moved", RSS)
    res = await poll(server, "/gone", SourceState(url=server.url("/moved")))
    assert res.status == "ok" and server.count("/gone") == 0 and server.count("/moved") == 1


async def test_a_stored_url_on_another_host_is_forgotten(server: FeedServer, internal) -> None:
    # saved by an older version from a cross-host 301: the configured URL is fetched again
    server.add("/feed", RSS)
    res = await poll(server, "/feed", SourceState(url=internal.url("/feed")))
    assert res.status == "ok" and res.state.url is None
    assert server.count("/feed") == 1 and internal.connections == 0


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"\x00\xff\xfe garbage \x89PNG" * 100, "application/octet-stream"),
        (b"<html><body><p>Moved to our new site</p></body></html>", "text/html"),
        (b"", "application/rss+xml"),
        (b"{not json", "application/json"),
    ],
)
async def test_garbage_is_an_error_not_a_crash(server: FeedServer, body: bytes, ctype: str) -> None:
    server.add("/junk", body, content_type=ctype)
    res = await poll(server, "/junk")
    assert res.status == "error" and res.http_status == 200 and res.error
    assert res.state.failures == 1 and res.state.next_poll_at is not None


async def test_connection_refused_is_an_error() -> None:
    with FeedServer() as srv:
        url = srv.url("/feed")
    async with Fetcher(settings()) as fetcher:
        res = await poll_source(fetcher, rss_source(url), SourceState(), NOW)
    assert res.status == "error" and res.http_status is None and res.error


async def test_json_and_html_sources(server: FeedServer) -> None:
    server.add(
        "/api",
        (FIX / "caixin_homeInterface.jsonp").read_bytes(),
        content_type="application/javascript",
    )
    server.add("/tech/", (FIX / "caixin_tech_page.html").read_bytes(), content_type="text/html")
    from bot.config import _CAIXIN_FIELDS

    api = SourceConfig(
        name="CX",
        type="json",
        url=server.url("/api"),
        timezone="Asia/Shanghai",
        fields=_CAIXIN_FIELDS,
    )
    page = SourceConfig(
        name="CXP",
        type="html",
        url=server.url("/tech/"),
        link_selector='a[href*="/20"][href*=".html"]',
    )
    async with Fetcher(settings()) as fetcher:
        r1 = await poll_source(fetcher, api, SourceState(), NOW)
        r2 = await poll_source(fetcher, page, SourceState(), NOW)
        r3 = await poll_source(
            fetcher, api.model_copy(update={"url": server.url("/tech/")}), SourceState(), NOW
        )
    assert r1.status == "ok" and len(r1.headlines) == 21 and r1.headlines[1].paid
    assert r2.status == "ok" and len(r2.headlines) == 21
    assert r3.status == "error" and "JSON" in (r3.error or "")


async def test_state_round_trip() -> None:
    st = SourceState(
        url="https://e.com/f",
        etag='"x"',
        failures=2,
        next_poll_at=NOW,
        last_ids=["a", "b"],
        polls=3,
        last_status=200,
    )
    assert SourceState.from_dict(st.to_dict()) == st
    assert SourceState.from_dict({}) == SourceState()
    assert SourceState.from_dict(None) == SourceState()


async def test_one_request_per_host_and_bounded_in_flight(server: FeedServer) -> None:
    server.add("/s", RSS, delay=0.2)
    async with Fetcher(settings(max_in_flight=4, timeout_seconds=2), total_timeout=5) as fetcher:
        src = rss_source(server.url("/s"))
        started = time.monotonic()
        results = await asyncio.gather(
            *(poll_source(fetcher, src, SourceState(), NOW) for _ in range(3))
        )
        elapsed = time.monotonic() - started
    assert all(r.status == "ok" for r in results)
    assert elapsed >= 0.55  # three requests to one host ran one after another


async def test_max_in_flight_across_hosts() -> None:
    # two host names for loopback ("127.0.0.1" and "localhost"): the per-host lock does not
    # serialise them, only max_in_flight=1 does
    servers = [FeedServer().start() for _ in range(2)]
    try:
        for srv in servers:
            srv.add("/f", RSS, delay=0.3)
        urls = [servers[0].url("/f"), servers[1].url("/f").replace("127.0.0.1", "localhost")]
        async with Fetcher(settings(max_in_flight=1, timeout_seconds=2), total_timeout=5) as f:
            started = time.monotonic()
            results = await asyncio.gather(
                *(poll_source(f, rss_source(u), SourceState(), NOW) for u in urls)
            )
            elapsed = time.monotonic() - started
        async with Fetcher(settings(max_in_flight=2, timeout_seconds=2), total_timeout=5) as f:
            started = time.monotonic()
            await asyncio.gather(*(poll_source(f, rss_source(u), SourceState(), NOW) for u in urls))
            parallel = time.monotonic() - started
    finally:
        for srv in servers:
            srv.stop()
    assert [r.status for r in results] == ["ok"] * 2, [r.error for r in results]
    assert elapsed >= 0.55  # one after the other
    assert parallel < 0.55  # two hosts, two slots: together


async def test_fill_summaries_fetches_each_article_once(server: FeedServer) -> None:
    server.add("/a1", (FIX / "caixin_article.html").read_bytes(), content_type="text/html")
    server.add("/a2", (FIX / "caixin_article_no_meta.html").read_bytes(), content_type="text/html")
    server.add("/a3", status=500)
    feed = RSS.replace(
        b"https://news.example.com/nodate?fbclid=abc&amp;page=2", server.url("/a1").encode()
    )
    feed = feed.replace(b"https://news.example.com/future", server.url("/a2").encode())
    feed = feed.replace(b"https://news.example.com/micro/1", server.url("/a3").encode())
    server.add("/feed", feed)
    async with Fetcher(settings()) as fetcher:
        res = await poll_source(fetcher, rss_source(server.url("/feed")), SourceState(), NOW)
        filled = await fill_summaries(fetcher, res.headlines, server)
        again = await fill_summaries(fetcher, res.headlines, server)
    by_link = {h.link: h for h in filled}
    assert by_link[server.url("/a1")].summary.startswith("Touted as a way")
    assert by_link[server.url("/a2")].summary.startswith("Touted as a way")
    # had a summary in the feed: untouched, not fetched
    assert [h.summary for h in filled if "att-deal" in h.link] == ["The deal & its terms."]
    assert by_link[server.url("/a3")].summary.startswith("A microblog")  # had one already
    assert again == filled
    assert server.count("/a1") == 1 and server.count("/a2") == 1 and server.count("/a3") == 0


async def test_fill_summaries_errors_ignored_and_limited(server: FeedServer) -> None:
    server.add("/broken", status=500)
    server.add("/slow", b"<p>" + b"x" * 100 + b"</p>", delay=3, content_type="text/html")

    hs = [
        Headline(source="T", id=str(i), title="t", link=server.url(p))
        for i, p in enumerate(["/broken", "/slow", "/never"])
    ]
    async with Fetcher(settings(), total_timeout=1) as fetcher:
        out = await fill_summaries(fetcher, hs, server, limit=2)
    assert [h.summary for h in out] == ["", "", ""]
    assert server.count("/never") == 0


async def test_dynamic_route_and_request_recording(server: FeedServer) -> None:
    versions = iter([RSS, RSS.replace(b"From The Future", b"Breaking Story")])
    server.add("/dyn", handler=lambda req: Route(body=next(versions)))
    a = await poll(server, "/dyn")
    b = await poll(server, "/dyn", a.state)
    assert "Breaking Story" in {h.title for h in b.headlines} - {h.title for h in a.headlines}
    assert server.count("/dyn") == 2


async def test_retry_after_with_unicode_digit_is_an_error_result_with_sane_backoff() -> None:
    import httpx

    assert parse_retry_after("²") is None and parse_retry_after("١٢") is None

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers=[(b"Retry-After", "²".encode("latin-1"))])

    async with Fetcher(settings(), transport=httpx.MockTransport(handler)) as fetcher:
        res = await poll_source(
            fetcher, rss_source("https://busy.example.com/feed"), SourceState(), NOW,
            rng=random.Random(1),
        )
    assert res.status == "error" and res.http_status == 429
    delay = (res.state.next_poll_at - NOW).total_seconds()
    assert 300 * 0.8 <= delay <= 300 * 1.2  # the ordinary backoff, as if there were no header


async def test_host_locks_stay_bounded_and_keep_one_request_per_host() -> None:
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(b"ok"))

    async with Fetcher(settings(), transport=httpx.MockTransport(handler)) as fetcher:
        for i in range(500):
            await fetcher.get(f"https://h{i}.example.com/a")
        assert len(fetcher._host_locks) < 10  # a lock nobody holds or waits for is gone
        # a lock in use is never dropped: a second request to the same host still waits for it
        held = fetcher._host_lock("https://busy.example.com/x")
        await held.acquire()
        try:
            for i in range(500):
                fetcher._host_lock(f"https://other{i}.example.com/")
            assert fetcher._host_lock("https://busy.example.com/y") is held
        finally:
            held.release()
