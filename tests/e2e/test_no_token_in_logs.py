"""The bot token (in every Bot API URL) and the webhook secret never reach the logs, even at
DEBUG, even inside exception tracebacks."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.__main__ import _FORMATTER, RedactToken
from tests.e2e.conftest import Feed, Item, write_config
from tests.fakes.telegram import visible_text

ROOT = Path(__file__).resolve().parents[2]
USER = 6060
TOKEN = "123456:TEST-TOKEN"  # FakeTelegram's default


def capture(*secrets: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_FORMATTER)
    handler.addFilter(RedactToken(*secrets))
    logger = logging.getLogger(f"test.redact.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def test_redacts_messages_arguments_tracebacks_and_stacks():
    logger, stream = capture(TOKEN, "hook-secret")
    logger.debug("Set Bot API URL: %s", f"https://api.telegram.org/bot{TOKEN}")
    logger.info("quoted: https://x/bot%s/getMe", quote(TOKEN, safe=""))
    logger.info("secret_token: %r", {"secret_token": "hook-secret"})
    try:
        try:
            raise ConnectionError(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage")
        except ConnectionError as exc:
            raise RuntimeError(f"The token `{TOKEN}` was rejected by the server.") from exc
    except RuntimeError:
        logger.exception("startup failed")
    logger.warning("here", stack_info=True)
    output = stream.getvalue()
    assert TOKEN not in output
    assert quote(TOKEN, safe="") not in output
    assert "hook-secret" not in output
    assert output.count("<token>") >= 5
    assert "Traceback" in output and "ConnectionError" in output  # the traceback is kept


def test_no_secrets_means_no_change():
    logger, stream = capture(None)  # type: ignore[arg-type]
    logger.info("plain %s", "text")
    assert stream.getvalue().endswith("plain text\n")


def spawn(config: Path, token: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "NEWSBOT_CONFIG"}
    env["TELEGRAM_BOT_TOKEN"] = token
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "--log-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_text(fake, chat_id: int, needle: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not any(needle in visible_text(m.text) for m in fake.messages(chat_id)):
        assert time.monotonic() < deadline, [m.text for m in fake.messages(chat_id)]
        time.sleep(0.05)


@pytest.mark.slow
def test_a_full_cycle_at_debug_never_logs_the_token(tmp_path, fake, feeds):
    assert fake.token == TOKEN
    feed = Feed(feeds, "/t.xml")
    config = write_config(tmp_path, fake, [("T", feed.url)], extra="[metrics]\nport = 0\n")
    process = spawn(config, fake.token)
    try:
        fake.push_message(USER, "/start")
        fake.push_message(USER, "/follow eVTOL")
        wait_for_text(fake, USER, "eVTOL")
        deadline = time.monotonic() + 20
        while feeds.count("/t.xml") < 2:  # the first poll only records
            assert time.monotonic() < deadline
            time.sleep(0.05)
        fake.force_errors(1, 429, retry_after=1, chat_id=USER)
        feed.add(Item("Investors Flock to Chinese eVTOLs", "https://example.com/evtol"))
        wait_for_text(fake, USER, "Investors Flock")
        assert fake.count(429) == 1
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    logs = out + err
    assert " DEBUG " in logs  # DEBUG was really on
    assert "polled T: 1 items, 1 new, 1 alerts queued" in logs  # one line per poll
    assert "delivery: 1 messages, 1 alerts to 1 chats" in logs  # one line per batch
    assert "flood control" in logs  # the 429 was logged
    assert "<token>" in logs  # PTB logged its API URL at DEBUG: redaction was exercised
    assert fake.token not in logs
    assert quote(fake.token, safe="") not in logs
    assert "TEST-TOKEN" not in logs


@pytest.mark.slow
def test_a_rejected_token_is_not_printed(tmp_path, fake):
    wrong = "654321:WRONG-token-xyz"  # the fake answers 401, PTB raises InvalidToken with it
    config = write_config(tmp_path, fake, [], extra="[metrics]\nenabled = false\n")
    process = spawn(config, wrong)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2, err  # one line saying so, no traceback: test_first_run
    assert "refused the bot token" in err and "<token>" in err  # DEBUG lines were redacted
    assert wrong not in out + err
    assert "WRONG-token" not in out + err
