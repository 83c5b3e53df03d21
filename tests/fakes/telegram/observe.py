"""What a test reads back: sent messages and posts, errors, calls, violations, waiting."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from tests.fakes.telegram.records import SentMessage, Violation


class Observe:
    """Read-only views of what the fake received, and waiting for it."""

    _lock: threading.RLock
    _cond: threading.Condition
    sent: list[SentMessage]
    edits: list[SentMessage]
    errors: list[tuple[str, int | str | None, int, str]]
    calls: list[tuple[str, dict[str, Any]]]
    callback_answers: list[dict[str, Any]]
    violations: list[Violation]

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    def posts(self, channel_id: int) -> list[SentMessage]:
        """The messages the bot posted in a channel (the same as ``messages(channel_id)``)."""
        return self.messages(channel_id)

    def count(self, code: int) -> int:
        """How many error answers with ``error_code == code`` were given (0: dropped)."""
        with self._lock:
            return sum(1 for e in self.errors if e[2] == code)

    def take_violations(self) -> list[Violation]:
        """The calls that did not match the Bot API reference so far, forgotten once taken
        (a test that makes such calls on purpose takes them, so it does not fail)."""
        with self._lock:
            taken = list(self.violations)
            self.violations.clear()
            return taken

    def expect_violations(self, *fragments: str) -> list[Violation]:
        """Take the violations of calls a test made on purpose, asserting one per fragment,
        in order, each saying its fragment (none at all when the reference is absent)."""
        taken = self.take_violations()
        if getattr(self, "schema", None) is None:
            assert taken == [], [str(v) for v in taken]
            return taken
        assert len(taken) == len(fragments), [str(v) for v in taken]
        for violation, fragment in zip(taken, fragments, strict=True):
            assert fragment in str(violation), (fragment, str(violation))
        return taken

    def wait_for_messages(
        self, chat_id: int | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Block until at least ``count`` messages were sent (to ``chat_id`` if given) and
        return all sent so far that match.  Raises ``TimeoutError`` describing what arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [m for m in self.sent if chat_id is None or m.chat_id == chat_id]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(self._timeout_text(chat_id, count, found))
                self._cond.wait(remaining)

    async def wait_for_messages_async(
        self,
        chat_id: int | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[SentMessage]:
        """Like :meth:`wait_for_messages` without blocking the running event loop."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(chat_id)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                with self._lock:
                    raise TimeoutError(self._timeout_text(chat_id, count, found))
            await asyncio.sleep(0.01)

    def _timeout_text(self, chat_id: int | None, count: int, found: list[SentMessage]) -> str:
        where = "in total" if chat_id is None else f"to chat {chat_id}"
        text = (
            f"expected {count} message(s) {where}, got {len(found)}: "
            f"{[m.text for m in found]!r}; errors so far: {self.errors[-10:]!r}"
        )
        if self.violations:
            text += f"; calls that break the Bot API reference: {[str(v) for v in self.violations]}"
        return text

    def reset(self) -> None:
        """Clear observations (sent, edits, errors, calls, callback and inline answers) and
        flood state; the world (known chats, blocks, migrations, queued updates) and
        violations are kept."""
        with self._lock:
            self.sent.clear()
            self.edits.clear()
            self.errors.clear()
            self.calls.clear()
            self.callback_answers.clear()
            self.inline_answers.clear()  # type: ignore[attr-defined]
            self.documents.clear()  # type: ignore[attr-defined]
            self.downloads.clear()  # type: ignore[attr-defined]
            self._reset_flood()  # type: ignore[attr-defined]
