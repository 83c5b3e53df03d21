"""``newsbot shell``: its options, its settings, and the run.

Without ``--config`` the bot reads the demo source and keeps its store in a temporary
directory.  With ``--config`` it polls that config's sources for real; its store is the one
``[storage] path`` names -- or, when that store already holds other chats (a real bot's, whose
alerts the shell must not consume), a temporary copy of it.  The token is never read: the Bot
API is ``ShellApi``, in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
EXIT_STORE = 3
#: Seconds between two messages to one chat in the shell (Telegram's pace is 1 s, 3 s in
#: groups: the shell has no flood limit to respect and should answer at once).
SHELL_SPACING = 0.05
#: The command budget in the shell (the bot's: a burst of 10, then 1 a second): one person,
#: and a script that feeds its lines as fast as the bot answers them.
SHELL_BURST = 1000
#: At end of piped input, how long to wait for the alerts the input asked for.
DEFAULT_WAIT = 30.0


def add_shell_parser(commands: Any) -> None:
    shell = commands.add_parser(
        "shell",
        help="try the bot in this terminal: no token, no network",
        description="The whole bot, with Telegram played in this terminal: type commands, "
        "read its replies and alerts; :1 presses button 1 of the newest message with buttons.",
    )
    shell.add_argument(
        "--every", type=_every, default=5.0, metavar="SECONDS",
        help="demo source: a new headline every SECONDS (default 5, at least 1)",
    )
    shell.add_argument(
        "--chat", choices=("private", "group"), default="private",
        help="a private chat (default) or a group in which you are an administrator",
    )
    shell.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="your Telegram language (default en)"
    )
    shell.add_argument(
        "--wait", type=float, default=None, metavar="SECONDS",
        help="at end of input, wait up to SECONDS for the alerts of the keywords it followed "
        f"(default {DEFAULT_WAIT:g} when input is not a terminal, else 0)",
    )


def _every(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 1 <= value <= 3600:
        raise argparse.ArgumentTypeError("must be between 1 and 3600 seconds")
    return value


def demo_settings(every: float, store_dir: Path, admin_id: int) -> Settings:
    from bot.shell.api import TOKEN
    from bot.shell.demo import DEMO_NAME, DEMO_URL

    return Settings.model_validate(
        {
            "telegram": {
                "token": TOKEN,
                "api_base_url": "https://newsbot-shell.invalid/bot",
                "admin_ids": [admin_id],
            },
            "polling": {"interval_seconds": every},
            "storage": {"path": store_dir},
            "metrics": {"enabled": False},
            "sources": [
                {
                    "name": DEMO_NAME,
                    "url": DEMO_URL,
                    "type": "rss",
                    "interval_seconds": every,
                    "fetch_summaries": False,
                    "timezone": "Asia/Shanghai",
                }
            ],
        }
    )


def config_settings(path: str, admin_id: int) -> Settings:
    """The config's settings, made safe for the shell: the shell's token (the environment's
    is never read), polling not webhook, no metrics port, the person an operator."""
    from pydantic import SecretStr

    from bot.shell.api import TOKEN

    settings = load_settings(path, environ={})
    telegram = settings.telegram
    telegram.token = SecretStr(TOKEN)
    telegram.api_base_url = "https://newsbot-shell.invalid/bot"
    telegram.webhook_url = None
    telegram.webhook_secret = None
    telegram.admin_ids = [*telegram.admin_ids, admin_id]
    settings.metrics.enabled = False
    return settings


def choose_store(settings: Settings, tmp: Path, own_chats: set[int]) -> tuple[Path, str | None]:
    """Where the shell keeps its store, and a note to print about it (or None)."""
    from bot.store import Store

    if "path" not in settings.storage.model_fields_set:
        return tmp / "store", None
    named = Path(settings.storage.path)
    others = 0
    if named.exists():
        snapshot = Store.read_only(named)
        try:
            others = sum(1 for chat in snapshot.chats() if chat.id not in own_chats)
        finally:
            snapshot.close()
    if not others:
        return named, f"store: {named}"
    copy = tmp / "store"
    shutil.copytree(named, copy, ignore=shutil.ignore_patterns("*.lock"))
    return copy, (
        f"store: a temporary copy of {named}, which holds {others} other chat(s): "
        "their alerts stay where they are, and nothing done here is kept"
    )


def run_shell(args: argparse.Namespace) -> int:
    from bot.shell.api import Person

    person = Person(language=args.lang, group=args.chat == "group")
    with tempfile.TemporaryDirectory(prefix="newsbot-shell-") as tmp:
        try:
            if args.config:
                settings = config_settings(args.config, person.user_id)
            else:
                settings = demo_settings(args.every, Path(tmp) / "store", person.user_id)
        except ConfigError as exc:
            print(f"newsbot: {exc}", file=sys.stderr)
            return EXIT_CONFIG
        return _run(args, settings, person, Path(tmp))


def _run(args: argparse.Namespace, settings: Settings, person: Any, tmp: Path) -> int:
    from bot.app import build_application
    from bot.core import core_of
    from bot.delivery.pacing import Pacer
    from bot.fairness import Budgets, ChatLanes
    from bot.shell.api import ShellApi, ShellRequest
    from bot.shell.demo import DemoFeed
    from bot.shell.render import Terminal
    from bot.shell.session import Session
    from bot.sources.fetch import Fetcher
    from bot.startup import ignore_stop_signals
    from bot.store import Store, StoreError

    banner: list[str] = []
    try:
        if args.config:
            path, note = choose_store(settings, tmp, {person.user_id, person.chat_id})
            banner.append(note or f"store: a temporary directory ({args.config} names none)")
            settings.storage.path = path
        path = settings.storage.path
        store = Store.open(path, retention=timedelta(days=settings.storage.retention_days))
    except (StoreError, OSError) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_STORE
    demo = None if args.config else DemoFeed.load()
    interactive = sys.stdin.isatty()
    wait = args.wait if args.wait is not None else (0.0 if interactive else DEFAULT_WAIT)
    if interactive:
        banner[:0] = _welcome(args, settings, demo)

    async def session() -> int:
        # built in the loop it runs in: what it makes of asyncio belongs to that loop
        terminal = Terminal()
        api = ShellApi(person, terminal)
        application = build_application(
            settings, store, requests=(ShellRequest(api), ShellRequest(api))
        )
        pacer = application.bot.rate_limiter
        if isinstance(pacer, Pacer):
            pacer.private_interval = pacer.group_interval = SHELL_SPACING
        lanes = application.update_processor
        if isinstance(lanes, ChatLanes):  # a script types faster than 1 command a second
            lanes.budgets = Budgets(burst=SHELL_BURST, rate=SHELL_BURST)
        if demo is not None:
            core_of(application).fetcher = Fetcher(settings.polling, transport=demo.transport())
        return await Session(
            application, settings, api, store, terminal, demo=demo, echo=not interactive,
            wait=wait, banner=banner,
        ).run()

    try:
        return asyncio.run(session())
    finally:
        ignore_stop_signals()


def _welcome(args: argparse.Namespace, settings: Settings, demo: Any) -> list[str]:
    where = "a group you administer" if args.chat == "group" else "a private chat"
    if demo is not None:
        source = (
            f"demo source: {len(demo.items)} CX Tech headlines, a new one every {args.every:g} s"
        )
    else:
        source = f"sources: {len(settings.sources)} from {args.config}, polled for real"
    return [
        f"newsbot shell: the real bot in {where}, Telegram played here (no token, no network "
        "to Telegram)",
        source,
        "try /follow Nexperia, /latest, /help; :1 presses button 1; Ctrl-D ends",
    ]
