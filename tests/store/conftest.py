"""The store's tests' clock, headline maker, fixtures (a store on a frozen clock) and the
reopen helpers (a clean close, or a crash: nothing committed or compacted)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import Headline
from bot.store import Store

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def hl(hid: str, published: datetime | None = None, url_key: str = "", title: str = "") -> Headline:
    return Headline(source="src", id=hid, title=title or f"title {hid}", link=f"https://x/{hid}",
                    url_key=url_key, published=published)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(store_dir: Path, clock: Clock) -> Iterator[Store]:
    s = Store.open(store_dir, clock=clock)
    yield s
    s.close()


def reopen(s: Store, clock: Clock | None = None, **kw) -> Store:
    s.close()
    return Store.open(s.path, clock=clock or Clock(), **kw)


def crash_reopen(s: Store, clock: Clock | None = None, **kw) -> Store:
    """Simulate a crash: release the OS resources without committing or compacting."""
    s._release()
    s._closed = True
    return Store.open(s.path, clock=clock or Clock(), **kw)
