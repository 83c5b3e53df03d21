"""Crash safety of bot.store: kill -9 a writing child process, then check every acknowledged write.

A child process opens the store, performs random writes (subscriptions, settings, headlines,
enqueue, mark_sending, mark_sent, batches) and prints ``I <op>`` before and ``A <op>`` right
after each call returns.  The parent SIGKILLs it at a random moment (also during open and during
compaction, which is forced to be frequent), opens the store and checks that:

* it opens;
* every acknowledged write is there (an alert acknowledged as ``sending`` is ``dropped``);
* nothing appears that was never attempted, and nothing acknowledged as removed comes back.

The one write in flight when the kill landed may or may not be there; its keys are not checked.
Four lanes (directories) run in parallel; the next child on a lane continues from what the
previous one left.
"""

from __future__ import annotations

import json
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.store import Store
from tests.killed_child import run_killed

CHILD = r"""
import json, os, random, signal, sys
import bot.store.journal as journal_mod
import bot.store.snapshot as snapshot_mod
from bot.models import Alert, Headline
from bot.store import Store

path, crash_at = sys.argv[1], sys.argv[5]
run, seed, every = (int(a) for a in sys.argv[2:5])
rng = random.Random(seed)
out = sys.stdout

def emit(tag, obj):
    out.write(tag + " " + json.dumps(obj) + "\n")
    out.flush()

compactions = 0
real_compact = Store.compact
def compact(self):
    global compactions
    compactions += 1
    emit("C+", compactions)
    real_compact(self)
    emit("C-", compactions)
Store.compact = compact

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if crash_at != "none":
    real_replace, real_truncate = os.replace, os.ftruncate
    def replace(a, b):
        if compactions >= 3 and crash_at == "before_replace":
            die()
        real_replace(a, b)
        if compactions >= 3 and crash_at == "after_replace":
            die()
    def ftruncate(fd, n):
        real_truncate(fd, n)
        if compactions >= 3 and crash_at == "after_truncate":
            die()
    snapshot_mod.os.replace = replace  # the snapshot's atomic rename
    journal_mod.os.ftruncate = ftruncate  # the journal's truncation after a snapshot

s = Store.open(path, compact_every=every)
emit("OPEN", run)
subs, pend = [], []
i = 0
while True:
    i += 1
    r = rng.random()
    chat = rng.randrange(20)
    if r < 0.30:
        op = ["sub", chat, f"r{run}q{i}", True]
        emit("I", [op]); s.add_subscription(chat, op[2]); emit("A", [op]); subs.append(op[1:3])
    elif r < 0.40 and subs:
        c, q = subs.pop(rng.randrange(len(subs)))
        op = ["sub", c, q, False]
        emit("I", [op]); s.remove_subscription(c, q); emit("A", [op])
    elif r < 0.58:
        a = Alert(chat, f"r{run}h{i}", ("q",))
        op = ["out", chat, a.headline_id, "pending"]
        emit("I", [op]); s.enqueue([a]); emit("A", [op]); pend.append(a)
    elif r < 0.68 and pend:
        a = pend.pop(rng.randrange(len(pend)))
        op = ["out", a.chat_id, a.headline_id, "sent"]
        emit("I", [op]); s.mark_sent([a]); emit("A", [op])
    elif r < 0.73 and pend:
        a = pend.pop(rng.randrange(len(pend)))
        op = ["out", a.chat_id, a.headline_id, "sending"]
        emit("I", [op]); s.mark_sending([a]); emit("A", [op])
    elif r < 0.83:
        ops = [["sub", chat, f"r{run}b{i}x{k}", True] for k in range(3)]
        emit("I", ops)
        with s.batch():
            for op in ops:
                s.add_subscription(chat, op[2])
        emit("A", ops)
        subs.extend(op[1:3] for op in ops)
    elif r < 0.92:
        op = ["set", chat, f"r{run}k{i}", i]
        emit("I", [op]); s.set_setting(chat, op[2], i); emit("A", [op])
    else:
        op = ["hl", f"r{run}n{i}"]
        h = Headline(source="s", id=op[1], title="t", link="https://x/" + op[1])
        emit("I", [op]); s.add_headlines([h]); emit("A", [op])
"""


def _key(op: list) -> tuple:
    return tuple(op[:3]) if op[0] != "hl" else ("hl", op[1])


