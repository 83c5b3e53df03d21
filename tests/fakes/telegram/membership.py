"""The bot's own membership changing: ``my_chat_member`` updates, and what they do to the
world (a bot removed from a group or channel, or blocked by a user, can no longer send)."""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.fakes.telegram.records import ApiError
from tests.fakes.telegram.world import STATUSES, Member


class Membership:
    """Helpers that change the bot's status in a chat and queue ``my_chat_member``."""

    bot_id: int
    _lock: threading.RLock
    _chats: dict[int, dict[str, Any]]
    _chat_users: dict[int, list[int]]
    _statuses: dict[int, dict[int, Member]]
    _bot_status: dict[int, Member]
    _unreachable: dict[int, ApiError]

    def set_bot_status(
        self,
        chat_id: int,
        status: str,
        *,
        by: int | None = None,
        update: bool = True,
        **rights: bool,
    ) -> int | None:
        """The bot's status in known chat ``chat_id`` becomes ``status`` (administrator with
        ``rights`` such as ``can_post_messages=False``, member, left, kicked), changed by user
        ``by``; queues the ``my_chat_member`` update (unless ``update=False``) and returns its
        update_id.  In a private chat, "kicked" means the user blocked the bot."""
        if status not in STATUSES or status == "creator":
            raise ValueError(f"the bot cannot become {status!r}")
        with self._lock:
            chat = self._chats.get(chat_id)
            if chat is None:
                raise ValueError(f"unknown chat {chat_id}: add_chat() or add_channel() it first")
            old = self._member(chat_id, self.bot_id, *self._bot_member(chat_id))  # type: ignore[attr-defined]
            self._bot_status[chat_id] = (status, dict(rights))
            self._unreachable.pop(chat_id, None)
            error = _send_error(chat["type"], status)
            if error is not None and chat["type"] != "channel":
                self._unreachable[chat_id] = error
            if not update:
                return None
            new = self._member(chat_id, self.bot_id, status, dict(rights))  # type: ignore[attr-defined]
            actor = by if by is not None else self._default_actor(chat_id)
            return self._enqueue(  # type: ignore[attr-defined, no-any-return]
                {
                    "my_chat_member": {
                        "chat": dict(chat),
                        "from": self._user_object(actor),  # type: ignore[attr-defined]
                        "date": int(time.time()),
                        "old_chat_member": old,
                        "new_chat_member": new,
                    }
                }
            )

    def add_bot_as_admin(self, chat_id: int, by: int, *, can_post_messages: bool = True) -> int:
        """User ``by`` makes the bot an administrator of ``chat_id`` (in a channel: one that
        may post unless ``can_post_messages=False``)."""
        rights = {"can_post_messages": can_post_messages}
        if self._chats.get(chat_id, {}).get("type") != "channel":
            rights = {}
        update_id = self.set_bot_status(chat_id, "administrator", by=by, **rights)
        assert update_id is not None
        return update_id

    def add_bot_as_member(self, chat_id: int, by: int) -> int:
        """User ``by`` adds the bot to group ``chat_id`` as a plain member."""
        update_id = self.set_bot_status(chat_id, "member", by=by)
        assert update_id is not None
        return update_id

    def remove_bot(self, chat_id: int, by: int) -> int:
        """User ``by`` removes the bot from ``chat_id`` (status "left")."""
        update_id = self.set_bot_status(chat_id, "left", by=by)
        assert update_id is not None
        return update_id

    def kick_bot(self, chat_id: int, by: int) -> int:
        """User ``by`` bans the bot from ``chat_id`` (status "kicked")."""
        update_id = self.set_bot_status(chat_id, "kicked", by=by)
        assert update_id is not None
        return update_id

    def user_blocks_bot(self, user_id: int) -> int:
        """User ``user_id`` blocks the bot in their private chat: sends fail 403."""
        self._ensure_private(user_id)
        update_id = self.set_bot_status(user_id, "kicked", by=user_id)
        assert update_id is not None
        return update_id

    def user_unblocks_bot(self, user_id: int) -> int:
        """User ``user_id`` unblocks the bot (status "member" again)."""
        self._ensure_private(user_id)
        update_id = self.set_bot_status(user_id, "member", by=user_id)
        assert update_id is not None
        return update_id

    def _ensure_private(self, user_id: int) -> None:
        with self._lock:
            if user_id not in self._chats:
                self.add_chat(user_id, "private")  # type: ignore[attr-defined]

    def _default_actor(self, chat_id: int) -> int:
        if self._chats[chat_id]["type"] == "private":
            return chat_id
        for user_id, (status, _) in self._statuses.get(chat_id, {}).items():
            if status == "creator":
                return user_id
        members = self._chat_users.get(chat_id, [])
        return members[0] if members else chat_id


def _send_error(chat_type: str, status: str) -> ApiError | None:
    """What a send answers once the bot has ``status`` in a chat of ``chat_type``."""
    if chat_type == "private":
        blocked = ApiError(403, "Forbidden: bot was blocked by the user")
        return blocked if status == "kicked" else None
    if status == "left":
        return ApiError(403, f"Forbidden: bot is not a member of the {chat_type} chat")
    if status == "kicked":
        return ApiError(403, f"Forbidden: bot was kicked from the {chat_type} chat")
    return None
