"""The recorder's connections to the upstream IDM: HTTP/1.1 over asyncio streams, kept alive
and reused.

Why not aiohttp's client: measured in front of the mock (benchmarks/proxy.py), its request
machinery cost the proxy more CPU per request than the whole mock spends answering it, and the
recorder must leave a client at least half its direct rate. A proxy needs little of a client:
the request's head and body go out as the client sent them, and an answer is a status line,
headers, and a body whose end `Content-Length`, chunked transfer coding or the connection's
close marks (RFC 9112 6.3). Nothing is decoded: a compressed body stays compressed.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from yarl import URL

RawHeaders = Sequence[tuple[bytes, bytes]]
_NO_BODY_STATUS = (204, 304)


class UpstreamError(Exception):
    """The upstream could not be reached, or its answer could not be read."""


@dataclass
class Answer:
    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]  # as received, hop-by-hop ones included
    body: bytes


def text(value: bytes) -> str:
    """A header's bytes as text: UTF-8 when they are, else Latin-1 (which takes any byte)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


class Upstream:
    def __init__(self, url: URL, timeout: float) -> None:
        if url.host is None:
            raise ValueError(f"no host in {url}")
        self.host, self.port = url.host, url.explicit_port or (443 if url.scheme == "https"
                                                                else 80)
        self.ssl = ssl.create_default_context() if url.scheme == "https" else None
        default = (url.scheme, self.port) in (("http", 80), ("https", 443))
        self.host_header = (url.raw_host or self.host) + ("" if default else f":{self.port}")
        self.timeout = timeout
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def close(self) -> None:
        while self._idle:
            _, writer = self._idle.pop()
            writer.close()

    async def send(self, method: str, target: str, headers: RawHeaders, body: bytes,
                   skip: frozenset[str]) -> Answer:
        """One exchange; the headers named in `skip` (lower-case) are not sent."""
        head = [f"{method} {target} HTTP/1.1\r\nHost: {self.host_header}\r\n".encode("latin-1")]
        for name, value in headers:
            if name.decode("latin-1").lower() not in skip:
                head.append(name + b": " + value + b"\r\n")
        if body or method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: %d\r\n" % len(body))
        message = b"".join(head) + b"\r\n" + body
        try:
            async with asyncio.timeout(self.timeout):  # no task per request, as wait_for
                return await self._exchange(method, message)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ValueError) as exc:
            raise UpstreamError(f"{type(exc).__name__}: {exc}") from exc
        except TimeoutError as exc:
            raise UpstreamError(f"no answer within {self.timeout:g} s") from exc

    async def _exchange(self, method: str, message: bytes) -> Answer:
        while self._idle:  # a kept connection the upstream has closed meanwhile is dropped
            reader, writer = self._idle.pop()
            try:
                writer.write(message)
                return await self._read(method, reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                writer.close()
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise  # part of an answer came: the request was served
        reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self.ssl,
                                                       limit=2 ** 20)
        writer.write(message)
        try:
            return await self._read(method, reader, writer)
        except BaseException:
            writer.close()
            raise

    async def _read(self, method: str, reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> Answer:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head[:-4].split(b"\r\n")
            version, _, rest = lines[0].partition(b" ")
            code, _, reason = rest.partition(b" ")
            status = int(code)
            if not 100 <= status < 200 or status == 101:
                break  # a 1xx interim answer (100 Continue) is followed by the real one
        headers = []
        length: int | None = None
        chunked, keep = False, version == b"HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip(), value.strip()
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                length = int(value)
            elif lower == b"transfer-encoding":
                chunked = value.lower().endswith(b"chunked")
            elif lower == b"connection":
                keep = b"close" not in value.lower() and (keep or b"keep-alive" in value.lower())
        if method == "HEAD" or status in _NO_BODY_STATUS:
            body = b""
        elif chunked:
            body = await _chunks(reader)
        elif length is not None:
            body = await reader.readexactly(length)
        else:  # the body ends with the connection
            body, keep = await reader.read(), False
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return Answer(status, text(reason), headers, body)


async def _chunks(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailer fields: not kept (HAR has no place for them)
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
