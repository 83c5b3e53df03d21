"""``https://t.me/<bot>?start=<payload>`` links that follow a keyword in one tap.

A start payload may hold only ``A-Z a-z 0-9 _ -`` and at most 64 characters.  Plain keywords
stay readable (``follow-low_altitude_economy``); anything else (Chinese, quotes, ``OR``
queries with symbols) is carried as URL-safe base64 (``f64-5Y2O5Li6``).
"""

from __future__ import annotations

import base64
import binascii
import re

MAX_PAYLOAD = 64
READABLE = "follow-"
ENCODED = "f64-"
_PLAIN = re.compile(r"^[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*$")


def follow_payload(query: str) -> str | None:
    """The start payload for ``query``, or None when it cannot fit in 64 characters."""
    if _PLAIN.match(query):
        payload = READABLE + query.replace(" ", "_")
    else:
        encoded = base64.urlsafe_b64encode(query.encode("utf-8")).decode("ascii").rstrip("=")
        payload = ENCODED + encoded
    return payload if len(payload) <= MAX_PAYLOAD else None


def follow_link(bot_username: str, query: str) -> str | None:
    payload = follow_payload(query)
    return f"https://t.me/{bot_username}?start={payload}" if payload else None


def query_from_payload(payload: str) -> str | None:
    """The keyword a start payload asks to follow, or None if it is not a follow link."""
    if payload.startswith(READABLE) and len(payload) > len(READABLE):
        return payload[len(READABLE) :].replace("_", " ")
    if payload.startswith(ENCODED) and len(payload) > len(ENCODED):
        raw = payload[len(ENCODED) :]
        try:
            padded = raw + "=" * (-len(raw) % 4)
            text = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return text or None
    return None
