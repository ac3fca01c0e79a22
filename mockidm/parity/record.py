"""`mockidm record`: a reverse proxy in front of a real IDM that writes every exchange to a
HAR 1.2 file.

Requests go upstream as the client sent them (method, path and query as on the request line,
headers, body bytes) and answers come back as IDM sent them (status, headers, body bytes, still
compressed if they were); only the hop-by-hop headers, which belong to each connection, are
left out, and `Host` names the upstream. A host that talks HTTP only: it knows nothing of the
mock.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from ..contract.har import HarEntry, HarWriter
from .redact import redact_entry
from .upstream import Upstream, UpstreamError

# RFC 9110 7.6.1: these describe one connection, not the message; a proxy must not forward
# them. Content-Length is the transport's to write (the bytes are the same).
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
                        "content-length"})
_NOT_FORWARDED = HOP_BY_HOP | {"host"}  # the upstream's Host is written for it
CREATOR = "mockidm record"


@dataclass
class Recorder:
    """Forwards to `upstream` (its origin: the path of each request is kept as the client sent
    it) and hands each exchange, secrets redacted unless `keep_secrets`, to `writer`."""

    upstream: URL
    writer: HarWriter
    keep_secrets: bool = False
    timeout: float = 60.0
    log: TextIO | None = None
    _upstream: Upstream | None = None

    def app(self) -> web.Application:
        # No size limit on what is forwarded: the upstream applies its own.
        app = web.Application(client_max_size=0)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, app: web.Application) -> None:
        self._upstream = Upstream(self.upstream, self.timeout)

    async def _close(self, app: web.Application) -> None:
        if self._upstream is not None:
            await self._upstream.close()
        self.writer.close()

    async def forward(self, request: web.Request) -> web.StreamResponse:
        assert self._upstream is not None
        started, clock = datetime.now(UTC), time.perf_counter()
        body = await request.read()
        try:
            # The request line's target and the headers' bytes as they came.
            answer = await self._upstream.send(request.method, request.raw_path,
                                               request.raw_headers, body, _NOT_FORWARDED)
        except UpstreamError as exc:
            # Not IDM's answer: said as the proxy's own, and nothing is recorded.
            self._say(f"{request.method} {request.raw_path}: {self.upstream} did not "
                      f"answer ({exc}); not recorded")
            return web.json_response(
                {"code": 502, "reason": "Bad Gateway",
                 "message": f"mockidm record: {self.upstream} did not answer: {exc}"},
                status=502)
        headers = [(k, v) for k, v in answer.headers if k.lower() not in HOP_BY_HOP]
        url = f"{request.scheme}://{request.host}{request.raw_path}"
        entry = HarEntry(started, request.method, url, list(request.headers.items()), body,
                         answer.status, answer.reason, headers, answer.body,
                         seconds=time.perf_counter() - clock,
                         http_version=f"HTTP/{request.version.major}.{request.version.minor}")
        self.writer.write(entry if self.keep_secrets else redact_entry(entry))
        # Passed as a whole, so that aiohttp adds no Content-Type of its own.
        return web.Response(status=answer.status, reason=answer.reason, body=answer.body,
                            headers=CIMultiDict(headers))

    def _say(self, line: str) -> None:
        if self.log is not None:
            print(f"mockidm record: {line}", file=self.log, flush=True)


def run(upstream: str, out: Path, *, host: str, port: int, keep_secrets: bool,
        ready: Callable[[str], None] | None = None, log: TextIO = sys.stderr) -> int:
    """Serve until Ctrl-C or SIGTERM; the HAR file is closed on the way out."""
    from .. import __version__

    base = URL(upstream)
    writer = HarWriter(out, CREATOR, __version__)
    recorder = Recorder(base, writer, keep_secrets=keep_secrets, log=log)

    def said(listening: str) -> None:
        if ready is not None:
            ready(listening)

    try:
        web.run_app(recorder.app(), host=host, port=port, print=said, access_log=None,
                    shutdown_timeout=5)
    finally:
        writer.close()
    return 0
