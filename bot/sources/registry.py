"""The source registry: every source a chat can name, the operator's and the chats' own.

Each source has a **slug** (``caixin``, ``scmp-tech``): short, unique (case-insensitive), given
once when the source is first seen and kept in the store, so a keyword scoped to it
(``Nexperia source:caixin``) survives the operator renaming the source in the config.  An
operator's source is found again by its config name or, after a rename, by its URL; one that
left the config stays in the registry marked ``gone`` so ``/list`` can say so.

A chat's own source (``kind == "chat"``) belongs to the chats in ``chats``: several chats
adding one URL share one entry, hence one fetch.  Pure: the store keeps the entries
(``Store.registry_entries``), ``bot.chat_sources`` changes them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Registry", "SourceEntry", "slugify", "url_key"]

OPERATOR = "operator"
CHAT = "chat"
#: the poll state of a chat's own source is stored as ``chat:<slug>`` (no config name has it:
#: the poller keeps the two apart by this prefix)
CHAT_STATE_PREFIX = "chat:"
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
MAX_SLUG = 24


def slugify(text: str) -> str:
    """``"SCMP Tech!"`` -> ``"scmp-tech"`` (ASCII letters and digits, hyphens; may be "")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = _NOT_SLUG.sub("-", ascii_text.casefold()).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def _host_slug(url: str) -> str:
    host = (urlsplit(url).hostname or "").removeprefix("www.").removeprefix("feeds.")
    parts = host.split(".")
    return slugify(parts[0] if len(parts) > 1 else host) or "feed"


#: query parameters that track a click, not choose a feed (``?utm_source=tg``): these, and
#: every ``utm_*``
_TRACKING = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid", "_ga"})


def _tracks(parameter: str) -> bool:
    name = parameter.split("=", 1)[0].lower()
    return name.startswith("utm_") or name in _TRACKING


def url_key(url: str) -> str:
    """A URL as compared for "the same feed": scheme and host lower case, no default port,
    no fragment, no tracking parameters, no trailing slash on the path, http and https
    alike."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or ""
    host = (parts.netloc or "").lower()
    for port in (":80", ":443"):
        host = host.removesuffix(port)
    query = "&".join(p for p in parts.query.split("&") if p and not _tracks(p))
    return urlunsplit(("", host, path, query, ""))


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One source in the registry."""

    slug: str
    url: str
    title: str
    kind: str = OPERATOR
    name: str = ""  # an operator's source: its name in the config
    chats: frozenset[int] = field(default_factory=frozenset)
    gone: bool = False  # an operator's source no longer in the config

    @property
    def own(self) -> bool:
        return self.kind == CHAT

    @property
    def state_name(self) -> str:
        """The name its poll state is stored under (``Store.source_state``): an operator's
        config name; ``chat:<slug>`` for a chat's own source."""
        return f"{CHAT_STATE_PREFIX}{self.slug}" if self.own else self.name

    def visible_to(self, chat_id: int) -> bool:
        """May this chat see and use it?"""
        return chat_id in self.chats if self.own else not self.gone

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.slug, "url": self.url, "title": self.title, "kind": self.kind,
            "name": self.name, "chats": sorted(self.chats), "gone": self.gone,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourceEntry:
        return cls(
            slug=str(data["slug"]), url=str(data["url"]), title=str(data.get("title", "")),
            kind=str(data.get("kind", OPERATOR)), name=str(data.get("name", "")),
            chats=frozenset(int(c) for c in data.get("chats", ())),
            gone=bool(data.get("gone", False)),
        )


