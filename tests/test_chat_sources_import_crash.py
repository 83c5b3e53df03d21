"""kill -9 in the middle of an OPML import: the store stays consistent.

A child process imports OPML files (``parse_opml`` + ``import_feeds``, what the handler runs)
for a few chats against its own loopback feed server (some feeds slow, so kills land between
and inside adds), removing a source now and then, into a real store compacted often; it
prints ``I <op>`` before and ``A <op>`` after each import or removal.  The parent SIGKILLs it
at a random moment, reopens the store and checks, with the /addsource crash test's model:

* no half-added source: every chat source with chats has its first poll and the headlines that
  state lists; no state or headline of a source without chats;
* no chat over its limit;
* every acknowledged import holds (its added and already-there feeds are the chat's), every
  acknowledged removal too; the import in flight may have added any of its feeds, each whole.
"""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.sources.registry import SourceEntry
from bot.store import Store
from tests.killed_child import run_killed
from tests.test_chat_sources_crash import Model, _free_port

URLS = 24
CHATS = 3
PER_CHAT = 8

CHILD = r"""
import asyncio, random, sys
from bot.chat_sources import remove_source
from bot.chat_sources.importer import import_feeds
from bot.chat_sources.opml import OpmlFeed, parse_opml, write_opml
from tests.chat_sources_child import emit, open_core, rss
from tests.fakes.feedserver import FeedServer

path = sys.argv[1]
port, seed, urls, chats, per_chat = (int(a) for a in sys.argv[2:7])
rng = random.Random(seed)

server = FeedServer(port=port).start()
for n in range(urls):
    server.add(f"/f{n}.xml", rss(n, 40), delay=0.03 if n % 3 == 0 else 0.0)
server.add("/page.html", "<html><body>no feed</body></html>", content_type="text/html")

async def main():
    core = open_core(path, per_chat=per_chat)
    emit("OPEN", 0)
    while True:
        chat = 2000 + rng.randrange(chats)
        picked = rng.sample(range(urls), 12)
        feeds = [OpmlFeed(server.url(f"/f{n}.xml"), f"Feed {n}") for n in picked]
        feeds.insert(rng.randrange(len(feeds)), OpmlFeed(server.url("/page.html"), "Page"))
        document = parse_opml(write_opml(feeds, title="import"))
        emit("I", ["import", chat, [f.url for f in document.feeds]])
        report = await import_feeds(core, chat, document)
        emit("A", ["import", chat, [f.url for f, _ in report.added],
                   [f.url for f in report.already]])
        own = core.registry.own(chat)
        for entry in rng.sample(own, min(len(own), rng.randrange(4))):
            emit("I", ["rm", chat, entry.url])
            gone = remove_source(core, chat, entry.url)
            emit("A", ["rm", chat, entry.url, gone.entry is not None])

asyncio.run(main())
"""


class ImportModel(Model):
    """The /addsource model, fed with imports: an acknowledged import makes its added and
    already-there feeds facts; the one in flight leaves unknown only what was not there."""

    def feed(self, lines: list[str]) -> None:
        inflight = None
        for line in lines:
            tag, _, payload = line.partition(" ")
            if tag == "I":
                inflight = json.loads(payload)
            elif tag == "A":
                op = json.loads(payload)
                if op[0] == "import":
                    for url in op[2] + op[3]:
                        self.facts[(op[1], url)] = True
                else:
                    self.facts[(op[1], op[2])] = False
                self.acks += 1
                inflight = None
        if inflight is None:
            return
        if inflight[0] == "rm":
            self.facts.pop((inflight[1], inflight[2]), None)
            return
        for url in inflight[2]:
            if self.facts.get((inflight[1], url)) is not True:
                self.facts.pop((inflight[1], url), None)

    def check(self, path: Path) -> None:
        super().check(path)
        store = Store.open(path)
        try:
            entries = [SourceEntry.from_dict(e) for e in store.registry_entries()]
            for chat in range(2000, 2000 + CHATS):
                held = sum(1 for e in entries if chat in e.chats)
                assert held <= PER_CHAT, f"chat {chat} holds {held} sources"
        finally:
            store.close()


def _run_child(path: Path, port: int, seed: int, kill_after: float) -> list[str]:
    args = [str(path), str(port), str(seed), str(URLS), str(CHATS), str(PER_CHAT)]
    return run_killed(CHILD, args, kill_after=kill_after, open_timeout=30)


def _lane(lane: int, base: Path, kills: int) -> tuple[int, int]:
    rng = random.Random(91 + lane)
    path, port = base / f"lane{lane}", _free_port()
    model = ImportModel()
    inside = 0  # kills that landed while an import was running
    for _ in range(kills):
        lines = _run_child(path, port, rng.randrange(1 << 30), rng.uniform(0.1, 1.2))
        last = next((line for line in reversed(lines) if line[:2] in ("I ", "A ")), "")
        inside += last.startswith('I ["import"')
        model.feed(lines)
        model.check(path)
    return model.acks, inside


@pytest.mark.slow
def test_sigkill_in_the_middle_of_an_opml_import(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda n: _lane(n, tmp_path, 10), range(2)))
    print(f"acknowledged operations, kills inside an import: {results}")
    assert sum(acks for acks, _ in results) >= 20
    assert sum(inside for _, inside in results) >= 5  # most kills hit an import mid-way
