"""The subscriptions table: each chat's query texts, in the order they were added.

Journal operations: ``["sub+", chat_id, query]`` (which also creates the chat when unknown) and
``["sub-", chat_id, query]``; a ``mig`` moves a chat's queries (:meth:`Subscriptions.op_move`).
In a snapshot a chat's queries are the ``subs`` list of its document in the ``chats`` table.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any

from bot.store.chats import Chats
from bot.store.journal import Journal


class Subscriptions:
    """Query texts by chat id (interned: the same keyword in many chats is one string)."""

    def __init__(self, journal: Journal, chats: Chats) -> None:
        self._journal = journal
        self._chats = chats
        self._by_chat: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_chat.values())

    # ------------------------------------------------------------------ reads

    def of(self, chat_id: int) -> list[str]:
        return list(self._by_chat.get(chat_id, ()))

    def all(self) -> Iterator[tuple[int, str]]:
        """Every (chat id, query); safe to write to the store while iterating."""
        for chat_id, subs in list(self._by_chat.items()):
            for query in list(subs):
                yield chat_id, query

    # ------------------------------------------------------------------ writes

    def add(self, chat_id: int, query: str) -> bool:
        """Add ``query`` to the chat's list; False if it is there already."""
        if not isinstance(query, str) or not query:
            raise ValueError("a subscription query must be a non-empty string")
        if query in self._by_chat.get(chat_id, ()):
            return False
        self._journal.write(["sub+", chat_id, query])
        return True

    def remove(self, chat_id: int, query: str) -> bool:
        """Remove ``query`` from the chat's list; False if it was not there."""
        if query not in self._by_chat.get(chat_id, ()):
            return False
        self._journal.write(["sub-", chat_id, query])
        return True

    # ------------------------------------------------------------------ operations

    def op_add(self, chat_id: int, query: str) -> None:
        self._chats.ensure(chat_id)
        subs = self._by_chat.setdefault(chat_id, [])
        if query not in subs:
            subs.append(sys.intern(query))

    def op_remove(self, chat_id: int, query: str) -> None:
        subs = self._by_chat.get(chat_id)
        if subs and query in subs:
            subs.remove(query)
            if not subs:
                del self._by_chat[chat_id]

    def op_move(self, old: int, new: int) -> None:
        """``mig``: append the old chat's queries the new chat lacks."""
        old_subs = self._by_chat.pop(old, [])
        if old_subs:
            subs = self._by_chat.setdefault(new, [])
            subs.extend(q for q in old_subs if q not in subs)

    # ------------------------------------------------------------------ snapshot

    def load(self, chat_docs: Iterable[dict[str, Any]]) -> None:
        """Read the ``subs`` list of each chat document."""
        intern = sys.intern
        for doc in chat_docs:
            subs = [intern(q) for q in doc.get("subs", [])]
            if subs:
                self._by_chat[int(doc["id"])] = subs

    def doc_of(self, chat_id: int) -> list[str]:
        """The chat's ``subs`` list for its snapshot document (not a copy)."""
        return self._by_chat.get(chat_id, [])
