"""Files: a user sends a document, the bot asks ``getFile`` and downloads it from
``/file/bot<token>/<file_path>``, and sends documents of its own (``sendDocument``, a
multipart upload, or a file_id the fake knows).

Telegram's limits and texts: bots download files of at most 20 MB ("file is too big") and
upload at most 50 MB ("Request Entity Too Large", 413); an empty upload is refused ("file must
be non-empty"); a string that is no known file_id ("wrong file identifier/HTTP URL
specified").  What the bot sent is kept in ``fake.documents`` with the file's bytes.
"""

from __future__ import annotations

import itertools
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.entities import EntityParseError, parse_text, utf16_len
from tests.fakes.telegram.messages import check_markup
from tests.fakes.telegram.records import ApiError

MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_CAPTION = 1024

METHODS = {
    "getfile": "_m_get_file",
    "senddocument": "_m_send_document",
}


class Upload(str):
    """A multipart file part: its text value is the file name (what the reference check
    sees for an InputFile), with the bytes and content type beside it."""

    data: bytes
    content_type: str

    def __new__(cls, filename: str, data: bytes, content_type: str) -> Upload:
        upload = super().__new__(cls, filename)
        upload.data = data
        upload.content_type = content_type
        return upload


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    declared_size: int  # what Document.file_size and File.file_size say


@dataclass
class SentDocument:
    """One document the bot sent."""

    chat_id: int
    message_id: int
    file_name: str
    mime_type: str
    data: bytes
    caption: str  # visible text
    at: float
    params: dict[str, Any] = field(default_factory=dict)


def _caption(params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    caption = params.get("caption")
    if caption is None or caption == "":
        return "", []
    entities = params.get("caption_entities")
    if isinstance(entities, list) and entities:
        visible, parsed = str(caption), entities
    else:
        try:
            visible, parsed = parse_text(str(caption), params.get("parse_mode"))
        except EntityParseError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err.reason}") from None
        except ValueError:
            raise ApiError(400, "Bad Request: unsupported parse_mode") from None
    if utf16_len(visible) > MAX_CAPTION:
        raise ApiError(400, "Bad Request: message caption is too long")
    return visible, parsed


def validate_send_document(params: dict[str, Any]) -> None:
    """Telegram's own texts for a refused sendDocument (a caption too long, bad markup)."""
    _caption(params)
    check_markup(params.get("reply_markup"))


VALIDATORS = {"senddocument": validate_send_document}


