"""A strict, local fake of the Telegram Bot API server for end-to-end tests.

The real python-telegram-bot ``Bot`` / ``Application`` is pointed at it with
``base_url=fake.base_url``.  The server runs in a background thread with its own event
loop, bound to 127.0.0.1 on an ephemeral port.  It answers like Telegram does (same JSON
envelope, HTTP status = error_code, same error texts), and it is stricter than a mock:
unknown chats, blocked users, kicked bots, migrated groups, bad HTML, over-long text and
flood limits all fail the way Telegram fails.  Every call is also checked against the Bot API
reference (``../shared/telegram/bot-api.json``, see ``tests/fakes/botapi_schema.py``) when it
is present: a call it does not define is answered 400 and recorded in ``fake.violations``,
and the suite's fixture fails the test that made it.

Typical use::

    with FakeTelegram() as fake:
        fake.push_message(42, "/start")
        ...  # run the Application with .base_url(fake.base_url).token(fake.token)
        ...  # (and .base_file_url(fake.base_file_url) to download files)
        [reply] = fake.wait_for_messages(42)

The world: ``add_chat``, ``add_user``, ``add_channel`` (title, @username, creator,
administrators, whether the bot may post), ``set_admins``, ``set_member``, ``block``,
``kick``, ``migrate``.  Updates: ``push_message``, ``push_document`` (a file:
``Message.document``, then getFile and its download URL), ``push_edit``, ``push_forward``
(from a channel), ``push_channel_post``, ``push_callback``, ``push_inline_query`` (with
``inline_mode=True``), ``push_chosen_inline_result``, ``set_bot_status`` and its shortcuts
(``add_bot_as_admin``, ``remove_bot``, ``kick_bot``, ``user_blocks_bot``...) for
``my_chat_member``, ``push_update`` for anything else.  Observations: ``sent``/``messages()``,
``posts()``, ``edits``, ``callback_answers``, ``inline_answers``, ``documents`` (what
sendDocument uploaded, bytes included), ``downloads``, ``errors``, ``calls``,
``violations``, ``wait_for_messages[_async]``, ``wait_for_inline_answer[_async]``.

All public methods are thread-safe.
"""

from tests.fakes.telegram.entities import (
    EntityParseError,
    parse_html,
    parse_markdown_v2,
    utf16_len,
    visible_text,
)
from tests.fakes.telegram.records import ApiError, InlineAnswer, SentMessage, Violation
from tests.fakes.telegram.server import FakeTelegram, created_since, creation_mark

__all__ = [
    "ApiError",
    "EntityParseError",
    "FakeTelegram",
    "InlineAnswer",
    "SentMessage",
    "Violation",
    "created_since",
    "creation_mark",
    "parse_html",
    "parse_markdown_v2",
    "utf16_len",
    "visible_text",
]
