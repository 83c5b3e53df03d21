"""The command line: ``python -m bot [--config FILE] [run | check | stories | shell]``.

``run`` (the default) starts the bot with long polling, or as a webhook server when
``[telegram] webhook_url`` is set; SIGINT and SIGTERM stop it cleanly (``bot.startup``).
``check`` fetches every configured source once and prints what it parsed and how often the bot
polls it, with no token and without touching the store, so a user can try a config before
running the bot.
``stories --input FILE [--json]`` prints which headlines the same-story rule folds together;
``stories [--json]`` without ``--input`` the stories in the store of the last 72 hours.
``shell`` runs the whole bot with Telegram played in the terminal (``bot.shell``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot import version
from bot.config import ConfigError, Settings, load_settings, resolve_config_path
from bot.models import utcnow

if TYPE_CHECKING:
    from bot.sources import PollResult
    from bot.store import Store

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_STORE = 3


class RedactToken(logging.Filter):
    """Belt and braces: no log line ever carries the bot token (or the webhook secret).

    Redacts the message, the formatted exception (``exc_text``, which the formatter then
    uses as is: a traceback may quote a URL or an error text with the token in it) and the
    stack; each secret also in its URL-quoted form (``123:abc`` as ``123%3Aabc``)."""

    def __init__(self, token: str | None, *more: str | None) -> None:
        super().__init__()
        self.token = token
        secrets = {s for s in (token, *more) if s}
        secrets |= {quote(s, safe="") for s in secrets}
        # longest first, so a secret containing another is replaced whole
        self.secrets = sorted(secrets, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return text

    def _dirty(self, text: str) -> bool:
        return any(secret in text for secret in self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if self._dirty(message):
            record.msg = self.redact(message)
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text and self._dirty(record.exc_text):
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info and self._dirty(record.stack_info):
            record.stack_info = self.redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def setup_logging(level: str, token: str | None, *secrets: str | None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_FORMATTER)
    handler.addFilter(RedactToken(token, *secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)  # warnings, too, pass the token filter
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="newsbot: a Telegram bot that alerts chats to the tech news they follow.",
    )
    parser.add_argument(
        "--config", help="TOML config file (default: $NEWSBOT_CONFIG, ./config.toml)"
    )
    parser.add_argument(
        "--log-level", help="DEBUG, INFO, WARNING (default INFO; WARNING for shell)"
    )
    parser.add_argument("--version", action="version", version=f"newsbot {version()}")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="run the bot (default)")
    check = commands.add_parser("check", help="fetch every source once and print what it parsed")
    check.add_argument("--json", action="store_true", help="one JSON object per headline")
    stories = commands.add_parser("stories", help="which headlines are one story")
    stories.add_argument(
        "--input",
        help="one JSON headline per line (- for stdin); without it, the stories in the store",
    )
    stories.add_argument("--json", action="store_true", help="one JSON object per headline")
    from bot.shell.cli import add_shell_parser

    add_shell_parser(commands)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return dispatch(args)
    except KeyboardInterrupt:  # Ctrl-C before the bot's own signal handling is in place
        return 130


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "shell":
        from bot.shell.cli import run_shell

        setup_logging(args.log_level or "WARNING", None)
        return run_shell(args)
    args.log_level = args.log_level or "INFO"
    try:
        settings = load_settings(resolve_config_path(args.config))
    except ConfigError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(args.log_level, settings.token, settings.webhook_secret)
    if args.command == "check":
        return asyncio.run(check(settings, as_json=args.json))
    if args.command == "stories":
        from bot.stories_cli import run_stories
        from bot.story_keeper import rule_from

        return run_stories(args.input, as_json=args.json, settings=settings,
                           rule=rule_from(settings.stories))
    return run(settings)


def run(settings: Settings) -> int:
    from bot.app import build_application, webhook_options
    from bot.startup import EXIT_TOKEN, TOKEN_REFUSED, ignore_stop_signals, serve
    from bot.store import Store, StoreError

    if not settings.token:
        print(
            "newsbot: no bot token. Set the environment variable TELEGRAM_BOT_TOKEN "
            "(or [telegram] token in the config file); a token comes from @BotFather in "
            "Telegram. `newsbot shell` tries the bot without one.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    try:
        store = Store.open(
            settings.storage.path, retention=timedelta(days=settings.storage.retention_days)
        )
    except StoreError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_STORE
    options = webhook_options(settings)
    if options is not None:
        log.info(
            "webhook: listening on %s:%s, path %s",
            options["listen"],
            options["port"],
            settings.telegram.webhook_path,
        )

    async def build_and_serve() -> int:
        # built in the loop it runs in: what it makes of asyncio belongs to that loop
        application = build_application(settings, store)
        return await serve(application, settings, webhook=options, restore_signals=False)

    try:
        status = asyncio.run(build_and_serve())
    except Exception:
        # Logged, so the token filter sees the traceback (PTB's InvalidToken quotes the token).
        log.exception("newsbot stopped on an error")
        return 1
    finally:
        ignore_stop_signals()
    if status == EXIT_TOKEN:
        print(TOKEN_REFUSED, file=sys.stderr)
    return status


async def check(settings: Settings, *, as_json: bool) -> int:
    """Fetch every source once; print per source its status, HTTP code, items, how many of
    them the bot has not seen yet, the next poll time and the last error -- or, with
    ``as_json``, one JSON object per headline.  Reads the store without locking or writing."""
    from bot.sources import FetchPolicy, SourceState, poll_source
    from bot.sources.fetch import Fetcher
    from bot.store import Store, StoreError

    try:
        store: Store | None = Store.read_only(settings.storage.path)
    except StoreError as exc:
        print(f"newsbot: not reading the store ({exc}); every item counts as new", file=sys.stderr)
        store = None
    sources = [s for s in settings.sources if s.enabled]
    now = utcnow()
    async with Fetcher(settings.polling) as fetcher:
        results = await asyncio.gather(
            *(
                poll_source(
                    fetcher,
                    source,
                    SourceState(),
                    now,
                    policy=FetchPolicy.for_source(source.url),
                    interval=settings.interval_for(source),
                    max_backoff=settings.polling.max_backoff_seconds,
                )
                for source in sources
            )
        )
    reasons = pace_reasons(settings, store, results, now)
    failed = 0
    for source, result in zip(sources, results, strict=True):
        failed += result.status == "error"
        if as_json:
            for h in result.headlines:
                record = {
                    "source": source.name,
                    "id": h.id,
                    "title": h.title,
                    "link": h.link,
                    "published": h.published.isoformat() if h.published else None,
                    "summary": h.summary,
                }
                print(json.dumps(record, ensure_ascii=False))
            if result.error:
                print(f"newsbot: {source.name}: {result.error}", file=sys.stderr)
            continue
        print(describe(source.name, result, store, reasons.get(source.name)))
        for h in result.headlines[:5]:
            print(f"  - {h.title}  <{h.link}>")
    if store is not None:
        store.close()
    return 1 if results and failed == len(results) else 0


def pace_reasons(
    settings: Settings, store: Store | None, results: list[PollResult], now: datetime
) -> dict[str, str]:
    """How often the bot polls each source that answered, and why, from the store's history
    (if any), what the bot recorded and what this fetch saw (its hints, its unseen items)."""
    from bot.poller import build_scheduler
    from bot.sources import SourceState

    recorded = {
        r.source: SourceState.from_dict(store.source_state(r.source) if store else {})
        for r in results
    }
    pace = build_scheduler(settings, store, recorded, now)
    stamp = now.timestamp()
    for result in results:
        if result.status == "error":
            continue
        pace.hints(result.source, result.state.hints or recorded[result.source].hints)
        pace.watch(result.source, stamp)  # kept if the bot polled it before
        for h in result.headlines:
            if store is None or not store.is_seen(h.id, h.url_key):
                pace.observe(result.source, h.published.timestamp() if h.published else None, stamp)
    plan = pace.plan(stamp)
    return {r.source: plan[r.source].reason for r in results if r.status != "error"}


def describe(name: str, result: PollResult, store: Store | None, pace: str | None = None) -> str:
    """One line of ``check``: this fetch, what the running bot recorded, and how often the
    bot polls the source (``pace``: "every 4m: 15 new/h, hint ttl 5m")."""
    new = sum(1 for h in result.headlines if store is None or not store.is_seen(h.id, h.url_key))
    recorded = store.source_state(name) if store is not None else {}
    next_poll = recorded.get("next_poll_at") or (
        result.state.next_poll_at.isoformat(timespec="seconds")
        if result.state.next_poll_at
        else "-"
    )
    status = "refused" if result.refused else result.status
    line = (
        f"{name}: {status}, HTTP {result.http_status or '-'}, "
        f"{len(result.headlines)} items, {new} new, next poll {next_poll}"
        + (f" ({pace})" if pace else "")
    )
    if result.error:
        line += f", {result.error}" if result.refused else f", error: {result.error}"
    if recorded.get("failures"):
        line += (
            f"; the bot's last {recorded['failures']} polls failed: "
            f"{recorded.get('last_error') or '-'}"
        )
    return line


if __name__ == "__main__":
    sys.exit(main())
