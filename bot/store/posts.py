"""The posts table: the alert messages Telegram confirmed, by chat and message id, with
what each shows (:class:`bot.models.Post`), so that a later report of one of their stories
edits the message (``editMessageText``) instead of sending another.

Index: (chat, story) -> the newest post showing that story in that chat.

Journal operation: ``["post", post_doc, now]`` (put or replace: a fold rewrites the post
with its new entries; a failed edit marks it ``gone``); a ``mig`` drops the old chat's
posts (:meth:`Posts.op_move`) and ``prune`` drops posts untouched since its cutoff
(:meth:`Posts.op_prune`).  In a snapshot a post is one document of the ``posts`` table: the
post's fields plus ``updated``; a snapshot without the table has no posts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any

from bot.models import Post
from bot.store.journal import Journal


class Posts:
    """Posts by key (``chat|message``) with their last-update time, indexed by story."""

    def __init__(self, journal: Journal, clock: Callable[[], datetime]) -> None:
        self._journal = journal
        self._clock = clock
        self._by_key: dict[str, tuple[Post, float]] = {}
        self._by_story: dict[tuple[int, str], str] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    # ------------------------------------------------------------------ reads

    def of_story(self, chat_id: int, story: str) -> Post | None:
        """The newest post that shows ``story`` in the chat, or None."""
        key = self._by_story.get((chat_id, story))
        return self._by_key[key][0] if key is not None else None

    def get(self, chat_id: int, message_id: int) -> Post | None:
        found = self._by_key.get(f"{chat_id}|{message_id}")
        return found[0] if found is not None else None

    # ------------------------------------------------------------------ writes

    def put(self, posts: Iterable[Post]) -> None:
        now = self._clock().timestamp()
        with self._journal.batch():
            for post in posts:
                self._journal.write(["post", post.to_dict(), now])

    # ------------------------------------------------------------------ operations

    def _index(self, post: Post) -> None:
        for entry in post.entries:
            index_key = (post.chat_id, entry.story)
            current = self._by_story.get(index_key)
            if current is None or self._by_key[current][0].sent <= post.sent:
                self._by_story[index_key] = post.key

    def _unindex(self, post: Post) -> None:
        for entry in post.entries:
            if self._by_story.get((post.chat_id, entry.story)) == post.key:
                del self._by_story[(post.chat_id, entry.story)]

    def _put(self, post: Post, updated: float) -> None:
        old = self._by_key.get(post.key)
        if old is not None:
            self._unindex(old[0])
        self._by_key[post.key] = (post, updated)
        self._index(post)

    def op_put(self, doc: dict[str, Any], now: float) -> None:
        self._put(Post.from_dict(doc), float(now))

    def op_move(self, old: int, new: int) -> None:
        """``mig``: a group became a supergroup, a chat of its own whose messages the old
        ids do not name: the old chat's posts go (a later report is a new alert there)."""
        for key in [k for k, (p, _) in self._by_key.items() if p.chat_id == old]:
            post, _ = self._by_key.pop(key)
            self._unindex(post)

    def op_prune(self, cutoff: float) -> int:
        """``prune``: drop posts untouched since ``cutoff``; return how many."""
        gone = [k for k, (_, updated) in self._by_key.items() if updated < cutoff]
        for key in gone:
            post, _ = self._by_key.pop(key)
            self._unindex(post)
        return len(gone)

    # ------------------------------------------------------------------ snapshot

    def load(self, docs: Iterable[dict[str, Any]]) -> None:
        for doc in docs:
            self._put(Post.from_dict(doc), float(doc["updated"]))

    def docs(self) -> Iterator[dict[str, Any]]:
        for post, updated in self._by_key.values():
            doc = post.to_dict()
            doc["updated"] = updated
            yield doc
