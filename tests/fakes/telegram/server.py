"""The fake's HTTP side: lifecycle, routing ``/bot<token>/<method>``, the Bot API reference
check of every call, and the JSON envelope Telegram answers with."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import weakref
from collections.abc import Callable
from functools import cache
from typing import Any

from aiohttp import web

from tests.fakes import botapi_schema
from tests.fakes.telegram import bot_setup, files, inline, messages, world
from tests.fakes.telegram.bot_setup import BotSetup
from tests.fakes.telegram.entities import visible_or_none
from tests.fakes.telegram.files import Files, Upload
from tests.fakes.telegram.flood import Flood
from tests.fakes.telegram.inline import Inline
from tests.fakes.telegram.membership import Membership
from tests.fakes.telegram.messages import Messages
from tests.fakes.telegram.observe import Observe
from tests.fakes.telegram.records import ApiError, DropConnection, Violation, coerce
from tests.fakes.telegram.updates import Updates
from tests.fakes.telegram.world import World

_HANDLERS: dict[str, str] = {
    **bot_setup.METHODS,
    **messages.METHODS,
    **world.METHODS,
    **inline.METHODS,
    **files.METHODS,
}
_VALIDATORS: dict[str, Callable[[dict[str, Any]], None]] = {
    **bot_setup.VALIDATORS,
    **messages.VALIDATORS,
    **inline.VALIDATORS,
    **files.VALIDATORS,
}
_CREATED: list[weakref.ref[FakeTelegram]] = []


@cache
def _reference() -> botapi_schema.BotApiSchema | None:
    return botapi_schema.BotApiSchema.load(visible_text=visible_or_none)


def creation_mark() -> int:
    """A mark for :func:`created_since` (how many fakes were created so far)."""
    return len(_CREATED)


def created_since(mark: int) -> list[FakeTelegram]:
    """The fakes created since ``mark`` that still exist."""
    return [fake for ref in _CREATED[mark:] if (fake := ref()) is not None]


class FakeTelegram(
    World, Membership, Flood, Messages, Files, BotSetup, Updates, Inline, Observe
):
    """A strict fake Telegram Bot API server on 127.0.0.1 (see the package docstring)."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "newsbot_test_bot",
        enforce_limits: bool = True,
        global_per_second: int = 30,
        private_per_second: float = 1.0,
        private_burst: int = 3,
        group_per_minute: int = 20,
        *,
        inline_mode: bool = False,
        check_calls: bool = True,
    ) -> None:
        self._token = token
        self.bot_username = bot_username
        self.enforce_limits = enforce_limits
        self.global_per_second = global_per_second
        self.private_per_second = private_per_second
        self.private_burst = private_burst
        self.group_per_minute = group_per_minute
        self.inline_mode = inline_mode  # BotFather's /setinline: inline queries reach the bot
        bot_id_text = token.split(":", 1)[0]
        self.bot_id = int(bot_id_text) if bot_id_text.isdigit() else 123456
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Newsbot Test",
            "username": bot_username,
        }
        self.schema = _reference() if check_calls else None

        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._stop_event: asyncio.Event | None = None
        self._port = 0
        self._start_error: BaseException | None = None

        self._init_world()
        self._init_flood()
        self._init_messages()
        self._init_bot_setup()
        self._init_updates()
        self._init_inline()
        self._init_files()
        self.errors: list[tuple[str, int | str | None, int, str]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.violations: list[Violation] = []
        _CREATED.append(weakref.ref(self))

    # ---------------------------------------------------------------- lifecycle

    @property
    def token(self) -> str:
        return self._token

    @property
    def port(self) -> int:
        return self._port

    @property
    def checks_calls(self) -> bool:
        """True if every call is checked against the Bot API reference (it is present)."""
        return self.schema is not None

    @property
    def base_url(self) -> str:
        """What ``ApplicationBuilder().base_url(...)`` wants: PTB appends token and method."""
        if not self._port:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        """What ``ApplicationBuilder().base_file_url(...)`` wants (PTB appends the token)."""
        return self.base_url.removesuffix("/bot") + "/file/bot"

    @property
    def url(self) -> str:
        """Full API prefix including the token: ``{base_url}{token}``."""
        return f"{self.base_url}{self._token}"

    def start(self) -> FakeTelegram:
        if self._thread is not None:
            raise RuntimeError("FakeTelegram already started")
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, args=(ready,), name="FakeTelegram", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("FakeTelegram did not start within 10 s")
        if self._start_error is not None:
            self._thread.join(5)
            self._thread = None
            raise RuntimeError("FakeTelegram failed to start") from self._start_error
        return self

    def stop(self) -> None:
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._request_stop)
        thread.join(15)
        self._thread = None

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeTelegram:
        return self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.to_thread(self.stop)

    def _request_stop(self) -> None:
        assert self._stop_event is not None
        self._stop_event.set()
        for waiter in list(self._waiters):
            waiter.set()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._astart())
        except BaseException as exc:
            self._start_error = exc
            ready.set()
            loop.close()
            return
        ready.set()
        try:
            assert self._stop_event is not None
            loop.run_until_complete(self._stop_event.wait())
            assert self._runner is not None
            loop.run_until_complete(self._runner.cleanup())
        finally:
            loop.close()

    async def _astart(self) -> None:
        self._stop_event = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    # ---------------------------------------------------------------- HTTP layer

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/file/"):
            return self._file_download(request)
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z0-9_]*)/?", request.path)
        if match is None:
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = match.group(1), match.group(2)
        if token != self._token:
            return self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        try:
            raw = await self._read_params(request)
        except ApiError as err:
            return self._error_response(method, None, err)
        problems = self._check_call(method, raw)
        try:
            params = coerce(raw)
        except ApiError as err:
            return self._error_response(method, None, err)
        with self._lock:
            self.calls.append((method, params))
        try:
            if problems:
                raise self._refusal(method, params, problems)
            result = await self._dispatch(method, params)
            self._check_answer(method, params, result)
        except DropConnection:
            with self._lock:
                self.errors.append((method, params.get("chat_id"), 0, "connection dropped"))
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError from None
        except ApiError as err:
            return self._error_response(method, params.get("chat_id"), err)
        return self._json(200, {"ok": True, "result": result})

    async def _dispatch(self, method: str, params: dict[str, Any]) -> Any:
        lname = method.lower()
        if lname == "getupdates":
            return await self._get_updates(params)
        handler = _HANDLERS.get(lname)
        if handler is None:
            raise ApiError(404, "Not Found")
        with self._lock:
            return getattr(self, handler)(method, params)

    def _check_call(self, method: str, raw: dict[str, Any]) -> list[str]:
        """Record a call the reference does not define (or the fake cannot answer) as a
        violation; return its problems."""
        if self.schema is None:
            return []
        problems = self.schema.check_call(method, raw)
        implemented = method.lower() == "getupdates" or method.lower() in _HANDLERS
        if not problems and not implemented:
            problems = [f"{method} is in the Bot API but not in the fake (tests/fakes/telegram)"]
        if problems:
            with self._lock:
                self.violations.append(Violation(method, dict(raw), problems))
        return problems

    def _check_answer(self, method: str, params: dict[str, Any], result: Any) -> None:
        """The fake's own answers (and so every update it delivers) must match the reference
        too: one that does not is recorded as a violation of the fake."""
        if self.schema is None:
            return
        problems = self.schema.check_result(method, result)
        if problems:
            with self._lock:
                self.violations.append(
                    Violation(method, params, ["the fake's own answer: " + p for p in problems])
                )

    def _refusal(self, method: str, params: dict[str, Any], problems: list[str]) -> ApiError:
        """The answer to a call that breaks the reference: Telegram's own error text where
        the fake knows it (too long, BUTTON_DATA_INVALID, ...), else the first problem."""
        assert self.schema is not None
        if not self.schema.has_method(method):
            return ApiError(404, "Not Found")
        validate = _VALIDATORS.get(method.lower())
        if validate is not None:
            try:
                validate(params)
            except ApiError as err:
                return err
        return ApiError(400, f"Bad Request: {problems[0]}")

    def _error_response(self, method: str, chat_id: Any, err: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            body["parameters"] = err.parameters
        with self._lock:
            self.errors.append((method, chat_id, err.code, err.description))
            self._cond.notify_all()
        return self._json(err.code, body)

    def _file_download(self, request: web.Request) -> web.Response:
        """``GET /file/bot<token>/<file_path>``: a file's bytes, as Telegram serves them."""
        match = re.fullmatch(r"/file/bot([^/]*)/(.+)", request.path)
        data = None
        if match is not None and match.group(1) == self._token and request.method == "GET":
            data = self._download(match.group(2))
        if data is None:
            return self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(body=data, content_type="application/octet-stream")

    @staticmethod
    def _json(status: int, body: dict[str, Any]) -> web.Response:
        return web.Response(
            status=status,
            text=json.dumps(body, ensure_ascii=False),
            content_type="application/json",
        )

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, Any]:
        """The parameters as sent: query string and form fields as text, a JSON body as is."""
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise ApiError(400, "Bad Request: can't parse JSON body") from exc
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: JSON body must be an object")
                params.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, str):
                        params[key] = value
                    else:  # an uploaded file: its name, with its bytes beside it
                        params[key] = Upload(
                            value.filename or "file", value.file.read(), value.content_type
                        )
            else:
                await request.read()
        return params
