"""The source-state table: what the poller remembers of each source (ETag, failures, ...).

Journal operations: ``["src", name, state]`` and ``["src-", name]``.  In a snapshot a source is
one ``{"name", "state"}`` document of the ``sources`` table.  The store keeps the state as
plain JSON; ``bot.sources.SourceState`` gives it its meaning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.store.durable import dumps
from bot.store.journal import Journal


class Sources:
    """Source state by source name."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._by_name: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def state(self, name: str) -> dict:
        """A copy of the source's state; ``{}`` when unknown."""
        state = self._by_name.get(name)
        return json.loads(dumps(state)) if state is not None else {}

    def names(self) -> list[str]:
        return list(self._by_name)

    def set_state(self, name: str, state: dict, *, durable: bool = True) -> None:
        self._journal.write(["src", name, state], durable=durable)

    def remove(self, name: str) -> None:
        """Forget one source's state (a chat's own source no chat uses any more)."""
        self._journal.write(["src-", name])

    def prune(self, keep: set[str]) -> int:
        """Forget the state of sources no longer configured; return how many were dropped."""
        gone = [name for name in self._by_name if name not in keep]
        with self._journal.batch():
            for name in gone:
                self._journal.write(["src-", name])
        return len(gone)

    def op_set(self, name: str, state: dict[str, Any]) -> None:
        self._by_name[name] = state

    def op_remove(self, name: str) -> None:
        self._by_name.pop(name, None)

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in docs:
            self._by_name[doc["name"]] = doc["state"]

    def docs(self) -> Iterator[dict[str, Any]]:
        for name, state in self._by_name.items():
            yield {"name": name, "state": state}
