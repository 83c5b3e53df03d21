"""Deliverer: a group migrating into a supergroup that has its own pending alerts
sends each alert once.  Real Store, real FakeTelegram."""

from __future__ import annotations

from datetime import timedelta

from bot.delivery.outbox import Deliverer
from bot.models import utcnow
from tests.test_delivery_outbox import add_alerts, make_bot, states, titles_seen

# ------------------------------------------------------------- 1. migration into a busy id


async def test_migration_into_an_id_with_its_own_work_sends_each_alert_once(fake, store):
    old, new = -52, -1000052
    now = utcnow()
    group = add_alerts(store, fake, old, 2, created=now - timedelta(minutes=2))
    own = add_alerts(store, fake, new, 2, kind="supergroup", created=now - timedelta(minutes=1))
    fake.migrate(old, new)
    async with make_bot(fake) as bot:
        # one worker, two work items: the old group's (first) and the supergroup's own
        report = await Deliverer(bot, store, workers=1).deliver_pending()
    msgs = fake.messages(new)
    assert titles_seen(msgs, group + own) == [1, 1, 1, 1]
    assert states(store, new, group + own) == ["sent"] * 4
    assert report.alerts_delivered == 4
    assert store.pending() == []


async def test_migration_after_the_new_id_was_served_delivers_the_moved_alerts(fake, store):
    """Guard of the merge path (the supergroup's work item already finished)."""
    old, new = -53, -1000053
    now = utcnow()
    own = add_alerts(store, fake, new, 1, kind="supergroup", created=now - timedelta(minutes=2))
    group = add_alerts(store, fake, old, 2, created=now - timedelta(minutes=1))
    fake.migrate(old, new)
    async with make_bot(fake) as bot:
        report = await Deliverer(bot, store, workers=1).deliver_pending()
    assert titles_seen(fake.messages(new), own + group) == [1, 1, 1]
    assert states(store, new, own + group) == ["sent"] * 3
    assert report.migrated == 1 and store.pending() == []


