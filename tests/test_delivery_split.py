"""Deliverer: pieces of a split message already delivered are not re-sent after a
later failure.  Real Store, real FakeTelegram."""

from __future__ import annotations

from bot.delivery.outbox import Deliverer
from tests.test_delivery_outbox import add_alerts, make_bot, states, titles_seen

# ------------------------------------------------------------- 2. split message, then a failure


class DropAfterFirstPiece:
    """The real bot; once the split message's first piece got through, the network fails
    (the fake drops the next connections) long enough for the Deliverer to give up."""

    def __init__(self, bot, fake, chat_id, drops):
        self.bot, self.fake, self.chat_id, self.drops = bot, fake, chat_id, drops
        self.armed = True

    async def send_message(self, **kwargs):
        result = await self.bot.send_message(**kwargs)
        if self.armed:
            self.armed = False
            self.fake.force_errors(self.drops, code="drop", chat_id=self.chat_id)
        return result


async def test_pieces_already_delivered_are_not_resent(fake, store):
    chat = 121
    hs = add_alerts(store, fake, chat, 12, title_extra=" " + "long words " * 20)
    fake.force_errors(1, code=400, chat_id=chat, description="Bad Request: message is too long")
    async with make_bot(fake) as bot:
        flaky = DropAfterFirstPiece(bot, fake, chat, drops=3)
        deliverer = Deliverer(flaky, store, network_retries=2, backoff_base=0.01, workers=1)
        first = await deliverer.deliver_pending()
        assert first.errors["too_long"] == 1 and first.errors["network"] == 3
        delivered_first = len(fake.messages(chat))
        assert delivered_first >= 1  # some pieces went out before the failure
        first_sent = first.messages_sent
        second = await deliverer.deliver_pending()
        third = await deliverer.deliver_pending()
    msgs = fake.messages(chat)
    assert len(msgs) > delivered_first  # the rest did arrive, later
    assert titles_seen(msgs, hs) == [1] * len(hs)  # nothing twice
    assert states(store, chat, hs) == ["sent"] * len(hs)
    assert second.alerts_delivered + third.alerts_delivered + first.alerts_delivered == len(hs)
    assert first_sent == delivered_first  # counted when confirmed, not at the end
    assert first.messages_sent + second.messages_sent + third.messages_sent == len(msgs)


