"""The command line as a person runs it: ``python -m bot`` in a child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Feed, Item, write_config
from tests.fakes.telegram import visible_text

ROOT = Path(__file__).resolve().parents[2]
USER = 4242

pytestmark = pytest.mark.slow


def spawn(config: Path, token: str | None, *args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("TELEGRAM_BOT_TOKEN", "NEWSBOT_CONFIG")}
    if token:
        env["TELEGRAM_BOT_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(
    config: Path, token: str | None, *args: str, timeout: float = 60
) -> subprocess.CompletedProcess:
    process = spawn(config, token, *args)
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def say(fake, chat_id: int, text: str, timeout: float = 20) -> str:
    before = len(fake.messages(chat_id))
    fake.push_message(chat_id, text)
    return visible_text(fake.wait_for_messages(chat_id, before + 1, timeout=timeout)[before].text)


def wait_for_text(fake, chat_id: int, needle: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in fake.messages(chat_id):
            if needle in visible_text(message.text):
                return visible_text(message.text)
        time.sleep(0.05)
    raise AssertionError(f"no message with {needle!r}: {[m.text for m in fake.messages(chat_id)]}")


def wait_for_requests(feeds, path: str, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while feeds.count(path) < count:
        assert time.monotonic() < deadline, f"{path} was fetched {feeds.count(path)} times"
        time.sleep(0.05)


def test_missing_token_exits_naming_the_variable(tmp_path, fake):
    config = write_config(tmp_path, fake, [])
    result = run(config, None)
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr


def test_invalid_config_exits_naming_the_key(tmp_path, fake):
    config = tmp_path / "bad.toml"
    config.write_text("[polling]\ninterval_seconds = 0\n")
    result = run(config, fake.token)
    assert result.returncode != 0
    assert "polling.interval_seconds" in result.stderr


def test_check_prints_json_lines_without_a_token_or_state(tmp_path, fake, feeds):
    feed = Feed(feeds, "/c.xml", [Item("AT&T Deal <Approved>", "https://example.com/att")])
    config = write_config(tmp_path, fake, [("C", feed.url)])
    result = run(config, None, "check", "--json")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    record = json.loads(line)
    assert set(record) >= {"source", "id", "title", "link", "published", "summary"}
    assert record["title"] == "AT&T Deal <Approved>"
    assert record["source"] == "C"
    assert not (tmp_path / "data").exists()  # no state written
    assert fake.calls == []  # no Telegram traffic


def test_sigterm_stops_cleanly_and_kill_9_loses_no_confirmed_follow(tmp_path, fake, feeds):
    feed = Feed(feeds, "/k.xml")
    config = write_config(tmp_path, fake, [("K", feed.url)])
    token = fake.token

    bot = spawn(config, token)
    try:
        assert "Following eVTOL" in say(fake, USER, "/follow eVTOL")
        wait_for_requests(feeds, "/k.xml", 2)  # the first poll is recorded
        bot.send_signal(signal.SIGTERM)
        out, err = bot.communicate(timeout=30)
        assert bot.returncode == 0, err
        assert token not in err and token not in out
    finally:
        if bot.poll() is None:
            bot.kill()

    bot = spawn(config, token)
    try:
        assert "Following Nexperia" in say(fake, USER, "/follow Nexperia")
        bot.send_signal(signal.SIGKILL)  # the instant after the confirmation
        bot.wait(timeout=10)
    finally:
        if bot.poll() is None:
            bot.kill()

    bot = spawn(config, token)
    try:
        # If the killed process had not yet confirmed its last update, Telegram hands it over
        # again and the bot answers "already follow": wait for the /list answer itself.
        fake.push_message(USER, "/list")
        listing = wait_for_text(fake, USER, "keyword(s):")
        assert "eVTOL" in listing and "Nexperia" in listing
        feed.add(Item("Nexperia China Chip Supplies to Soon Resume", "https://example.com/n1"))
        wait_for_text(fake, USER, "Supplies to Soon Resume")
        bot.send_signal(signal.SIGTERM)
        bot.communicate(timeout=30)
        assert bot.returncode == 0
    finally:
        if bot.poll() is None:
            bot.kill()


def test_second_process_on_the_same_store_refuses_to_start(tmp_path, fake, feeds):
    config = write_config(tmp_path, fake, [])
    first = spawn(config, fake.token)
    try:
        say(fake, USER, "/start")  # the first one is up and holds the store
        second = run(config, fake.token, timeout=30)
        assert second.returncode != 0
        assert "another newsbot process" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)


def test_check_reports_each_source_status_new_items_and_errors(tmp_path, fake, feeds):
    feed = Feed(feeds, "/ok.xml", [Item("Unitree Steps Closer to IPO", "https://e.com/u")])
    feeds.add("/down.xml", status=500)
    config = write_config(tmp_path, fake, [("Ok", feed.url), ("Down", feeds.url("/down.xml"))])
    result = run(config, None, "check")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    ok = next(line for line in lines if line.startswith("Ok:"))
    assert "ok, HTTP 200, 1 items, 1 new, next poll" in ok
    assert "(every 1s: " in ok  # how often the bot polls it, and why
    assert "Unitree Steps Closer to IPO" in result.stdout
    down = next(line for line in lines if line.startswith("Down:"))
    assert "error, HTTP 500" in down and "error:" in down


def test_telegram_unreachable_at_start_keeps_trying_until_stopped(tmp_path, fake):
    import socket

    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = write_config(tmp_path, fake, [])
    config.write_text(
        config.read_text().replace(fake.base_url, f"http://127.0.0.1:{port}/bot"), "utf-8"
    )
    bot = spawn(config, fake.token)
    try:
        time.sleep(3)
        assert bot.poll() is None, bot.communicate()[1]  # still trying, not exited
        bot.send_signal(signal.SIGTERM)
        _, err = bot.communicate(timeout=30)
        assert fake.token not in err
    finally:
        if bot.poll() is None:
            bot.kill()
