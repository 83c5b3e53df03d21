"""The update queue and long polling (getUpdates), and what users do: messages, edits,
forwards from a channel, channel posts, button presses."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import threading
import time
from collections import deque
from typing import Any

from tests.fakes.telegram.entities import utf16_len
from tests.fakes.telegram.records import ERROR_TEXTS, ApiError
from tests.fakes.telegram.world import CHAT_TYPES


class Updates:
    """Queue updates for getUpdates and answer it the way Telegram does."""

    bot_id: int
    _lock: threading.RLock
    _loop: asyncio.AbstractEventLoop | None
    _stop_event: asyncio.Event | None
    _chats: dict[int, dict[str, Any]]
    _chat_users: dict[int, list[int]]
    _users: dict[int, dict[str, Any]]
    _stored: dict[tuple[int, int], dict[str, Any]]
    _by_bot: set[tuple[int, int]]
    _frozen: set[tuple[int, int]]
    _open_callbacks: set[str]
    _webhook_url: str

    def _init_updates(self) -> None:
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._waiters: set[asyncio.Event] = set()
        self._poll_generation = 0

    @property
    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    # ---------------------------------------------------------------- queue

    def _wake_pollers(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def wake() -> None:
            for waiter in list(self._waiters):
                waiter.set()

        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(wake)

    def _enqueue(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._wake_pollers()
        return update_id

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned if missing); returns the update_id.

        Chats found in ``message``/``edited_message``/``my_chat_member`` become known.
        """
        with self._lock:
            for key in ("message", "edited_message", "channel_post", "my_chat_member"):
                chat = (update.get(key) or {}).get("chat")
                if isinstance(chat, dict) and "id" in chat and "type" in chat:
                    self._chats[int(chat["id"])] = dict(chat)
                    self._mark_reachable(int(chat["id"]))  # type: ignore[attr-defined]
            if "update_id" in update:
                self._updates.append(dict(update))
                self._update_ids = itertools.count(int(update["update_id"]) + 1)
                self._wake_pollers()
                return int(update["update_id"])
            return self._enqueue(dict(update))

    # ---------------------------------------------------------------- users act

    def _user(
        self, user_id: int, first_name: str, username: str | None, language_code: str
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            user["username"] = username
        self._users[user_id] = user
        return user

    def _user_message(
        self, chat: dict[str, Any], user: dict[str, Any] | None, text: str | None
    ) -> dict[str, Any]:
        """A new message in ``chat`` (from ``user``; None: a channel post), stored; without
        ``text`` when it is None (a document, say)."""
        chat_id = int(chat["id"])
        message_id = self._next_id(chat_id)  # type: ignore[attr-defined]
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time())}
        if user is None:
            message["sender_chat"] = dict(chat)
        else:
            message["from"] = user
        message["chat"] = dict(chat)
        if text is not None:
            message["text"] = text
        if text is not None and text.startswith("/"):
            command = re.split(r"\s", text, maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        self._stored[(chat_id, message_id)] = message
        return message

    def push_message(
        self,
        chat_id: int,
        text: str,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str = "en",
        chat_title: str | None = None,
        forward_origin: dict[str, Any] | None = None,
    ) -> int:
        """Queue a text message from a user for getUpdates; returns its ``message_id``.

        A text starting with "/" carries a ``bot_command`` entity over its first word
        (e.g. "/follow@newsbot_test_bot"), so PTB's ``CommandHandler`` sees it.
        ``forward_origin``: a MessageOrigin, for a forwarded message (see ``push_forward``).
        """
        with self._lock:
            message = self._incoming(
                chat_id,
                text,
                chat_type=chat_type,
                user_id=user_id,
                first_name=first_name,
                username=username,
                language_code=language_code,
                chat_title=chat_title,
            )
            if forward_origin is not None:
                message["forward_origin"] = dict(forward_origin)
            self._enqueue({"message": message})
            return int(message["message_id"])

    def _incoming(
        self,
        chat_id: int,
        text: str | None,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        first_name: str = "Test",
        username: str | None = None,
        language_code: str = "en",
        chat_title: str | None = None,
    ) -> dict[str, Any]:
        """A user's new message in ``chat_id`` (the chat and the user become known), stored
        but not queued.  Call with the lock held."""
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"unknown chat_type {chat_type!r}")
        if user_id is None:
            user_id = abs(chat_id)  # a group's default member: a stable positive id
        user = self._user(user_id, first_name, username, language_code)
        existing = self._chats.get(chat_id)
        if existing is not None and existing["type"] == chat_type and chat_title is None:
            self._mark_reachable(chat_id)  # type: ignore[attr-defined]
            chat = existing
        else:
            chat = self._register_chat(  # type: ignore[attr-defined]
                chat_id,
                chat_type,
                title=chat_title,
                first_name=first_name,
                username=username if chat_type == "private" else None,
            )
        members = self._chat_users.setdefault(chat_id, [])
        if user_id not in members:
            members.append(user_id)
        return self._user_message(chat, user, text)

    def push_forward(
        self,
        chat_id: int,
        channel_id: int,
        text: str | None = None,
        *,
        channel_message_id: int | None = None,
        **user: Any,
    ) -> int:
        """A user sends ``chat_id`` a post forwarded from the known channel ``channel_id``
        (``forward_origin`` of type "channel"): by default the channel's newest post, with its
        text; returns the new message's id.  ``user``: more push_message fields."""
        with self._lock:
            channel = self._chats.get(channel_id)
            if channel is None or channel["type"] != "channel":
                raise ValueError(f"no channel {channel_id}: add_channel() it first")
            if channel_message_id is None:
                posts = [mid for (cid, mid) in self._stored if cid == channel_id]
                channel_message_id = max(posts) if posts else 1
            post = self._stored.get((channel_id, channel_message_id), {})
            origin = {
                "type": "channel",
                "chat": dict(channel),
                "message_id": channel_message_id,
                "date": int(post.get("date", time.time() - 60)),
            }
            if text is None:
                text = str(post.get("text") or "A post")
        return self.push_message(chat_id, text, forward_origin=origin, **user)

    def push_channel_post(self, channel_id: int, text: str) -> int:
        """A post someone made in a known channel (a ``channel_post`` update)."""
        with self._lock:
            channel = self._chats.get(channel_id)
            if channel is None or channel["type"] != "channel":
                raise ValueError(f"no channel {channel_id}: add_channel() it first")
            message = self._user_message(channel, None, text)
            self._enqueue({"channel_post": message})
            return int(message["message_id"])

    def push_edit(self, chat_id: int, message_id: int, text: str) -> int:
        """The sender edits message ``message_id`` (one a test pushed) to ``text``: an
        ``edited_message`` update (``edited_channel_post`` in a channel); returns its id."""
        with self._lock:
            old = self._stored.get((chat_id, message_id))
            if old is None or (chat_id, message_id) in self._by_bot:
                raise ValueError(f"no user message {message_id} in chat {chat_id}")
            message = {**old, "text": text, "edit_date": int(time.time())}
            message.pop("entities", None)
            if text.startswith("/"):
                command = re.split(r"\s", text, maxsplit=1)[0]
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
                ]
            self._stored[(chat_id, message_id)] = message
            kind = "edited_channel_post" if "sender_chat" in old else "edited_message"
            return self._enqueue({kind: message})

    def push_callback(
        self, chat_id: int, message_id: int, data: str, user_id: int | None = None,
        inaccessible: bool = False,
    ) -> str:
        """Queue a callback_query (a button press) on a message the bot sent; returns its id.
        ``inaccessible``: the press carries an InaccessibleMessage (chat, id, date 0), as
        Telegram sends for a message the bot can no longer reach (nor edit)."""
        with self._lock:
            message = self._stored.get((chat_id, message_id))
            if message is None or (chat_id, message_id) not in self._by_bot:
                raise ValueError(f"the bot sent no message {message_id} to chat {chat_id}")
            if user_id is None:
                members = self._chat_users.get(chat_id)
                user_id = members[-1] if members else chat_id
            user = self._users.get(user_id) or self._user(user_id, "Test", None, "en")
            query_id = str(next(self._callback_ids))
            self._open_callbacks.add(query_id)
            if inaccessible:
                self._frozen.add((chat_id, message_id))
            self._mark_reachable(chat_id)  # type: ignore[attr-defined]
            self._enqueue(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": user,
                        "message": (
                            {"chat": message["chat"], "message_id": message_id, "date": 0}
                            if inaccessible else dict(message)
                        ),
                        "chat_instance": str(chat_id),
                        "data": data,
                    }
                }
            )
            return query_id

    # ---------------------------------------------------------------- getUpdates

    def _confirm_and_take(self, offset: Any, limit: int) -> list[dict[str, Any]]:
        if isinstance(offset, int) and offset != 0:
            if offset > 0:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            else:
                while len(self._updates) > -offset:
                    self._updates.popleft()
        return list(itertools.islice(self._updates, limit))

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: wait up to ``timeout`` for updates; a newer call ends this one 409."""
        with self._lock:
            if self._webhook_url:
                raise ApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            self._poll_generation += 1
            generation = self._poll_generation
        offset = params.get("offset")
        limit = params.get("limit", 100)
        limit = min(100, max(1, limit)) if isinstance(limit, int) else 100
        timeout = params.get("timeout", 0)
        timeout = float(timeout) if isinstance(timeout, int | float) else 0.0
        assert self._loop is not None and self._stop_event is not None
        deadline = self._loop.time() + max(0.0, timeout)
        waiter = asyncio.Event()
        for other in list(self._waiters):
            other.set()
        self._waiters.add(waiter)
        try:
            first = True
            while True:
                waiter.clear()
                with self._lock:
                    if generation != self._poll_generation:
                        raise ApiError(409, ERROR_TEXTS[409])
                    result = self._confirm_and_take(offset if first else None, limit)
                first = False
                remaining = deadline - self._loop.time()
                if result or remaining <= 0 or self._stop_event.is_set():
                    return result
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), remaining)
        finally:
            self._waiters.discard(waiter)
