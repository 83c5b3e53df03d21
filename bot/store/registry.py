"""The source-registry table: every source's slug, URL, title, kind and (a chat's own) chats.

Journal operations: ``["reg", slug, entry]`` (put) and ``["reg-", slug]`` (remove).  In a
snapshot an entry is one document of the ``registry`` table (an older snapshot has none: an
empty registry).  The store keeps plain JSON; ``bot.sources.registry.SourceEntry`` gives it its
meaning.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.store.durable import dumps
from bot.store.journal import Journal


class RegistryTable:
    """Registry entries by slug, in the order they were first stored."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._by_slug: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._by_slug)

    def entries(self) -> list[dict[str, Any]]:
        """Copies of every entry."""
        return [json.loads(dumps(e)) for e in self._by_slug.values()]

    def put(self, slug: str, entry: dict[str, Any]) -> None:
        self._journal.write(["reg", slug, entry])

    def remove(self, slug: str) -> None:
        self._journal.write(["reg-", slug])

    def op_put(self, slug: str, entry: dict[str, Any]) -> None:
        if not isinstance(slug, str) or not isinstance(entry, dict):
            raise ValueError(f"bad registry entry {slug!r}")
        self._by_slug[slug] = entry

    def op_remove(self, slug: str) -> None:
        self._by_slug.pop(slug, None)

    def op_move(self, old: int, new: int) -> None:
        """A chat's new id (a group became a supergroup): its own sources move with it."""
        for entry in self._by_slug.values():
            chats = entry.get("chats") or []
            if old in chats:
                entry["chats"] = sorted({new if c == old else c for c in chats})

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in docs:
            self._by_slug[doc["slug"]] = dict(doc)

    def docs(self) -> Iterator[dict[str, Any]]:
        yield from self._by_slug.values()
