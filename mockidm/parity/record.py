"""`mockidm record`: a reverse proxy in front of a real IDM that writes every exchange to a
HAR 1.2 file.

Requests go upstream as the client sent them (method, and the target as on the request line,
header fields as bytes, body bytes) and answers come back as IDM sent them (status, header
fields, body bytes, still compressed if they were); only the hop-by-hop headers, which belong
to each connection, are left out, and `Host` names the upstream. A host that talks HTTP only
(`listener.py` listens, `upstream.py` forwards): it knows nothing of the mock.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from yarl import URL

from ..contract.har import HarEntry, HarWriter
from .listener import Incoming, Listener, Outgoing
from .redact import redact_entry
from .upstream import Upstream, UpstreamError, text

# RFC 9110 7.6.1: these describe one connection, not the message; a proxy must not forward
# them. Content-Length is the transport's to write (the bytes are the same).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
                        "content-length"})
_HOP_BY_HOP = frozenset(name.encode() for name in HOP_BY_HOP)
# Not sent upstream either: the upstream's Host is written for it, and `Expect:
# 100-continue` was answered here (the whole body goes up at once).
_NOT_FORWARDED = HOP_BY_HOP | {"host", "expect"}
CREATOR = "mockidm record"


def _decoded(headers: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), text(value)) for name, value in headers]


@dataclass
class Recorder:
    """Forwards to `upstream` (its origin: the target of each request is kept as the client
    sent it) and hands each exchange, secrets redacted unless `keep_secrets`, to `writer`."""

    upstream: URL
    writer: HarWriter
    keep_secrets: bool = False
    timeout: float = 60.0
    log: TextIO | None = None
    _connections: Upstream = field(init=False)

    def __post_init__(self) -> None:
        self._connections = Upstream(self.upstream, self.timeout)

    async def handle(self, request: Incoming) -> Outgoing:
        started, clock = datetime.now(UTC), time.perf_counter()
        try:
            answer = await self._connections.send(request.method, request.target,
                                                  request.headers, request.body,
                                                  _NOT_FORWARDED)
        except UpstreamError as exc:
            # Not IDM's answer: said as the proxy's own, and nothing is recorded.
            self._say(f"{request.method} {request.target}: {self.upstream} did not answer "
                      f"({exc}); not recorded")
            message = f"mockidm record: {self.upstream} did not answer: {exc}"
            body = json.dumps({"code": 502, "reason": "Bad Gateway", "message": message})
            return Outgoing(502, "Bad Gateway", [(b"Content-Type", b"application/json")],
                            body.encode())
        # A HEAD's answer names the length of the body it would have had: kept as it came.
        head = request.method == "HEAD"
        headers = [(k, v) for k, v in answer.headers
                   if k.lower() not in _HOP_BY_HOP or (head and k.lower() == b"content-length")]
        host = text(request.header(b"host") or b"")
        entry = HarEntry(started, request.method, f"http://{host}{request.target}",
                         _decoded(request.headers), request.body, answer.status, answer.reason,
                         _decoded(headers), answer.body, seconds=time.perf_counter() - clock,
                         http_version=f"HTTP/{request.version}")
        self.writer.write(entry if self.keep_secrets else redact_entry(entry))
        return Outgoing(answer.status, answer.reason, headers, answer.body)

    async def close(self) -> None:
        await self._connections.close()
        self.writer.close()

    def _say(self, line: str) -> None:
        if self.log is not None:
            print(f"mockidm record: {line}", file=self.log, flush=True)


def run(upstream: str, out: Path, *, host: str, port: int, keep_secrets: bool,
        ready: Callable[[int], None] | None = None, log: TextIO = sys.stderr) -> int:
    """Serve until Ctrl-C or SIGTERM; the HAR file is closed on the way out. `ready` is told
    the port once it listens."""
    from .. import __version__

    writer = HarWriter(out, CREATOR, __version__)
    recorder = Recorder(URL(upstream), writer, keep_secrets=keep_secrets, log=log)
    try:
        asyncio.run(_serve(recorder, host, port, ready))
    finally:
        writer.close()
    return 0


async def _serve(recorder: Recorder, host: str, port: int,
                 ready: Callable[[int], None] | None) -> None:
    listener = Listener(recorder.handle)
    bound = await listener.start(host, port)
    if ready is not None:
        ready(bound)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    await listener.stop()  # requests in flight finish (for at most a few seconds)
    await recorder.close()
