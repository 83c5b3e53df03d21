"""Webhook mode: the real Application serving PTB's webhook on 127.0.0.1 (port 0), against
the fake Bot API.  Updates come in as Telegram sends them: a POST with the secret token in
``X-Telegram-Bot-Api-Secret-Token``."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import ALLOWED_UPDATES, webhook_options, webhook_port
from bot.config import ConfigError, load_settings
from tests.e2e.conftest import Bot, Feed, write_config
from tests.fakes.telegram import FakeTelegram, utf16_len

ROOT = Path(__file__).resolve().parents[2]
URL = "https://bot.example.test/tg/hook"
SECRET = "s3cret-Webhook_token"
USER = 5151
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_config(tmp_path: Path, fake: FakeTelegram, sources: list, *, port: int = 0) -> Path:
    path = write_config(tmp_path, fake, sources, extra="[metrics]\nport = 0\n")
    text = path.read_text().replace(
        "[telegram]\n",
        f'[telegram]\nwebhook_url = "{URL}"\nwebhook_listen = "127.0.0.1"\nwebhook_port = {port}\n',
        1,
    )
    path.write_text(text)
    return path


def message_update(fake: FakeTelegram, update_id: int, chat_id: int, text: str) -> dict:
    """A private-chat text message update, shaped like FakeTelegram.push_message's."""
    fake.add_chat(chat_id, "private", first_name="Test")  # so the fake accepts the reply
    command = text.split()[0]
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Test"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Test", "language_code": "en"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}],
        },
    }


def set_webhook_calls(fake: FakeTelegram) -> list[dict[str, Any]]:
    return [params for method, params in fake.calls if method.lower() == "setwebhook"]


# ---------------------------------------------------------------------- config


def test_webhook_url_needs_a_secret(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[telegram]\nwebhook_url = "{URL}"\n')
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_settings(path, environ={})
    settings = load_settings(path, environ={"TELEGRAM_WEBHOOK_SECRET": SECRET})
    assert settings.webhook_secret == SECRET
    assert SECRET not in repr(settings)
    path.write_text(f'[telegram]\nwebhook_url = "{URL}"\nwebhook_secret = "from-file"\n')
    assert load_settings(path, environ={}).webhook_secret == "from-file"


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ('webhook_url = "http://bot.example.test/hook"\nwebhook_secret = "ok"', "https"),
        ('webhook_url = "https://bot.example.test/hook?x=1"\nwebhook_secret = "ok"', "query"),
        ('webhook_secret = "has spaces"', "A-Z"),
        ("webhook_port = 70000", "less than or equal to 65535"),
    ],
)
def test_bad_webhook_settings_name_the_key(tmp_path, lines, problem):
    path = tmp_path / "c.toml"
    path.write_text(f"[telegram]\n{lines}\n")
    with pytest.raises(ConfigError, match=r"telegram\.webhook_") as caught:
        load_settings(path, environ={})
    assert problem in str(caught.value)


def test_webhook_options_are_run_webhooks_arguments(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(f'[telegram]\nwebhook_url = "{URL}"\nwebhook_secret = "{SECRET}"\n')
    options = webhook_options(load_settings(path, environ={}))
    assert options == {
        "listen": "0.0.0.0",
        "port": 8443,
        "url_path": "/tg/hook",
        "webhook_url": URL,
        "secret_token": SECRET,
        "allowed_updates": ALLOWED_UPDATES,
    }
    assert webhook_options(load_settings(None, environ={})) is None  # long polling


# ---------------------------------------------------------------------- in process


@pytest.fixture
async def hooked(tmp_path, fake, feeds, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    tech = Feed(feeds, "/tech.xml")
    bot = Bot(fake, load_settings(webhook_config(tmp_path, fake, [("Tech", tech.url)])))
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()


async def post(port: int, update: dict, secret: str | None) -> httpx.Response:
    headers = {HEADER: secret} if secret is not None else {}
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        return await client.post(f"http://127.0.0.1:{port}/tg/hook", json=update, headers=headers)


async def test_webhook_mode_end_to_end(hooked):
    bot, fake = hooked, hooked.fake
    [params] = set_webhook_calls(fake)
    assert params["url"] == URL
    assert params["secret_token"] == SECRET
    assert not [m for m, _ in fake.calls if m.lower() == "getupdates"]  # no long polling
    port = webhook_port(bot.application)
    assert port and port != 8443

    # the right secret: the update is handled and the bot answers through the Bot API
    response = await post(port, message_update(fake, 1, USER, "/follow eVTOL"), SECRET)
    assert response.status_code == 200
    [reply] = await bot.wait_messages(USER, 1)
    assert "eVTOL" in reply.text
    assert bot.core.store.subscriptions(USER) == ["eVTOL"]

    # a wrong or missing secret: refused, never handled
    for secret in ("wrong-secret", None):
        response = await post(port, message_update(fake, 2, USER, "/follow Nexperia"), secret)
        assert response.status_code == 403
    await asyncio.sleep(0.5)
    assert len(fake.messages(USER)) == 1
    assert bot.core.store.subscriptions(USER) == ["eVTOL"]

    # the health endpoint says which mode
    server = bot.core.metrics_server
    async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
        health = (await client.get(f"{server.url}/healthz")).json()
    assert health["mode"] == "webhook"

    # a clean stop closes the webhook server and the store
    await bot.stop()
    with pytest.raises(httpx.ConnectError):
        await post(port, message_update(fake, 3, USER, "/list"), SECRET)
    assert bot.application.updater.running is False
    assert not bot.application.running


# ---------------------------------------------------------------------- as a process


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_python_m_bot_runs_the_webhook_and_stops_on_sigterm(tmp_path, fake, feeds):
    port = free_port()
    config = webhook_config(tmp_path, fake, [], port=port)
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_CONFIG"}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_WEBHOOK_SECRET=SECRET)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--log-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.communicate()
            try:
                response = httpx.post(
                    f"http://127.0.0.1:{port}/tg/hook",
                    json=message_update(fake, 1, USER, "/start"),
                    headers={HEADER: SECRET},
                    trust_env=False,
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the webhook server never came up"
                time.sleep(0.1)
        assert response.status_code == 200
        fake.wait_for_messages(USER, 1, timeout=10)
        assert set_webhook_calls(fake)[0]["secret_token"] == SECRET
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "webhook: listening on 127.0.0.1" in err
    for secret in (fake.token, SECRET):
        assert secret not in out and secret not in err
