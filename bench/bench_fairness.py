"""Fairness benchmark: one chat floods the bot; how long do the others wait?

    python bench/bench_fairness.py                       # this tree (~1 min)
    python bench/bench_fairness.py --baseline DIR        # and a checkout of another commit
    python bench/bench_fairness.py --quick               # shorter floods (~30 s a tree)

The real Application (``build_application`` + ``running``) against the fake Bot API with
Telegram's limits, a real store holding ``--headlines`` stored headlines (6,000 by default).
Scenarios, each in a fresh process (a stalled bot is abandoned, not waited for):

* ``group-help``: one group member sends 200 ``/help@bot`` in 10 s;
* ``private-latest``: one private chat sends 200 ``/latest zzqx OR qqzz`` in 10 s.

Meanwhile another private chat sends ``/start`` every 0.5 s (a new chat each time) and
``/healthz`` is read every 0.2 s; a monitor task sleeping 5 ms records the loop's stalls,
and a watchdog thread samples the loop thread's stack whenever the loop has not ticked for
25 ms (``StallWatch``), so the longest stalls are named, not only measured.
Printed per tree and scenario: other chats' reply latency (median, p99, max), replies that
never came within 20 s, /healthz latency (max), the loop's longest stall; then, for this
tree, where the loop was when it stalled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

SCENARIOS = ("group-help", "private-latest")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class StallWatch:
    """A thread that names what the event loop's thread runs while the loop does not tick.

    The monitor task calls ``tick()`` every turn; when no tick came for ``after`` seconds the
    thread samples the loop thread's stack (the innermost ``bot/`` frames, else the innermost
    frames) and counts it. Sampling a stack takes the GIL for microseconds only."""

    def __init__(self, after: float = 0.025) -> None:
        self.after = after
        self.samples: Counter[str] = Counter()
        self._last = time.perf_counter()
        self._loop_thread = threading.get_ident()
        threading.Thread(target=self._watch, daemon=True).start()

    def tick(self) -> None:
        self._last = time.perf_counter()

    def _watch(self) -> None:
        while True:
            time.sleep(0.005)
            if time.perf_counter() - self._last > self.after:
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    self.samples[self._where(traceback.extract_stack(frame))] += 1

    @staticmethod
    def _where(stack: traceback.StackSummary) -> str:
        ours = [f for f in stack if "/bot/" in f.filename]
        frames = (ours or list(stack))[-3:]
        return " > ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in frames)

    def top(self, count: int = 3) -> list[tuple[str, int]]:
        return self.samples.most_common(count)


async def scenario(name: str, headlines: int, seconds: float) -> None:
    """Run one scenario, print its figures as ``RESULT {json}`` and end the process.

    Long on purpose: one bot, its three load generators (flood, other chats, /healthz) and the
    stall monitor share the running application, so they are closures of one function."""
    import httpx

    from bot.app import build_application, running
    from bot.config import load_settings
    from bot.core import core_of
    from bot.models import Headline
    from bot.store import Store
    from tests.e2e.conftest import BOT_USERNAME, write_config
    from tests.fakes.telegram import FakeTelegram

    tmp = Path(tempfile.mkdtemp(prefix="bench-fair-"))
    fake = FakeTelegram(bot_username=BOT_USERNAME).start()
    os.environ["TELEGRAM_BOT_TOKEN"] = fake.token
    settings = load_settings(write_config(tmp, fake, []))
    store = Store.open(settings.storage.path)
    now = datetime.now(UTC)
    words = ["china", "chip", "export", "battery", "robot", "drone", "market", "bank", "rule",
             "court"]
    with store.batch():
        store.add_headlines(
            Headline(
                source="S", id=f"h{i}", link=f"https://example.com/{i}",
                title=f"{words[i % 10].title()} {words[(i * 7) % 10]} news number {i}",
                summary=f"Summary of story {i} about {words[(i * 3) % 10]} and more words.",
                published=now - timedelta(seconds=i),
            )
            for i in range(headlines)
        )
    application = build_application(settings, store)
    stalls: list[float] = []
    watch: StallWatch | None = None

    async def monitor() -> None:
        while True:
            if watch is not None:
                watch.tick()
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            stalls.append(time.perf_counter() - before - 0.005)

    async with running(application, poll_timeout=1):
        core = core_of(application)
        url = core.metrics_server.url if core.metrics_server else None
        # the load generator's own client (its TLS context takes ~40 ms to build) is made
        # before the stall monitor starts, so its cost is not counted as the bot's
        health_client = httpx.AsyncClient(base_url=url or "http://127.0.0.1", trust_env=False,
                                          timeout=30)
        watch = StallWatch()
        watcher = asyncio.create_task(monitor())
        if name == "group-help":
            flood_chat, text, kind = -9001, f"/help@{BOT_USERNAME}", "group"
        else:
            flood_chat, text, kind = 9001, "/latest zzqx OR qqzz", "private"

        async def flood() -> None:
            for _ in range(200):
                fake.push_message(flood_chat, text, chat_type=kind, user_id=9002)
                await asyncio.sleep(seconds / 200)

        async def others() -> tuple[list[float], int]:
            waits, lost = [], 0
            end = time.monotonic() + seconds
            chat = 10_000
            while time.monotonic() < end:
                chat += 1
                started = time.monotonic()
                fake.push_message(chat, "/start")
                try:
                    await fake.wait_for_messages_async(chat_id=chat, count=1, timeout=20)
                    waits.append(time.monotonic() - started)
                except (AssertionError, TimeoutError):
                    lost += 1
                await asyncio.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
            return waits, lost

        async def health() -> list[float]:
            waits: list[float] = []
            if url is None:
                return waits
            end = time.monotonic() + seconds
            async with health_client as client:
                while time.monotonic() < end:
                    started = time.monotonic()
                    await client.get("/healthz")
                    waits.append(time.monotonic() - started)
                    await asyncio.sleep(0.2)
            return waits

        flooding = asyncio.create_task(flood())
        await asyncio.sleep(1.0)
        (waits, lost), healthz = await asyncio.gather(others(), health())
        await flooding
        watcher.cancel()
        result = {
            "median": statistics.median(waits) if waits else float("nan"),
            "p99": percentile(waits, 0.99),
            "max": max(waits, default=float("nan")),
            "answered": len(waits),
            "lost": lost,
            "healthz_max": max(healthz, default=float("nan")),
            "stall_max": max(stalls, default=0.0),
            "stalled_in": watch.top(),
        }
        # a stalled bot would take minutes to stop: report and leave at once
        print("RESULT " + json.dumps(result), flush=True)
        os._exit(0)
    raise AssertionError("unreachable")


def run_child(repo: Path, name: str, headlines: int, seconds: float) -> dict:
    """One scenario in a fresh process on ``repo``; a stalled bot is killed, not awaited."""
    command = [sys.executable, __file__, "--child", name, "--repo", str(repo),
               "--headlines", str(headlines), "--seconds", str(seconds)]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600,
                          cwd=repo)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"{name} on {repo} failed:\n{done.stderr[-3000:]}")


def child(name: str, headlines: int, seconds: float) -> None:
    import logging

    logging.disable(logging.CRITICAL)
    asyncio.run(asyncio.wait_for(scenario(name, headlines, seconds), 300))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", type=Path, help="a checkout of the commit to compare")
    parser.add_argument("--quick", action="store_true", help="5 s floods instead of 10 s")
    parser.add_argument("--headlines", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--child")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    if args.child:
        child(args.child, args.headlines, seconds)
        return
    trees = [("this tree", args.repo)]
    if args.baseline:
        trees.insert(0, ("baseline", args.baseline.resolve()))
    print(f"one chat sends 200 commands in {seconds:.0f} s; {args.headlines} stored headlines")
    print(f"{'tree':10} {'scenario':15} {'median':>7} {'p99':>7} {'max':>7} {'answered':>8} "
          f"{'lost':>4} {'healthz':>8} {'stall':>7}")
    stalled: list[tuple[str, list]] = []
    for label, repo in trees:
        for name in SCENARIOS:
            r = run_child(repo, name, args.headlines, seconds)
            print(f"{label:10} {name:15} {r['median']:7.3f} {r['p99']:7.3f} {r['max']:7.3f} "
                  f"{r['answered']:8d} {r['lost']:4d} {r['healthz_max']:8.3f} "
                  f"{r['stall_max']:7.3f}", flush=True)
            if label == "this tree":
                stalled.append((name, r.get("stalled_in", [])))
    print("(seconds; latency = another chat's /start until its answer; healthz = longest "
          "/healthz; stall = the loop's longest pause)")
    for name, where in stalled:
        print(f"this tree, {name}: the loop was not ticking for 25 ms+ in "
              + ("; ".join(f"{w} ({n} samples of 5 ms)" for w, n in where) or "no sample"))


if __name__ == "__main__":
    main()
