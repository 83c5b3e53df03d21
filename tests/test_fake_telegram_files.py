"""The fake's files, proven against the real python-telegram-bot 22: a user's document,
getFile and the download URL, sendDocument (a multipart upload, or a known file_id)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
import telegram
from telegram.error import BadRequest

from tests.fakes.telegram.files import MAX_DOWNLOAD_BYTES

USER = 1001
GROUP = -2001
OPML = b'<?xml version="1.0"?><opml version="2.0"><body/></opml>'


async def test_a_user_sends_a_document_and_the_bot_downloads_it(fake, bot):
    message_id = fake.push_document(USER, OPML, "my feeds.opml", language_code="zh")
    [update] = await bot.get_updates(timeout=1)
    message = update.message
    assert message.message_id == message_id and message.text is None
    assert message.from_user.language_code == "zh"
    document = message.document
    assert (document.file_name, document.mime_type, document.file_size) == (
        "my feeds.opml", "text/x-opml", len(OPML),
    )
    file = await bot.get_file(document.file_id)
    assert file.file_size == len(OPML)
    assert file.file_path.startswith(f"{fake.base_file_url}{fake.token}/documents/")
    assert bytes(await file.download_as_bytearray()) == OPML
    assert fake.downloads == [file.file_path.rsplit(fake.token + "/", 1)[1]]


async def test_in_a_group_with_a_caption_and_without_optional_fields(fake, bot):
    fake.push_document(
        GROUP, b"x", None, mime_type=None, declare_size=False, caption="here",
        chat_type="supergroup", user_id=7,
    )
    [update] = await bot.get_updates(timeout=1)
    message = update.message
    assert message.chat.type == "supergroup" and message.from_user.id == 7
    assert message.caption == "here"
    assert message.document.file_name is None and message.document.file_size is None


async def test_get_file_refuses_unknown_ids_and_files_over_20_mb(fake, bot):
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")
    big = fake.add_file(b"small really", "big.opml", file_size=MAX_DOWNLOAD_BYTES + 1)
    with pytest.raises(BadRequest, match=r"(?i)file is too big"):
        await bot.get_file(big)
    assert fake.downloads == []


def test_the_download_url_wants_the_token_and_a_known_path(fake):
    file_id = fake.add_file(b"abc", "a.txt")
    path = fake._files[file_id].file_path
    with urllib.request.urlopen(f"{fake.base_file_url}{fake.token}/{path}") as answer:
        assert answer.read() == b"abc"
    for url in (f"{fake.base_file_url}123:WRONG/{path}", f"{fake.base_file_url}{fake.token}/x"):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url)
        assert caught.value.code == 404


async def test_send_document_uploads_and_records_the_bytes(fake, bot):
    fake.push_message(USER, "/export")
    data = "<opml>中文</opml>".encode()
    sent = await bot.send_document(
        USER,
        telegram.InputFile(data, filename="newsbot-sources.opml"),
        caption="<b>3</b> sources",
        parse_mode="HTML",
    )
    assert sent.document.file_name == "newsbot-sources.opml"
    assert sent.document.file_size == len(data)
    assert sent.caption == "3 sources"
    [document] = fake.wait_for_documents(USER)
    assert document.data == data and document.file_name == "newsbot-sources.opml"
    assert document.caption == "3 sources"
    again = await bot.send_document(USER, sent.document.file_id)  # resent by its file_id
    assert again.document.file_size == len(data)
    assert [d.data for d in fake.documents_to(USER)] == [data, data]


async def test_send_document_refusals(fake, bot):
    fake.push_message(USER, "/start")
    with pytest.raises(BadRequest, match=r"(?i)file must be non-empty"):
        await bot.send_document(USER, telegram.InputFile(b"", filename="e.opml"))
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(USER, "not-a-file-id")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_document(999, telegram.InputFile(b"x", filename="x.opml"))
    with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
        await bot.send_document(USER, telegram.InputFile(b"x", filename="x"), caption="c" * 1025)
    fake.expect_violations("caption")  # the reference's 0-1024 characters
    fake.block(USER)
    with pytest.raises(telegram.error.Forbidden):
        await bot.send_document(USER, telegram.InputFile(b"x", filename="x.opml"))
    assert fake.documents == []
