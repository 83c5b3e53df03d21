"""The chats table: every chat the bot knows, its kind, title, active flag and settings.

Journal operations: ``["chat", doc]`` (put the whole chat) and ``["mig", old, new]`` (a group
upgraded to a supergroup; applied across tables by ``bot/store/tables.py``, this table's part
being :meth:`Chats.op_move`).  In a snapshot a chat is one document of the ``chats`` table,
which also carries the chat's subscriptions (``subs``, written by ``tables.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bot.models import Chat
from bot.store.journal import Journal


class Chats:
    """Chats by id.  Reads return copies: changing one never changes the store."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._by_id: dict[int, Chat] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    # ------------------------------------------------------------------ reads

    def get(self, chat_id: int) -> Chat | None:
        chat = self._by_id.get(chat_id)
        return Chat.from_dict(chat.to_dict()) if chat is not None else None

    def all(self) -> list[Chat]:
        return [Chat.from_dict(c.to_dict()) for c in self._by_id.values()]

    # ------------------------------------------------------------------ writes

    def _doc(self, chat_id: int) -> tuple[Chat | None, dict[str, Any]]:
        current = self._by_id.get(chat_id)
        return current, (current or Chat(id=chat_id)).to_dict()

    def upsert(self, chat_id: int, *, kind: str, title: str = "") -> Chat:
        """Create or update a chat and mark it active (e.g. on /start); keeps its settings."""
        current, doc = self._doc(chat_id)
        new = {**doc, "kind": kind, "title": title or doc["title"], "active": True}
        if current is None or new != doc:
            self._journal.write(["chat", new])
        chat = self.get(chat_id)
        assert chat is not None
        return chat

    def set_active(self, chat_id: int, active: bool) -> None:
        current, doc = self._doc(chat_id)
        if current is not None and current.active == active:
            return
        doc["active"] = active
        self._journal.write(["chat", doc])

    def set_setting(self, chat_id: int, key: str, value: Any) -> None:
        _, doc = self._doc(chat_id)
        doc["settings"][key] = value
        self._journal.write(["chat", doc])

    def migrate(self, old_id: int, new_id: int) -> None:
        """Move a chat (group upgraded to supergroup) with its rows in every table."""
        if old_id != new_id:
            self._journal.write(["mig", old_id, new_id])

    # ------------------------------------------------------------------ operations

    def op_put(self, doc: dict[str, Any]) -> None:
        chat = Chat.from_dict(doc)
        self._by_id[chat.id] = chat

    def ensure(self, chat_id: int) -> None:
        """Create a default chat unless it exists (a subscription implies its chat)."""
        if chat_id not in self._by_id:
            self._by_id[chat_id] = Chat(id=chat_id)

    def op_move(self, old: int, new: int) -> None:
        """``mig``: the old chat becomes the new one; into an existing chat, the new chat's
        settings win and its title is kept unless empty."""
        old_chat = self._by_id.pop(old, None)
        if old_chat is None:
            return
        new_chat = self._by_id.get(new)
        if new_chat is None:
            old_chat.id = new
            self._by_id[new] = old_chat
        else:
            new_chat.settings = {**old_chat.settings, **new_chat.settings}
            new_chat.title = new_chat.title or old_chat.title

    # ------------------------------------------------------------------ snapshot

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in docs:
            chat = Chat.from_dict(doc)
            self._by_id[chat.id] = chat

    def docs(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(chat id, document) of every chat, in the order they were added."""
        for cid, chat in self._by_id.items():
            yield cid, chat.to_dict()
