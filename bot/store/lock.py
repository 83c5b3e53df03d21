"""One writer: an exclusive, non-blocking ``flock`` on ``newsbot.lock`` in the store directory.

The lock file holds the pid of its holder, so a refused second process can say who it is.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from bot.store.durable import LOCK_NAME
from bot.store.errors import StoreError, StoreLockedError


def acquire(directory: Path) -> int:
    """Lock the store in ``directory``; return the lock's file descriptor.

    Raises ``StoreLockedError`` when another process (or another open store) holds it.
    """
    lock_path = directory / LOCK_NAME
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # e.g. a read-only or foreign-owned volume
        raise StoreError(
            f"cannot use the store directory {directory} ([storage] path): {exc.strerror}"
        ) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = ""
        with contextlib.suppress(OSError):
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            who = f" (pid {holder})" if holder else ""
            raise StoreLockedError(
                f"another newsbot process{who} is using {directory}; stop it first, or "
                "point [storage] path at another directory"
            ) from exc
        raise StoreError(f"cannot lock {lock_path}: {exc}") from exc
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def release(fd: int) -> None:
    """Unlock and close a descriptor from :func:`acquire`."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
