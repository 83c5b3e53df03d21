"""Telegram's flood limits and the errors a test forces on the next sends."""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from tests.fakes.telegram.records import ERROR_TEXTS, ApiError, DropConnection, ForcedError


class Flood:
    """About 30 messages a second overall, a burst then 1/s per private chat, 20 a minute per
    group or channel; a 429 holds the chat (or everyone) for ``retry_after``."""

    enforce_limits: bool
    global_per_second: int
    private_per_second: float
    private_burst: int
    group_per_minute: int
    _chats: dict[int, dict[str, Any]]

    def _init_flood(self) -> None:
        self._global_window: deque[float] = deque()
        self._group_windows: dict[int, deque[float]] = {}
        self._buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, stamp)
        self._global_hold_until = 0.0
        self._chat_hold_until: dict[int, float] = {}
        self._forced: deque[ForcedError] = deque()

    def _reset_flood(self) -> None:
        self._forced.clear()
        self._global_window.clear()
        self._group_windows.clear()
        self._buckets.clear()
        self._global_hold_until = 0.0
        self._chat_hold_until.clear()

    def force_errors(
        self,
        n: int = 1,
        code: int | str = 429,
        retry_after: int = 1,
        chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """The next ``n`` sends (to ``chat_id`` if given) fail with ``code``.

        ``code=429`` answers "Too Many Requests: retry after N" with ``retry_after`` (and, like
        a real flood answer, holds that chat -- or everything when ``chat_id`` is None -- for
        that long); ``code=500`` an internal error; ``code="drop"`` (or 0) closes the
        connection without answering, a network error for the client.  Other codes use
        ``description`` or a default text.
        """
        with self._lock:  # type: ignore[attr-defined]
            for _ in range(n):
                self._forced.append(ForcedError(code, retry_after, chat_id, description))

    @staticmethod
    def _retry_in(seconds: float) -> int:
        return max(1, math.ceil(seconds - 1e-9))

    @staticmethod
    def _too_many(retry_after: int) -> ApiError:
        return ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def _apply_forced(self, chat_id_raw: Any) -> None:
        for forced in list(self._forced):
            if forced.chat_id is not None and forced.chat_id != chat_id_raw:
                continue
            self._forced.remove(forced)
            code = forced.code
            if code in (0, "drop"):
                raise DropConnection
            if code == 429:
                now = time.monotonic()
                if forced.chat_id is None:
                    self._global_hold_until = max(self._global_hold_until, now + forced.retry_after)
                else:
                    self._chat_hold_until[forced.chat_id] = now + forced.retry_after
                raise self._too_many(forced.retry_after)
            assert isinstance(code, int)
            raise ApiError(code, forced.description or ERROR_TEXTS.get(code, f"Error {code}"))

    def _check_flood(self, chat_id: int) -> None:
        """Raise 429 if this send breaks a limit; otherwise account for it."""
        if not self.enforce_limits:
            return
        now = time.monotonic()
        if now < self._global_hold_until:
            raise self._too_many(self._retry_in(self._global_hold_until - now))
        hold = self._chat_hold_until.get(chat_id, 0.0)
        if now < hold:
            raise self._too_many(self._retry_in(hold - now))

        window = self._global_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.global_per_second:
            retry = self._retry_in(window[0] + 1.0 - now)
            self._global_hold_until = now + retry
            raise self._too_many(retry)

        chat_type = self._chats[chat_id]["type"]
        new_bucket: tuple[float, float] | None = None
        group_window: deque[float] | None = None
        if chat_type == "private":
            tokens, stamp = self._buckets.get(chat_id, (float(self.private_burst), now))
            refill = (now - stamp) * self.private_per_second
            tokens = min(float(self.private_burst), tokens + refill)
            if tokens < 1.0:
                retry = self._retry_in((1.0 - tokens) / self.private_per_second)
                self._chat_hold_until[chat_id] = now + retry
                raise self._too_many(retry)
            new_bucket = (tokens - 1.0, now)
        else:  # groups, supergroups and channels: 20 a minute
            group_window = self._group_windows.setdefault(chat_id, deque())
            while group_window and group_window[0] <= now - 60.0:
                group_window.popleft()
            if len(group_window) >= self.group_per_minute:
                retry = self._retry_in(group_window[0] + 60.0 - now)
                self._chat_hold_until[chat_id] = now + retry
                raise self._too_many(retry)

        window.append(now)
        if new_bucket is not None:
            self._buckets[chat_id] = new_bucket
        if group_window is not None:
            group_window.append(now)
