"""The shared vocabulary of newsbot.

Plain, frozen dataclasses that every step of the pipeline passes along.  Nothing here knows
about Telegram, TinyDB or HTTP, so every other module may import it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _dt_to_str(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _dt_from_str(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class Headline:
    """One news item as a source published it.

    ``id`` is the item's identity (see ``bot.sources.identity``): the feed's guid scoped by
    source, else the canonical link, else a hash of source and title.  ``url_key`` is the
    canonical link (scheme and host lowercased, tracking parameters and fragment dropped) or
    ``""``; two headlines with the same ``url_key`` are the same story even when they come from
    two sources.  ``published`` is timezone-aware; ``None`` when the source gave no usable
    date (the poller then fills in the time the item was first seen).  ``source_id`` is the
    source's slug in the registry (``bot.sources.registry``); ``""`` in headlines stored before
    there was one (then ``source`` names an operator's source).
    """

    source: str
    id: str
    title: str
    link: str
    url_key: str = ""
    published: datetime | None = None
    summary: str = ""
    tags: tuple[str, ...] = ()
    paid: bool = False
    source_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["published"] = _dt_to_str(self.published)
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Headline:
        return cls(
            source=data["source"],
            id=data["id"],
            title=data["title"],
            link=data["link"],
            url_key=data.get("url_key", ""),
            published=_dt_from_str(data.get("published")),
            summary=data.get("summary", ""),
            tags=tuple(data.get("tags", ())),
            paid=bool(data.get("paid", False)),
            source_id=str(data.get("source_id", "")),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    """One headline owed to one chat, because of the queries that matched it.

    Alerts live in the store's outbox from the moment they are matched until Telegram
    confirms them (or they are dropped), so a crash loses nothing and sends nothing twice.
    ``(chat_id, headline_id)`` is unique for the life of the store.
    """

    chat_id: int
    headline_id: str
    queries: tuple[str, ...]
    created: datetime = field(default_factory=utcnow)

    @property
    def key(self) -> str:
        return f"{self.chat_id}|{self.headline_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id,
            "headline_id": self.headline_id,
            "queries": list(self.queries),
            "created": _dt_to_str(self.created),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        return cls(
            chat_id=int(data["chat_id"]),
            headline_id=data["headline_id"],
            queries=tuple(data.get("queries", ())),
            created=_dt_from_str(data.get("created")) or utcnow(),
        )


@dataclass(slots=True)
class Chat:
    """A chat the bot knows: where alerts go and what it asked for.

    ``kind`` is Telegram's chat type (``private``, ``group``, ``supergroup``, ``channel``).
    ``active`` turns false when Telegram says the bot was blocked, kicked, or the chat is
    gone; /start turns it back on.  ``settings`` holds per-chat preferences (language,
    timezone, delivery mode, ...) as plain JSON values.
    """

    id: int
    kind: str = "private"
    title: str = ""
    active: bool = True
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def is_group(self) -> bool:
        return self.kind in ("group", "supergroup")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "active": self.active,
            "settings": dict(self.settings),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chat:
        return cls(
            id=int(data["id"]),
            kind=data.get("kind", "private"),
            title=data.get("title", ""),
            active=bool(data.get("active", True)),
            settings=dict(data.get("settings", {})),
        )


@dataclass(frozen=True, slots=True)
class PostEntry:
    """One story as an alert message shows it: its first alerted headline, the later ones
    folded into it (other sources), and the queries that matched."""

    story: str
    headlines: tuple[str, ...]  # the first is the entry's title; the rest are "Also:" links
    queries: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"story": self.story, "headlines": list(self.headlines),
                "queries": list(self.queries)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PostEntry:
        return cls(str(data["story"]), tuple(data["headlines"]), tuple(data.get("queries", ())))


@dataclass(frozen=True, slots=True)
class Post:
    """An alert message Telegram confirmed, with what it shows, so that a later report of
    one of its stories edits it instead of sending another message.

    ``kind`` is ``alert`` (one entry, with buttons) or ``batch`` (a list); a batch split into
    ``parts`` messages is one ``Post`` per message (``number`` of ``parts``, ``total``
    entries in all).  ``gone``: an edit found the message deleted or no longer editable.
    """

    chat_id: int
    message_id: int
    kind: str
    entries: tuple[PostEntry, ...]
    sent: datetime
    number: int = 1
    parts: int = 1
    total: int = 1
    gone: bool = False

    @property
    def key(self) -> str:
        return f"{self.chat_id}|{self.message_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "chat_id": self.chat_id, "message_id": self.message_id, "kind": self.kind,
            "entries": [e.to_dict() for e in self.entries], "sent": _dt_to_str(self.sent),
            "number": self.number, "parts": self.parts, "total": self.total,
            "gone": self.gone,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        return cls(
            chat_id=int(data["chat_id"]),
            message_id=int(data["message_id"]),
            kind=str(data.get("kind", "alert")),
            entries=tuple(PostEntry.from_dict(e) for e in data["entries"]),
            sent=_dt_from_str(data.get("sent")) or utcnow(),
            number=int(data.get("number", 1)),
            parts=int(data.get("parts", 1)),
            total=int(data.get("total", 1)),
            gone=bool(data.get("gone", False)),
        )
