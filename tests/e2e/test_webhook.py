"""Webhook mode: the real Application serving PTB's webhook on 127.0.0.1 (port 0), against
the fake Bot API.  Updates come in as Telegram sends them: a POST with the secret token in
``X-Telegram-Bot-Api-Secret-Token``."""

from __future__ import annotations

import asyncio
import hmac
import json
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
from tests.fakes.rawhttp import request_head, send_head
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
        "listen": "127.0.0.1",  # not every interface unless asked (the Docker image asks)
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


def json_head(length: int | None = None, secret: str | None = SECRET) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if length is not None:
        headers["Content-Length"] = str(length)
    if secret is not None:
        headers[HEADER] = secret
    return headers


async def test_a_wrong_secret_is_refused_before_the_body_is_read(hooked):
    # 100 MB announced and not one byte of it sent: a server reading the body first would
    # sit waiting for it; this one answers 403 from the headers and hangs up
    port = webhook_port(hooked.application)
    for secret in ("wrong-secret", None, SECRET + "x", SECRET[:-1], "", "sécret"):
        answer = await send_head(port, "POST", "/tg/hook", json_head(100_000_000, secret))
        assert answer.status == 403, secret
        assert answer.closed and answer.seconds < 1.0


async def test_bodies_over_a_megabyte_are_refused_even_with_the_secret(hooked):
    bot, fake = hooked, hooked.fake
    port = webhook_port(bot.application)
    answer = await send_head(port, "POST", "/tg/hook", json_head(1_000_001))
    assert answer.status == 413 and answer.closed and answer.seconds < 1.0
    # no Content-Length, a chunked body that keeps growing: cut off past the cap
    update = json.dumps(message_update(fake, 7, USER, "/follow Nexperia")).encode()
    padded = update[:-1] + b', "pad": "' + b"x" * 1_100_000 + b'"}'
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part)
        for part in (padded[i : i + 65536] for i in range(0, len(padded), 65536))
    )
    headers = json_head() | {"Transfer-Encoding": "chunked"}
    answer = await send_head(port, "POST", "/tg/hook", headers, body=chunks + b"0\r\n\r\n")
    assert answer.status in (400, 413) and answer.closed
    # other methods and paths: refused from the headers too
    assert (await send_head(port, "GET", "/tg/hook", json_head(10**8))).status == 405
    assert (await send_head(port, "POST", "/elsewhere", json_head(10**8))).status == 404
    # and a good update still works
    response = await post(port, message_update(fake, 8, USER, "/follow eVTOL"), SECRET)
    assert response.status_code == 200
    await bot.wait_messages(USER, 1)
    assert bot.core.store.subscriptions(USER) == ["eVTOL"]


async def test_the_secret_is_compared_in_constant_time(hooked, monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    port = webhook_port(hooked.application)
    answer = await send_head(port, "POST", "/tg/hook", json_head(10, "guess"))
    assert answer.status == 403
    assert compared == [(b"guess", SECRET.encode())]


async def test_garbage_with_the_secret_is_a_clear_400(hooked):
    port = webhook_port(hooked.application)
    for body in (b"{not json", b"[1, 2]", b'"text"', b'{"update_id": "x", "message": 5}'):
        answer = await send_head(port, "POST", "/tg/hook", json_head(len(body)), body=body)
        assert answer.status == 400, body
    response = await post(port, message_update(hooked.fake, 9, USER, "/list"), SECRET)
    assert response.status_code == 200  # the server is fine


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


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def blast(port: int, path: str, headers: dict[str, str], megabytes: int = 95) -> None:
    """POST ``megabytes`` of body as fast as the server takes it; however it ends."""
    mb = 1 << 20
    head = request_head("POST", path, headers | {"Content-Length": str(megabytes * mb)})
    chunk = b"x" * mb
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        try:
            sock.sendall(head)
            for _ in range(megabytes):
                sock.sendall(chunk)
            sock.recv(100)  # the answer, once the server has taken it all
        except OSError:  # the server hung up without reading: what it should do
            pass


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_huge_posts_do_not_grow_the_process(tmp_path, fake, feeds):
    # As measured on the old server: four 95 MB POSTs with a wrong secret, or to /metrics,
    # grew the process by 370-570 MB before the 403 or 405.
    port, metrics_port = free_port(), free_port()
    config = webhook_config(tmp_path, fake, [], port=port)
    config.write_text(
        config.read_text().replace("[metrics]\nport = 0", f"[metrics]\nport = {metrics_port}")
    )
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_CONFIG"}
    env.update(TELEGRAM_BOT_TOKEN=fake.token, TELEGRAM_WEBHOOK_SECRET=SECRET)
    log = (tmp_path / "stderr.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--log-level", "WARNING"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log,
    )
    hook = f"http://127.0.0.1:{port}/tg/hook"
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (tmp_path / "stderr.log").read_text()
            try:
                httpx.get(f"http://127.0.0.1:{metrics_port}/healthz", trust_env=False)
                response = httpx.post(
                    hook, json=message_update(fake, 1, USER, "/start"),
                    headers={HEADER: SECRET}, trust_env=False,
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the bot never came up"
                time.sleep(0.1)
        assert response.status_code == 200
        fake.wait_for_messages(USER, 1, timeout=10)
        before = peak_rss_mb(process.pid)
        json_type = {"Content-Type": "application/json"}
        for _ in range(4):
            blast(port, "/tg/hook", json_type | {HEADER: "wrong-secret"})
        blast(port, "/tg/hook", json_type | {HEADER: SECRET})  # the secret, but 95 MB
        blast(metrics_port, "/metrics", {"Content-Type": "text/plain"})
        grown = peak_rss_mb(process.pid) - before
        # still serving, and a good update still works
        response = httpx.post(
            hook, json=message_update(fake, 2, USER, "/help"), headers={HEADER: SECRET},
            trust_env=False,
        )
        assert response.status_code == 200
        fake.wait_for_messages(USER, 2, timeout=10)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    print(f"peak RSS grew by {grown:.1f} MB over six 95 MB POSTs")
    assert grown < 30, f"the process grew by {grown:.0f} MB"
    assert process.returncode == 0, (tmp_path / "stderr.log").read_text()
