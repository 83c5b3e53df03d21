"""The fake's world: chats (private, groups, channels), users, who is an administrator, what
the bot may do where; and the Bot API methods that read it (getChat, getChatMember,
getChatAdministrators)."""

from __future__ import annotations

import threading
from typing import Any

from tests.fakes.telegram.records import ApiError

CHAT_TYPES = ("private", "group", "supergroup", "channel")
STATUSES = ("creator", "administrator", "member", "left", "kicked")
# ChatMemberAdministrator's required rights (all granted unless a test says otherwise).
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_CHANNEL_RIGHTS = ("can_post_messages", "can_edit_messages")
_GROUP_RIGHTS = ("can_pin_messages",)
Member = tuple[str, dict[str, bool]]  # (status, rights that differ from the defaults)

METHODS = {
    "getchat": "_m_get_chat",
    "getchatmember": "_m_get_chat_member",
    "getchatadministrators": "_m_get_chat_administrators",
}


class World:
    """Chats, users and memberships (see the module docstring)."""

    bot_id: int
    bot_user: dict[str, Any]
    _lock: threading.RLock

    def _init_world(self) -> None:
        self._chats: dict[int, dict[str, Any]] = {}
        self._chat_info: dict[int, dict[str, Any]] = {}  # extra getChat fields (description)
        self._chat_users: dict[int, list[int]] = {}  # members in order: the first created it
        self._users: dict[int, dict[str, Any]] = {}
        self._statuses: dict[int, dict[int, Member]] = {}  # explicit memberships
        self._bot_status: dict[int, Member] = {}  # the bot's own, where a test set it
        self._unreachable: dict[int, ApiError] = {}
        self._migrated: dict[int, int] = {}

    # ---------------------------------------------------------------- building the world

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> None:
        """Make a chat known (as if it had talked to the bot) without queueing an update."""
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"unknown chat_type {chat_type!r}")
        with self._lock:
            self._register_chat(
                chat_id, chat_type, title=title, first_name=first_name, username=username
            )

    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        username: str | None = None,
        language_code: str = "en",
    ) -> dict[str, Any]:
        """Make a user known (getChatMember can then find them); returns the User object."""
        user: dict[str, Any] = {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }
        if username:
            user["username"] = username
        with self._lock:
            self._users[user_id] = user
        return dict(user)

    def add_channel(
        self,
        chat_id: int,
        title: str,
        *,
        username: str | None = None,
        creator: int | None = None,
        admins: tuple[int, ...] | list[int] = (),
        bot_is_admin: bool = True,
        bot_can_post: bool = True,
        description: str | None = None,
    ) -> dict[str, Any]:
        """A channel (``username`` without the "@") with its creator and administrators.

        The bot is an administrator that may post (``bot_can_post=False``: may not;
        ``bot_is_admin=False``: the bot is not in the channel at all).  Returns the Chat.
        """
        with self._lock:
            chat = self._register_chat(chat_id, "channel", title=title, username=username)
            if description:
                self._chat_info[chat_id] = {"description": description}
            statuses = self._statuses.setdefault(chat_id, {})
            for user_id in [u for u in (creator,) if u is not None] + list(admins):
                self._users.setdefault(user_id, _default_user(user_id))
            if creator is not None:
                statuses[creator] = ("creator", {})
            for user_id in admins:
                statuses[user_id] = ("administrator", {})
            if bot_is_admin:
                self._bot_status[chat_id] = ("administrator", {"can_post_messages": bot_can_post})
            else:
                self._bot_status[chat_id] = ("left", {})
            return dict(chat)

    def set_admins(self, chat_id: int, user_ids: list[int], **rights: bool) -> None:
        """Make ``user_ids`` the administrators of ``chat_id`` (with ``rights`` such as
        ``can_post_messages=False``); earlier administrators not listed become members."""
        with self._lock:
            statuses = self._statuses.setdefault(chat_id, {})
            for user_id, (status, _) in list(statuses.items()):
                if status == "administrator" and user_id not in user_ids:
                    del statuses[user_id]
            for user_id in user_ids:
                statuses[user_id] = ("administrator", dict(rights))
            if self._chats.get(chat_id, {}).get("type") != "channel":
                members = self._chat_users.setdefault(chat_id, [])
                members.extend(u for u in user_ids if u not in members)

    def set_member(self, chat_id: int, user_id: int, status: str, **rights: bool) -> None:
        """Set one user's status in a chat (creator, administrator, member, left, kicked)."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        with self._lock:
            self._users.setdefault(user_id, _default_user(user_id))
            self._statuses.setdefault(chat_id, {})[user_id] = (status, dict(rights))

    def block(self, chat_id: int) -> None:
        """Every send to ``chat_id`` fails 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self._unreachable[chat_id] = ApiError(403, "Forbidden: bot was blocked by the user")

    def kick(self, chat_id: int) -> None:
        """Every send fails 403 "Forbidden: bot was kicked from the group chat"."""
        with self._lock:
            kind = "supergroup" if self._chat_type(chat_id) == "supergroup" else "group"
            self._unreachable[chat_id] = ApiError(
                403, f"Forbidden: bot was kicked from the {kind} chat"
            )

    def deactivate(self, chat_id: int) -> None:
        """Every send fails 403 "Forbidden: user is deactivated" (deleted account)."""
        with self._lock:
            self._unreachable[chat_id] = ApiError(403, "Forbidden: user is deactivated")

    def unblock(self, chat_id: int) -> None:
        """Undo block/kick/deactivate.  (Any update pushed from the chat also does this.)"""
        with self._lock:
            self._mark_reachable(chat_id)

    def migrate(self, chat_id: int, new_chat_id: int) -> None:
        """The group ``chat_id`` became supergroup ``new_chat_id``: sends to the old id fail
        400 with ``parameters.migrate_to_chat_id``; the new id is known (type supergroup)."""
        with self._lock:
            old = self._chats.get(chat_id, {})
            self._migrated[chat_id] = new_chat_id
            self._register_chat(
                new_chat_id, "supergroup", title=old.get("title") or f"Supergroup {new_chat_id}"
            )
            self._chat_users[new_chat_id] = list(self._chat_users.get(chat_id, []))
            self._statuses[new_chat_id] = dict(self._statuses.get(chat_id, {}))

    def chat(self, chat_id: int) -> dict[str, Any]:
        """The Chat object the fake holds for ``chat_id`` (KeyError if unknown)."""
        with self._lock:
            return dict(self._chats[chat_id])

    # ---------------------------------------------------------------- internals

    def _register_chat(
        self,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name or "Test"
        else:
            chat["title"] = title or f"Test {chat_type} {chat_id}"
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        # Anything arriving from a chat means the bot is reachable there again.
        self._mark_reachable(chat_id)
        return chat

    def _mark_reachable(self, chat_id: int) -> None:
        self._unreachable.pop(chat_id, None)
        if self._chat_type(chat_id) != "channel":
            status = self._bot_status.get(chat_id, ("member", {}))[0]
            if status in ("left", "kicked"):
                del self._bot_status[chat_id]

    def _chat_type(self, chat_id: int) -> str | None:
        chat = self._chats.get(chat_id)
        return None if chat is None else str(chat["type"])

    def _user_object(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return dict(self.bot_user)
        return dict(self._users.get(user_id) or _default_user(user_id))

    def _bot_member(self, chat_id: int) -> Member:
        if chat_id in self._bot_status:
            return self._bot_status[chat_id]
        return ("left", {}) if chat_id in self._unreachable else ("member", {})

    def _status_of(self, chat_id: int, user_id: int) -> Member | None:
        """A user's membership, or None if the fake has never heard of them there."""
        if user_id == self.bot_id:
            return self._bot_member(chat_id)
        explicit = self._statuses.get(chat_id, {}).get(user_id)
        if explicit is not None:
            return explicit
        chat_type = self._chat_type(chat_id)
        members = self._chat_users.get(chat_id, [])
        if chat_type == "private":
            return ("member", {}) if user_id == chat_id else None
        if chat_type == "channel":
            return ("left", {}) if user_id in self._users else None
        if user_id in members:
            return ("creator", {}) if members[0] == user_id else ("member", {})
        return None

    def _member(self, chat_id: int, user_id: int, status: str, rights: dict[str, bool]) -> dict:
        """A ChatMember object as the Bot API answers it."""
        member: dict[str, Any] = {"status": status, "user": self._user_object(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            extra = _CHANNEL_RIGHTS if self._chat_type(chat_id) == "channel" else _GROUP_RIGHTS
            member.update({"can_be_edited": False, "is_anonymous": False})
            member.update({right: True for right in _ADMIN_RIGHTS + extra})
            member.update(rights)
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _check_can_send(self, chat_id: int) -> None:
        """Raise the error Telegram gives for a send the bot may not make."""
        if chat_id in self._unreachable:
            raise self._unreachable[chat_id]
        if self._chat_type(chat_id) != "channel":
            return
        status, rights = self._bot_member(chat_id)
        if status == "left":
            raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
        if status == "kicked":
            raise ApiError(403, "Forbidden: bot was kicked from the channel chat")
        if status != "administrator" or not rights.get("can_post_messages", True):
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")

    def _resolve_chat(self, raw: Any) -> int:
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool):
            raise ApiError(400, "Bad Request: chat not found")
        if isinstance(raw, int):
            chat_id = raw
        elif isinstance(raw, str) and raw.startswith("@"):
            for cid, chat in self._chats.items():
                if chat.get("username", "").lower() == raw[1:].lower():
                    chat_id = cid
                    break
            else:
                raise ApiError(400, "Bad Request: chat not found")
        else:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self._migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self._migrated[chat_id]},
            )
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _bot_sees_members(self, chat_id: int) -> None:
        """In a channel only an administrator may read the member list."""
        if self._chat_type(chat_id) == "channel" and self._bot_member(chat_id)[0] != (
            "administrator"
        ):
            raise ApiError(400, "Bad Request: member list is inaccessible")

    # ---------------------------------------------------------------- methods

    def _m_get_chat(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(params.get("chat_id"))
        chat = dict(self._chats[chat_id])
        if (
            chat["type"] == "channel"
            and "username" not in chat
            and self._bot_member(chat_id)[0] in ("left", "kicked")
        ):
            raise ApiError(400, "Bad Request: chat not found")  # a private channel, not joined
        chat.update(self._chat_info.get(chat_id, {}))
        chat["accent_color_id"] = 0
        chat["max_reaction_count"] = 11
        chat["accepted_gift_types"] = {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        }
        return chat

    def _m_get_chat_member(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        if user_id != self.bot_id:
            self._bot_sees_members(chat_id)
        found = self._status_of(chat_id, user_id)
        if found is None:
            raise ApiError(400, "Bad Request: user not found")
        return self._member(chat_id, user_id, *found)

    def _m_get_chat_administrators(self, method: str, params: dict[str, Any]) -> Any:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if self._chats[chat_id]["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        self._bot_sees_members(chat_id)
        admins: list[dict[str, Any]] = []
        members = self._chat_users.get(chat_id, [])
        candidates = list(dict.fromkeys(members[:1] + list(self._statuses.get(chat_id, {}))))
        for user_id in [*candidates, self.bot_id]:
            found = self._status_of(chat_id, user_id)
            if found is not None and found[0] in ("creator", "administrator"):
                admins.append(self._member(chat_id, user_id, *found))
        return admins


def _default_user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "en"}
