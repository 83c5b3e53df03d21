"""Raw HTTP/1.1 over a socket, for what an HTTP client will not do: send a request's headers
and hold the body back, to see whether a server answers (and hangs up) before reading it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass


@dataclass
class RawAnswer:
    status: int
    head: str  # status line and headers
    closed: bool  # the server closed the connection after its answer
    seconds: float  # from sending the request to the end of the answer


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{key}: {value}" for key, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def send_head(
    port: int,
    method: str,
    path: str,
    headers: dict[str, str],
    *,
    body: bytes = b"",
    timeout: float = 3.0,
    close_wait: float = 0.5,
) -> RawAnswer:
    """Send the headers (and ``body``, often less than announced), then read the answer and
    wait up to ``close_wait`` for the server to hang up.

    Raises ``TimeoutError`` when the server does not answer within ``timeout``: that is a
    server waiting for the rest of the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        writer.write(request_head(method, path, headers) + body)
        with contextlib.suppress(ConnectionError):  # the server hung up mid-body: its
            await writer.drain()  # answer may still be there to read
        async with asyncio.timeout(timeout):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            length = 0
            for line in head.split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            await reader.readexactly(length)
        seconds = time.monotonic() - started
        try:  # then: does the server hang up?
            async with asyncio.timeout(close_wait):
                closed = await reader.read(1) == b""
        except TimeoutError:
            closed = False
        except ConnectionError:
            closed = True
    finally:
        writer.close()
    status = int(head.split(" ", 2)[1])
    return RawAnswer(status, head, closed, seconds)
