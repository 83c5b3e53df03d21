"""One shell session: standard input in, the running bot in between, the terminal out.

Lines are read by a daemon thread (a blocked read must never hold up the exit) and fed to
the bot one at a time: each once the bot has finished with the previous one (updates fetched
and handled, replies sent), so a script reads like a conversation.  ``:N`` presses button N
of the newest message with buttons.

At the end of input the session waits up to ``wait`` seconds for the alerts the input asked
for -- until each keyword it followed has had an alert, or (demo) no headline still to come
could match it -- lets the deliveries under way finish, and stops the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from telegram.ext import Application

from bot.config import Settings
from bot.matching import Query, QueryError, parse_query
from bot.models import Headline, utcnow
from bot.shell.api import ShellApi
from bot.shell.demo import DemoFeed
from bot.shell.render import Terminal
from bot.startup import serve
from bot.store import Store

__all__ = ["Session"]

IDLE_CHECKS = 3  # consecutive quiet looks, 50 ms apart, that make "the bot is done"
IDLE_TIMEOUT = 30.0
_FOLLOW = re.compile(r"/follow(?:@\w+)?\s+(.+)", re.S)
_PRESS = re.compile(r":\s*(\d+)\s*")


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    """What ``stream`` delivers, read from its file descriptor when it has one: a thread
    blocked in ``sys.stdin.buffer.readline`` holds the buffer's lock, and the interpreter
    aborts at exit ("could not acquire lock ... at interpreter shutdown") after a Ctrl-C."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield from iter(stream.readline, b"")
        return
    while chunk := os.read(fd, 65536):
        yield chunk


def read_lines(
    loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None], stream: BinaryIO
) -> None:
    """Thread body: every line of ``stream`` into ``queue``, then None (end of input)."""
    try:
        pending = b""
        for chunk in _chunks(stream):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                loop.call_soon_threadsafe(queue.put_nowait, line.decode("utf-8", "replace"))
        if pending:
            loop.call_soon_threadsafe(queue.put_nowait, pending.decode("utf-8", "replace"))
        loop.call_soon_threadsafe(queue.put_nowait, None)
    except (RuntimeError, OSError, ValueError):  # the loop closed, or stdin did
        return


@dataclass
class Session:
    application: Application
    settings: Settings
    api: ShellApi
    store: Store
    terminal: Terminal
    demo: DemoFeed | None = None
    echo: bool = True  # print what was typed (input is not a terminal)
    wait: float = 0.0
    banner: list[str] = field(default_factory=list)
    followed: dict[str, datetime] = field(default_factory=dict)  # query key -> since when

    async def run(self, stream: BinaryIO | None = None) -> int:
        """Run the bot until end of input (or SIGINT/SIGTERM); the exit status."""
        stop, ready = asyncio.Event(), asyncio.Event()
        bot = asyncio.create_task(
            serve(self.application, self.settings, stop=stop, ready=ready, restore_signals=False)
        )
        talk = asyncio.create_task(self.talk(stream or sys.stdin.buffer, ready, stop))
        try:
            return await bot
        finally:
            talk.cancel()
            await asyncio.gather(talk, return_exceptions=True)

    async def talk(self, stream: BinaryIO, ready: asyncio.Event, stop: asyncio.Event) -> None:
        await ready.wait()
        for note in self.banner:
            self.terminal.note(note)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        reader = threading.Thread(
            target=read_lines,
            args=(asyncio.get_running_loop(), queue, stream),
            name="shell-stdin",
            daemon=True,
        )
        reader.start()
        while True:
            line = await queue.get()
            if line is None:
                break
            await self.line(line.rstrip("\r\n"))
        await self.finish()
        stop.set()

    async def line(self, text: str) -> None:
        """One line typed: a message, a command, or ``:N`` (press a button)."""
        if not text.strip():
            return
        if self.echo:
            self.terminal.you(text)
        press = _PRESS.fullmatch(text)
        if press:
            try:
                pressed = self.api.press(int(press.group(1)))
            except LookupError as exc:
                self.terminal.note(f"cannot press: {exc}")
                return
            if self.echo:
                self.terminal.note(pressed)
        elif text.startswith(":"):
            self.terminal.note(":1 presses button 1 of the newest message with buttons")
            return
        else:
            self.api.say(text)
        await self.idle()
        follow = _FOLLOW.fullmatch(text.strip())
        if follow:
            with contextlib.suppress(QueryError):  # a bad query: the bot said why
                self.followed[parse_query(follow.group(1).strip()).key] = utcnow()

    # ------------------------------------------------------------------ waiting

    def busy(self) -> bool:
        """Is anything under way: updates not handled, calls or sends not answered?"""
        app: Any = self.application
        pacer = app.bot.rate_limiter
        processor = app.update_processor
        return bool(
            self.api.waiting
            or self.api.in_flight
            or not app.update_queue.empty()
            or processor.current_concurrent_updates
            or getattr(processor, "busy", 0)  # ChatLanes: lanes with updates running or waiting
            or (pacer is not None and getattr(pacer, "queued", 0))
        )

    async def idle(self, timeout: float = IDLE_TIMEOUT) -> None:
        """Wait until the bot has been done with everything for a few looks in a row."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet = 0
        while quiet < IDLE_CHECKS and loop.time() < deadline:
            await asyncio.sleep(0.05)
            quiet = 0 if self.busy() else quiet + 1

    def alerts_done(self) -> bool:
        """Has every keyword the input followed had its alert (or can it get none)?"""
        chat_id = self.api.person.chat_id
        if self.store.pending(chat_id):
            return False
        current: dict[str, Query] = {}
        for text in self.store.subscriptions(chat_id):
            try:
                parsed = parse_query(text)
            except QueryError:
                continue
            current[parsed.key] = parsed
        for key, since in self.followed.items():
            query = current.get(key)
            if query is None:  # unfollowed again
                continue
            if any((self.store.first_seen(h.id) or since) > since for h in self._matching(query)):
                continue
            if self.demo is not None and not self.demo.could_match(query):
                continue
            return False
        return True

    def _matching(self, query: Query) -> list[Headline]:
        def matches(headline: Headline) -> bool:
            return query.find(headline.title, headline.summary) is not None

        return self.store.latest(20, matches)

    async def finish(self) -> None:
        """End of input: the replies, the alerts asked for (up to ``wait`` s), then stop."""
        await self.idle()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        # the store has no change notification: look again every 0.1 s (a cheap look)
        while self.followed and loop.time() < deadline and not self.alerts_done():  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        await self.idle()
        held = len(self.store.pending(self.api.person.chat_id))
        if held:
            self.terminal.note(
                f"{held} alert(s) still held for this chat (digest, quiet hours) are not shown"
            )
