"""When and how a chat gets its alerts: /digest, /instant, /quiet, /timezone, /pause,
/resume, /language, and /settings to see them all."""

from __future__ import annotations

import html
from datetime import timedelta

from bot import schedule
from bot.core import Core
from bot.handlers.request import Request, for_chat
from bot.handlers.wording import schedule_reason
from bot.i18n import LANGUAGES, normalise_language, t
from bot.models import Chat

QUIET_OFF = ("off", "none", "关闭")


@for_chat(channels=True)
async def settings_command(request: Request) -> None:
    """/settings: everything about this chat in one message."""
    await request.reply(settings_text(request.core, request.chat, request.lang))


def settings_text(core: Core, chat: Chat, lang: str) -> str:
    """The /settings answer for ``chat`` in ``lang``."""
    s = chat.settings
    digest = s.get("digest") or []
    mode = (t(lang, "mode_digest", times=t(lang, "list_separator").join(digest)) if digest
            else t(lang, "mode_instant"))
    quiet = "–".join(s["quiet"]) if s.get("quiet") else t(lang, "none")
    until = schedule.paused_until(s, core.clock())
    paused = (
        t(lang, "until", until=until.astimezone(schedule.zone(s)).strftime("%Y-%m-%d %H:%M"))
        if until
        else t(lang, "no")
    )
    return t(
        lang,
        "settings",
        count=len(core.store.subscriptions(chat.id)),
        mode=html.escape(mode),
        quiet=html.escape(quiet),
        zone=html.escape(zone_name(chat)),
        paused=html.escape(paused),
        language=LANGUAGES[lang],
        active=t(lang, "active") if chat.active else t(lang, "inactive"),
    )


@for_chat(admins_only=True, channels=True)
async def digest(request: Request) -> None:
    """/digest 08:00 18:00: collect alerts and send them as one message at these times."""
    zone = html.escape(zone_name(request.chat))
    words = request.text.replace(",", " ").split()
    if not words:
        await request.reply(request.t("digest_usage", zone=zone))
        return
    if len(words) == 1 and words[0].casefold() in QUIET_OFF:  # /digest off: as /instant
        await _instant(request)
        return
    try:
        times = schedule.parse_digest_times(words)
    except schedule.ScheduleError as exc:
        reason = schedule_reason(request.lang, exc)
        await request.reply(reason + "\n" + request.t("digest_usage", zone=zone))
        return
    request.core.store.set_setting(request.chat.id, "digest", times)
    await request.reply(request.t("digest_set", times=request.t("list_separator").join(times),
                                  zone=zone))


@for_chat(admins_only=True, channels=True)
async def instant(request: Request) -> None:
    """/instant: alerts as soon as news appears (the default)."""
    await _instant(request)


async def _instant(request: Request) -> None:
    request.core.store.set_setting(request.chat.id, "digest", [])
    await request.reply(request.t("instant_set"))
    request.core.wake_delivery()  # what the digest was holding goes out now


@for_chat(admins_only=True, channels=True)
async def quiet(request: Request) -> None:
    """/quiet 23:00-07:00: alerts wait until the quiet hours end; /quiet off removes them."""
    zone = html.escape(zone_name(request.chat))
    text = request.text
    store = request.core.store
    if text.lower() in QUIET_OFF:
        store.set_setting(request.chat.id, "quiet", None)
        await request.reply(request.t("quiet_off"))
        request.core.wake_delivery()  # what the quiet hours were holding goes out now
        return
    if not text:
        await request.reply(request.t("quiet_usage", zone=zone))
        return
    try:
        window = schedule.parse_quiet(text)
    except schedule.ScheduleError as exc:
        reason = schedule_reason(request.lang, exc)
        await request.reply(reason + "\n" + request.t("quiet_usage", zone=zone))
        return
    store.set_setting(request.chat.id, "quiet", window)
    await request.reply(request.t("quiet_set", start=window[0], end=window[1], zone=zone))


@for_chat(channels=True)
async def timezone_command(request: Request) -> None:
    """/timezone Asia/Shanghai: the zone of digests and quiet hours; alone, the current one."""
    text = request.text
    if not text:
        zone = html.escape(zone_name(request.chat))
        await request.reply(request.t("timezone_usage", zone=zone))
        return
    if not await request.may_change():
        return
    try:
        name = schedule.parse_timezone(text)
    except schedule.ScheduleError as exc:
        await request.reply(schedule_reason(request.lang, exc))
        return
    request.core.store.set_setting(request.chat.id, "timezone", name)
    await request.reply(request.t("timezone_set", zone=html.escape(name)))


@for_chat(admins_only=True, channels=True)
async def pause(request: Request) -> None:
    """/pause 8h: skip alerts for a while (at most 30 days)."""
    text = request.text
    if not text:
        await request.reply(request.t("pause_usage"))
        return
    try:
        duration = schedule.parse_duration(text)
    except schedule.ScheduleError as exc:
        reason = schedule_reason(request.lang, exc)
        await request.reply(reason + "\n" + request.t("pause_usage"))
        return
    await request.reply(pause_chat(request.core, request.chat, request.lang, duration))


def pause_chat(core: Core, chat: Chat, lang: str, duration: timedelta) -> str:
    """Pause ``chat`` for ``duration`` from now; the confirmation in ``lang``."""
    until = core.clock() + duration
    core.store.set_setting(chat.id, "paused_until", until.isoformat())
    local = until.astimezone(schedule.zone(chat.settings)).strftime("%Y-%m-%d %H:%M")
    return t(lang, "paused", until=local, zone=html.escape(zone_name(chat)))


@for_chat(admins_only=True, channels=True)
async def resume(request: Request) -> None:
    """/resume: end a pause now."""
    core = request.core
    if schedule.paused_until(request.chat.settings, core.clock()) is None:
        await request.reply(request.t("not_paused"))
        return
    core.store.set_setting(request.chat.id, "paused_until", None)
    await request.reply(request.t("resumed"))


@for_chat(admins_only=True, channels=True)
async def language(request: Request) -> None:
    """/language zh or /language en: the language the bot speaks in this chat."""
    chosen = normalise_language(request.text)
    if chosen is None:
        await request.reply(request.t("language_usage"))
        return
    request.core.store.set_setting(request.chat.id, "language", chosen)
    await request.reply(t(chosen, "language_set"))


def zone_name(chat: Chat | None) -> str:
    """The chat's time zone name (``UTC`` unless set)."""
    return (chat.settings.get("timezone") if chat else None) or "UTC"
