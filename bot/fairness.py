"""Fairness: each chat's updates run in a lane of their own, within a command budget.

python-telegram-bot hands every update to an update processor; :class:`ChatLanes` is ours
(``Application.builder().concurrent_updates(ChatLanes(...))``).  It holds PTB's shared slot
only while it files the update: the handler then runs in the lane of the update's chat, one
update after the other (so a chat's commands are answered in order), while other chats' lanes
run beside it.  A reply that waits for its chat's pacing (3 s in a group) holds its own lane
and nothing else: one chat cannot make another wait.

Before filing, a command (a message starting with ``/`` for this bot, a button press, plain
text in a private chat) is charged to a token bucket: the chat's in a private chat, the
sender's in a group (:class:`Budgets`: a burst of 10, then one a second).  A command over the
budget is dropped; at most once a minute per budget the ``on_refused`` callback (a short "slow
down" reply) runs instead, beside the lane, so it is not stuck behind the replies queued there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

BURST = 10
RATE_PER_SECOND = 1.0
WARN_EVERY_SECONDS = 60.0
#: Updates waiting in one lane at most; more are dropped (the budget keeps a lane far below).
LANE_LIMIT = 100
#: PTB's shared slots: held only while an update is filed, never while it is handled.
FILING_SLOTS = 256
_PRUNE_AT = 50_000

BudgetKey = tuple[int, int]  # (chat id, user id; 0 in a private chat)


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: float = float("-inf")


@dataclass
class Budgets:
    """Token buckets by budget key: ``burst`` commands at once, then ``rate`` a second."""

    burst: int = BURST
    rate: float = RATE_PER_SECOND
    warn_every: float = WARN_EVERY_SECONDS
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[BudgetKey, _Bucket] = field(default_factory=dict)

    def take(self, key: BudgetKey) -> bool:
        """Charge one command to ``key``; False when its budget is spent."""
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def should_warn(self, key: BudgetKey) -> bool:
        """After a refusal: may ``key`` be told to slow down now (once per ``warn_every``)?"""
        bucket = self._buckets.get(key)
        now = self.clock()
        if bucket is None or now - bucket.warned < self.warn_every:
            return False
        bucket.warned = now
        return True

    def _prune(self, now: float) -> None:
        """Forget the buckets that are full again and warned long ago: they owe nothing."""
        full = (self.burst - 0.5) / self.rate
        self._buckets = {
            k: b for k, b in self._buckets.items()
            if now - b.stamp < full or now - b.warned < self.warn_every
        }


def budget_key(update: Update, username: str | None) -> BudgetKey | None:
    """The budget ``update`` is charged to; None if it is no command (nothing to charge)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return None
    if update.callback_query is None:
        if update.message is None:
            return None  # edits, membership changes, channel posts: no command
        if chat.type != "private" and not _addressed(update.message.text or "", username):
            return None
    if chat.type == "private":
        return (chat.id, 0)
    return (chat.id, user.id if user is not None else 0)


def _addressed(text: str, username: str | None) -> bool:
    """A group message is a command for us: ``/cmd`` or ``/cmd@ourbot``."""
    if not text.startswith("/"):
        return False
    _, _, target = text.split(maxsplit=1)[0].partition("@")
    return not target or target.lower() == (username or "").lower()


def lane_key(update: object) -> int | None:
    """The chat an update belongs to (its lane); None: no chat (run it at once)."""
    if isinstance(update, Update):
        chat = update.effective_chat
        if chat is not None:
            return chat.id
    return None


class ChatLanes(BaseUpdateProcessor):
    """PTB's update processor: one lane per chat, a budget per chat or group member."""

    def __init__(
        self,
        budgets: Budgets | None = None,
        *,
        username: Callable[[], str | None] = lambda: None,
        on_refused: Callable[[Update], Awaitable[None]] | None = None,
        lane_limit: int = LANE_LIMIT,
    ) -> None:
        super().__init__(FILING_SLOTS)
        self.budgets = budgets or Budgets()
        self.username = username
        self.on_refused = on_refused
        self.lane_limit = lane_limit
        self._lanes: dict[int, deque[Coroutine[Any, Any, Any]]] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._warnings: set[asyncio.Task[None]] = set()
        #: counters, for logs, metrics and benchmarks
        self.refused = 0
        self.overflowed = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """File ``update`` in its chat's lane (or refuse it) and return at once."""
        assert asyncio.iscoroutine(coroutine)
        key = lane_key(update)
        if key is None or not isinstance(update, Update):
            await coroutine  # no chat to be fair between (there are none such we handle)
            return
        budget = budget_key(update, self.username())
        if budget is not None and not self.budgets.take(budget):
            coroutine.close()
            self.refused += 1
            if self.on_refused is not None and self.budgets.should_warn(budget):
                self._warn(update, self.on_refused)
            return
        self._file(key, coroutine)

    def _warn(self, update: Update, on_refused: Callable[[Update], Awaitable[None]]) -> None:
        """Run ``on_refused`` beside the lane: the warning overtakes the replies waiting there."""

        async def warn() -> None:
            try:
                await on_refused(update)
            except Exception:
                log.warning("could not tell chat %s to slow down", lane_key(update),
                            exc_info=True)

        task = asyncio.create_task(warn(), name="slow-down")
        self._warnings.add(task)
        task.add_done_callback(self._warnings.discard)

    def _file(self, key: int, coroutine: Coroutine[Any, Any, Any]) -> None:
        lane = self._lanes.setdefault(key, deque())
        if len(lane) >= self.lane_limit:
            coroutine.close()
            self.overflowed += 1
            log.warning("chat %s: %d updates waiting, one more dropped", key, len(lane))
            return
        lane.append(coroutine)
        if key not in self._tasks:
            self._tasks[key] = asyncio.create_task(self._run(key), name=f"lane:{key}")

    async def _run(self, key: int) -> None:
        lane = self._lanes[key]
        try:
            while lane:
                coroutine = lane.popleft()
                try:
                    await coroutine
                except Exception:  # PTB's process_update reports handler errors itself
                    log.exception("update of chat %s failed", key)
        finally:
            for left in lane:
                left.close()
            del self._lanes[key]
            del self._tasks[key]

    @property
    def busy(self) -> int:
        """Lanes with updates running or waiting."""
        return len(self._tasks)

    async def drain(self, grace: float) -> None:
        """Let the lanes finish within ``grace`` seconds, then cancel what is left."""
        tasks = [*self._tasks.values(), *self._warnings]
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("stopping: %d chats' updates not handled in time", len(pending))
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*pending, return_exceptions=True)

    async def initialize(self) -> None:
        """Nothing to set up: lanes start with their first update."""

    async def shutdown(self) -> None:
        await self.drain(0.0)
