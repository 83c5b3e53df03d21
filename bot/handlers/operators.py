"""The operators' commands, /stats and /health (registered for ``admin_ids`` in their
private chats only: a group never sees them)."""

from __future__ import annotations

import html
from collections import Counter
from datetime import timedelta

from bot.core import stored_key
from bot.handlers.request import Request, for_chat

TOP_KEYWORDS = 10


@for_chat()
async def stats(request: Request) -> None:
    """/stats: chats, subscriptions, alerts sent and pending, the most followed keywords."""
    core = request.core
    store = core.store
    chats = store.chats()
    counts: Counter[str] = Counter()
    for _, text in store.all_subscriptions():
        counts[stored_key(text) or text] += 1
    top = ", ".join(f"{html.escape(k)} ({n})" for k, n in counts.most_common(TOP_KEYWORDS))
    totals = store.stats()
    await request.reply(
        request.t(
            "stats",
            chats=len(chats),
            active=sum(1 for c in chats if c.active),
            subs=totals["subscriptions"],
            sent=store.sent_since(core.clock() - timedelta(hours=24)),
            pending=totals["pending"],
            top=top or "-",
        )
    )


@for_chat()
async def health(request: Request) -> None:
    """/health: each of the operator's sources: last status, items, last success, next
    poll, and how often it is polled and why ("every 4m: 15 new/h, hint ttl 5m")."""
    core = request.core
    lines = [request.t("sources_heading")]
    for source in core.settings.sources:
        state = core.store.source_state(source.name)
        failures = int(state.get("failures") or 0)
        mark = "⏸" if not source.enabled else ("⚠️" if failures else "✅")
        error = f" — {html.escape(str(state.get('last_error')))}" if failures else ""
        status = f"{failures} failures" if failures else str(state.get("last_status") or "-")
        reason = state.get("interval_reason")
        pace = request.t("source_pace", reason=html.escape(str(reason))) if reason else ""
        lines.append(
            request.t(
                "source_line",
                mark=mark,
                name=html.escape(source.name),
                status=html.escape(status),
                items=state.get("last_items", 0),
                last_ok=html.escape(_short_time(state.get("last_success_at"))),
                next=html.escape(_short_time(state.get("next_poll_at"))),
                error=error,
                pace=pace,
            )
        )
    await request.reply("\n".join(lines))


def _short_time(value: object) -> str:
    return str(value)[:16].replace("T", " ") if value else "-"
