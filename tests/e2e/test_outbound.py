"""Outside links reach nothing internal: the running bot, its feed server and the internal host.

The feed server (127.0.0.1) is the operator's source: its own host and port are trusted.  The
internal host (127.0.0.2, ``FeedServer.internal``) answers any path with a page whose
description is ``INTERNAL_MARKER`` and counts every connection.  Each refusal has a twin with
the internal host in ``allow_hosts``, where the same steps do reach it: so a refusal is the
policy's doing, not a test that cannot fail.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.__main__ import check
from bot.config import load_settings
from tests.e2e.conftest import Bot, Feed, Item, rss, write_config
from tests.fakes.feedserver import INTERNAL_MARKER, TLS_CERT, FeedServer
from tests.fakes.telegram import FakeTelegram, visible_text

USER = 4242
OWN_ARTICLE = (
    b"<html><head><meta property='og:description' content='Own-host article summary.'>"
    b"</head></html>"
)


def config(
    tmp_path: Path,
    fake: FakeTelegram,
    sources: list[tuple[str, str]],
    *,
    allow_hosts: tuple[str, ...] = (),
    summaries: bool = True,
) -> Path:
    path = write_config(tmp_path, fake, sources)
    text = path.read_text()
    if summaries:
        text = text.replace("fetch_summaries = false", "fetch_summaries = true")
    if allow_hosts:
        hosts = ", ".join(f'"{h}"' for h in allow_hosts)
        text = text.replace("[polling]\n", f"[polling]\nallow_hosts = [{hosts}]\n", 1)
    path.write_text(text)
    return path


async def started(tmp_path, fake, monkeypatch, sources, **kw) -> Bot:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    bot = Bot(fake, load_settings(config(tmp_path, fake, sources, **kw)))
    await bot.start()
    for name, _url in sources:
        await bot.polls_done(name, 1)
    return bot


async def wait_state(bot: Bot, name: str, test, timeout: float = 10.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = bot.core.store.source_state(name)
        if test(state):
            return state
        assert asyncio.get_running_loop().time() < deadline, state
        await asyncio.sleep(0.05)


async def test_article_links_to_internal_hosts_are_never_fetched(
    tmp_path, fake, feeds, internal, monkeypatch
):
    tech = Feed(feeds, "/tech.xml")
    feeds.add("/own/story.html", OWN_ARTICLE, content_type="text/html")
    feeds.redirect("/go/story.html", internal.url("/wiki/secret.html"), status=302)
    bot = await started(tmp_path, fake, monkeypatch, [("Tech", tech.url)])
    alerts = []
    try:
        await bot.say(USER, "/follow Nexperia")
        # one headline per poll, so each alert comes alone, in the form that shows a summary
        for count, (title, link) in enumerate(
            [
                ("Nexperia story on the internal wiki", internal.url("/wiki/page.html")),
                ("Nexperia story behind a redirect", feeds.url("/go/story.html")),
                ("Nexperia story on the source's own host", feeds.url("/own/story.html")),
            ],
            start=2,
        ):
            tech.add(Item(title, link))
            alerts.append(visible_text((await bot.wait_messages(USER, count))[-1].text))
            assert title in alerts[-1]
    finally:
        await bot.stop()
    assert INTERNAL_MARKER not in "\n".join(alerts)
    assert "Own-host article summary." in alerts[2]  # the own host's page was fetched
    assert feeds.count("/go/story.html") == 1  # the redirect's first hop, on the own host
    assert internal.connections == 0 and internal.requests == []


async def test_an_allowed_internal_host_is_fetched(tmp_path, fake, feeds, internal, monkeypatch):
    tech = Feed(feeds, "/tech.xml")
    bot = await started(
        tmp_path, fake, monkeypatch, [("Tech", tech.url)], allow_hosts=("127.0.0.2",)
    )
    try:
        await bot.say(USER, "/follow Nexperia")
        tech.add(Item("Nexperia story on the internal wiki", internal.url("/wiki/page.html")))
        [_, alert] = await bot.wait_messages(USER, 2)
    finally:
        await bot.stop()
    assert INTERNAL_MARKER in visible_text(alert.text)
    assert internal.count("/wiki/page.html") == 1


async def test_a_redirect_of_a_source_to_an_internal_host_is_refused(
    tmp_path, fake, feeds, internal, monkeypatch
):
    Feed(feeds, "/tech.xml")
    moved = Feed(feeds, "/moving.xml")
    bot = await started(tmp_path, fake, monkeypatch, [("Tech", moved.url)])
    try:
        feeds.redirect("/moving.xml", internal.url("/feed.xml"), status=301)
        state = await wait_state(bot, "Tech", lambda s: s.get("failures", 0) >= 1)
    finally:
        await bot.stop()
    assert "refused" in state["last_error"] and "127.0.0.2" in state["last_error"]
    assert "loopback" in state["last_error"]
    assert state["url"] is None
    assert internal.connections == 0


async def test_a_301_to_another_host_is_followed_for_the_poll_but_never_saved(
    tmp_path, fake, feeds, internal, monkeypatch
):
    internal.add("/feed.xml", rss([Item("Nexperia moved feed story", feeds.url("/a"))]))
    feeds.redirect("/tech.xml", internal.url("/feed.xml"), status=301)
    bot = await started(
        tmp_path,
        fake,
        monkeypatch,
        [("Tech", feeds.url("/tech.xml"))],
        allow_hosts=("127.0.0.2",),
        summaries=False,
    )
    try:
        await bot.polls_done("Tech", 3)
        state = bot.core.store.source_state("Tech")
    finally:
        await bot.stop()
    assert state["last_items"] == 1  # the other host's feed was read
    assert state["url"] is None  # but the configured URL stays the source's URL
    assert feeds.count("/tech.xml") >= 3  # every poll starts from it


async def test_an_https_source_redirected_to_http_is_refused_and_not_saved(
    tmp_path, fake, feeds, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS_CERT))  # trust the test certificate
    plain = Feed(feeds, "/tech.xml")
    with FeedServer(tls=True) as secure:
        secure.add("/tech.xml", rss([]))
        # 127.0.0.1 allowed, so only the downgrade rule can refuse the plain-HTTP hop
        bot = await started(
            tmp_path,
            fake,
            monkeypatch,
            [("Tech", secure.url("/tech.xml"))],
            allow_hosts=("127.0.0.1",),
        )
        try:
            secure.redirect("/tech.xml", plain.url, status=301)
            state = await wait_state(bot, "Tech", lambda s: s.get("failures", 0) >= 1)
        finally:
            await bot.stop()
    assert "from https to http" in state["last_error"]
    assert state["url"] is None
    assert feeds.count("/tech.xml") == 0


async def test_check_shows_a_refused_fetch_with_its_reason(
    tmp_path, fake, feeds, internal, capsys
):
    ok = Feed(feeds, "/ok.xml", [Item("A fine story", feeds.url("/a"))])
    feeds.redirect("/bad.xml", internal.url("/feed.xml"), status=302)
    settings = load_settings(
        config(tmp_path, fake, [("Fine", ok.url), ("Bad", feeds.url("/bad.xml"))]),
        environ={},
    )
    assert await check(settings, as_json=False) == 0
    out = capsys.readouterr().out
    [bad] = [line for line in out.splitlines() if line.startswith("Bad:")]
    assert bad.startswith("Bad: refused,")
    assert f"redirect to {internal.url('/feed.xml')}" in bad
    assert "127.0.0.2 is a loopback address" in bad and "allow_hosts" in bad
    assert [line for line in out.splitlines() if line.startswith("Fine: ok,")]
    assert internal.connections == 0
