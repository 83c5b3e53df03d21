"""kill -9 in the middle of /addsource and /removesource: the store stays consistent.

A child process runs ``add_source`` and ``remove_source`` (the functions the handlers and the
OPML import call) against its own loopback feed server, into a real store compacted often,
printing ``I <op>`` before and ``A <op>`` after each call.  The parent SIGKILLs it at a random
moment, reopens the store and checks that nothing is half-added or half-removed:

* every chat source with chats has its poll state (a first poll recorded) and every headline
  that state lists; no poll state of a chat source without chats; no stored headline of a
  chat source that is not in the registry;
* a keyword scoped to a chat's own source exists only while the chat has that source;
* every acknowledged add and remove holds (the one in flight may or may not have landed).
"""

from __future__ import annotations

import json
import random
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.matching import parse_query
from bot.sources.registry import SourceEntry
from bot.store import Store
from tests.killed_child import run_killed

URLS = 10
CHATS = 4

CHILD = r"""
import asyncio, random, sys
from bot.chat_sources import add_source, remove_source
from bot.matching import parse_query
from tests.chat_sources_child import emit, open_core, rss
from tests.fakes.feedserver import FeedServer

path = sys.argv[1]
port, seed, urls, chats = (int(a) for a in sys.argv[2:6])
rng = random.Random(seed)

server = FeedServer(port=port).start()
for n in range(urls):
    server.add(f"/f{n}.xml", rss(n, 60))

async def main():
    core = open_core(path, per_chat=urls)
    emit("OPEN", 0)
    while True:
        chat = 1000 + rng.randrange(chats)
        url = server.url(f"/f{rng.randrange(urls)}.xml")
        if rng.random() < 0.6:
            emit("I", ["add", chat, url])
            outcome = await add_source(core, chat, url)
            if outcome.ok:
                core.subscribe(chat, parse_query(f"chips source:{outcome.entry.slug}"))
            emit("A", ["add", chat, url, outcome.status, outcome.reason])
        else:
            emit("I", ["rm", chat, url])
            gone = remove_source(core, chat, url)
            emit("A", ["rm", chat, url, gone.entry is not None])

asyncio.run(main())
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_child(path: Path, port: int, seed: int, kill_after: float) -> list[str]:
    args = [str(path), str(port), str(seed), str(URLS), str(CHATS)]
    return run_killed(CHILD, args, kill_after=kill_after, open_timeout=30)


class Model:
    """Which (chat, url) pairs must be there (True) or not (False); in-flight ones unknown."""

    def __init__(self) -> None:
        self.facts: dict[tuple[int, str], bool] = {}
        self.acks = 0

    def feed(self, lines: list[str]) -> None:
        inflight = None
        for line in lines:
            tag, _, payload = line.partition(" ")
            if tag == "I":
                inflight = json.loads(payload)
            elif tag == "A":
                op = json.loads(payload)
                key = (op[1], op[2])
                if op[0] == "add" and (op[3] == "added" or op[4] == "already_added"):
                    self.facts[key] = True
                elif op[0] == "rm":
                    self.facts[key] = False
                self.acks += 1
                inflight = None
        if inflight is not None:
            self.facts.pop((inflight[1], inflight[2]), None)

    def check(self, path: Path) -> None:
        store = Store.open(path)
        try:
            entries = [SourceEntry.from_dict(e) for e in store.registry_entries()]
            by_url = {e.url: e for e in entries}
            by_slug = {e.slug: e for e in entries}
            for entry in entries:
                state = store.source_state(entry.state_name)
                if entry.chats:
                    assert state.get("polls", 0) >= 1, f"{entry.slug}: added without a first poll"
                    assert state["last_ids"], entry.slug
                    for hid in state["last_ids"]:
                        assert store.is_seen(hid), f"{entry.slug}: {hid} listed, not stored"
                else:
                    assert state == {}, f"{entry.slug}: state kept with no chat"
            for name in store.source_names():
                assert name.startswith("chat:") and by_slug[name[5:]].chats, name
            for h in store.latest(100_000, scan=None):
                assert h.source_id in by_slug, h.id
            for chat, text in store.all_subscriptions():
                for slug in parse_query(text).scope.names:
                    assert chat in by_slug[slug].chats, f"{chat} keeps {text!r} without it"
            for (chat, url), present in self.facts.items():
                entry = by_url.get(url)
                got = entry is not None and chat in entry.chats
                assert got == present, f"{chat} {url}: acknowledged {present}, store has {got}"
        finally:
            store.close()


def _lane(lane: int, base: Path, kills: int) -> int:
    rng = random.Random(77 + lane)
    path, port = base / f"lane{lane}", _free_port()
    model = Model()
    for _ in range(kills):
        model.feed(_run_child(path, port, rng.randrange(1 << 30), rng.uniform(0.05, 0.5)))
        model.check(path)
    return model.acks


def test_sigkill_in_the_middle_of_adding_and_removing_sources(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        acks = list(pool.map(lambda n: _lane(n, tmp_path, 12), range(2)))
    print(f"acknowledged operations: {acks}")
    assert sum(acks) >= 40  # the kills landed among real work, not before it
