"""Outbound safety: the address policy (bot.sources.netguard) and the Fetcher that applies it.

The suite runs on loopback, so the tests use two loopback hosts: the feed server on 127.0.0.1
stands for an operator-configured source (its own host is trusted by the policy
``FetchPolicy.for_source``), and the "internal" host on 127.0.0.2 is not trusted by anything
unless a test lists it in ``allow_hosts``.  The internal host counts every TCP connection, so
"refused" means: not even connected to.  Each refusal test has a twin that allows the host
and sees the request arrive, so the refusal is the policy's doing, not a broken setup.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import httpcore
import pytest

from bot.config import ConfigError, PollingSettings, load_settings
from bot.sources.fetch import Fetcher, FetchRefused
from bot.sources.netguard import (
    STRICT,
    AddressRefused,
    FetchPolicy,
    GuardedBackend,
    HostTrust,
    address_class,
    same_host,
)
from tests.fakes.feedserver import INTERNAL_MARKER, TLS_CERT, FeedServer

ARTICLE = b'<html><head><meta name="description" content="The public article."></head></html>'


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def polling(**kw: Any) -> PollingSettings:
    return PollingSettings(timeout_seconds=2, **kw)


# ---------------------------------------------------------------------- address classes


@pytest.mark.parametrize(
    ("address", "label"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.0.0.1", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "shared"),
        ("100.127.255.255", "shared"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("::", "unspecified"),
        ("::1", "loopback"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("fe80::1", "link-local"),
        ("fe80::1%2", "link-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "reserved"),
        ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
        # IPv6 forms that carry an IPv4 address are judged by it
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.1.2.3", "private"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
    ],
)
def test_non_public_addresses_are_named(address: str, label: str) -> None:
    assert address_class(address) == label
    assert address_class(ipaddress.ip_address(address)) == label


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "::ffff:8.8.8.8",
     "2606:4700::1111", "2a00:1450:4001::200e", "64:ff9b::808:808"],
)
def test_public_addresses_pass(address: str) -> None:
    assert address_class(address) is None


# ---------------------------------------------------------------------- policies, allow_hosts


def test_a_source_policy_trusts_its_own_host_and_port_only() -> None:
    policy = FetchPolicy.for_source("http://Feeds.Example.com/rss")
    assert policy.exempts("http://feeds.example.com/article/1")
    assert policy.exempts("https://feeds.example.com./a")  # 80 and 443 count as one
    assert not policy.exempts("http://feeds.example.com:8080/a")
    assert not policy.exempts("http://other.example.com/a")
    assert not policy.exempts("http://example.com/a")
    on_port = FetchPolicy.for_source("http://127.0.0.1:8001/feed")
    assert on_port.exempts("http://127.0.0.1:8001/a")
    assert not on_port.exempts("http://127.0.0.1:8002/a")  # another service on the host
    assert not on_port.exempts("http://localhost:8001/a")  # trusted by name, not address
    assert not STRICT.exempts("http://127.0.0.1:8001/feed")


def test_allow_hosts_trust_by_name_on_any_port() -> None:
    trust = HostTrust(["Intranet.Example.", "127.0.0.2", "[::1]"])
    assert trust.trusts("http://intranet.example.com.evil/", STRICT) is False
    assert trust.trusts("http://intranet.example:9000/x", STRICT)
    assert trust.trusts("https://127.0.0.2/x", STRICT)
    assert trust.trusts("http://[::1]:8080/x", STRICT)
    assert trust.trusts("http://[0:0::1]/x", STRICT)
    assert not trust.trusts("http://127.0.0.3/x", STRICT)


def test_same_host() -> None:
    assert same_host("http://a.example/feed", "https://A.example/feed2")
    assert not same_host("http://a.example/feed", "http://b.example/feed")
    assert not same_host("http://a.example:81/feed", "http://a.example/feed")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [("http://x.example/", "not a host"), ("x.example:8080", "without a port"), ("", "not a")],
)
def test_bad_allow_hosts_entries_name_the_key(tmp_path, entry: str, problem: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(f'[polling]\nallow_hosts = ["{entry}"]\n')
    with pytest.raises(ConfigError, match=r"polling\.allow_hosts") as caught:
        load_settings(path, environ={})
    assert problem in str(caught.value)


def test_allow_hosts_config() -> None:
    assert PollingSettings().allow_hosts == []
    assert PollingSettings(allow_hosts=["Wiki.Intranet."]).allow_hosts == ["wiki.intranet"]


# ---------------------------------------------------------------------- the connection guard


class Recorder(httpcore.AsyncNetworkBackend):
    """An inner backend that records what it is asked to dial, and dials nothing."""

    def __init__(self) -> None:
        self.dialled: list[tuple[str, int]] = []

    async def connect_tcp(self, host: str, port: int, **kw: Any) -> httpcore.AsyncNetworkStream:
        self.dialled.append((host, port))
        raise httpcore.ConnectError("not dialling in tests")


async def test_the_guard_dials_the_address_it_checked_never_the_name() -> None:
    # A rebinding name answers a public address to the check and an internal one to a
    # second lookup.  The guard looks it up once and dials that checked address literal.
    answers = iter([["93.184.216.34"], ["127.0.0.2"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    inner = Recorder()
    guard = GuardedBackend(inner, resolve=rebinding)
    with pytest.raises(httpcore.ConnectError):
        await guard.connect_tcp("rebind.example", 80)
    assert inner.dialled == [("93.184.216.34", 80)]
    with pytest.raises(AddressRefused, match=r"rebind\.example \(127\.0\.0\.2\) is a loopback"):
        await guard.connect_tcp("rebind.example", 80)
    assert inner.dialled == [("93.184.216.34", 80)]  # nothing dialled for the internal answer


async def test_a_name_with_any_internal_address_is_refused_whole() -> None:
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.7"]

    inner = Recorder()
    with pytest.raises(AddressRefused, match="private"):
        await GuardedBackend(inner, resolve=mixed).connect_tcp("mixed.example", 443)
    assert inner.dialled == []


# ---------------------------------------------------------------------- the Fetcher, for real


async def test_strict_fetches_never_reach_internal_addresses(feeds, internal) -> None:
    port = internal.port
    urls = [
        internal.url("/latest/meta-data/"),
        f"http://[::ffff:127.0.0.2]:{port}/",  # IPv4-mapped IPv6
        f"http://2130706434:{port}/",  # 127.0.0.2 as one decimal number
        f"http://0x7f000002:{port}/",
        f"http://localhost:{port}/",  # a name that resolves to loopback
        feeds.url("/feed"),  # 127.0.0.1: no exemption under the strict policy
    ]
    async with Fetcher(polling()) as fetcher:
        for url in urls:
            with pytest.raises(FetchRefused, match="loopback address"):
                await fetcher.get(url, policy=STRICT)
    assert internal.connections == 0 and internal.requests == []
    assert feeds.connections == 0


async def test_allowed_hosts_are_fetched(internal) -> None:
    async with Fetcher(polling(allow_hosts=["127.0.0.2"])) as fetcher:
        response = await fetcher.get(internal.url("/wiki"), policy=STRICT)
    assert response.status == 200 and INTERNAL_MARKER.encode() in response.body
    assert [r.path for r in internal.requests] == ["/wiki"]


async def test_a_source_fetches_its_own_host_but_no_other_internal_one(feeds, internal) -> None:
    feeds.add("/feed", b"<rss/>")
    feeds.add("/story", ARTICLE, content_type="text/html")
    policy = FetchPolicy.for_source(feeds.url("/feed"))
    async with Fetcher(polling()) as fetcher:
        assert (await fetcher.get(feeds.url("/feed"), policy=policy)).status == 200
        assert (await fetcher.get(feeds.url("/story"), policy=policy)).status == 200
        with pytest.raises(FetchRefused, match=r"127\.0\.0\.2 is a loopback address"):
            await fetcher.get(internal.url("/admin"), policy=policy)
    assert internal.connections == 0


async def test_a_redirect_to_an_internal_host_is_refused_at_that_hop(feeds, internal) -> None:
    feeds.redirect("/go", internal.url("/secret"), status=302)
    policy = FetchPolicy.for_source(feeds.url("/feed"))
    async with Fetcher(polling()) as fetcher:
        with pytest.raises(FetchRefused, match=r"redirect to .*127\.0\.0\.2.* loopback"):
            await fetcher.get(feeds.url("/go"), policy=policy)
    assert feeds.count("/go") == 1 and internal.connections == 0
    # the same redirect with the internal host allowed: followed (the twin of the refusal)
    async with Fetcher(polling(allow_hosts=["127.0.0.2"])) as fetcher:
        response = await fetcher.get(feeds.url("/go"), policy=policy)
    assert response.status == 200 and internal.count("/secret") == 1


async def test_a_kept_alive_connection_is_not_reused_by_a_stricter_fetch(internal) -> None:
    # The internal host is the source's own host for one fetch; a keep-alive connection to it
    # stays in a pool. A strict fetch to the very same URL must still be refused.
    own = FetchPolicy.for_source(internal.url("/feed"))
    async with Fetcher(polling()) as fetcher:
        assert (await fetcher.get(internal.url("/feed"), policy=own)).status == 200
        with pytest.raises(FetchRefused):
            await fetcher.get(internal.url("/feed"), policy=STRICT)
    assert internal.count("/feed") == 1


async def test_summaries_carry_their_policy(feeds, internal) -> None:
    feeds.add("/story", ARTICLE, content_type="text/html")
    policy = FetchPolicy.for_source(feeds.url("/feed"))
    async with Fetcher(polling()) as fetcher:
        assert await fetcher.summary(internal.url("/page"), policy=policy) == ""
        assert await fetcher.summary(feeds.url("/story"), policy=policy) == "The public article."
        # a refusal under one policy is not the answer under another, nor the reverse
        own = FetchPolicy.for_source(internal.url("/feed"))
        assert await fetcher.summary(internal.url("/page"), policy=own) == INTERNAL_MARKER
        assert await fetcher.summary(internal.url("/page"), policy=STRICT) == ""
    assert internal.count("/page") == 1


async def test_no_downgrade_from_https_to_http(monkeypatch, feeds) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_CERT))
    feeds.add("/feed", b"<rss/>")
    with FeedServer(tls=True) as secure:
        secure.add("/feed", b"<rss/>")
        secure.redirect("/old", feeds.url("/feed"), status=301)
        policy = FetchPolicy.for_source(secure.url("/old"))
        async with Fetcher(polling(allow_hosts=["127.0.0.1"])) as fetcher:
            assert (await fetcher.get(secure.url("/feed"), policy=policy)).status == 200
            with pytest.raises(FetchRefused, match="from https to http"):
                await fetcher.get(secure.url("/old"), policy=policy)
    assert feeds.count("/feed") == 0


async def test_a_permanent_redirect_is_saved_only_on_the_same_host(feeds, internal) -> None:
    feeds.add("/new", b"<rss/>")
    feeds.redirect("/moved", "/new", status=301)
    feeds.redirect("/away", internal.url("/feed"), status=301)
    policy = FetchPolicy.for_source(feeds.url("/moved"))
    async with Fetcher(polling(allow_hosts=["127.0.0.2"])) as fetcher:
        same = await fetcher.get(feeds.url("/moved"), policy=policy)
        away = await fetcher.get(feeds.url("/away"), policy=policy)
    assert same.permanent_url == feeds.url("/new")
    assert away.status == 200 and away.url == internal.url("/feed")  # followed for this poll
    assert away.permanent_url is None  # but never saved as the source's URL
