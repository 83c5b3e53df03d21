"""Same story, one alert, in delivery: reports of one story in one drain are one entry with
several links; a later report from another source edits that alert (editMessageText, no new
message); a new development is a new alert; a failed edit sends nothing.  The real
Deliverer, store and StoryKeeper against the strict fake Bot API."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from telegram.ext import ExtBot

from bot.config import StoriesSettings
from bot.delivery.outbox import Deliverer
from bot.delivery.pacing import Pacer
from bot.models import Alert, Headline
from bot.store import Store
from bot.story_keeper import StoryKeeper
from tests.fakes.telegram import visible_text

USER = 4242
GROUP = -4343
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

HALT = ("Caixin", "Nexperia halts wafer supply to its China unit")
HALT_2 = ("SCMP Tech", "Nexperia halts wafer supplies to China unit as chip dispute deepens")
HALT_3 = ("TechNode", "Dutch chipmaker Nexperia halts wafer supply to China unit")
HALT_4 = ("KrASIA", "Nexperia halts wafer supply to China unit, escalating chip row")
HALT_5 = ("Pandaily", "Nexperia halts wafer supply to its Chinese unit in Dongguan")
RESUME = ("Caixin", "Nexperia China chip supplies to resume")
OTHER = ("Pandaily", "Xiaomi ships its first electric SUV to Nexperia engineers")


class World:
    """A store with a chat following Nexperia, its keeper, the fake, one Deliverer."""

    def __init__(self, fake, tmp_path, *, chat: int = USER, settings=None) -> None:
        self.fake = fake
        self.chat = chat
        self.now = T0
        self.store = Store.open(tmp_path / "data", clock=lambda: self.now)
        self.keeper = StoryKeeper(self.store, settings or StoriesSettings())
        self.keeper.load(self.now)
        kind = "private" if chat > 0 else "group"
        fake.add_chat(chat, kind)
        self.store.upsert_chat(chat, kind=kind)
        self.store.add_subscription(chat, "Nexperia")
        self.n = 0

    def report(self, *reports: tuple[str, str], minutes: float = 0, path: str = ""
               ) -> list[Headline]:
        """New headlines, filed and alerted as the poller does (``path``: a longer link)."""
        self.now = T0 + timedelta(minutes=minutes)
        out = []
        for source, title in reports:
            self.n += 1
            out.append(Headline(source=source, id=f"h{self.n}", title=title,
                                link=f"https://{source.split()[0].lower()}.example/{self.n}{path}",
                                published=self.now))
        with self.store.batch():
            self.store.add_headlines(out)
            self.keeper.file(out, self.now)
            self.store.enqueue(Alert(self.chat, h.id, ("Nexperia",), created=self.now)
                               for h in out)
        return out

    async def deliver(self, bot, max_sources: int = 3):
        deliverer = Deliverer(bot, self.store, clock=lambda: self.now, stories=self.keeper,
                              max_sources=max_sources)
        return await deliverer.deliver_pending()

    def shown(self, message_id: int) -> str:
        return self.fake.shown(self.chat, message_id)["text"]


@contextlib.asynccontextmanager
async def make_bot(fake):
    pacer = Pacer(private_interval=0.01, group_interval=0.01)
    async with ExtBot(fake.token, base_url=fake.base_url, rate_limiter=pacer) as bot:
        yield bot


def edits_lose_their_answer(monkeypatch) -> Callable[[], None]:
    """From now on an edit reaches Telegram but its answer is lost (TimedOut); the function
    returned puts the real edit back."""
    from telegram.error import TimedOut
    real = ExtBot.edit_message_text

    async def lossy(self, *args, **kwargs):
        await real(self, *args, **kwargs)
        raise TimedOut("answer lost")

    monkeypatch.setattr(ExtBot, "edit_message_text", lossy)
    return lambda: monkeypatch.setattr(ExtBot, "edit_message_text", real)


@pytest.fixture
def world(fake, tmp_path):
    w = World(fake, tmp_path)
    yield w
    w.store.close()


async def test_one_drain_one_entry_then_an_edit_then_a_new_development(world, fake):
    a, b = world.report(HALT, HALT_2)
    async with make_bot(fake) as bot:
        first = await world.deliver(bot)
        [msg] = fake.messages(USER)
        assert "Also: SCMP Tech" in msg.visible and a.title in msg.visible
        assert b.title not in msg.visible  # one entry: the second report is its link
        assert f'<a href="{b.link}">SCMP Tech</a>' in msg.text
        assert msg.reply_markup is not None  # the alert's own buttons
        assert (first.messages_sent, first.alerts_delivered) == (1, 2)
        post = world.store.post_of_story(USER, world.store.story_of(a.id))
        assert post.message_id == msg.message_id and post.entries[0].headlines == (a.id, b.id)

        [c] = world.report(HALT_3, minutes=30)
        second = await world.deliver(bot)
        assert len(fake.messages(USER)) == 1 and second.messages_sent == 0
        [edit] = fake.edits
        assert edit.method == "editMessageText" and edit.message_id == msg.message_id
        assert "Also: SCMP Tech · TechNode" in world.shown(msg.message_id)
        assert edit.reply_markup == msg.reply_markup  # the buttons stay
        assert (second.edited, second.alerts_delivered) == (1, 1)
        assert world.store.alert_state(USER, c.id) == "sent"

        [d] = world.report(RESUME, minutes=60)
        await world.deliver(bot)
        [_, follow_up] = fake.messages(USER)
        assert d.title in follow_up.visible and "Also" not in follow_up.visible
        assert len(fake.edits) == 1


async def test_at_most_max_sources_then_a_count(world, fake):
    world.report(HALT, HALT_2, HALT_3, HALT_4)
    async with make_bot(fake) as bot:
        await world.deliver(bot, max_sources=2)
        [msg] = fake.messages(USER)
        assert "Also: SCMP Tech · TechNode +1 more" in msg.visible
        world.report(HALT_5, minutes=5)
        await world.deliver(bot, max_sources=2)
    assert "Also: SCMP Tech · TechNode +2 more" in world.shown(msg.message_id)


async def test_the_same_source_again_is_an_alert_of_its_own(world, fake):
    """A source writing again about its story usually has news: never hidden in a link."""
    world.report(HALT, ("Caixin", HALT_3[1]))
    async with make_bot(fake) as bot:
        await world.deliver(bot)
        assert fake.messages(USER)[0].visible.startswith("2 new headlines")
        [again] = world.report(("Caixin", HALT_2[1]), minutes=10)
        await world.deliver(bot)
        [b] = world.report(HALT_2, minutes=20)  # another source: edits the newest message
        await world.deliver(bot)
    _, second = fake.messages(USER)
    assert HALT_2[1] in second.visible and fake.edits[-1].message_id == second.message_id
    assert world.store.alert_state(USER, again.id) == world.store.alert_state(USER, b.id) \
        == "sent"


@pytest.mark.parametrize("how", ["deleted", "too-old"])
async def test_a_failed_edit_sends_nothing_for_that_report_nor_later_ones(world, fake, how):
    world.report(HALT)
    async with make_bot(fake) as bot:
        await world.deliver(bot)
        [msg] = fake.messages(USER)
        if how == "deleted":
            fake.delete_message(USER, msg.message_id)
        else:
            fake.freeze_message(USER, msg.message_id)
        [b] = world.report(HALT_2, minutes=10)
        report = await world.deliver(bot)
        assert fake.count(400) == 1 and fake.edits == [] and len(fake.messages(USER)) == 1
        assert report.dropped["edit_failed"] == 1
        assert world.store.alert_state(USER, b.id) == "dropped"
        [c] = world.report(HALT_3, minutes=20)
        await world.deliver(bot)
    assert fake.count(400) == 1  # the message is known gone: not even tried
    assert len(fake.messages(USER)) == 1 and world.store.alert_state(USER, c.id) == "dropped"


async def test_an_alert_older_than_the_window_is_not_edited(fake, tmp_path):
    world = World(fake, tmp_path, settings=StoriesSettings(window_hours=1))
    try:
        world.report(HALT)
        async with make_bot(fake) as bot:
            await world.deliver(bot)
            # the story runs on (a report every 40 minutes) but its alert is 2 h old
            world.report(HALT_2, minutes=40)
            world.report(HALT_3, minutes=80)
            world.now = T0 + timedelta(minutes=120)
            await world.deliver(bot)
        assert len(fake.messages(USER)) == 2 and fake.edits == []
    finally:
        world.store.close()


async def test_a_batch_message_is_edited_in_place(fake, tmp_path):
    world = World(fake, tmp_path, chat=GROUP)
    try:
        world.report(HALT, OTHER)
        async with make_bot(fake) as bot:
            await world.deliver(bot)
            [msg] = fake.messages(GROUP)
            assert msg.visible.startswith("2 new headlines")
            world.report(HALT_2, minutes=5)
            await world.deliver(bot)
        [edit] = fake.edits
        text = world.shown(msg.message_id)
        assert text.startswith("2 new headlines") and "Also: SCMP Tech" in text
        assert OTHER[1] in text and edit.reply_markup == msg.reply_markup  # mute only
        assert len(fake.messages(GROUP)) == 1
    finally:
        world.store.close()


async def test_without_stories_every_report_is_its_own_alert(fake, tmp_path):
    world = World(fake, tmp_path, settings=StoriesSettings(enabled=False))
    try:
        world.report(HALT)
        async with make_bot(fake) as bot:
            await world.deliver(bot)
            world.report(HALT_2, minutes=5)
            await world.deliver(bot)
        assert len(fake.messages(USER)) == 2 and fake.edits == []
        assert world.store.stats()["posts"] == 0
    finally:
        world.store.close()


async def test_a_restart_between_reports_still_folds(fake, tmp_path):
    world = World(fake, tmp_path)
    world.report(HALT)
    async with make_bot(fake) as bot:
        await world.deliver(bot)
    world.store.close()
    again = World(fake, tmp_path)  # reopened: the keeper rebuilt from the store
    again.n = world.n
    try:
        again.report(HALT_2, minutes=15)
        async with make_bot(fake) as bot:
            await again.deliver(bot)
        [msg] = fake.messages(USER)
        [edit] = fake.edits
        assert edit.message_id == msg.message_id and "Also: SCMP Tech" in edit.visible
    finally:
        again.store.close()


def _fill_a_part(world: World) -> None:
    """The lead report and 40 others: a split batch, its first part packed full."""
    world.report(HALT, *[("Pandaily", f"Nexperia supplier Firm{i} sales report number {i} "
                          + "x" * 60) for i in range(40)])


async def test_a_report_of_a_story_in_a_full_batch_part_still_shows(fake, tmp_path):
    """A part is packed short of Telegram's 4096 with room for the "Also:" an edit adds;
    a message too full for one more link shows "+1 more" instead."""
    from bot.delivery.lengths import utf16_len
    world = World(fake, tmp_path, chat=GROUP)
    try:
        _fill_a_part(world)
        async with make_bot(fake) as bot:
            await world.deliver(bot)
            first, *rest = fake.messages(GROUP)
            assert rest and utf16_len(first.text) > 3900
            [b] = world.report(HALT_2, minutes=5)
            report = await world.deliver(bot)
            [c] = world.report(HALT_3, minutes=10, path="/" + "a" * 150)
            await world.deliver(bot)
        assert report.dropped == {} and report.edited == 1
        assert world.store.alert_state(GROUP, b.id) == "sent"
        assert world.store.alert_state(GROUP, c.id) == "sent"
        text = world.shown(first.message_id)
        assert "Also: SCMP Tech +1 more" in text and len(fake.messages(GROUP)) == 1 + len(rest)
        assert utf16_len(fake.edits[-1].text) <= 4096
    finally:
        world.store.close()


async def test_a_batch_edit_short_of_room_shrinks_the_edited_storys_also_first(
        fake, tmp_path, monkeypatch):
    """Room for one link only: the story the edit adds to shows "+1 more", the other story
    of the message keeps its link (all the entries' links went to "+N more")."""
    import bot.delivery.fold as fold
    world = World(fake, tmp_path, chat=GROUP)
    try:
        world.report(HALT, OTHER, ("KrASIA", OTHER[1]))
        async with make_bot(fake) as bot:
            await world.deliver(bot)
            [msg] = fake.messages(GROUP)
            assert "Also: KrASIA" in msg.visible and "Also:" not in msg.visible.split("\n")[1]
            real = fold.render_batch_message

            def one_link_fits(items, also, **kw):
                return None if sum(f.count("<a ") for f in also) > 1 else real(items, also, **kw)

            monkeypatch.setattr(fold, "render_batch_message", one_link_fits)
            world.report(HALT_2, minutes=5)
            report = await world.deliver(bot)
        assert report.edited == 1 and report.dropped == {}
        shown = fake.edits[-1].text
        assert "Also: +1 more" in visible_text(shown) and ">KrASIA</a>" in shown, shown
    finally:
        world.store.close()


async def test_a_message_that_cannot_show_a_report_leaves_it_to_a_new_alert(
        fake, tmp_path, monkeypatch):
    """The last resort: a report is never lost to a message that has no room for it."""
    import bot.delivery.fold as fold
    world = World(fake, tmp_path, chat=GROUP)
    try:
        world.report(HALT, OTHER)
        async with make_bot(fake) as bot:
            await world.deliver(bot)
            monkeypatch.setattr(fold, "render_batch_message", lambda *a, **k: None)
            [b] = world.report(HALT_2, minutes=5)
            report = await world.deliver(bot)
        assert fake.edits == [] and report.dropped == {}
        _, alert = fake.messages(GROUP)
        assert HALT_2[1] in alert.visible and world.store.alert_state(GROUP, b.id) == "sent"
    finally:
        world.store.close()


async def test_an_edit_whose_answer_was_lost_is_sent_again_and_keeps_its_link(
        world, fake, monkeypatch):
    """Telegram applied the edit but its answer was lost (TimedOut): the post already holds
    the report (stored in the granted slot) and the report is tried again, so no later edit
    takes the link off; an edit sent twice is "not modified", which counts as sent."""
    world.report(HALT)
    async with make_bot(fake) as bot:
        await world.deliver(bot)
        [msg] = fake.messages(USER)
        restore = edits_lose_their_answer(monkeypatch)
        [b] = world.report(HALT_2, minutes=10)
        report = await world.deliver(bot)
        post = world.store.post_of_story(USER, world.store.story_of(b.id))
        assert b.id in post.entries[0].headlines and report.dropped == {}
        assert world.store.alert_state(USER, b.id) == "pending"
        restore()
        again = await world.deliver(bot)  # nothing new: the same edit, "not modified"
        assert world.store.alert_state(USER, b.id) == "sent" and again.dropped == {}
        [c] = world.report(HALT_3, minutes=20)
        await world.deliver(bot)
    assert "Also: SCMP Tech · TechNode" in world.shown(msg.message_id)
    assert len(fake.messages(USER)) == 1 and world.store.alert_state(USER, c.id) == "sent"


async def test_a_lost_edit_retried_after_the_window_is_no_second_message(
        world, fake, monkeypatch):
    """The edit reached Telegram (its answer lost) just before the story's window closed, the
    retry comes after: the message shows the report already, so it is sent no second time
    as an alert of its own."""
    world.report(HALT)
    async with make_bot(fake) as bot:
        await world.deliver(bot)
        [msg] = fake.messages(USER)
        restore = edits_lose_their_answer(monkeypatch)
        [b] = world.report(HALT_2, minutes=72 * 60 - 1)
        await world.deliver(bot)
        assert "SCMP Tech" in world.shown(msg.message_id)  # Telegram shows it
        restore()
        world.now = T0 + timedelta(hours=72, minutes=1)
        await world.deliver(bot)
        assert world.store.alert_state(USER, b.id) == "sent"
    assert len(fake.messages(USER)) == 1, [m.visible[:60] for m in fake.messages(USER)]


async def test_a_sources_second_report_in_one_drain_is_an_alert_of_its_own(world, fake):
    """Of two reports of one source in the drain that edits the story's alert, the first
    is its link; the second, like any source's second report, is an alert."""
    world.report(HALT)
    async with make_bot(fake) as bot:
        await world.deliver(bot)
        _, again = world.report(HALT_2, ("SCMP Tech", HALT_4[1]), minutes=10)
        await world.deliver(bot)
    first, second = fake.messages(USER)
    assert "Also: SCMP Tech" in world.shown(first.message_id)
    assert again.title in second.visible and world.store.alert_state(USER, again.id) == "sent"


async def test_a_story_with_two_entries_in_a_batch_gets_its_link_once(world, fake):
    world.report(HALT, ("Caixin", HALT_3[1]))  # one source twice: two entries of one story
    async with make_bot(fake) as bot:
        await world.deliver(bot)
        world.report(HALT_2, minutes=10)
        await world.deliver(bot)
    text = world.shown(fake.messages(USER)[0].message_id)
    assert text.count("Also: SCMP Tech") == 1, text
