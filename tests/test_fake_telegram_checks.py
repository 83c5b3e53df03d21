"""The fake holds every call to the Bot API reference: a mismatch is answered 400 like
Telegram, recorded, and fails the test that made it; without the reference it is unchecked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import telegram
from telegram.error import BadRequest

from tests.fakes.botapi_schema import REFERENCE_ENV, BotApiSchema
from tests.fakes.telegram import FakeTelegram

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = BotApiSchema.load()
needs_reference = pytest.mark.skipif(REFERENCE is None, reason="../shared/telegram is absent")
USER = 1001


def post(fake: FakeTelegram, method: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{fake.url}/{method}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@needs_reference
async def test_a_mismatch_is_answered_400_and_recorded(fake: FakeTelegram) -> None:
    assert fake.checks_calls
    fake.add_chat(USER)
    async with telegram.Bot(fake.token, base_url=fake.base_url) as bot:
        with pytest.raises(BadRequest, match="Message is too long"):  # Telegram's own text
            await bot.send_message(USER, "x" * 4097)
        with pytest.raises(BadRequest, match="unknown parameter 'colour'"):
            await bot.send_message(USER, "hi", api_kwargs={"colour": "red"})
    [too_long, colour] = fake.take_violations()
    assert too_long.method == "sendMessage" and too_long.params["text"] == "x" * 4097
    assert too_long.problems == [
        "sendMessage.text: 4097 characters, the reference allows 1-4096 characters after "
        "entities parsing"
    ]
    assert str(colour) == "sendMessage: sendMessage: unknown parameter 'colour'"
    assert fake.sent == [] and fake.count(400) == 2
    assert fake.take_violations() == []


@needs_reference
def test_methods_the_fake_lacks_or_the_reference_lacks(fake: FakeTelegram) -> None:
    status, body = post(fake, "sendDice", {"chat_id": USER})
    assert status == 400 and "not in the fake" in body["description"]
    status, body = post(fake, "sendSmoke", {})
    assert (status, body["description"]) == (404, "Not Found")
    fake.expect_violations(
        "sendDice is in the Bot API but not in the fake", "unknown method 'sendSmoke'"
    )


@needs_reference
def test_the_fakes_own_answers_are_checked(fake: FakeTelegram) -> None:
    chat = {"id": USER, "type": "private", "first_name": "Ann"}
    fake.push_update({"message": {"message_id": 1, "chat": chat, "text": "no date"}})
    status, body = post(fake, "getUpdates", {"timeout": 0})
    assert status == 200 and body["result"][0]["message"]["text"] == "no date"
    fake.expect_violations(
        "the fake's own answer: getUpdates result[0].message: missing required 'date'"
    )


def test_unchecked_on_request(fake: FakeTelegram) -> None:
    with FakeTelegram(check_calls=False) as unchecked:
        unchecked.add_chat(USER)
        status, body = post(unchecked, "sendMessage", {"chat_id": USER, "text": "x", "colour": 1})
        assert status == 200 and body["result"]["text"] == "x"
        assert not unchecked.checks_calls and unchecked.take_violations() == []


INNER = """
    import json, urllib.request

    def test_a_wrong_call(fake):
        fake.add_chat(1)
        body = json.dumps({"chat_id": 1, "text": "hi", "colour": "red"}).encode()
        request = urllib.request.Request(
            fake.url + "/sendMessage", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as err:
            assert err.code == 400
        else:
            assert not fake.checks_calls  # answered 200: unchecked
"""


def run_inner(tmp_path: Path, shared: Path | str) -> subprocess.CompletedProcess[str]:
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(textwrap.dedent(INNER), encoding="utf-8")
    env = {**os.environ, REFERENCE_ENV: str(shared), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.conftest",
            "-p",
            "no:cacheprovider",
            str(test_file),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_reference
def test_a_wrong_call_fails_the_test_that_made_it(tmp_path: Path) -> None:
    from tests.fakes.botapi_schema import reference_path

    shared = reference_path().parents[1]
    result = run_inner(tmp_path, shared)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Bot API calls that do not match the Bot API reference" in result.stdout
    assert "sendMessage: unknown parameter 'colour'" in result.stdout


def test_without_the_reference_the_fake_runs_unchecked(tmp_path: Path) -> None:
    result = run_inner(tmp_path, tmp_path / "no-shared-here")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
