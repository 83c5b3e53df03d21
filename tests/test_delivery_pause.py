"""Deliverer: /pause, "Mute 1 day" and /unfollow reach alerts already queued.
Real Store, real FakeTelegram."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery.outbox import Deliverer
from bot.models import Alert, Headline, utcnow
from tests.test_delivery_outbox import add_alerts, make_bot, states

# ------------------------------------------------------------- 3. pause / unfollow reach the queue


async def test_paused_chat_gets_none_of_its_queued_alerts(fake, store):
    hs = add_alerts(store, fake, 131, 2)
    other = add_alerts(store, fake, 132)
    store.set_setting(131, "paused_until", (utcnow() + timedelta(days=1)).isoformat())
    async with make_bot(fake) as bot:
        report = await Deliverer(bot, store).deliver_pending()
    assert fake.messages(131) == []
    assert states(store, 131, hs) == ["dropped", "dropped"]
    assert report.dropped["paused"] == 2
    assert states(store, 132, other) == ["sent"]


async def test_held_alerts_are_dropped_once_paused(fake, store):
    """A digest holds the alerts; the chat pauses before the digest time."""
    now = utcnow()
    hs = add_alerts(store, fake, 133, 2, created=now - timedelta(hours=2))
    store.set_setting(133, "digest", [(now + timedelta(minutes=30)).strftime("%H:%M")])
    store.set_setting(133, "paused_until", (now + timedelta(hours=8)).isoformat())
    async with make_bot(fake) as bot:
        report = await Deliverer(bot, store).deliver_pending()
    assert fake.messages(133) == []
    assert report.dropped["paused"] == 2
    assert store.pending(133) == [] and states(store, 133, hs) == ["dropped"] * 2


async def test_an_expired_pause_does_not_drop(fake, store):
    hs = add_alerts(store, fake, 134)
    store.set_setting(134, "paused_until", (utcnow() - timedelta(minutes=1)).isoformat())
    async with make_bot(fake) as bot:
        await Deliverer(bot, store).deliver_pending()
    assert len(fake.messages(134)) == 1 and states(store, 134, hs) == ["sent"]


async def test_unfollowed_queries_are_not_delivered(fake, store):
    chat = 141
    fake.add_chat(chat, "private")
    store.upsert_chat(chat, kind="private")
    store.add_subscription(chat, "drone")
    store.add_headlines([
        Headline(source="S", id="both", title="eVTOL drone show", link="https://example.com/b"),
        Headline(source="S", id="gone", title="eVTOL only", link="https://example.com/g"),
    ])
    store.enqueue([
        Alert(chat, "both", ("eVTOL", "drone")),
        Alert(chat, "gone", ("eVTOL",)),  # the chat ran /unfollow eVTOL since
    ])
    async with make_bot(fake) as bot:
        report = await Deliverer(bot, store).deliver_pending()
    [msg] = fake.messages(chat)
    assert "eVTOL drone show" in msg.visible
    assert "eVTOL only" not in msg.visible
    assert "Matched: drone" in msg.visible and "Matched: eVTOL" not in msg.visible
    assert "<b>drone</b>" in msg.text and "<b>eVTOL</b>" not in msg.text
    assert report.dropped["unfollowed"] == 1
    assert store.alert_state(chat, "both") == "sent"
    assert store.alert_state(chat, "gone") == "dropped"


async def test_refollowing_the_same_query_written_differently_keeps_queued_alerts(fake, store):
    """/unfollow eVTOL then /follow evtol: the alert queued for eVTOL still goes out."""
    hs = add_alerts(store, fake, 134)  # queued for "eVTOL"
    store.remove_subscription(134, "eVTOL")
    store.add_subscription(134, "evtol")
    async with make_bot(fake) as bot:
        report = await Deliverer(bot, store).deliver_pending()
    assert states(store, 134, hs) == ["sent"]
    assert len(fake.messages(134)) == 1 and not report.dropped