class Model:
    """What the store must contain: acknowledged facts; keys touched by in-flight writes are
    uncertain from then on."""

    def __init__(self) -> None:
        self.facts: dict[tuple, object] = {}
        self.uncertain: set[tuple] = set()

    def feed(self, lines: list[str]) -> tuple[bool, bool]:
        """Apply a child's complete output lines; return (opened, killed during compaction)."""
        inflight: list | None = None
        opened = False
        compacting = False
        for line in lines:
            tag, _, payload = line.partition(" ")
            if tag == "OPEN":
                opened = True
            elif tag == "C+":
                compacting = True
            elif tag == "C-":
                compacting = False
            elif tag == "I":
                inflight = json.loads(payload)
            elif tag == "A":
                for op in json.loads(payload):
                    self.facts[_key(op)] = op[3] if op[0] != "hl" else True
                inflight = None
        for op in inflight or []:
            self.facts.pop(_key(op), None)
            self.uncertain.add(_key(op))
        return opened, compacting

    def check(self, path: Path) -> None:
        s = Store.open(path)
        try:
            for key, want in self.facts.items():
                kind, *rest = key
                if kind == "sub":
                    chat, query = rest
                    got = query in s.subscriptions(chat)
                elif kind == "out":
                    got = s.alert_state(*rest)
                    want = "dropped" if want == "sending" else want
                elif kind == "set":
                    chat, name = rest
                    got = (s.chat(chat).settings if s.chat(chat) else {}).get(name)
                else:
                    got = s.is_seen(rest[0])
                assert got == want, f"{key}: acknowledged {want!r}, store has {got!r}"
            # nothing that was never attempted, nothing removed that came back
            for chat, query in s.all_subscriptions():
                key = ("sub", chat, query)
                assert self.facts.get(key) is True or key in self.uncertain, key
            # an in-flight "sending" that landed is dropped on open: record what is there now
            for key in list(self.uncertain):
                if key[0] == "out":
                    state = s.alert_state(key[1], key[2])
                    assert state in (None, "pending", "sent", "dropped"), (key, state)
            for p in s.pending():
                assert ("out", p.chat_id, p.headline_id) in self.facts or (
                    "out", p.chat_id, p.headline_id) in self.uncertain
        finally:
            s.close()
        # after a clean open, a "sending" fact is now "dropped"
        for key, want in list(self.facts.items()):
            if want == "sending":
                self.facts[key] = "dropped"


def _run_child(path: Path, run: int, seed: int, every: int, crash_at: str,
               kill_after: float | None, wait_open: bool) -> list[str]:
    args = [str(path), str(run), str(seed), str(every), crash_at]
    return run_killed(CHILD, args, kill_after=kill_after, open_timeout=20 if wait_open else None)


def _lane(lane: int, base: Path, kills: int, deadline: float) -> tuple[int, int, int]:
    rng = random.Random(1000 + lane)
    path = base / f"lane{lane}"
    model = Model()
    done = during_compaction = before_open = 0
    every = (5, 17, 50, 200)[lane % 4]
    for run in range(kills):
        if time.monotonic() > deadline and done >= kills // 2:
            break
        early = rng.random() < 0.15
        lines = _run_child(path, lane * 10_000 + run, rng.randrange(1 << 30), every, "none",
                           kill_after=rng.uniform(0, 0.15) if early else rng.uniform(0, 0.06),
                           wait_open=not early)
        opened, compacting = model.feed(lines)
        model.check(path)
        done += 1
        during_compaction += compacting
        before_open += not opened
    return done, during_compaction, before_open


def test_sigkill_at_random_moments_hundreds_of_times(tmp_path: Path) -> None:
    lanes, per_lane = 4, 55
    deadline = time.monotonic() + 28
    with ThreadPoolExecutor(lanes) as pool:
        results = list(pool.map(lambda n: _lane(n, tmp_path, per_lane, deadline), range(lanes)))
    kills = sum(r[0] for r in results)
    in_compaction = sum(r[1] for r in results)
    before_open = sum(r[2] for r in results)
    print(f"kills={kills} during_compaction={in_compaction} before_open={before_open}")
    assert kills >= 200
    assert in_compaction >= 1
    assert before_open >= 1


@pytest.mark.parametrize("crash_at", ["before_replace", "after_replace", "after_truncate"])
def test_kill_at_each_step_of_compaction(tmp_path: Path, crash_at: str) -> None:
    model = Model()
    lines = _run_child(tmp_path, 1, 42, 4, crash_at, kill_after=None, wait_open=False)
    opened, compacting = model.feed(lines)
    assert opened and compacting, "the kill must land inside a compaction"
    assert sum(1 for line in lines if line.startswith("A ")) >= 6
    model.check(tmp_path)
    # and a second crash at the same point of the next compaction, continuing the same store
    lines = _run_child(tmp_path, 2, 43, 4, crash_at, kill_after=None, wait_open=False)
    model.feed(lines)
    model.check(tmp_path)
