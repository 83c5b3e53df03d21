"""Command budgets and lanes (bot.fairness): a burst of 10, then one a second; one warning a
minute; a chat's updates in order, other chats beside it."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.fairness import Budgets, ChatLanes, budget_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_of_ten_then_one_a_second():
    clock = Clock()
    budgets = Budgets(clock=clock)
    assert all(budgets.take((1, 0)) for _ in range(10))
    assert not budgets.take((1, 0))
    assert budgets.take((2, 0))  # another chat has its own
    clock.now += 1.0
    assert budgets.take((1, 0)) and not budgets.take((1, 0))
    clock.now += 30.0
    assert sum(budgets.take((1, 0)) for _ in range(20)) == 10  # refills to the burst only


def test_at_most_one_warning_a_minute():
    clock = Clock()
    budgets = Budgets(clock=clock)
    for _ in range(11):
        budgets.take((1, 0))
    assert budgets.should_warn((1, 0)) and not budgets.should_warn((1, 0))
    clock.now += 59.0
    assert not budgets.should_warn((1, 0))
    clock.now += 1.0
    assert budgets.should_warn((1, 0))


def message_update(chat_id: int, chat_type: str, text: str, user_id: int, edited=False):
    chat = Chat(chat_id, chat_type)
    user = User(user_id, "U", False)
    message = Message(1, None, chat, from_user=user, text=text)  # type: ignore[arg-type]
    if edited:
        return Update(1, edited_message=message)
    return Update(1, message=message)


def test_budget_keys():
    private = message_update(5, "private", "/help", 5)
    assert budget_key(private, "bot") == (5, 0)
    plain = message_update(5, "private", "hello", 5)
    assert budget_key(plain, "bot") == (5, 0)  # answered too, so charged
    group = message_update(-7, "group", "/help@bot", 8)
    assert budget_key(group, "bot") == (-7, 8)  # each member of a group has their own
    assert budget_key(message_update(-7, "group", "/help", 9), "bot") == (-7, 9)
    assert budget_key(message_update(-7, "group", "/help@other_bot", 8), "bot") is None
    assert budget_key(message_update(-7, "group", "chatter", 8), "bot") is None
    assert budget_key(message_update(5, "private", "/help", 5, edited=True), "bot") is None


async def test_lanes_keep_a_chats_order_and_let_others_pass():
    lanes = ChatLanes(Budgets(burst=100))
    done: list[str] = []
    gate = asyncio.Event()

    async def handle(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        done.append(name)

    slow = message_update(1, "private", "/a", 1)
    other = message_update(2, "private", "/b", 2)
    await lanes.process_update(slow, handle("1a", wait=True))
    await lanes.process_update(slow, handle("1b"))
    await lanes.process_update(other, handle("2a"))  # returns at once: nothing shared held
    await asyncio.sleep(0.01)
    assert done == ["2a"] and lanes.busy == 1
    gate.set()
    await asyncio.sleep(0.01)
    assert done == ["2a", "1a", "1b"] and lanes.busy == 0


async def test_over_budget_is_dropped_and_warned_once():
    warned: list[int] = []

    async def warn(update: Update) -> None:
        warned.append(update.effective_chat.id)

    lanes = ChatLanes(Budgets(burst=2), on_refused=warn)
    ran: list[int] = []

    async def handle(n: int) -> None:
        ran.append(n)

    update = message_update(1, "private", "/a", 1)
    for n in range(6):
        await lanes.process_update(update, handle(n))
    await lanes.drain(1.0)
    assert ran == [0, 1] and warned == [1] and lanes.refused == 4
