"""The write path: operations encoded, applied to memory, appended to ``journal.jsonl``.

A mutating call turns itself into *operations* (small JSON lists such as ``["sub+", 5, "AI"]``)
and hands each to :meth:`Journal.write`.  An operation is encoded to JSON *before* it is
applied, and memory is updated from the decoded JSON, so memory is exactly what a replay will
rebuild (tuples become lists; non-JSON values and text that is not valid Unicode, such as a lone
surrogate, are refused up front with TypeError/ValueError without touching the store).

The operations of one commit become **one line** ``{"seq": n, "ops": [...]}``, written and
``fdatasync``'d before the call returns, so an acknowledged write survives ``kill -9``.  Inside
``with journal.batch():`` the operations are queued and share one line and one fsync when the
outermost batch exits (also on an exception: what was applied is kept).  A write with
``durable=False`` is applied and queued but not committed: it goes to disk with the next
commit, or at :meth:`Journal.flush` (for a write whose loss in a crash costs nothing).

After a failed write the journal refuses every further write until the store is reopened:
memory may then hold a change the disk does not.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bot.store.durable import dumps, write_all
from bot.store.errors import StoreError


class Journal:
    """The store's one write path and the state of ``journal.jsonl``.

    ``apply`` applies one decoded operation to memory and returns its result; ``committed``
    is called after each durable commit (the store compacts from there).
    """

    def __init__(
        self,
        path: Path,
        apply: Callable[[list[Any]], Any],
        committed: Callable[[], None],
    ) -> None:
        self.path = path
        self.seq = 0  # sequence number of the last record in memory
        self.records = 0  # lines in the file since the last snapshot
        self.read_only = False
        self.closed = False
        self.failed: BaseException | None = None
        self._apply = apply
        self._committed = committed
        self._fd: int | None = None
        self._depth = 0
        self._queued: list[bytes] = []  # encoded ops, UTF-8

    # ------------------------------------------------------------------ the file

    def open_for_append(self, good_end: int | None) -> None:
        """Open (creating) the file for appending; cut it at ``good_end`` (a torn tail)."""
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if good_end is not None:
            os.ftruncate(self._fd, good_end)
            os.fsync(self._fd)

    def truncate(self) -> None:
        """Empty the file: a snapshot now holds every record in it, and the operations still
        queued (applied, so in the snapshot too: they are dropped, not committed after it)."""
        assert self._fd is not None
        os.ftruncate(self._fd, 0)
        os.fsync(self._fd)
        self.records = 0
        self._queued = []

    def close(self) -> None:
        """Close the file (queued operations are *not* committed); refuse writes from now.

        Also lets go of ``apply`` and ``committed``: they lead back to the store, and without
        that cycle a closed store's tables are freed at once, not at the next GC pass.
        """
        self.closed = True
        self._apply = _refuse
        self._committed = _nothing
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ------------------------------------------------------------------ writing

    def refusal(self) -> str | None:
        """Why writes are refused now, or None when they are accepted."""
        if self.read_only:
            return "this store was opened read-only"
        if self.closed:
            return "the store is closed"
        if self.failed is not None:
            return (
                f"an earlier journal write failed ({self.failed!r}); the store refuses "
                "further writes until it is reopened"
            )
        return None

    def check_writable(self) -> None:
        """Raise ``StoreError`` saying why, when writes are refused."""
        reason = self.refusal()
        if reason is not None:
            raise StoreError(reason)

    @property
    def batching(self) -> bool:
        """True inside a ``batch()``."""
        return self._depth > 0

    @property
    def queued(self) -> bool:
        """True when applied operations wait for their commit."""
        return bool(self._queued)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Share one line and one fsync among the writes inside (nested batches join)."""
        self.check_writable()
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0 and self._queued:
                self.commit()

    def write(self, op: list[Any], *, durable: bool = True) -> Any:
        """Encode ``op``, apply its decoded form, and commit it (at once, or with the batch;
        ``durable=False``: with the next commit or :meth:`flush`).

        Returns what applying it returned.
        """
        self.check_writable()
        text = dumps(op)
        try:
            data = text.encode("utf-8")  # before memory changes: a bad value is refused here
        except UnicodeEncodeError as exc:
            raise ValueError(
                "refused a store write: its text is not valid Unicode (a lone surrogate "
                f"{text[exc.start:exc.end]!r}); nothing was changed"
            ) from exc
        result = self._apply(json.loads(text))
        self._queued.append(data)
        if self._depth == 0 and durable:
            self.commit()
        return result

    def flush(self) -> None:
        """Commit the operations ``durable=False`` writes left queued (none inside a batch:
        the batch commits them)."""
        if self._depth == 0 and self._queued:
            self.commit()

    def commit(self) -> None:
        """Append the queued operations as one record and fdatasync it."""
        ops, self._queued = self._queued, []
        seq = self.seq + 1
        line = b'{"seq":%d,"ops":[%b]}\n' % (seq, b",".join(ops))
        assert self._fd is not None
        try:
            write_all(self._fd, line)
            os.fdatasync(self._fd)
        except OSError as exc:
            self.failed = exc
            raise StoreError(f"cannot write the journal in {self.path.parent}: {exc}") from exc
        self.seq = seq
        self.records += 1
        self._committed()


def _refuse(op: list[Any]) -> Any:
    raise StoreError("the store is closed")


def _nothing() -> None:
    pass
