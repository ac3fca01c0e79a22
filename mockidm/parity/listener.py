"""The recorder's listening side: HTTP/1.1 over asyncio streams, one connection at a time per
task, kept alive as the client asks.

Why not aiohttp's server, which the mock uses: a proxy does the work of a server and of a
client for each request, and with aiohttp's server (about as costly per request as the whole
mock) the recorder could not leave a client half of its direct rate (`benchmarks/proxy.py`).
A proxy needs little of a server: the request line, the header fields as bytes, and the body
(RFC 9112 6: `Content-Length` or chunked); `Expect: 100-continue` is answered here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

RawHeaders = list[tuple[bytes, bytes]]
MAX_HEAD = 2 ** 20  # a request line and header fields larger than this: 431
_NO_BODY_STATUS = (204, 304)


@dataclass
class Incoming:
    method: str
    target: str  # as on the request line, not decoded
    version: str  # "1.1"
    headers: RawHeaders  # as received, names' case kept
    body: bytes  # de-chunked if it came chunked

    def header(self, name: bytes) -> bytes | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)


@dataclass
class Outgoing:
    status: int
    reason: str
    headers: RawHeaders  # without framing fields: Content-Length is written here
    body: bytes


Handler = Callable[[Incoming], Awaitable[Outgoing]]


class BadRequest(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The next request's line and header fields; None when the client has closed."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise BadRequest(400, "Bad Request") from exc
        return None
    except asyncio.LimitOverrunError as exc:
        raise BadRequest(431, "Request Header Fields Too Large") from exc


async def read_request(head: bytes, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter) -> Incoming:
    """The request whose head `read_head` read: parsed, and its body read."""
    lines = head[:-4].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        raise BadRequest(400, "Bad Request")
    headers: RawHeaders = []
    length, chunked, expect = 0, False, False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise BadRequest(400, "Bad Request")
        value = value.strip()
        headers.append((name, value))
        lower = name.lower()
        if lower == b"content-length":
            if not value.isdigit():
                raise BadRequest(400, "Bad Request")
            length = int(value)
        elif lower == b"transfer-encoding":
            chunked = value.lower().endswith(b"chunked")
        elif lower == b"expect":
            expect = value.lower() == b"100-continue"
    if expect:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    if chunked:
        body = await read_chunks(reader)
    else:
        body = await reader.readexactly(length) if length else b""
    return Incoming(parts[0].decode("ascii", "replace"), parts[1].decode("latin-1"),
                    parts[2][5:].decode("ascii", "replace"), headers, body)


async def read_chunks(reader: asyncio.StreamReader) -> bytes:
    """A chunked body (RFC 9112 7.1), its trailer fields dropped."""
    parts: list[bytes] = []
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as exc:
            raise BadRequest(400, "Bad Request") from exc
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def response_bytes(answer: Outgoing, method: str, *, close: bool) -> bytes:
    out = [b"HTTP/1.1 %d %s\r\n" % (answer.status, answer.reason.encode("latin-1", "replace"))]
    out += [name + b": " + value + b"\r\n" for name, value in answer.headers]
    body = answer.body
    if method == "HEAD" or answer.status in _NO_BODY_STATUS:
        body = b""
    if answer.status not in _NO_BODY_STATUS and method != "HEAD":
        out.append(b"Content-Length: %d\r\n" % len(body))
    if close:
        out.append(b"Connection: close\r\n")
    return b"".join(out) + b"\r\n" + body


class Listener:
    """Serves `handler` until `stop`; requests in flight may finish."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._busy: set[asyncio.Task[None]] = set()  # reading or answering a request

    async def start(self, host: str, port: int) -> int:
        """Listen; the port it got (`port` 0: a free one)."""
        self.server = await asyncio.start_server(self._connection, host, port, limit=MAX_HEAD,
                                                 reuse_address=True)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self, grace: float = 5.0) -> None:
        """Stop listening, close idle connections at once, give requests in flight `grace`
        seconds to be answered."""
        if self.server is not None:
            self.server.close()
        for task in self._connections - self._busy:
            task.cancel()
        if self._busy:
            await asyncio.wait(self._busy, timeout=grace)
        for task in list(self._connections):
            task.cancel()

    async def _connection(self, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            while True:
                try:
                    head = await read_head(reader)  # idle until a request begins
                    if head is None:
                        break
                    if task is not None:
                        self._busy.add(task)
                    request = await read_request(head, reader, writer)
                except BadRequest as exc:
                    writer.write(response_bytes(Outgoing(exc.status, exc.reason, [], b""),
                                                "GET", close=True))
                    break
                answer = await self.handler(request)
                connection = (request.header(b"connection") or b"").lower()
                close = request.version != "1.1" or b"close" in connection \
                    or (self.server is not None and not self.server.is_serving())
                writer.write(response_bytes(answer, request.method, close=close))
                await writer.drain()
                if task is not None:
                    self._busy.discard(task)
                if close:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the recorder is stopping
        finally:
            if task is not None:
                self._connections.discard(task)
                self._busy.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
