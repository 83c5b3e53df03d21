"""The store's tables in one place: the table of journal operations and the snapshot layout.

Every journal operation is a JSON list ``[name, *args]``; :attr:`Tables.ops` maps each name to
the function that applies it, and is the only place that does.  Most operations belong to one
table; two span tables and are composed here:

* ``mig`` (a chat's new id): each table with rows of the chat moves them (``op_move``);
* ``prune`` (retention): old headlines go, then outbox records and story rows whose
  headline went, and posts untouched since the cutoff.

A new table: a module with a class owning its rows, indexes, writes (through the journal),
operations and snapshot documents; an instance here; its operations in ``ops``; its documents
in :meth:`Tables.snapshot` and :meth:`Tables.load`; and, if it changes the snapshot layout, a
schema migration (``bot/store/migrations.py``).  Operation names are on disk: never rename one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

from tinydb import TinyDB

from bot.store.chats import Chats
from bot.store.headlines import Headlines
from bot.store.journal import Journal
from bot.store.outbox import Outbox
from bot.store.posts import Posts
from bot.store.registry import RegistryTable
from bot.store.snapshot import Docs
from bot.store.sources import Sources
from bot.store.stories import StoriesTable
from bot.store.subscriptions import Subscriptions


def _migrate(chats: Chats, subscriptions: Subscriptions, outbox: Outbox,
             registry: RegistryTable, posts: Posts, old: int, new: int) -> None:
    """``mig``: a chat's rows in every table move to its new id."""
    chats.op_move(old, new)
    subscriptions.op_move(old, new)
    outbox.op_move(old, new)
    registry.op_move(old, new)
    posts.op_move(old, new)


def _prune(headlines: Headlines, outbox: Outbox, stories: StoriesTable, posts: Posts,
           cutoff: float) -> dict[str, int]:
    """``prune``: old headlines go, then old outbox records and the story rows whose
    headline went, and old posts."""
    dropped = headlines.op_prune(cutoff)
    return {
        "headlines": dropped,
        "outbox": outbox.op_prune(cutoff, headlines.__contains__),
        "stories": stories.op_prune(headlines),
        "posts": posts.op_prune(cutoff),
    }


class Tables:
    """The tables and the operations that change them."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self.chats = Chats(journal)
        self.subscriptions = Subscriptions(journal, self.chats)
        self.headlines = Headlines(journal, clock)
        self.sources = Sources(journal)
        self.outbox = Outbox(journal, clock)
        self.registry = RegistryTable(journal)  # before ``ops``: ``mig`` moves its chats
        self.stories = StoriesTable(journal)
        self.posts = Posts(journal, clock)
        # functions of the tables, never of ``self``: no reference cycle through ``Tables``
        self.ops: dict[str, Callable[..., Any]] = {
            "chat": self.chats.op_put,
            "sub+": self.subscriptions.op_add,
            "sub-": self.subscriptions.op_remove,
            "mig": partial(
                _migrate, self.chats, self.subscriptions, self.outbox, self.registry,
                self.posts,
            ),
            "hl": self.headlines.op_add,
            "src": self.sources.op_set,
            "src-": self.sources.op_remove,
            "enq": self.outbox.op_enqueue,
            "st": self.outbox.op_state,
            "prune": partial(_prune, self.headlines, self.outbox, self.stories, self.posts),
            "reg": self.registry.op_put,
            "reg-": self.registry.op_remove,
            "sty": self.stories.op_put,
            "post": self.posts.op_put,
        }

    def apply(self, op: Any) -> Any:
        """Apply one decoded operation; ValueError when it is not a known operation."""
        if not isinstance(op, list) or not op:
            raise ValueError(f"not a store operation: {op!r}")
        name, *args = op
        fn = self.ops.get(name) if isinstance(name, str) else None
        if fn is None:
            raise ValueError(f"unknown store operation {name!r}")
        return fn(*args)

    def prune(self, cutoff: float) -> dict[str, int]:
        """Drop headlines first seen before ``cutoff`` (a timestamp), outbox records
        untouched since then whose headline is gone, the story rows of the headlines gone
        and posts untouched since then.  Returns counts per table."""
        result: dict[str, int] = self._journal.write(["prune", cutoff])
        return result

    # ------------------------------------------------------------------ snapshot layout

    def _chat_docs(self) -> Iterator[dict[str, Any]]:
        for cid, doc in self.chats.docs():
            doc["subs"] = self.subscriptions.doc_of(cid)
            yield doc

    def snapshot(self) -> list[tuple[str, Docs]]:
        """The TinyDB tables of a snapshot (after ``meta``), in order, as lazy documents."""
        return [
            ("chats", self._chat_docs()),
            ("headlines", self.headlines.docs()),
            ("sources", self.sources.docs()),
            ("outbox", self.outbox.docs()),
            ("registry", self.registry.docs()),
            ("stories", self.stories.docs()),
            ("posts", self.posts.docs()),
        ]

    def load(self, db: TinyDB) -> None:
        """Fill the tables from a snapshot of the current schema."""
        chat_docs = db.table("chats").all()
        self.chats.load(chat_docs)
        self.subscriptions.load(chat_docs)
        self.headlines.load(db.table("headlines").all())
        self.sources.load(db.table("sources").all())
        self.outbox.load(db.table("outbox").all())
        self.registry.load(db.table("registry").all())
        self.stories.load(db.table("stories").all())  # older snapshots: none
        self.posts.load(db.table("posts").all())

    def stats(self) -> dict[str, int]:
        return {
            "chats": len(self.chats),
            "subscriptions": len(self.subscriptions),
            "headlines": len(self.headlines),
            "sources": len(self.sources),
            "outbox": len(self.outbox),
            "registry": len(self.registry),
            "stories": len(self.stories),
            "posts": len(self.posts),
            "pending": self.outbox.pending_count(),
        }
