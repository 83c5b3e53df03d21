"""A first run, as a new user meets it: ``python -m bot`` in a child process against the
tests' fake Bot API (or a closed loopback port), read from its stderr as it goes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import pytest

from tests.e2e.conftest import write_config

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-TOKEN"  # FakeTelegram's default
# What must never appear, however the process is stopped.
NOISE = ("Task was destroyed", "Unclosed", "unclosed", "Exception ignored", "Traceback")

pytestmark = pytest.mark.slow


class Child:
    """``python -m bot ...`` with its stderr collected line by line as it comes."""

    def __init__(self, *args: str, token: str | None = TOKEN) -> None:
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("TELEGRAM_BOT_TOKEN", "NEWSBOT_CONFIG")
        }
        if token:
            env["TELEGRAM_BOT_TOKEN"] = token
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def wait_for(self, needle: str, timeout: float = 20) -> float:
        """Seconds from the start until a stderr line contains ``needle``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in list(self.lines):
                if needle in line:
                    return at
            time.sleep(0.02)
        raise AssertionError(f"no {needle!r} in {self.text}")

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def finish(self, timeout: float = 30) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        self._reader.join(timeout=5)
        return code

    @property
    def text(self) -> str:
        return "\n".join(line for _, line in self.lines)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unreachable_config(tmp_path: Path) -> tuple[Path, str]:
    base = f"http://127.0.0.1:{closed_port()}/bot"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[telegram]\napi_base_url = "{base}"\n[storage]\npath = "{tmp_path / "data"}"\n'
        "[metrics]\nenabled = false\n"
    )
    return config, base


#: python-telegram-bot's own record when a stop lands while its last getUpdates (the one that
#: confirms fetched updates) waits for a connection: it suppresses the error by design and
#: logs it with a traceback. It is PTB's, not ours, so the noise check leaves that record out.
PTB_CLEANUP = "one more time to mark all fetched updates"


def ours(text: str) -> str:
    """``text`` without PTB_CLEANUP's record (its first line and its traceback lines)."""
    kept, skipping = [], False
    for line in text.splitlines():
        if re.match(r"\d{4}-\d\d-\d\d ", line):
            skipping = PTB_CLEANUP in line
        if not skipping:
            kept.append(line)
    return "\n".join(kept)


def assert_clean(child: Child) -> None:
    text = ours(child.text)
    for noise in NOISE:
        assert noise not in text, child.text
    assert TOKEN not in child.text


def test_an_unreachable_api_is_named_with_the_reason_then_retried_quietly(tmp_path):
    config, base = unreachable_config(tmp_path)
    child = Child("--config", str(config))
    at = child.wait_for("cannot reach the Telegram Bot API")
    assert at < 10
    time.sleep(4)  # retries after 1, 2, 4 s: logged at DEBUG only
    child.signal(signal.SIGTERM)
    assert child.finish() == 0
    warnings = [line for _, line in child.lines if " WARNING " in line]
    assert len(warnings) == 1, child.text
    assert f"at {base}: connection refused; retrying in 1 s" in warnings[0]
    assert_clean(child)


def test_a_refused_token_is_one_line_and_exit_status_2(tmp_path, fake):
    config = write_config(tmp_path, fake, [], extra="[metrics]\nenabled = false\n")
    child = Child("--config", str(config), token="654321:WRONG-token")  # the fake answers 401
    assert child.finish() == 2
    [line] = [line for _, line in child.lines if "TELEGRAM_BOT_TOKEN" in line]
    assert line.startswith("newsbot: Telegram refused the bot token")
    assert "@BotFather" in line
    assert_clean(child)
    assert "WRONG-token" not in child.text


@pytest.mark.parametrize(
    ("when", "signals"),
    [
        ("connecting", [signal.SIGINT]),  # the API unreachable: in the retry loop
        ("connected", [signal.SIGINT]),  # getMe answered: post_init, updater, start
        ("started", [signal.SIGTERM]),
        ("started", [signal.SIGTERM, signal.SIGINT, signal.SIGINT]),  # during the shutdown
    ],
)
def test_a_stop_at_any_moment_leaves_no_pending_task(tmp_path, fake, when, signals):
    if when == "connecting":
        config, _ = unreachable_config(tmp_path)
    else:
        config = write_config(tmp_path, fake, [])
    child = Child("--config", str(config))
    needle = {
        "connecting": "cannot reach",
        "connected": "connected to the Telegram Bot API",
        "started": "newsbot started",
    }[when]
    child.wait_for(needle)
    for sig in signals:
        child.signal(sig)
        time.sleep(0.05)
    assert child.finish() == 0
    child.wait_for("store closed")
    assert_clean(child)


def test_version_prints_the_package_version():
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--version"], cwd=ROOT, capture_output=True, text=True
    )
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert result.returncode == 0
    assert result.stdout.strip() == f"newsbot {pyproject['project']['version']}"
