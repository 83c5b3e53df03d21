"""``python -m bot shell`` as a person uses it: a child process driven through its standard
input, read from its standard output."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Feed, Item

ROOT = Path(__file__).resolve().parents[2]
NOISE = ("Traceback", "ERROR", "WARNING", "Task was destroyed", "Unclosed", "Exception ignored")

pytestmark = pytest.mark.slow


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEWSBOT_CONFIG", "NO_COLOR")}
    env["TELEGRAM_BOT_TOKEN"] = "123456:MUST-NOT-BE-USED"  # the shell never reads it
    return env


def shell(*args: str, input_text: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=environment(), input=input_text,
        capture_output=True, text=True, timeout=timeout,
    )


class Conversation:
    """The shell with a pipe on each side, typed into line by line."""

    def __init__(self, *args: str, cwd: Path = ROOT) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", *args], cwd=cwd, env=environment(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def expect(self, needle: str, timeout: float = 30) -> str:
        """The next line containing ``needle`` (lines before it are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {needle!r} after {self.seen[-20:]}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(line)
            if needle in line:
                return line

    def end(self, timeout: float = 30) -> tuple[int, str]:
        assert self.process.stdin is not None
        self.process.stdin.close()  # Ctrl-D
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
        assert self.process.stderr is not None
        return code, self.process.stderr.read()


def test_a_scripted_follow_shows_the_alert_then_ends():
    """``printf '/follow Nexperia\\n' | newsbot shell --every 1``"""
    started = time.monotonic()
    result = shell("shell", "--every", "1", input_text="/follow Nexperia\n")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    lines = result.stdout.splitlines()
    assert lines[0] == "you: /follow Nexperia"
    assert lines[1].startswith("bot: ✅ Following **Nexperia**.")
    alert = lines.index(
        "bot: **Nexperia** Halts Wafer Supply to Chinese Unit Amid Deepening Spat "
        "<https://www.caixinglobal.com/tech/?story=4>"
    )
    assert "     [1] Unfollow Nexperia  [2] Mute 1 day" in lines[alert:]
    for noise in NOISE:
        assert noise not in result.stderr


def test_follow_alert_button_latest_and_end_of_input():
    talk = Conversation("shell", "--every", "1", "--wait", "0")
    talk.type("/follow Nexperia")
    talk.expect("you: /follow Nexperia")
    assert "Following **Nexperia**" in talk.expect("bot: ")
    talk.expect("bot: **Nexperia** Halts Wafer Supply")
    talk.expect("[1] Unfollow Nexperia  [2] Mute 1 day")
    talk.type(":1")
    talk.expect("-- [presses 1: Unfollow Nexperia]")
    assert talk.expect("bot (toast): ") == "bot (toast): Stopped following Nexperia."
    talk.type("/latest Nexperia")
    talk.expect("you: /latest Nexperia")
    assert talk.expect("bot: ") == "bot: **Latest on Nexperia**"
    talk.expect("1. Nexperia Halts Wafer Supply to Chinese Unit Amid Deepening Spat <https://")
    talk.type("/list")
    talk.expect("you: /list")
    assert talk.expect("bot: ").startswith("bot: This chat follows no keywords yet.")
    talk.type("/settings")
    talk.expect("Keywords: 0")
    code, stderr = talk.end()
    assert code == 0, stderr
    for noise in NOISE:
        assert noise not in stderr


def test_in_a_group_the_person_administers_it_and_both_languages_work():
    result = shell(
        "shell", "--chat", "group", "--wait", "0",
        input_text="/follow@newsbot_shell_bot eVTOL\n/language zh\n/settings\n/help\n",
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Following **eVTOL**" in out  # an administrator may change the group
    assert "语言已切换为简体中文" in out and "本聊天的设置" in out
    assert "/follow" in out.split("you: /help", 1)[1]


def test_with_a_config_it_polls_that_configs_sources_and_keeps_its_store(tmp_path, feeds):
    feed = Feed(feeds, "/tech.xml", [Item("Old story", "https://example.com/old")])
    store = tmp_path / "data"
    config = tmp_path / "config.toml"
    config.write_text(
        "[polling]\ninterval_seconds = 1\n"
        f'[storage]\npath = "{store}"\n'
        f'[[sources]]\nname = "Tech"\nurl = "{feed.url}"\nfetch_summaries = false\n'
        "interval_seconds = 1\n"
    )
    talk = Conversation("--config", str(config), "shell", "--wait", "0")
    talk.type("/follow eVTOL")
    talk.expect("Following **eVTOL**")
    deadline = time.monotonic() + 20
    while feeds.count("/tech.xml") < 1:  # the first poll records what is there
        assert time.monotonic() < deadline
        time.sleep(0.05)
    feed.add(Item("Investors Flock to Chinese eVTOLs", "https://example.com/evtol"))
    talk.expect("bot: Investors Flock to Chinese **eVTOLs** <https://example.com/evtol>")
    code, stderr = talk.end()
    assert code == 0, stderr
    assert (store / "newsbot.json").exists()  # the config named a store: it was used


def test_ctrl_c_while_waiting_for_input_ends_cleanly():
    talk = Conversation("shell", "--every", "1")
    talk.type("/follow eVTOL")
    talk.expect("Following **eVTOL**")
    talk.process.send_signal(signal.SIGINT)
    code = talk.process.wait(timeout=30)
    assert talk.process.stderr is not None
    stderr = talk.process.stderr.read()
    assert code == 0, stderr
    assert "Fatal Python error" not in stderr  # a reader thread holding stdin's lock at exit
    for noise in NOISE:
        assert noise not in stderr


def test_a_long_script_is_answered_line_by_line():
    """The bot's command budget (10 at once, then 1 a second) would drop most of a script fed
    at machine speed: the shell's budget is one person's, and every line is answered."""
    result = shell("shell", "--wait", "0", input_text="/settings\n" * 15)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("bot: **Settings of this chat**") == 15
