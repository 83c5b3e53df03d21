"""Outbound address policy: a fetch reaches public addresses only, unless its host is trusted.

Operator-configured source URLs are fetched as configured; every other fetch (article pages,
redirects to another host, sources that users add) must not connect to an internal address.

* ``address_class(ip)``: why an address is not public ("loopback", "private", "link-local",
  "shared", "multicast", "reserved", "unspecified"), or ``None`` for a public one.  IPv6 forms
  that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
  ``2002::/16``) are judged by that IPv4 address.
* ``FetchPolicy``: what one fetch trusts by name besides ``[polling] allow_hosts``.
  ``STRICT`` trusts nothing (for anything a user can name); ``FetchPolicy.for_source(url)``
  trusts the own host of an operator-configured source (same host name and port; the default
  ports 80 and 443 count as one), for its feed, its article pages and its redirects.
* ``HostTrust``: ``allow_hosts`` plus a policy -> is this URL's host trusted by name?
* ``GuardedBackend``: an ``httpcore`` network backend that resolves the host itself, refuses
  when any of its addresses is not public, and connects to the checked address literal, so
  the address checked is the address used (DNS rebinding cannot slip in between).  TLS still
  verifies the certificate for the host name (httpcore passes it as SNI).

The check sits on the connection, where every untrusted fetch must pass, not in the callers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpcore

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``(host, port) -> addresses`` as strings; ``loop.getaddrinfo`` unless a test injects one
Resolver = Callable[[str, int], Awaitable[list[str]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}

_V4_CLASSES: list[tuple[str, str]] = [
    ("0.0.0.0/8", "unspecified"),
    ("127.0.0.0/8", "loopback"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("169.254.0.0/16", "link-local"),
    ("100.64.0.0/10", "shared"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # with the broadcast address 255.255.255.255
    ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
    ("192.0.2.0/24", "reserved"),  # documentation
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("198.18.0.0/15", "reserved"),  # benchmarking
    ("192.88.99.0/24", "reserved"),  # the old 6to4 relay anycast
]
_V6_CLASSES: list[tuple[str, str]] = [
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fc00::/7", "private"),
    ("fec0::/10", "private"),  # the old site-local range
    ("64:ff9b:1::/48", "private"),  # local-use NAT64
    ("fe80::/10", "link-local"),
    ("ff00::/8", "multicast"),
    ("2001:db8::/32", "reserved"),
    ("100::/64", "reserved"),
    ("::/8", "reserved"),  # IPv4-compatible and other oddities (after the IPv4-mapped check)
]
_V4 = [(ipaddress.IPv4Network(net), label) for net, label in _V4_CLASSES]
_V6 = [(ipaddress.IPv6Network(net), label) for net, label in _V6_CLASSES]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def address_class(address: Address | str) -> str | None:
    """Why ``address`` is not public, or ``None`` when it is."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return address_class(embedded)
        table: list[Any] = _V6
    else:
        table = _V4
    for network, label in table:
        if ip in network:
            return str(label)
    return None if ip.is_global else "reserved"


def _host_key(host: str) -> str:
    """A host name compared case-insensitively, without a trailing dot; IPs in one form."""
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return host


def origin(url: str | SplitResult) -> tuple[str, int]:
    """``(host, port)`` of an http(s) URL, the port defaulted from the scheme."""
    parts = urlsplit(url) if isinstance(url, str) else url
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    return _host_key(parts.hostname or ""), port


def _same_origin(a: tuple[str, int], b: tuple[str, int]) -> bool:
    if a[0] != b[0] or not a[0]:
        return False
    return a[1] == b[1] or {a[1], b[1]} <= {80, 443}


def same_host(a: str, b: str) -> bool:
    """Both URLs on one host: same host name and port (80 and 443 count as one)."""
    return _same_origin(origin(a), origin(b))


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What one fetch trusts by name (besides ``allow_hosts``); every fetch carries one."""

    own_host: tuple[str, int] | None = None

    @classmethod
    def for_source(cls, url: str) -> FetchPolicy:
        """For the fetches of an operator-configured source: its own host is trusted."""
        return cls(own_host=origin(url))

    def exempts(self, url: str | SplitResult) -> bool:
        return self.own_host is not None and _same_origin(self.own_host, origin(url))

    def __str__(self) -> str:
        if self.own_host is None:
            return "strict"
        return f"source host {self.own_host[0]}:{self.own_host[1]}"


#: Public addresses and ``allow_hosts`` only: for everything a user can name.
STRICT = FetchPolicy()


def normalize_allow_host(entry: str) -> str:
    """An ``allow_hosts`` entry as compared; raises ``ValueError`` for a URL or a port."""
    text = entry.strip()
    if not text or "/" in text or "@" in text or " " in text:
        raise ValueError(f"{entry!r} is not a host name or IP address")
    key = _host_key(text)
    if ":" in key:
        try:
            ipaddress.IPv6Address(key)
        except ValueError:
            raise ValueError(f"{entry!r}: give the host without a port") from None
    return key


class HostTrust:
    """Is a URL's host trusted by name: listed in ``allow_hosts``, or exempt by the policy?"""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.allow_hosts = frozenset(normalize_allow_host(h) for h in allow_hosts)

    def trusts(self, url: str | SplitResult, policy: FetchPolicy) -> bool:
        host, _port = origin(url)
        return host in self.allow_hosts or policy.exempts(url)


class AddressRefused(Exception):
    """A connection was not made: the host's address is not public.  ``str(e)`` says why."""


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def refusal(host: str, addresses: Iterable[str]) -> str | None:
    """Why connecting to ``host`` (resolved to ``addresses``) is refused, or ``None``."""
    for text in addresses:
        try:
            label = address_class(text)
        except ValueError:
            label = "unparsable"
        if label is not None:
            shown = host if host == text else f"{host} ({text})"
            article = "an" if label[0] in "aeiou" else "a"
            return f"{shown} is {article} {label} address"
    return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to public addresses: resolve, check every address, dial the checked one.

    A host with any non-public address is refused whole (``AddressRefused``): a name that
    answers both public and internal addresses is not to be trusted with either."""

    def __init__(
        self,
        inner: httpcore.AsyncNetworkBackend | None = None,
        *,
        resolve: Resolver | None = None,
    ) -> None:
        self._inner = inner or httpcore.AnyIOBackend()
        self._resolve = resolve or _system_resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        reason = refusal(host, addresses)
        if reason is not None:
            raise AddressRefused(reason)
        error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout, OSError) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused(f"unix socket {path} refused")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guard_transport(transport: Any, *, resolve: Resolver | None = None) -> Any:
    """Put a ``GuardedBackend`` under an ``httpx.AsyncHTTPTransport``'s connection pool.

    httpx has no public hook for this; it is checked here, so a changed httpx fails loudly at
    start rather than fetching unguarded."""
    pool = getattr(transport, "_pool", None)
    if pool is None or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version has no pool backend to guard")
    pool._network_backend = GuardedBackend(pool._network_backend, resolve=resolve)
    return transport
