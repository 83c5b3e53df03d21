"""/start and /help: the greeting (or a shared follow link's keyword) and the command list."""

from __future__ import annotations

import html

from bot.deeplinks import query_from_payload
from bot.handlers.inline import HELP_PAYLOAD
from bot.handlers.request import Request, for_chat
from bot.handlers.subscriptions import MAX_QUERIES_PER_CHAT, MAX_QUERY_CHARS, follow_text
from bot.i18n import COMMANDS, t


@for_chat()
async def start(request: Request) -> None:
    """/start: greet, or follow the keyword of a shared link (``/start f_<payload>``)."""
    if request.text == HELP_PAYLOAD:  # the button under an invalid inline query
        await request.reply(help_text(request.lang))
        return
    query = query_from_payload(request.text)
    if query:
        if await request.may_change():
            await follow_text(request, query)
        return
    await request.reply(request.t("start"))


@for_chat()
async def help_command(request: Request) -> None:
    """/help: every command with an example, and the keyword rules."""
    await request.reply(help_text(request.lang))


def help_text(lang: str) -> str:
    """The /help answer in ``lang``."""
    lines = [t(lang, "help_heading")]
    for name, english, chinese, example in COMMANDS:
        description = chinese if lang == "zh" else english
        lines.append(
            t(lang, "help_line", name=name, description=html.escape(description), example=example)
        )
    lines += [
        "",
        t(lang, "query_help", max_queries=MAX_QUERIES_PER_CHAT, max_chars=MAX_QUERY_CHARS),
    ]
    return "\n".join(lines)
