"""Rebuilding memory from ``journal.jsonl`` on open.

Lines with ``seq`` at or below the snapshot's are already in it and skipped; the others must
follow each other without a gap.  A last line that is incomplete, unparsable, or complete but
without its newline is a write torn by a crash (its fsync never returned, so it was never
acknowledged): it is reported as a torn tail for the caller to cut.  Any other bad line is
corruption and raises ``StoreCorruptError``: nothing is written over the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.store.errors import StoreCorruptError


@dataclass(frozen=True)
class Replayed:
    """What a replay did: records applied, the last sequence number, where the file is good."""

    records: int
    seq: int
    good_end: int  # byte offset after the last good line
    torn: int  # bytes of a torn last line (0: none)


def replay(journal: Path, snap_seq: int, apply: Callable[[list[Any]], Any]) -> Replayed:
    """Apply the records of ``journal`` after ``snap_seq`` through ``apply``."""
    if not journal.exists():
        return Replayed(0, snap_seq, 0, 0)
    raw = journal.read_bytes()
    pos = replayed = 0
    seq_now = snap_seq
    last_seq: int | None = None
    lines = raw.split(b"\n")
    for i, line in enumerate(lines):
        unterminated = i == len(lines) - 1
        is_last = unterminated or (i == len(lines) - 2 and lines[-1] == b"")
        if not line:
            if not unterminated:
                raise StoreCorruptError(f"{journal}: empty line at byte {pos}; refusing it")
            break
        try:
            seq, ops = _decode(line)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            if is_last:
                return Replayed(replayed, seq_now, pos, len(raw) - pos)
            raise StoreCorruptError(
                f"{journal}: unreadable record at byte {pos} ({exc}); refusing to open the "
                "store (files left untouched)"
            ) from exc
        if unterminated:  # complete JSON but no newline: the append never finished
            return Replayed(replayed, seq_now, pos, len(raw) - pos)
        if last_seq is not None and seq != last_seq + 1:
            raise StoreCorruptError(
                f"{journal}: sequence jumps from {last_seq} to {seq} at byte {pos}"
            )
        last_seq = seq
        if seq > snap_seq:
            if seq != seq_now + 1:
                raise StoreCorruptError(
                    f"{journal}: record {seq} follows {seq_now}: records are missing "
                    "(was the snapshot replaced?); refusing to open the store"
                )
            _apply_record(journal, seq, ops, apply)
            seq_now = seq
            replayed += 1
        pos += len(line) + 1
    return Replayed(replayed, seq_now, pos, 0)


def _decode(line: bytes) -> tuple[int, list[Any]]:
    rec = json.loads(line.decode("utf-8"))
    seq, ops = rec["seq"], rec["ops"]
    if not isinstance(seq, int) or not isinstance(ops, list):
        raise ValueError("bad record")
    return seq, ops


def _apply_record(journal: Path, seq: int, ops: list[Any], apply: Callable[[list[Any]], Any]
                  ) -> None:
    try:
        for op in ops:
            apply(op)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise StoreCorruptError(f"{journal}: record {seq} cannot be applied ({exc!r})") from exc
