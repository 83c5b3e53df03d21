"""Pacer: a PTB rate limiter that sends right at Telegram's flood limits without tripping them.

Wire it into the application with ``Application.builder().rate_limiter(Pacer())`` (or
``ExtBot(token, rate_limiter=Pacer())``).  Every Bot API call passes through
:meth:`Pacer.process_request`:

* Calls without a ``chat_id`` (getMe, setMyCommands, answerCallbackQuery, ...) and calls
  that put no message in a chat (getChatMember, getChat, ...) go straight through.  (PTB
  itself never rate-limits getUpdates.)
* Calls with a ``chat_id`` are *dispatched* by one scheduler task, one at a time:

  - overall: evenly spaced, ``1 / overall_rate`` seconds apart (default 29/s, just under
    Telegram's 30/s; no bursts, so a sliding one-second window never sees more than 30);
  - per private chat (``chat_id > 0``): ``private_interval`` apart (default 1.02 s);
  - per group/channel (``chat_id < 0`` or an ``@username``): ``group_interval`` apart
    (default 3.1 s, i.e. under 20 a minute).

  Among the requests whose chat may send now, the scheduler picks the most urgent one:
  **command replies (no ``rate_limit_args``) go ahead of bulk sends**, which the Deliverer
  marks with ``rate_limit_args={"bulk": True}``; ties go first come, first served.

* ``rate_limit_args`` may carry ``{"granted": callable}``: it is called, with no arguments,
  each time the request has been granted its slot, just before the request leaves.  The
  Deliverer marks its alerts ``sending`` there, so a crash leaves in doubt only the requests
  actually in flight, not those still waiting for their turn.

* On ``RetryAfter`` (429) the Pacer pauses **every** chat for ``retry_after`` plus
  ``retry_margin`` seconds (Telegram does not say whether a 429 is chat-specific, so the
  safe reading is global) and retries, at most ``max_retries`` times (``rate_limit_args``
  may carry ``{"max_retries": n}``); then the ``RetryAfter`` propagates.  All other
  exceptions propagate untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

if TYPE_CHECKING:
    from bot.metrics import Metrics

__all__ = ["BULK", "Pacer", "retry_after_seconds"]

log = logging.getLogger(__name__)

#: ``rate_limit_args`` for bulk sends (alerts): they yield to command replies.
BULK: dict[str, Any] = {"bulk": True}

_URGENT, _BULK = 0, 1
#: Methods that put a message in a chat: the ones Telegram's flood limits count.  Reads such
#: as getChatMember (a group admin check) must not wait behind a group's 3 s spacing.
_PACED_PREFIXES = ("send", "copy", "forward", "editMessage")


def retry_after_seconds(exc: RetryAfter) -> float:
    """``exc.retry_after`` in seconds, whichever type this PTB version reports."""
    value = getattr(exc, "_retry_after", None)
    if value is None:
        value = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    key: int | str = field(compare=False)
    future: asyncio.Future[None] = field(compare=False)


class Pacer(BaseRateLimiter[dict]):
    """Throttles every sending call to Telegram's limits; see the module docstring."""

    def __init__(
        self,
        *,
        overall_rate: float = 29.0,
        private_interval: float = 1.02,
        group_interval: float = 3.1,
        max_retries: int = 3,
        retry_margin: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        if overall_rate <= 0:
            raise ValueError("overall_rate must be positive")
        self.overall_rate = overall_rate
        self.private_interval = private_interval
        self.group_interval = group_interval
        self.max_retries = max_retries
        self.retry_margin = retry_margin
        self._clock = clock
        self.metrics = metrics  # counts every 429 seen, retried or not
        self._period = 1.0 / overall_rate
        self._waiters: list[_Waiter] = []
        self._seq = itertools.count()
        self._next_global = 0.0
        self._pause_until = 0.0
        self._chat_next: dict[int | str, float] = {}
        self._wakeup: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        #: counters, for logs and benchmarks
        self.dispatched = 0
        self.retries = 0

    # ------------------------------------------------------------------ lifecycle

    async def initialize(self) -> None:
        self._ensure_dispatcher()

    async def shutdown(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.cancel()
        self._waiters.clear()

    def _ensure_dispatcher(self) -> None:
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._dispatch_loop(), name="Pacer.dispatch")

    # ------------------------------------------------------------------ public hooks

    def pause(self, seconds: float) -> None:
        """Hold every paced request for ``seconds`` (used on a 429)."""
        until = self._clock() + seconds
        if until > self._pause_until:
            self._pause_until = until
            log.warning("flood control: pausing all sends for %.2f s", seconds)

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def interval_for(self, key: int | str) -> float:
        if isinstance(key, int) and key > 0:
            return self.private_interval
        return self.group_interval

    # ------------------------------------------------------------------ rate limiting

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict | list[dict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict | None,
    ) -> bool | dict | list[dict]:
        chat_id = data.get("chat_id")
        if chat_id is None or not endpoint.startswith(_PACED_PREFIXES):
            return await callback(*args, **kwargs)
        key: int | str
        try:
            key = int(chat_id)
        except (TypeError, ValueError):
            key = str(chat_id)  # "@channelname": a channel or supergroup
        args_dict = rate_limit_args if isinstance(rate_limit_args, dict) else {}
        priority = _BULK if args_dict.get("bulk") else _URGENT
        max_retries = int(args_dict.get("max_retries", self.max_retries))
        granted = args_dict.get("granted")
        attempt = 0
        while True:
            await self._acquire(key, priority)
            if granted is not None:
                granted()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                if self.metrics is not None:
                    self.metrics.flood()
                if attempt >= max_retries:
                    log.warning("%s to %s: 429 after %d retries, giving up", endpoint, key,
                                attempt)
                    raise
                attempt += 1
                self.retries += 1
                wait = retry_after_seconds(exc) + self.retry_margin
                self.pause(wait)
                # the chat itself must not go first after the pause either
                self._chat_next[key] = max(self._chat_next.get(key, 0.0), self._pause_until)

    async def _acquire(self, key: int | str, priority: int) -> None:
        self._ensure_dispatcher()
        assert self._wakeup is not None
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(priority, next(self._seq), key, future)
        self._waiters.append(waiter)
        self._wakeup.set()
        try:
            await future
        except asyncio.CancelledError:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    async def _dispatch_loop(self) -> None:
        assert self._wakeup is not None
        wakeup = self._wakeup
        while True:
            self._waiters = [w for w in self._waiters if not w.future.done()]
            if not self._waiters:
                wakeup.clear()
                await wakeup.wait()
                continue
            now = self._clock()
            gate = max(self._next_global, self._pause_until)
            if now < gate:
                await asyncio.sleep(gate - now)
                continue
            best: _Waiter | None = None
            soonest = float("inf")
            for waiter in self._waiters:
                ready = self._chat_next.get(waiter.key, 0.0)
                if ready <= now:
                    if best is None or waiter < best:
                        best = waiter
                elif ready < soonest:
                    soonest = ready
            if best is None:
                wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), timeout=soonest - now)
                continue
            self._waiters.remove(best)
            # Keep the cadence when the loop woke a little late (timer overshoot), but
            # never catch up in a burst after an idle or slow spell.
            base = gate if now - gate < self._period / 2 else now
            self._next_global = base + self._period
            self._chat_next[best.key] = now + self.interval_for(best.key)
            self.dispatched += 1
            best.future.set_result(None)
            if len(self._chat_next) > 50_000:
                self._chat_next = {k: t for k, t in self._chat_next.items() if t > now}