class Files:
    """push_document, getFile, the download route, sendDocument."""

    bot_user: dict[str, Any]
    _lock: threading.RLock
    _cond: threading.Condition
    _chats: dict[int, dict[str, Any]]
    _stored: dict[tuple[int, int], dict[str, Any]]
    _by_bot: set[tuple[int, int]]

    def _init_files(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._file_ids = itertools.count(1)
        self.documents: list[SentDocument] = []
        self.downloads: list[str] = []  # file paths the bot downloaded

    # ---------------------------------------------------------------- the world

    def add_file(
        self, data: bytes, file_name: str = "file", *, file_size: int | None = None
    ) -> str:
        """Put a file on the fake's servers; returns its file_id.  ``file_size``: what
        Telegram says its size is (default: the real one)."""
        with self._lock:
            number = next(self._file_ids)
            suffix = file_name.rpartition(".")[2] if "." in file_name else "bin"
            stored = StoredFile(
                file_id=f"BQACAgIAAxkBAAI{number:06d}",
                file_unique_id=f"AgAD{number:06d}",
                file_path=f"documents/file_{number}.{suffix}",
                data=bytes(data),
                declared_size=len(data) if file_size is None else file_size,
            )
            self._files[stored.file_id] = stored
            return stored.file_id

    def push_document(
        self,
        chat_id: int,
        data: bytes,
        file_name: str | None = "feeds.opml",
        *,
        mime_type: str | None = "text/x-opml",
        file_size: int | None = None,
        caption: str | None = None,
        declare_size: bool = True,
        **user: Any,
    ) -> int:
        """A user sends ``chat_id`` a file (``Message.document``); returns the message id.
        ``file_size``: the size Telegram states (default the real one; ``declare_size=False``
        leaves it out, as the reference allows).  ``user``: the fields of push_message."""
        with self._lock:
            file_id = self.add_file(data, file_name or "file", file_size=file_size)
            stored = self._files[file_id]
            document: dict[str, Any] = {
                "file_id": file_id,
                "file_unique_id": stored.file_unique_id,
            }
            if file_name is not None:
                document["file_name"] = file_name
            if mime_type is not None:
                document["mime_type"] = mime_type
            if declare_size:
                document["file_size"] = stored.declared_size
            message = self._incoming(chat_id, None, **user)  # type: ignore[attr-defined]
            message["document"] = document
            if caption:
                message["caption"] = caption
            self._enqueue({"message": message})  # type: ignore[attr-defined]
            return int(message["message_id"])

    def documents_to(self, chat_id: int | None = None) -> list[SentDocument]:
        with self._lock:
            return [d for d in self.documents if chat_id is None or d.chat_id == chat_id]

    def wait_for_documents(
        self, chat_id: int | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[SentDocument]:
        """Block until ``count`` documents were sent (to ``chat_id`` if given)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = self.documents_to(chat_id)
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} document(s), got {len(found)}")
                self._cond.wait(remaining)

    # ---------------------------------------------------------------- downloads

    def _download(self, file_path: str) -> bytes | None:
        """The bytes at ``/file/bot<token>/<file_path>``, or None (404)."""
        with self._lock:
            for stored in self._files.values():
                if stored.file_path == file_path:
                    self.downloads.append(file_path)
                    return stored.data
            return None

    # ---------------------------------------------------------------- methods

    def _m_get_file(self, method: str, params: dict[str, Any]) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.declared_size > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.declared_size,
            "file_path": stored.file_path,
        }

    def _document_of(self, value: Any) -> tuple[str, str, bytes]:
        """(file name, mime type, bytes) of the ``document`` parameter."""
        if isinstance(value, Upload):
            if not value.data:
                raise ApiError(400, "Bad Request: file must be non-empty")
            if len(value.data) > MAX_UPLOAD_BYTES:
                raise ApiError(413, "Request Entity Too Large")
            guessed = mimetypes.guess_type(str(value), strict=False)[0]
            mime = value.content_type or guessed or "application/octet-stream"
            return str(value), mime, value.data
        stored = self._files.get(str(value))
        if stored is None:
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        name = stored.file_path.rpartition("/")[2]
        return name, mimetypes.guess_type(name)[0] or "application/octet-stream", stored.data

    def _m_send_document(self, method: str, params: dict[str, Any]) -> Any:
        raw_chat = params.get("chat_id")
        self._apply_forced(raw_chat)  # type: ignore[attr-defined]
        chat_id = self._resolve_chat(raw_chat)  # type: ignore[attr-defined]
        self._check_can_send(chat_id)  # type: ignore[attr-defined]
        file_name, mime_type, data = self._document_of(params.get("document"))
        caption, entities = _caption(params)
        markup = check_markup(params.get("reply_markup"))
        self._check_flood(chat_id)  # type: ignore[attr-defined]
        file_id = self.add_file(data, file_name)
        stored = self._files[file_id]
        message_id = self._next_id(chat_id)  # type: ignore[attr-defined]
        message: dict[str, Any] = {"message_id": message_id, "date": int(time.time())}
        chat = dict(self._chats[chat_id])
        if chat["type"] == "channel":
            message["sender_chat"] = dict(chat)
        else:
            message["from"] = dict(self.bot_user)
        message["chat"] = chat
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        if caption:
            message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._stored[(chat_id, message_id)] = message
        self._by_bot.add((chat_id, message_id))
        self.documents.append(
            SentDocument(
                chat_id, message_id, file_name, mime_type, data, caption, time.monotonic(),
                {k: v for k, v in params.items() if k != "document"},
            )
        )
        self._cond.notify_all()
        return message
