"""The file primitives the store's durability rests on, and its one JSON encoding.

Names of the files in a store directory live here too, so every module agrees on them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

APP_NAME = "newsbot"
SNAPSHOT_NAME = "newsbot.json"
JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "newsbot.lock"


def dumps(value: Any) -> str:
    """Compact JSON, UTF-8 text kept as is; NaN and non-JSON values raise."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` (``os.write`` may write fewer)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
