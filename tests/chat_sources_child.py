"""What the kill -9 children of the chat-source crash tests share (they import it): the line
protocol they print, the feeds their own loopback server serves, and a ``Core`` over a real
store compacted often, whose chats may add sources on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from typing import Any

from bot.config import ChatSourcesSettings, PollingSettings, Settings
from bot.core import Core, build_index, build_registry
from bot.sources.fetch import Fetcher
from bot.store import Store

__all__ = ["emit", "open_core", "rss"]


def emit(tag: str, obj: Any) -> None:
    """``I <op>`` before an operation, ``A <op>`` once it returned (JSON), flushed at once."""
    sys.stdout.write(tag + " " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def rss(n: int, items: int) -> str:
    """Feed ``n``: ``items`` stories about chips with long descriptions."""
    body = "".join(
        f"<item><title>Story {n}-{i} about chips</title><link>https://x.example/{n}/{i}</link>"
        f"<guid>{n}-{i}</guid><description>{'words ' * 40}</description></item>"
        for i in range(items)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {n}</title>'
            f"<link>https://x.example/</link><description>d</description>{body}</channel></rss>")


def open_core(path: str, per_chat: int) -> Core:
    """The services ``add_source`` and ``import_feeds`` need, over the store at ``path``."""
    store = Store.open(path, compact_every=7)
    settings = Settings(polling=PollingSettings(allow_hosts=["127.0.0.1"]),
                        chat_sources=ChatSourcesSettings(per_chat=per_chat), sources=[])
    core = Core(settings=settings, store=store, index=build_index(store),
                registry=build_registry(store, settings))
    core.fetcher = Fetcher(settings.polling)
    return core