class Registry:
    """Every known source, by slug, by URL (chats' own) and by config name (operator's)."""

    def __init__(self, entries: Iterable[SourceEntry] = ()) -> None:
        self._by_slug: dict[str, SourceEntry] = {}
        self._by_url: dict[str, SourceEntry] = {}
        self._by_name: dict[str, SourceEntry] = {}
        self._by_chat: dict[int, dict[str, SourceEntry]] = {}
        self._moved: dict[int, int] = {}  # a group's old id -> its supergroup's
        #: bumped by every change, so a reader (the poller's due times) knows when to look again
        self.version = 0
        for entry in entries:
            self.put(entry)

    def __len__(self) -> int:
        return len(self._by_slug)

    def __iter__(self) -> Iterator[SourceEntry]:
        return iter(list(self._by_slug.values()))

    def get(self, slug: str) -> SourceEntry | None:
        return self._by_slug.get(slug.casefold())

    def for_url(self, url: str) -> SourceEntry | None:
        """A chat source with this URL (any chat's)."""
        return self._by_url.get(url_key(url))

    def for_name(self, name: str) -> SourceEntry | None:
        """The operator's source with this config name (``Headline.source``)."""
        return self._by_name.get(name)

    def put(self, entry: SourceEntry) -> None:
        self.drop(entry.slug)
        self.version += 1
        self._by_slug[entry.slug] = entry
        if entry.own:
            self._by_url[url_key(entry.url)] = entry
            for chat_id in entry.chats:
                self._by_chat.setdefault(chat_id, {})[entry.slug] = entry
        elif entry.name:
            self._by_name[entry.name] = entry

    def drop(self, slug: str) -> None:
        old = self._by_slug.pop(slug, None)
        if old is None:
            return
        self.version += 1
        if self._by_url.get(url_key(old.url)) is old:
            del self._by_url[url_key(old.url)]
        if self._by_name.get(old.name) is old:
            del self._by_name[old.name]
        for chat_id in old.chats:
            own = self._by_chat.get(chat_id)
            if own is not None:
                own.pop(slug, None)
                if not own:
                    del self._by_chat[chat_id]

    def move_chat(self, old: int, new: int) -> None:
        """A chat's new id: its own sources move with it (as the store's ``mig`` does), and
        an add still under way for the old id lands under the new (:meth:`current`)."""
        self._moved[old] = new
        for entry in self.own(old):
            self.put(replace(entry, chats=(entry.chats - {old}) | {new}))

    def current(self, chat_id: int) -> int:
        """The chat's id now: a group that became a supergroup (while an /addsource or an
        OPML import for it was fetching) is the supergroup."""
        for _ in range(len(self._moved)):  # a chain of moves, never a loop
            if chat_id not in self._moved:
                break
            chat_id = self._moved[chat_id]
        return chat_id

    def operators(self) -> list[SourceEntry]:
        """The operator's sources in the config (not gone)."""
        return [e for e in self._by_slug.values() if not e.own and not e.gone]

    def own(self, chat_id: int) -> list[SourceEntry]:
        """The chat's own sources, in the order they were added."""
        return list(self._by_chat.get(chat_id, {}).values())

    def visible(self, chat_id: int) -> list[SourceEntry]:
        """What the chat can use: the operator's sources, then its own."""
        return self.operators() + self.own(chat_id)

    def chat_sources(self) -> list[SourceEntry]:
        """Every chat source (each once, however many chats share it)."""
        return [e for e in self._by_slug.values() if e.own]

    def new_slug(self, title: str, url: str) -> str:
        """A slug no source has: from the title, else the host; ``-2``, ``-3`` ... if taken."""
        base = slugify(title) or _host_slug(url)
        slug, n = base, 2
        while slug in self._by_slug:
            suffix = f"-{n}"
            slug = base[: MAX_SLUG - len(suffix)] + suffix
            n += 1
        return slug

    def reconcile(self, configured: Iterable[tuple[str, str]]) -> list[SourceEntry]:
        """Match the config's ``(name, url)`` sources to the stored entries (by name, else by
        URL: a rename keeps the slug); new ones get a slug, missing ones are marked gone.
        Returns the entries that changed (to be stored)."""
        changed: list[SourceEntry] = []
        matched: set[str] = set()
        ops = [e for e in self._by_slug.values() if not e.own]
        for name, url in configured:
            entry = self._by_name.get(name) or next(
                (e for e in ops if url_key(e.url) == url_key(url) and e.slug not in matched),
                None,
            )
            if entry is None:
                entry = SourceEntry(self.new_slug(name, url), url, name, OPERATOR, name)
            elif (entry.name, entry.url, entry.title, entry.gone) == (name, url, name, False):
                matched.add(entry.slug)
                continue
            else:
                entry = replace(entry, name=name, url=url, title=name, gone=False)
            self.put(entry)
            matched.add(entry.slug)
            changed.append(entry)
        for entry in ops:
            if entry.slug not in matched and not entry.gone:
                gone = replace(entry, gone=True)
                self.put(gone)
                changed.append(gone)
        return changed
