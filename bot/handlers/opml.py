"""OPML in and out: a document sent to the bot adds its feeds; /export sends them back.

An upload is judged before it is downloaded: a file Telegram says is over the cap
(``opml.MAX_BYTES``) is refused with no download, and so is one whose ``getFile`` answer says
so.  Then ``parse_opml`` (any refusal worded by its code), then
``bot.chat_sources.importer.import_feeds`` (the feeds through ``add_source`` up to the chat's
``[chat_sources] per_chat``), and one reply: added, already there, refused by reason.  In
groups only administrators import (``for_chat(admins_only=True)``); anyone may export.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from telegram import Document, InputFile
from telegram.error import TelegramError

from bot.chat_sources.importer import ImportReport, import_feeds, tries
from bot.chat_sources.opml import (
    MAX_BYTES,
    OpmlDocument,
    OpmlError,
    OpmlFeed,
    parse_opml,
    write_opml,
)
from bot.handlers.replies import pack_lines, shown
from bot.handlers.request import Request, for_chat
from bot.models import utcnow

log = logging.getLogger(__name__)

NAMES_SHOWN = 8  # per line of the report; the rest are counted
OPML_SUFFIXES = (".opml", ".xml")
OPML_TYPES = frozenset({"text/x-opml", "application/x-opml", "text/xml", "application/xml"})


def looks_like_opml(document: Document) -> bool:
    """By its name or type, the file may be an OPML file (what is read in groups)."""
    name = (document.file_name or "").lower()
    return name.endswith(OPML_SUFFIXES) or (document.mime_type or "").lower() in OPML_TYPES


def size_text(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:.1f} MB"
    return f"{max(1, round(size / 1000))} kB"


@for_chat(admins_only=True)
async def upload(request: Request) -> None:
    """A document: an OPML file's feeds become the chat's sources."""
    message = request.update.effective_message
    document = message.document if message is not None else None
    if document is None:
        return
    if not looks_like_opml(document):
        await request.reply(request.t("opml_not_a_file_for_me"))
        return
    if not request.core.settings.chat_sources.enabled:
        await request.reply(request.t("opml_disabled"))
        return
    parsed = await _read(request, document)
    if parsed is None:
        return
    if not parsed.feeds and not parsed.skipped:
        await request.reply(request.t("opml_empty"))
        return
    name = shown(document.file_name or "OPML")
    await request.reply(request.t("opml_checking", count=len(parsed.feeds), file=name))
    report = await import_feeds(request.core, request.chat.id, parsed)
    log.info(
        "chat %s imported OPML: %d added, %d already there, %d refused",
        request.chat.id, len(report.added), len(report.already),
        sum(map(len, report.refused.values())),
    )
    await request.reply_all(pack_lines(report_lines(request, report, name)))


async def _read(request: Request, document: Document) -> OpmlDocument | None:
    """The parsed file, or None once the chat was told why not (too big, not OPML...)."""
    limit = size_text(MAX_BYTES)
    if document.file_size and document.file_size > MAX_BYTES:
        await request.reply(
            request.t("opml_too_large", size=size_text(document.file_size), limit=limit)
        )
        return None
    try:
        file = await request.context.bot.get_file(document.file_id)
        if file.file_size and file.file_size > MAX_BYTES:
            await request.reply(
                request.t("opml_too_large", size=size_text(file.file_size), limit=limit)
            )
            return None
        data = bytes(await file.download_as_bytearray())
    except TelegramError as exc:
        log.warning("chat %s: OPML file not downloaded: %s", request.chat.id, exc)
        await request.reply(request.t("opml_download_failed"))
        return None
    try:
        return parse_opml(data)
    except OpmlError as err:
        shown_limit = limit if err.code == "too_large" else str(err.arguments.get("limit", ""))
        log.info("chat %s: OPML file refused: %s", request.chat.id, err)
        await request.reply(request.t(f"opml_error_{err.code}", limit=shown_limit))
        return None


def _names(request: Request, feeds: Sequence[OpmlFeed], slugs: Sequence[str] = ()) -> str:
    shown_names = []
    for number, feed in enumerate(feeds[:NAMES_SHOWN]):
        text = shown(feed.title or feed.url)
        if number < len(slugs):
            text += f" (<code>{html.escape(slugs[number])}</code>)"
        shown_names.append(text)
    if len(feeds) > NAMES_SHOWN:
        shown_names.append(request.t("opml_more", count=len(feeds) - NAMES_SHOWN))
    return ", ".join(shown_names)


def report_lines(request: Request, report: ImportReport, file_name: str) -> list[str]:
    """The import's answer, line by line (``pack_lines`` splits it if it must)."""
    t = request.t
    lines = [t("opml_report_head", file=file_name, count=report.total)]
    if report.added:
        feeds = [feed for feed, _ in report.added]
        slugs = [entry.slug for _, entry in report.added]
        lines.append(t("opml_added", count=len(feeds), names=_names(request, feeds, slugs)))
    else:
        lines.append(t("opml_added_none"))
    if report.already:
        lines.append(
            t("opml_already", count=len(report.already), names=_names(request, report.already))
        )
    refused = sum(map(len, report.refused.values()))
    if refused:
        lines.append(t("opml_refused", count=refused))
        limit = request.core.settings.chat_sources.per_chat
        for reason, feeds in report.refused.items():
            lines.append(t(
                "opml_refused_line",
                reason=t(f"opml_reason_{reason}", limit=limit, tries=tries(limit)),
                count=len(feeds),
                names=_names(request, feeds),
            ))
    if report.duplicates:
        lines.append(t("opml_duplicates", count=report.duplicates))
    if report.added:
        lines.append(t("opml_follow_hint", slug=html.escape(report.added[0][1].slug)))
    return lines


@for_chat()
async def export(request: Request) -> None:
    """/export: the chat's own sources as an OPML file."""
    entries = request.core.registry.own(request.chat.id)
    if not entries:
        await request.reply(request.t("export_none"))
        return
    chat_name = request.chat.title or str(request.chat.id)
    data = write_opml(
        [OpmlFeed(url=entry.url, title=entry.title) for entry in entries],
        title=request.t("export_title", chat=chat_name),
        created=utcnow(),
    )
    message = request.update.effective_message
    if message is None:
        return
    await message.reply_document(
        InputFile(data, filename="newsbot-sources.opml"),
        caption=request.t("export_caption", count=len(entries)),
        do_quote=False,
    )
