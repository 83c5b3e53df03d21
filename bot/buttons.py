"""Inline buttons under alerts and /list, and the callback data they carry.

Callback data is at most 64 bytes, and a keyword may be 100 characters, so a button names a
keyword by a short hash of its normalised key; the handler finds the chat's keyword with that
hash.  Nothing is kept in memory, so buttons keep working after a restart.

- ``uf:<hash>``: unfollow (under an alert);
- ``rm:<hash>``: remove, then redraw the /list message;
- ``mute:1d``: pause the chat for a day;
- ``sf:<slug>``: follow all of a source, ``sr:<slug>``: remove the chat's own source (under
  /sources; a slug is at most 24 characters), which asks first: its row becomes
  ``sy:<slug>`` (yes, remove it) and ``sk:<slug>`` (keep it);
- ``sa:<token>:<n>``: add the n-th feed of a page (under /addsource's choice; the choices
  are kept in memory by ``bot.handlers.sources``).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import t

UNFOLLOW = "uf"
REMOVE = "rm"
MUTE_DAY = "mute:1d"
FOLLOW_SOURCE = "sf"
REMOVE_SOURCE = "sr"
CONFIRM_REMOVE_SOURCE = "sy"
KEEP_SOURCE = "sk"
CHOOSE_FEED = "sa"
_SLUG_ACTIONS = (FOLLOW_SOURCE, REMOVE_SOURCE, CONFIRM_REMOVE_SOURCE, KEEP_SOURCE)
SOURCE_ACTIONS = (*_SLUG_ACTIONS, CHOOSE_FEED)
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,23}")
_CHOICE = re.compile(r"[A-Za-z0-9_-]{1,16}:\d{1,2}")
LABEL_CHARS = 32
MAX_QUERY_BUTTONS = 3


def query_hash(key: str) -> str:
    digest = hashlib.sha1(key.encode("utf-8"), usedforsecurity=False).digest()
    return base64.urlsafe_b64encode(digest)[:11].decode("ascii")


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def alert_keyboard(lang: str, queries: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup:
    """Under an alert: "Unfollow <keyword>" per matched (text, key), and "Mute 1 day"."""
    rows = [
        [
            InlineKeyboardButton(
                t(lang, "button_unfollow", query=_label(text)),
                callback_data=f"{UNFOLLOW}:{query_hash(key)}",
            )
        ]
        for text, key in list(queries)[:MAX_QUERY_BUTTONS]
    ]
    rows.append([InlineKeyboardButton(t(lang, "button_mute"), callback_data=MUTE_DAY)])
    return InlineKeyboardMarkup(rows)


def mute_keyboard(lang: str) -> InlineKeyboardMarkup:
    """Under a batch of headlines: only "Mute 1 day"."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(t(lang, "button_mute"), callback_data=MUTE_DAY)]]
    )


def list_keyboard(lang: str, queries: Iterable[tuple[str, str]]) -> InlineKeyboardMarkup | None:
    """Under /list: one remove button per (text, key)."""
    rows = [
        [
            InlineKeyboardButton(
                t(lang, "button_remove", query=_label(text)),
                callback_data=f"{REMOVE}:{query_hash(key)}",
            )
        ]
        for text, key in queries
    ]
    return InlineKeyboardMarkup(rows) if rows else None


def parse(data: str | None) -> tuple[str, str] | None:
    """``"uf:abc"`` -> ``("uf", "abc")``; ``"mute:1d"`` -> ``("mute", "1d")``; else None."""
    if not data or ":" not in data:
        return None
    action, _, argument = data.partition(":")
    if action in (UNFOLLOW, REMOVE) and len(argument) == 11:
        return action, argument
    if data == MUTE_DAY:
        return "mute", "1d"
    if action in _SLUG_ACTIONS and _SLUG.fullmatch(argument):
        return action, argument
    if action == CHOOSE_FEED and _CHOICE.fullmatch(argument):
        return action, argument
    return None
