"""/follow source:NAME, keywords scoped to a source, unknown and removed sources."""

from __future__ import annotations

from bot.config import load_settings
from tests.e2e.conftest import Bot, Feed, Item, write_config
from tests.fakes.telegram import visible_text

USER = 2101
OTHER = 2102


async def test_whole_source_scoped_and_excluded_follows(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    a, b = Feed(feeds, "/a.xml"), Feed(feeds, "/b.xml")
    settings = load_settings(write_config(tmp_path, fake, [("Alpha News", a.url), ("B", b.url)]))
    bot = Bot(fake, settings)
    await bot.start()
    try:
        reply = await bot.say(USER, "/follow source:nowhere")
        assert "nowhere" in reply.text and "alpha-news" in reply.text and "b" in reply.text
        assert bot.core.store.subscriptions(USER) == []
        await bot.say(USER, "/follow source:Alpha-News")
        await bot.say(OTHER, "/follow chip -source:alpha-news")
        await bot.polls_done("Alpha News", 2)
        await bot.polls_done("B", 2)
        a.add(Item("Rain in Beijing", "https://example.com/a/rain"))
        b.add(Item("Unrelated weather", "https://example.com/b/weather"))
        [*_, alert] = await bot.wait_messages(USER, 3)
        assert "Rain in Beijing" in visible_text(alert.text)
        assert "source:alpha-news" in visible_text(alert.text)  # the Matched: line
        a.add(Item("New chip plant", "https://example.com/a/chip"))
        b.add(Item("Another chip deal", "https://example.com/b/chip"))
        [_, got] = await bot.wait_messages(OTHER, 2)
        assert "Another chip deal" in visible_text(got.text)
        # USER follows all of alpha-news: its chip alert too, delivered before the stop (else
        # it is delivered after the restart, where it would be taken for /list's reply)
        [*_, chip] = await bot.wait_messages(USER, 4)
        assert "New chip plant" in visible_text(chip.text)
        latest = await bot.say(OTHER, "/latest chip source:b")
        assert "Another chip deal" in visible_text(latest.text)
        assert "New chip plant" not in visible_text(latest.text)
        assert len(fake.messages(OTHER)) == 3  # no alert for the excluded source
    finally:
        await bot.stop()
    # the operator drops Alpha News from the config: /list says so
    settings = load_settings(write_config(tmp_path, fake, [("B", b.url)]))
    bot = Bot(fake, settings)
    await bot.start()
    try:
        listed = await bot.say(USER, "/list")
        assert "source:alpha-news" in listed.text and "removed" in listed.text
    finally:
        await bot.stop()


async def test_a_renamed_source_keeps_its_scoped_keywords(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    a = Feed(feeds, "/a.xml")
    bot = Bot(fake, load_settings(write_config(tmp_path, fake, [("Caixin", a.url)])))
    await bot.start()
    try:
        await bot.say(USER, "/follow eVTOL source:caixin")
    finally:
        await bot.stop()
    renamed = load_settings(write_config(tmp_path, fake, [("Caixin Global", a.url)]))
    bot = Bot(fake, renamed)
    await bot.start()
    try:
        await bot.polls_done("Caixin Global", 2)
        a.add(Item("eVTOL maker lists", "https://example.com/a/evtol"))
        [*_, alert] = await bot.wait_messages(USER, 2)
        assert "eVTOL maker lists" in visible_text(alert.text)
        listed = await bot.say(USER, "/list")
        assert "removed" not in listed.text
    finally:
        await bot.stop()
