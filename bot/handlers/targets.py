"""Which chat a command changes: the chat it is typed in, or a channel named first.

The bot cannot read commands in a channel, so a channel is managed from a private chat with
the bot: ``/follow @channel eVTOL``.  A channel's first argument is ``@username`` or its
numeric id (``-100…``); it must have been linked by this person with ``/channel``, and the
person must still be one of its administrators (asked again, cached a minute).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core import Core
from bot.models import Chat

#: A channel as a command's first argument: Telegram usernames are 5–32 characters.
CHANNEL_REF = re.compile(r"@[A-Za-z][A-Za-z0-9_]{3,31}|-100\d{5,}")
#: The private chat's setting that lists the channels its person linked.
LINKED = "channels"


@dataclass(frozen=True)
class ChannelRef:
    """A channel named as the first argument, and the rest of the argument."""

    ref: str
    rest: str


def channel_argument(text: str) -> ChannelRef | None:
    """``@name rest`` or ``-100123 rest`` -> the reference and the rest; else None."""
    first, _, rest = text.strip().partition(" ")
    if not CHANNEL_REF.fullmatch(first):
        return None
    return ChannelRef(first, rest.strip())


def linked_channels(core: Core, owner: Chat) -> list[Chat]:
    """The channels the person of private chat ``owner`` linked, in the order linked."""
    found = (core.store.chat(int(cid)) for cid in owner.settings.get(LINKED) or [])
    return [chat for chat in found if chat is not None and chat.kind == "channel"]


def find_linked(core: Core, owner: Chat, ref: str) -> Chat | None:
    """The linked channel ``ref`` names (``@username`` in any case, or its id)."""
    for channel in linked_channels(core, owner):
        username = channel.settings.get("username") or ""
        if ref.startswith("@") and username.casefold() == ref[1:].casefold():
            return channel
        if ref == str(channel.id):
            return channel
    return None


def channel_label(channel: Chat) -> str:
    """``@username`` if it has one, else its title, else its id (not escaped)."""
    username = channel.settings.get("username")
    return f"@{username}" if username else (channel.title or str(channel.id))
