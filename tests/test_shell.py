"""bot.shell in-process: the HTML renderer, the in-process Bot API, the demo source, where the
store goes, and one whole session fed from a byte stream."""

from __future__ import annotations

import asyncio
import io

import httpx
import pytest

from bot.matching import parse_query
from bot.shell.api import BOT_ID, Person, ShellApi
from bot.shell.cli import choose_store, config_settings, demo_settings
from bot.shell.demo import DEMO_URL, DemoFeed
from bot.shell.render import PLAIN, HtmlError, Terminal, render, visible
from bot.sources.netguard import AddressRefused
from bot.store import Store

# ---------------------------------------------------------------------------- render


def test_bold_links_quotes_and_entities_are_made_visible():
    text = (
        '<a href="https://x.example/a?b=1&amp;c=2"><b>Nexperia</b> Halts Supply</a>\n'
        "<i>CX Tech</i> · AT&amp;T &lt;3 &#21326;\n<blockquote>quoted</blockquote>"
    )
    assert render(text, PLAIN) == (
        "**Nexperia** Halts Supply <https://x.example/a?b=1&c=2>\n"
        "_CX Tech_ · AT&T <3 华\n│ quoted"
    )
    assert visible(text) == "Nexperia Halts Supply\nCX Tech · AT&T <3 华\n│ quoted"


@pytest.mark.parametrize(
    "bad",
    ["a <div>b</div>", "AT&T", "x < y", "<b>open", "<b><i>x</b></i>", "</b>", "&nbsp;",
     '<span class="x">s</span>'],
)
def test_what_telegram_refuses_is_refused(bad):
    with pytest.raises(HtmlError):
        render(bad)


# ---------------------------------------------------------------------------- the API


def api(group: bool = False) -> tuple[ShellApi, io.StringIO]:
    out = io.StringIO()
    return ShellApi(Person(group=group), Terminal(out, style=PLAIN)), out


async def call(shell: ShellApi, method: str, **params) -> tuple[int, dict]:
    return await shell.call(method, params)


async def test_messages_are_printed_with_numbered_buttons_and_edits():
    shell, out = api()
    markup = {"inline_keyboard": [[{"text": "Unfollow eVTOL", "callback_data": "u:1"}],
                                  [{"text": "Site", "url": "https://x.example"}]]}
    status, body = await call(shell, "sendMessage", chat_id=shell.person.chat_id,
                              text="<b>Hi</b>", parse_mode="HTML", reply_markup=markup)
    assert status == 200 and body["result"]["from"]["id"] == BOT_ID
    message_id = body["result"]["message_id"]
    status, _ = await call(shell, "editMessageText", chat_id=shell.person.chat_id,
                           message_id=message_id, text="Bye")
    assert status == 200
    assert out.getvalue() == (
        "bot: **Hi**\n     [1] Unfollow eVTOL  [2] Site <https://x.example>\n"
        "bot (edited): Bye\n"
    )


async def test_a_document_the_bot_sends_is_shown_with_its_first_lines():
    """/export's OPML file: its name, its size and its opening lines under the caption (the
    shell answered sendDocument 400, and /export ended in "something went wrong")."""
    shell, out = api()
    body = "\n".join(f"line {n}" for n in range(20)).encode()
    status, answer = await shell.call("sendDocument", {"chat_id": shell.person.chat_id,
                                                       "caption": "2 source(s)"},
                                      {"document": ("newsbot-sources.opml", body, "text/xml")})
    assert status == 200 and answer["result"]["document"]["file_name"] == "newsbot-sources.opml"
    text = out.getvalue()
    assert "2 source(s)" in text and "newsbot-sources.opml (" in text and "line 11" in text
    assert "line 12" not in text and "8 more lines" in text
    status, _ = await shell.call("sendDocument", {"chat_id": shell.person.chat_id})
    assert status == 400


