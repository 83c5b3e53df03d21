"""Suite-wide test settings.

Under CI (``CI`` set, as ``.ci/run`` is run) hypothesis draws the same examples on every run,
so a landing never depends on the luck of the draw; on a developer's machine it keeps
exploring new examples (and ``.hypothesis/`` replays any failure it found).

Every fake Bot API a test creates checks each call against the Bot API reference
(``../shared/telegram/bot-api.json``, or ``$NEWSBOT_SHARED_DIR/telegram/bot-api.json``): a
call that does not match it fails the test that made it (see ``bot_api_calls_checked``).
"""

import contextlib
import os

import pytest
import telegram
from hypothesis import settings

from bot.store import Store
from tests.fakes.feedserver import FeedServer
from tests.fakes.telegram import FakeTelegram, created_since, creation_mark

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def bot_api_calls_checked():
    """Fail the test if a fake Bot API it created received a call the reference does not
    define (the fake answered it 400; ``fake.take_violations()`` takes expected ones)."""
    mark = creation_mark()
    yield
    found = [str(v) for fake in created_since(mark) for v in fake.take_violations()]
    if found:
        pytest.fail(
            "Bot API calls that do not match the Bot API reference:\n  " + "\n  ".join(found),
            pytrace=False,
        )


@pytest.fixture
def fake():
    """A strict fake Bot API server on 127.0.0.1 (tests/e2e has its own, with a bot name)."""
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def bot(fake):
    """A python-telegram-bot ``Bot`` talking to ``fake`` (its file downloads too)."""
    async with telegram.Bot(
        fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url
    ) as made:
        yield made


@pytest.fixture
def store(tmp_path):
    """A fresh store in the test's directory, closed after the test."""
    opened = Store.open(tmp_path / "store")
    yield opened
    with contextlib.suppress(Exception):
        opened.close()


@pytest.fixture
def internal():
    """The "internal" host on 127.0.0.2 (tests.fakes.feedserver): it records every
    connection and request, so a test can assert that nothing reached it."""
    with FeedServer.internal() as server:
        yield server
