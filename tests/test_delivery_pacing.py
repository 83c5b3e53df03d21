"""Pacer unit tests: a recording callback stands in for the HTTP call; intervals are short."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time

import pytest
from telegram.error import BadRequest, Forbidden, RetryAfter

from bot.delivery.pacing import BULK, Pacer, retry_after_seconds


class Recorder:
    def __init__(self, fail: dict[int, list[Exception]] | None = None) -> None:
        self.calls: list[tuple[float, str, object]] = []
        self.fail = fail or {}

    async def __call__(self, endpoint: str, data: dict) -> dict:
        self.calls.append((time.monotonic(), endpoint, data.get("chat_id")))
        errors = self.fail.get(data.get("chat_id"), [])
        if errors:
            raise errors.pop(0)
        return {"ok": True}


async def send(pacer: Pacer, rec: Recorder, chat_id, rl=None, endpoint="sendMessage"):
    data = {"chat_id": chat_id, "text": "x"} if chat_id is not None else {}
    return await pacer.process_request(rec, (endpoint, data), {}, endpoint, data, rl)


def times_for(rec: Recorder, chat_id) -> list[float]:
    return [t for t, _, c in rec.calls if c == chat_id]


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


async def test_overall_rate_is_evenly_spaced():
    pacer = Pacer(overall_rate=50, private_interval=10, group_interval=10)
    rec = Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(pacer, rec, chat, BULK) for chat in range(1, 26)))
    elapsed = time.monotonic() - start
    await pacer.shutdown()
    assert len(rec.calls) == 25
    # 25 sends at 50/s: 24 gaps of 20 ms
    assert elapsed >= 24 * 0.02 - 0.01
    assert elapsed < 24 * 0.02 + 0.4
    # no burst: no two sends closer than the period (minus timer slack)
    assert min(gaps(sorted(t for t, _, _ in rec.calls))) >= 0.02 - 0.004
    # any one-second window at 50/s never holds more than 51
    ts = sorted(t for t, _, _ in rec.calls)
    assert max(sum(1 for u in ts if t <= u < t + 0.1) for t in ts) <= 6


async def test_private_chat_interval():
    pacer = Pacer(overall_rate=1000, private_interval=0.1, group_interval=0.3)
    rec = Recorder()
    await asyncio.gather(*(send(pacer, rec, 7, BULK) for _ in range(5)))
    await pacer.shutdown()
    assert min(gaps(times_for(rec, 7))) >= 0.1 - 0.005


async def test_group_interval_and_other_chats_not_held_up():
    pacer = Pacer(overall_rate=1000, private_interval=0.1, group_interval=0.3)
    rec = Recorder()
    start = time.monotonic()
    await asyncio.gather(
        *(send(pacer, rec, -100, BULK) for _ in range(4)),
        *(send(pacer, rec, chat, BULK) for chat in range(1, 6)),
    )
    await pacer.shutdown()
    group = times_for(rec, -100)
    assert min(gaps(group)) >= 0.3 - 0.005
    # the private chats were all sent long before the group's backlog was done
    assert max(t for t, _, c in rec.calls if c != -100) - start < 0.1
    assert group[-1] - start >= 0.9 - 0.01


async def test_string_chat_id_is_paced_like_a_group():
    pacer = Pacer(overall_rate=1000, private_interval=0.01, group_interval=0.2)
    rec = Recorder()
    await asyncio.gather(*(send(pacer, rec, "@channel", BULK) for _ in range(3)))
    await pacer.shutdown()
    assert min(gaps(times_for(rec, "@channel"))) >= 0.2 - 0.005


async def test_calls_without_chat_id_pass_straight_through():
    pacer = Pacer(overall_rate=1, private_interval=10, group_interval=10)
    rec = Recorder()
    start = time.monotonic()
    await asyncio.gather(*(send(pacer, rec, None, endpoint="getMe") for _ in range(10)))
    assert time.monotonic() - start < 0.2
    assert pacer.dispatched == 0
    await pacer.shutdown()


async def test_reads_about_a_chat_are_not_paced_but_edits_are():
    pacer = Pacer(overall_rate=1000, private_interval=10, group_interval=10)
    rec = Recorder()
    start = time.monotonic()
    await asyncio.gather(
        *(send(pacer, rec, -100, endpoint="getChatMember") for _ in range(5)),
        send(pacer, rec, -100),  # one message to the group
    )
    assert time.monotonic() - start < 0.5  # the admin checks did not use up the group's slot
    assert pacer.dispatched == 1
    sends = asyncio.gather(send(pacer, rec, -100, endpoint="editMessageText"))
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(sends), timeout=0.3)
    assert not sends.done()  # the edit waits its turn behind the group's 10 s spacing
    sends.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await sends
    await pacer.shutdown()


async def test_command_replies_jump_the_bulk_queue():
    pacer = Pacer(overall_rate=20, private_interval=0.01, group_interval=0.01)
    rec = Recorder()
    bulk = [asyncio.create_task(send(pacer, rec, chat, BULK)) for chat in range(1, 21)]
    await asyncio.sleep(0.12)  # a couple of bulk sends are out, the rest queued
    await send(pacer, rec, 999)  # a command reply, no rate_limit_args
    reply_index = [c for _, _, c in rec.calls].index(999)
    await asyncio.gather(*bulk)
    await pacer.shutdown()
    assert reply_index <= 5, reply_index
    assert len(rec.calls) == 21


async def test_retry_after_pauses_everyone_then_retries():
    pacer = Pacer(overall_rate=1000, private_interval=0.001, group_interval=0.001,
                  retry_margin=0.05)
    rec = Recorder(fail={1: [RetryAfter(1)]})
    start = time.monotonic()
    first = asyncio.create_task(send(pacer, rec, 1, BULK))
    await asyncio.sleep(0.05)
    others = await asyncio.gather(*(send(pacer, rec, chat, BULK) for chat in (2, 3)))
    assert await first == {"ok": True}
    assert others == [{"ok": True}, {"ok": True}]
    await pacer.shutdown()
    assert len(times_for(rec, 1)) == 2
    # chat 1's retry and the other chats all waited out the pause
    assert times_for(rec, 1)[1] - start >= 1.05 - 0.01
    assert min(times_for(rec, 2) + times_for(rec, 3)) - start >= 1.05 - 0.01
    assert pacer.retries == 1


async def test_retry_after_is_bounded():
    pacer = Pacer(overall_rate=1000, private_interval=0.001, max_retries=1, retry_margin=0)
    rec = Recorder(fail={1: [RetryAfter(0), RetryAfter(0), RetryAfter(0)]})
    with pytest.raises(RetryAfter):
        await send(pacer, rec, 1, BULK)
    await pacer.shutdown()
    assert len(rec.calls) == 2


@pytest.mark.parametrize("error", [Forbidden("blocked"), BadRequest("chat not found")])
async def test_other_errors_propagate_without_retry(error):
    pacer = Pacer(overall_rate=1000, private_interval=0.001)
    rec = Recorder(fail={1: [error]})
    with pytest.raises(type(error)):
        await send(pacer, rec, 1)
    await pacer.shutdown()
    assert len(rec.calls) == 1


async def test_cancelled_waiter_leaves_the_queue():
    pacer = Pacer(overall_rate=1000, private_interval=0.5)
    rec = Recorder()
    await send(pacer, rec, 1)
    waiting = asyncio.create_task(send(pacer, rec, 1))
    await asyncio.sleep(0.05)
    assert pacer.queued == 1
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert pacer.queued == 0
    await pacer.shutdown()
    assert len(rec.calls) == 1


def test_retry_after_seconds_reads_int_and_timedelta():
    assert retry_after_seconds(RetryAfter(3)) == 3.0


async def test_granted_runs_in_the_slot_just_before_the_request():
    """``rate_limit_args["granted"]`` runs once the slot is granted, not while waiting."""
    pacer = Pacer(private_interval=0.3)
    await pacer.initialize()
    events: list[str] = []

    async def request(name: str) -> bool:
        events.append(f"sent {name}")
        return True

    def send(name: str):
        args = {"bulk": True, "granted": lambda: events.append(f"granted {name}")}
        return pacer.process_request(request, (name,), {}, "sendMessage", {"chat_id": 1}, args)

    try:
        first = asyncio.create_task(send("a"))
        second = asyncio.create_task(send("b"))
        await asyncio.sleep(0.1)  # "b" waits for the chat's interval: not granted yet
        assert events == ["granted a", "sent a"]
        await asyncio.gather(first, second)
        assert events == ["granted a", "sent a", "granted b", "sent b"]
    finally:
        await pacer.shutdown()
