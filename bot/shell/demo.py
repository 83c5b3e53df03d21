"""The shell's demo source: sample CX Tech headlines, one more at every poll.

``DemoFeed`` answers the source's URL through an ``httpx.MockTransport`` (no network) with a
JSON Feed: at the first request the baseline headlines (the first poll records them and
alerts nobody), then one headline more per request, dated the moment it first appears, until
all are out.  The poller reads it as any ``rss`` source: same fetcher, parser, dedup,
matching and outbox.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any, NoReturn

import httpx

from bot.matching import Query
from bot.models import utcnow
from bot.sources.netguard import AddressRefused, refusal

__all__ = ["DEMO_NAME", "DEMO_URL", "DemoFeed", "DemoItem"]

DEMO_NAME = "CX Tech (demo)"
DEMO_URL = "https://demo.newsbot.invalid/cx-tech.json"
HOME = "https://www.caixinglobal.com/tech/"


@dataclass
class DemoItem:
    number: int
    title: str
    summary: str = ""
    published: datetime | None = None  # when it first appeared in the feed

    def entry(self) -> dict[str, Any]:
        assert self.published is not None
        return {
            "id": f"newsbot-demo-{self.number}",
            "url": f"{HOME}?story={self.number}",
            "title": self.title,
            "summary": self.summary,
            "date_published": self.published.isoformat(timespec="seconds"),
        }


@dataclass
class DemoFeed:
    items: list[DemoItem]
    baseline: int = 3
    requests: int = 0
    shown: int = field(default=0)

    @classmethod
    def load(cls) -> DemoFeed:
        """The headlines shipped in ``bot/shell/demo_headlines.json``."""
        raw = json.loads(
            resources.files("bot.shell").joinpath("demo_headlines.json").read_text("utf-8")
        )
        items = [
            DemoItem(number, h["title"], h.get("summary", ""))
            for number, h in enumerate(raw["headlines"], start=1)
        ]
        return cls(items, baseline=int(raw["baseline"]))

    def remaining(self) -> list[DemoItem]:
        """Headlines still to come."""
        return self.items[self.shown :]

    def could_match(self, query: Query) -> bool:
        """Would a headline still to come match ``query``?"""
        return any(query.find(item.title, item.summary) for item in self.remaining())

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.host != httpx.URL(DEMO_URL).host:
            _elsewhere(request.url.host)
        if str(request.url.copy_with(query=None)) != DEMO_URL:
            return httpx.Response(404, text="not found")
        self.requests += 1
        wanted = min(len(self.items), self.baseline + self.requests - 1)
        now = utcnow()
        for item in self.items[self.shown : wanted]:
            item.published = now
        self.shown = max(self.shown, wanted)
        feed = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": DEMO_NAME,
            "home_page_url": HOME,
            "items": [item.entry() for item in reversed(self.items[: self.shown])],
        }
        return httpx.Response(  # a stream, as from the network: the fetcher reads it raw
            200,
            stream=httpx.ByteStream(json.dumps(feed, ensure_ascii=False).encode()),
            headers={"content-type": "application/feed+json"},
        )

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)


def _elsewhere(host: str) -> NoReturn:
    """Any other address: refused as the bot refuses it (a loopback or private address), or
    unreachable, as the shell has no network."""
    literal = "127.0.0.1" if host.lower() in ("localhost", "localhost.") else host.strip("[]")
    try:
        ipaddress.ip_address(literal)
    except ValueError:  # a host name: no network to resolve it on
        literal = ""
    reason = refusal(host, [literal]) if literal else None
    if reason is not None:
        raise AddressRefused(reason)
    raise httpx.ConnectError(f"the shell has no network: only {DEMO_URL} answers")
