"""bot.startup: why the Bot API cannot be reached, how often that is said, and a stop or a
refused token at start-up that leaves nothing running."""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import pytest
from telegram import Bot
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.config import Settings
from bot.startup import (
    EXIT_TOKEN,
    Reachability,
    api_location,
    describe_network_error,
    serve,
)
from bot.store import Store
from tests.fakes.telegram import FakeTelegram


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def get_me_error(base_url: str, timeout: float = 5.0) -> NetworkError:
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout)
    bot = Bot("123:abc", base_url=base_url, request=request)
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.get_me()
    finally:
        await bot.shutdown()
    return caught.value


async def test_reasons_name_what_failed():
    refused = await get_me_error(f"http://127.0.0.1:{closed_port()}/bot")
    assert describe_network_error(refused) == "connection refused"
    dns = await get_me_error("https://no-such-host.invalid/bot")
    assert describe_network_error(dns).startswith("DNS failure (")
    with FakeTelegram() as fake:  # a plain-HTTP server asked for TLS
        tls = await get_me_error(fake.base_url.replace("http://", "https://"))
    assert describe_network_error(tls).startswith("TLS error (")
    with socket.socket() as silent:  # accepts, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        slow = await get_me_error(f"http://127.0.0.1:{port}/bot", timeout=0.3)
    assert describe_network_error(slow) == "timed out waiting for an answer"


def test_the_location_shown_keeps_no_credentials():
    assert api_location("https://user:pw@api.example.com:8443/bot") == (
        "https://api.example.com:8443/bot"
    )
    assert api_location("https://api.telegram.org/bot") == "https://api.telegram.org/bot"


def test_warnings_come_at_most_once_a_minute(caplog):
    now = [100.0]
    report = Reachability("https://api.telegram.org/bot", clock=lambda: now[0])
    caplog.set_level(logging.DEBUG, logger="bot.startup")
    for _ in range(5):  # 1, 2, 4, 8 s apart: all within the first minute
        report.failed("connection refused", 1)
        now[0] += 8
    now[0] = 161.0
    report.failed("DNS failure (Name or service not known)", 60)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "cannot reach the Telegram Bot API at https://api.telegram.org/bot: "
        "connection refused; retrying in 1 s",
        "still cannot reach the Telegram Bot API at https://api.telegram.org/bot "
        "(6 attempts in 61 s): DNS failure (Name or service not known); retrying in 60 s",
    ]
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 4


def settings_for(base_url: str, token: str, tmp_path: Path) -> Settings:
    return Settings(
        telegram={"token": token, "api_base_url": base_url},
        storage={"path": tmp_path / "data"},
        metrics={"enabled": False},
        sources=[],
    )


async def run_and_check(settings: Settings, stop_after: float | None) -> int:
    application = build_application(settings, Store.open(settings.storage.path))
    stop = asyncio.Event()
    if stop_after is not None:
        asyncio.get_running_loop().call_later(stop_after, stop.set)
    status = await serve(application, settings, stop=stop)
    pacer = application.bot.rate_limiter
    assert pacer._task is None  # the dispatcher was cancelled and awaited
    assert not application.bot._requests_initialized  # HTTP clients closed
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []
    return status


async def test_a_refused_token_returns_the_exit_status_and_leaves_nothing_running(tmp_path):
    with FakeTelegram() as fake:
        settings = settings_for(fake.base_url, "654321:WRONG", tmp_path)
        assert await run_and_check(settings, None) == EXIT_TOKEN


async def test_a_stop_while_the_api_is_unreachable_leaves_nothing_running(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot.startup")
    base = f"http://127.0.0.1:{closed_port()}/bot"
    assert await run_and_check(settings_for(base, "123:abc", tmp_path), 1.5) == 0
    [warning] = [r.getMessage() for r in caplog.records if r.name == "bot.startup"]
    assert warning.startswith(f"cannot reach the Telegram Bot API at {base}: connection refused")


async def test_a_stop_soon_after_start_leaves_nothing_running(tmp_path):
    with FakeTelegram() as fake:
        for delay in (0.0, 0.01, 0.05, 0.3):  # connecting, starting, running
            settings = settings_for(fake.base_url, fake.token, tmp_path / str(delay))
            assert await run_and_check(settings, delay) == 0