async def test_errors_are_telegrams():
    shell, _ = api()
    chat = shell.person.chat_id
    cases = [
        ({"chat_id": 999, "text": "x"}, "Bad Request: chat not found"),
        ({"chat_id": chat, "text": "a & b", "parse_mode": "HTML"},
         "Bad Request: can't parse entities"),
        ({"chat_id": chat, "text": "x" * 4097}, "Bad Request: message is too long"),
        ({"chat_id": chat, "text": " "}, "Bad Request: message text is empty"),
    ]
    for params, description in cases:
        status, body = await shell.call("sendMessage", params)
        assert status == 400 and body["description"].startswith(description)
    status, body = await call(shell, "editMessageText", chat_id=chat, message_id=77, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    status, body = await call(shell, "answerCallbackQuery", callback_query_id="nope")
    assert status == 400 and "query is too old" in body["description"]
    status, body = await call(shell, "sendSticker", chat_id=chat)
    assert status == 400


async def test_typing_becomes_updates_and_a_press_answers_once():
    shell, out = api()
    shell.say("/follow@newsbot_shell_bot eVTOL")
    shell.say("hello /start")
    _, body = await call(shell, "getUpdates", offset=0, timeout=0)
    first, second = body["result"]
    assert first["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    assert "entities" not in second["message"]
    with pytest.raises(LookupError):
        shell.press(1)
    markup = {"inline_keyboard": [[{"text": "Mute 1 day", "callback_data": "m"}]]}
    await call(shell, "sendMessage", chat_id=shell.person.chat_id, text="x", reply_markup=markup)
    assert shell.press(1) == "[presses 1: Mute 1 day]"
    with pytest.raises(LookupError):
        shell.press(2)
    _, body = await call(shell, "getUpdates", offset=second["update_id"] + 1, timeout=0)
    [press] = body["result"]
    query = press["callback_query"]
    assert query["data"] == "m" and query["message"]["reply_markup"] == markup
    status, _ = await call(shell, "answerCallbackQuery", callback_query_id=query["id"],
                           text="Muted for a day.")
    assert status == 200
    status, _ = await call(shell, "answerCallbackQuery", callback_query_id=query["id"])
    assert status == 400
    assert out.getvalue().endswith("bot (toast): Muted for a day.\n")


async def test_a_long_poll_wakes_when_the_person_types():
    shell, _ = api()
    waiting = asyncio.create_task(call(shell, "getUpdates", offset=0, timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    shell.say("/list")
    _, body = await asyncio.wait_for(waiting, 1)
    assert [u["message"]["text"] for u in body["result"]] == ["/list"]
    assert shell.waiting == 0


async def test_in_a_group_the_person_is_its_administrator():
    shell, _ = api(group=True)
    chat, user = shell.person.chat_id, shell.person.user_id
    assert chat < 0
    _, body = await call(shell, "getChatMember", chat_id=chat, user_id=user)
    assert body["result"]["status"] == "creator"
    _, body = await call(shell, "getChatAdministrators", chat_id=chat)
    assert [m["user"]["id"] for m in body["result"]] == [user]


# ---------------------------------------------------------------------------- the demo


def test_the_demo_feed_shows_the_baseline_then_one_more_per_poll():
    demo = DemoFeed.load()
    titles = " ".join(item.title + " " + item.summary for item in demo.items)
    for keyword in ("Nexperia", "eVTOL", "华为"):  # the README's examples all get alerts
        assert keyword in titles
    client = httpx.Client(transport=demo.transport())
    sizes = [len(client.get(DEMO_URL).json()["items"]) for _ in range(3)]
    assert sizes == [demo.baseline, demo.baseline + 1, demo.baseline + 2]
    assert client.get(DEMO_URL.replace("cx-tech", "other")).status_code == 404
    with pytest.raises(AddressRefused, match="loopback"):  # refused as the bot refuses it
        client.get("http://localhost/feed")
    with pytest.raises(AddressRefused, match="private"):
        client.get("http://10.0.0.1/feed")
    with pytest.raises(httpx.ConnectError, match="no network"):  # not "HTTP 404"
        client.get("https://technode.com/feed/")
    newest = client.get(DEMO_URL).json()["items"][0]
    assert newest["title"] == demo.items[demo.baseline + 2].title
    nexperia = parse_query("Nexperia")
    first_alert = demo.items[demo.baseline]
    assert nexperia.find(first_alert.title)  # /follow Nexperia: an alert at the first new poll
    assert demo.could_match(nexperia)
    assert not demo.could_match(parse_query("Facial Recognition"))  # in the baseline only


# ---------------------------------------------------------------------------- the store


def test_the_demo_and_a_config_without_a_store_write_to_the_temporary_directory(tmp_path):
    settings = demo_settings(5, tmp_path / "store", 1)
    assert settings.sources[0].url == DEMO_URL and not settings.metrics.enabled
    config = tmp_path / "c.toml"
    config.write_text('[telegram]\nwebhook_url = "https://x.example/h"\nwebhook_secret = "s"\n')
    settings = config_settings(str(config), 1)
    assert settings.telegram.webhook_url is None and settings.token != "s"
    assert choose_store(settings, tmp_path, {1}) == (tmp_path / "store", None)


def test_a_store_of_other_chats_is_copied_not_used(tmp_path):
    named = tmp_path / "real"
    with Store.open(named) as store:
        store.upsert_chat(42, kind="private")
        store.add_subscription(42, "eVTOL")
    config = tmp_path / "c.toml"
    config.write_text(f'[storage]\npath = "{named}"\n')
    settings = config_settings(str(config), 1)
    path, note = choose_store(settings, tmp_path / "tmp", {1})
    assert path == tmp_path / "tmp" / "store" and "1 other chat" in (note or "")
    with Store.open(path) as copy:
        assert copy.subscriptions(42) == ["eVTOL"]
    own = tmp_path / "own"
    with Store.open(own) as store:
        store.upsert_chat(1, kind="private")
    config.write_text(f'[storage]\npath = "{own}"\n')
    assert choose_store(config_settings(str(config), 1), tmp_path / "t2", {1})[0] == own


# ---------------------------------------------------------------------------- a session


async def test_a_whole_session_from_a_stream(tmp_path):
    """The real application, fed ``/follow Nexperia`` then end of input: the reply, then the
    alert of the first new demo headline, then the end."""
    from bot.app import build_application
    from bot.core import core_of
    from bot.shell.api import ShellRequest
    from bot.shell.session import Session
    from bot.sources.fetch import Fetcher

    out = io.StringIO()
    shell = ShellApi(Person(), Terminal(out, style=PLAIN))
    settings = demo_settings(1, tmp_path / "store", shell.person.user_id)
    store = Store.open(settings.storage.path)
    requests = (ShellRequest(shell), ShellRequest(shell))
    application = build_application(settings, store, requests=requests)
    demo = DemoFeed.load()
    core_of(application).fetcher = Fetcher(settings.polling, transport=demo.transport())
    session = Session(application, settings, shell, store, shell.terminal, demo=demo, wait=20)
    stream = io.BytesIO("/follow Nexperia\n/latest 华为\n".encode())
    assert await asyncio.wait_for(session.run(stream), 30) == 0
    text = out.getvalue()
    assert text.startswith("you: /follow Nexperia\nbot: ✅ Following **Nexperia**.")
    assert "you: /latest 华为\n" in text
    alert = text[text.index("bot: **Nexperia** Halts Wafer Supply") :]
    assert "[1] Unfollow Nexperia  [2] Mute 1 day" in alert
    assert store.subscriptions(shell.person.user_id) == ["Nexperia"]
