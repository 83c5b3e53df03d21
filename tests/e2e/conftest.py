"""End-to-end harness: the real Application against a strict fake Bot API and a feed server.

Both servers listen on 127.0.0.1 on ephemeral ports.  ``Bot`` drives a running newsbot in the
test's event loop: it pushes user messages through the fake's getUpdates and reads what the
fake received.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_application, running
from bot.config import Settings, load_settings
from bot.core import Core, core_of
from bot.store import Store
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram, SentMessage

BOT_USERNAME = "newsbot_test_bot"


@dataclass
class Item:
    title: str
    link: str
    summary: str = ""
    published: datetime = field(default_factory=lambda: datetime.now(UTC))
    guid: str | None = None


def rss(items: list[Item], title: str = "Test feed") -> bytes:
    """An RSS 2.0 document escaped the way real feeds are: a title is text (escaped once for
    XML), a description is HTML (so a literal ``<`` in it is escaped twice)."""
    entries = []
    for item in items:
        description = html.escape(html.escape(item.summary, quote=False), quote=False)
        entries.append(
            "<item>"
            f"<title>{html.escape(item.title, quote=False)}</title>"
            f"<link>{html.escape(item.link)}</link>"
            f"<guid>{html.escape(item.guid or item.link)}</guid>"
            f"<description>{description}</description>"
            f"<pubDate>{format_datetime(item.published)}</pubDate>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://127.0.0.1/</link><description>t</description>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


async def until(condition: Callable[[], bool], what: str = "the condition",
                timeout: float = 10.0) -> None:
    """Wait (polling every 50 ms) until ``condition()`` holds; fail naming ``what``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"no {what} in {timeout} s"
        await asyncio.sleep(0.05)


class Feed:
    """One feed served by the feed server, whose items a test can add to."""

    def __init__(self, server: FeedServer, path: str, items: list[Item] | None = None,
                 title: str = "Test feed") -> None:
        self.server = server
        self.path = path
        self.title = title
        self.items: list[Item] = list(items or [])
        self.publish()

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def publish(self) -> None:
        self.server.add(self.path, rss(self.items, self.title),
                        content_type="application/rss+xml")

    def add(self, *items: Item) -> None:
        self.items[:0] = items
        self.publish()


def write_config(
    tmp_path: Path,
    fake: FakeTelegram,
    sources: list[tuple[str, str]],
    *,
    interval: int = 1,
    extra: str = "",
    admin_ids: tuple[int, ...] = (),
    pace: tuple[float, float] | None = None,
    polling: str = "",
) -> Path:
    """A config for the fakes.  Every source is polled each ``interval`` seconds unless
    ``pace`` gives the (min, max) interval the scheduler may choose between; ``polling`` adds
    lines to ``[polling]``."""
    low, high = pace or (interval, interval)
    lines = [
        "[telegram]",
        f'api_base_url = "{fake.base_url}"',
        f"admin_ids = {list(admin_ids)}",
        "[polling]",
        f"interval_seconds = {interval}",
        f"min_interval_seconds = {low}",
        f"max_interval_seconds = {high}",
        *([polling] if polling else []),
        "timeout_seconds = 3",
        "max_backoff_seconds = 2",
        "[storage]",
        f'path = "{tmp_path / "data"}"',
    ]
    if "[metrics]" not in extra:  # an ephemeral port: bots of parallel tests never collide
        lines += ["[metrics]", "port = 0"]
    for name, url in sources:
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"', "fetch_summaries = false"]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path


class Bot:
    """A running newsbot plus the two fakes, seen from a test."""

    def __init__(
        self, fake: FakeTelegram, settings: Settings, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.fake = fake
        self.settings = settings
        self.clock = clock
        self.application: Any = None
        self._context: Any = None

    async def start(self) -> None:
        store = Store.open(self.settings.storage.path)
        options = {"clock": self.clock} if self.clock else {}
        self.application = build_application(self.settings, store, **options)
        self._context = running(self.application, poll_timeout=1)
        await self._context.__aenter__()

    async def stop(self) -> None:
        if self._context is not None:
            await self._context.__aexit__(None, None, None)
            self._context = None

    @property
    def core(self) -> Core:
        return core_of(self.application)

    async def say(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        timeout: float = 10.0,
        **user: object,
    ) -> SentMessage:
        """Send ``text`` as a user of ``chat_id`` (``user``: more push_message fields, e.g.
        ``language_code``) and return the bot's reply."""
        before = len(self.fake.messages(chat_id))
        self.fake.push_message(chat_id, text, chat_type=chat_type, **user)
        replies = await self.fake.wait_for_messages_async(
            chat_id=chat_id, count=before + 1, timeout=timeout
        )
        return replies[before]

    async def send_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str = "feeds.opml",
        *,
        replies: int = 1,
        timeout: float = 20.0,
        **options: object,
    ) -> list[SentMessage]:
        """Send the bot a file as a user of ``chat_id`` (``options``: more push_document
        fields: ``mime_type``, ``file_size``, ``chat_type``, ``user_id``...) and return the
        ``replies`` messages it answers with."""
        before = len(self.fake.messages(chat_id))
        self.fake.push_document(chat_id, data, file_name, **options)  # type: ignore[arg-type]
        found = await self.fake.wait_for_messages_async(
            chat_id=chat_id, count=before + replies, timeout=timeout
        )
        return found[before:]

    async def wait_messages(self, chat_id: int, count: int, timeout: float = 15.0) -> list:
        return await self.fake.wait_for_messages_async(
            chat_id=chat_id, count=count, timeout=timeout
        )

    async def polls_done(self, source: str, polls: int, timeout: float = 15.0) -> None:
        """Wait until ``source`` has completed ``polls`` successful polls."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if self.core.store.source_state(source).get("polls", 0) >= polls:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"{source} did not reach {polls} polls")


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram(bot_username=BOT_USERNAME) as server:
        yield server


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
async def newsbot(tmp_path, fake, feeds, monkeypatch) -> AsyncIterator[Bot]:
    """A running bot with one empty feed ``Tech`` (a test adds items with ``bot.tech``)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    tech = Feed(feeds, "/tech.xml")
    config = write_config(tmp_path, fake, [("Tech", tech.url)])
    bot = Bot(fake, load_settings(config))
    bot.tech = tech  # type: ignore[attr-defined]
    await bot.start()
    await bot.polls_done("Tech", 1)
    try:
        yield bot
    finally:
        await bot.stop()


def chat_sources_config(tmp_path: Path, fake: FakeTelegram, feeds: FeedServer, *,
                        interval: int = 1, per_chat: int = 3) -> Path:
    """A config whose chats may add sources on 127.0.0.1 (``allow_hosts``), at most
    ``per_chat`` each, beside the operator's one source ``Tech`` (``/tech.xml``, one story)."""
    tech = Feed(feeds, "/tech.xml", [Item("Operator story", "https://example.com/op/1")])
    return write_config(
        tmp_path, fake, [("Tech", tech.url)], interval=interval,
        polling='allow_hosts = ["127.0.0.1"]', extra=f"[chat_sources]\nper_chat = {per_chat}\n",
    )


@contextlib.asynccontextmanager
async def running_bot(fake: FakeTelegram, config: Path) -> AsyncIterator[Bot]:
    """The bot of ``config`` started (the token in the environment already), stopped after."""
    bot = Bot(fake, load_settings(config))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)
