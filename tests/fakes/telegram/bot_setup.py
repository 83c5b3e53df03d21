"""The bot's own settings: getMe, webhooks, the command menus, logOut/close."""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from typing import Any

from tests.fakes.telegram.records import ApiError

METHODS = {
    "getme": "_m_get_me",
    "logout": "_m_true",
    "close": "_m_true",
    "deletewebhook": "_m_delete_webhook",
    "setwebhook": "_m_set_webhook",
    "getwebhookinfo": "_m_get_webhook_info",
    "setmycommands": "_m_set_my_commands",
    "getmycommands": "_m_get_my_commands",
    "deletemycommands": "_m_delete_my_commands",
}


def scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
    """The key of one command menu: its scope (default: "") and language."""
    if not scope or scope == {"type": "default"}:
        scope_text = ""
    else:
        scope_text = json.dumps(scope, sort_keys=True)
    return scope_text, str(language_code or "")


def validate_commands(params: dict[str, Any]) -> list[dict[str, Any]]:
    """setMyCommands' list as Telegram checks it; returns it."""
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise ApiError(400, "Bad Request: can't parse commands JSON object")
    if len(commands) > 100:
        raise ApiError(400, "Bad Request: too many commands")
    for cmd in commands:
        name = cmd.get("command", "") if isinstance(cmd, dict) else ""
        desc = cmd.get("description", "") if isinstance(cmd, dict) else ""
        if not re.fullmatch(r"[a-z0-9_]{1,32}", str(name)):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        if not 1 <= len(str(desc)) <= 256:
            raise ApiError(400, "Bad Request: command description is empty")
    return commands


VALIDATORS = {"setmycommands": validate_commands}


class BotSetup:
    """What the bot tells Telegram about itself."""

    bot_user: dict[str, Any]
    inline_mode: bool
    _lock: threading.RLock
    _updates: deque[dict[str, Any]]

    def _init_bot_setup(self) -> None:
        self._webhook_url = ""
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}

    @property
    def commands(self) -> list[dict[str, Any]]:
        """The last setMyCommands list for the default scope and no language."""
        return self.commands_for()

    def commands_for(
        self, scope: dict[str, Any] | None = None, language_code: str = ""
    ) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._commands.get(scope_key(scope, language_code), []))

    def _m_get_me(self, method: str, params: dict[str, Any]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_true(self, method: str, params: dict[str, Any]) -> Any:
        return True

    def _m_delete_webhook(self, method: str, params: dict[str, Any]) -> Any:
        self._webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_set_webhook(self, method: str, params: dict[str, Any]) -> Any:
        url = str(params.get("url", ""))
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self._webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _m_get_webhook_info(self, method: str, params: dict[str, Any]) -> Any:
        return {
            "url": self._webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    def _m_set_my_commands(self, method: str, params: dict[str, Any]) -> Any:
        commands = validate_commands(params)
        key = scope_key(params.get("scope"), params.get("language_code"))
        self._commands[key] = [dict(c) for c in commands]
        return True

    def _m_get_my_commands(self, method: str, params: dict[str, Any]) -> Any:
        key = scope_key(params.get("scope"), params.get("language_code"))
        return list(self._commands.get(key, []))

    def _m_delete_my_commands(self, method: str, params: dict[str, Any]) -> Any:
        key = scope_key(params.get("scope"), params.get("language_code"))
        self._commands.pop(key, None)
        return True
