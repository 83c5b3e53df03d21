"""Delivery benchmark: the Deliverer + Pacer against FakeTelegram with Telegram's limits.

    python bench/bench_delivery.py           # full: 10,000-chat fan-out, 50 x 1,000 burst (~10 min)
    python bench/bench_delivery.py --quick   # scaled down (~1 min)

Scenarios (private chats, real Store in a temporary directory, limits enforced by the fake:
30/s global sliding window, 1/s per private chat with a burst of 3, 20/min per group):

* fan-out: one headline to N chats;
* burst: 50 headlines to M chats (each chat follows a keyword all of them match);
* the smaller scenarios again with a naive send loop (no pacing, no batching: one
  sendMessage per alert, 32 at a time, retrying a 429 after ``retry_after``), for comparison.

Printed per run: messages sent, alerts delivered, sustained messages/s (first to last
accepted message), 429 answers, time to the last delivery, messages saved by batching.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from telegram.error import RetryAfter, TelegramError  # noqa: E402
from telegram.ext import ExtBot  # noqa: E402

from bot.delivery.format import render_alert  # noqa: E402
from bot.delivery.outbox import Deliverer  # noqa: E402
from bot.delivery.pacing import Pacer, retry_after_seconds  # noqa: E402
from bot.models import Alert, Headline  # noqa: E402
from bot.store import Store  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402


@dataclass
class Result:
    name: str
    messages: int
    alerts: int
    rate: float
    too_many: int
    last: float
    saved: int
    failed: int = 0


def make_world(fake: FakeTelegram, store: Store, chats: int, headlines: int) -> list[Headline]:
    hs = [
        Headline(
            source="Caixin Global CX Tech",
            id=f"bench-{i}",
            title=f"China's eVTOL makers race to certify air taxis, part {i}",
            link=f"https://www.caixinglobal.com/2024-05-01/evtol-{i}.html",
            published=datetime(2024, 5, 1, 12, i % 60, tzinfo=UTC),
            summary="Several eVTOL developers are pushing for airworthiness certificates. "
            "Regulators are cautious.",
        )
        for i in range(headlines)
    ]
    store.add_headlines(hs)
    with store.batch():
        for chat in range(1, chats + 1):
            fake.add_chat(chat, "private")
            store.upsert_chat(chat, kind="private")
            store.add_subscription(chat, "eVTOL")  # alerts of queries no longer followed drop
    with store.batch():
        store.enqueue(
            Alert(chat, h.id, ("eVTOL",)) for chat in range(1, chats + 1) for h in hs
        )
    return hs


def summarise(name: str, fake: FakeTelegram, start: float, alerts: int, saved: int,
              failed: int = 0) -> Result:
    sent = fake.messages()
    times = [m.at for m in sent]
    span = (max(times) - min(times)) if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span > 0 else float("nan")
    last = (max(times) - start) if times else float("nan")
    return Result(name, len(sent), alerts, rate, fake.count(429), last, saved, failed)


async def run_deliverer(name: str, chats: int, headlines: int) -> Result:
    with FakeTelegram() as fake, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "store")
        make_world(fake, store, chats, headlines)
        async with ExtBot(fake.token, base_url=fake.base_url, rate_limiter=Pacer()) as bot:
            deliverer = Deliverer(bot, store)
            start = time.monotonic()
            report = await deliverer.deliver_pending()
        store.close()
        return summarise(name, fake, start, report.alerts_delivered, report.batched_saved,
                         failed=sum(report.dropped.values()) + report.released)


async def run_naive(name: str, chats: int, headlines: int) -> Result:
    with FakeTelegram() as fake, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "store")
        hs = make_world(fake, store, chats, headlines)
        by_id = {h.id: h for h in hs}
        alerts = store.pending()
        store.close()
        failed = 0
        async with ExtBot(fake.token, base_url=fake.base_url) as bot:
            queue = list(alerts)
            start = time.monotonic()

            async def worker() -> None:
                nonlocal failed
                while queue:
                    alert = queue.pop(0)
                    text = render_alert(by_id[alert.headline_id], [])
                    for _ in range(6):
                        try:
                            await bot.send_message(alert.chat_id, text, parse_mode="HTML")
                            break
                        except RetryAfter as exc:
                            await asyncio.sleep(retry_after_seconds(exc))
                        except TelegramError:
                            failed += 1
                            break
                    else:
                        failed += 1

            await asyncio.gather(*(worker() for _ in range(32)))
        return summarise(name, fake, start, len(alerts) - failed, 0, failed)


def print_table(results: list[Result]) -> None:
    head = (f"{'scenario':<34}{'messages':>9}{'alerts':>8}{'msg/s':>8}{'429s':>6}"
            f"{'last (s)':>10}{'saved':>7}{'failed':>8}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r.name:<34}{r.messages:>9}{r.alerts:>8}{r.rate:>8.2f}{r.too_many:>6}"
              f"{r.last:>10.1f}{r.saved:>7}{r.failed:>8}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="scaled-down run (~1 min)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        fan, burst_chats, small_fan, small_burst = 600, 60, 200, (10, 10)
    else:
        fan, burst_chats, small_fan, small_burst = 10_000, 1_000, 600, (50, 20)
    results = []
    for label, coro in (
        (f"deliverer: 1 headline x {fan} chats", run_deliverer("", fan, 1)),
        (f"deliverer: 50 headlines x {burst_chats} chats",
         run_deliverer("", burst_chats, 50)),
        (f"deliverer: 1 headline x {small_fan} chats", run_deliverer("", small_fan, 1)),
        (f"naive:     1 headline x {small_fan} chats", run_naive("", small_fan, 1)),
        (f"deliverer: {small_burst[0]} headlines x {small_burst[1]} chats",
         run_deliverer("", small_burst[1], small_burst[0])),
        (f"naive:     {small_burst[0]} headlines x {small_burst[1]} chats",
         run_naive("", small_burst[1], small_burst[0])),
    ):
        print(f"running {label} ...", flush=True)
        result = await coro
        result.name = label
        results.append(result)
    print()
    print_table(results)
    print("\ntargets: sustained >= 28 msg/s and 0 x 429 for the deliverer")


if __name__ == "__main__":
    asyncio.run(main())
