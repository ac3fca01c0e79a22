"""The transport: how a request reaches IDM's pipeline, within the mock's own limits.

Each request is checked against the limits, its body received and the request journaled before
whatever answers it (`pipeline.py`) sees it; the answer is journaled too. A request over a
limit is refused in IDM's envelope and journaled as unserved: a URL over `MAX_URL_BYTES` (414),
a header over `MAX_HEADER_BYTES` (431), a body over `max_body` (413) or one that does not
arrive within `body_timeout` seconds (408, and the connection is closed; 503 once the server
is stopping). aiohttp's parser answers a plain-text 400 itself, before the app, past
`PARSER_MAX_BYTES` per line or header, over 128 headers, or for a malformed request; its log
line then names the error but not the request's bytes (they may hold a password).
A connection that never completes its headers is closed when `idle_timeout` runs out.

Nothing else leaves the mock but IDM's envelope: not aiohttp's error pages, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from itertools import chain
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..state import State
from .crest import lower_case_headers
from .errors import IdmError
from .journal import Exchange
from .render import error_response

log = logging.getLogger("mockidm")

DEFAULT_MAX_BODY = 1024 * 1024
DEFAULT_BODY_TIMEOUT = 30.0
# The mock's limits on the request line and on each header (name and value), as Jetty's
# default 8 KiB request header buffer: over them, 414 / 431 in IDM's envelope.
MAX_URL_BYTES = 8192
MAX_HEADER_BYTES = 8192
# aiohttp's parser must let such requests through to the app for it to answer them: it reads
# lines and headers up to this size (its default is 8190) and answers a plain 400 past it.
PARSER_MAX_BYTES = 128 * 1024
# Distinct header sets whose lower-cased form is kept (each within MAX_HEADER_BYTES).
HEADER_SETS_KEPT = 256


class _LimitError(IdmError):
    """An answer to a request over one of the mock's limits (URL, headers, body, time)."""


class ConnectionDropped(Exception):
    """A scripted failure: the connection closes with no answer."""


class ClientGone(Exception):
    """The client closed its connection before the whole request arrived."""


class _NoRequestBytes(logging.Filter):
    """aiohttp logs a malformed request with the bytes around the error, which may be a
    password header: keep the line, drop those bytes."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg = (f"{record.getMessage()}: {exc.code}, {type(exc).__name__} "
                          "(the request's bytes are not logged: they may hold credentials)")
            record.args = ()
            record.exc_info = record.exc_text = None
        return True


# aiohttp's connection handler logs through this logger (a child of aiohttp.server, so that
# logging set up for aiohttp still applies), filtered.
_SERVER_LOG = logging.getLogger("aiohttp.server.mockidm")
_SERVER_LOG.addFilter(_NoRequestBytes())


def handler_args(idle_timeout: float | None) -> dict[str, Any]:
    """aiohttp's settings for the connections it serves (`web.Application`'s `handler_args`):
    the parser's limits, the filtered log, and how long a connection may stay idle."""
    args: dict[str, Any] = {"max_line_size": PARSER_MAX_BYTES,
                            "max_field_size": PARSER_MAX_BYTES, "logger": _SERVER_LOG}
    if idle_timeout is not None:
        args["keepalive_timeout"] = idle_timeout
    return args


# What answers a request once it is received: given the request, its raw path, its headers
# (lower-case names), its body and its journal entry, the answer; or one to wait for (a
# scripted fault's latency). It may raise IdmError, or ConnectionDropped for no answer at all.
Answer = Callable[[web.Request, str, dict[str, str], bytes, Exchange],
                  web.Response | Awaitable[web.Response]]
# The operationId a request was addressed to, from its method, path, query and headers (None
# if it cannot be told): named in the journal of a request refused before it was routed.
Addressed = Callable[[str, str, Iterable[tuple[str, str]], Mapping[str, str]], str | None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A request as received: its journal entry, headers (lower-case names), body, and refusal.
_Received = tuple[Exchange, dict[str, str], bytes, _LimitError | None]


class Transport:
    def __init__(self, state: State, *, max_body: int = DEFAULT_MAX_BODY,
                 body_timeout: float | None = DEFAULT_BODY_TIMEOUT) -> None:
        self.state = state
        self.max_body = max_body
        self.body_timeout = body_timeout
        # The body reads under way, and whether the server is stopping (see `shutting_down`).
        self._reading: set[asyncio.Timeout] = set()
        self._stopping = False
        self._header_sets: dict[tuple[tuple[bytes, bytes], ...], dict[str, str]] = {}

    def handler(self, answer: Answer, addressed: Addressed | None = None) -> Handler:
        """The aiohttp handler of the requests `answer` answers; `addressed` names the
        operation of a request refused for the mock's limits."""

        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                path = request.rel_url.raw_path
                # Usually the whole body is there already: no coroutine to wait for it.
                exchange, headers, body, refusal = (self._received(request, path)
                                                    or await self._receive(request, path))
                if refusal is not None:
                    if addressed is not None:
                        exchange.operation = addressed(request.method, path,
                                                       request.query.items(), headers)
                    return await self._refuse(request, refusal, exchange)
                try:
                    response = answer(request, path, headers, body, exchange)
                    if not isinstance(response, web.Response):  # a scripted fault's latency
                        response = await response
                except IdmError as error:
                    response = error_response(error)
                except ConnectionDropped:  # a scripted failure: no answer at all
                    if request.transport is not None:
                        request.transport.abort()
                    return web.Response(status=499)  # never sent: the connection is gone
                self.state.journal.answered(
                    exchange, response.status,
                    response.body if isinstance(response.body, bytes) else b"")
                return response
            except Exception as exc:
                return self._failure(request, exc)

        return handle

    async def shutting_down(self, app: web.Application) -> None:
        """The server stops (aiohttp's on_shutdown: it listens no more and waits for the
        requests under way): a body still to come will not hold it, it is answered 503."""
        self._stopping = True
        for deadline in list(self._reading):
            deadline.reschedule(-1)  # expire now

    @staticmethod
    def _failure(request: web.Request, exc: Exception) -> web.StreamResponse:
        """Nothing leaves the mock but IDM's envelope: not aiohttp's pages, not a traceback."""
        if isinstance(exc, IdmError):
            return error_response(exc)
        if isinstance(exc, ClientGone):  # nothing to answer or journal: the request never came
            return web.Response(status=499)  # never sent
        if isinstance(exc, web.HTTPException):
            return error_response(IdmError(exc.status, exc.reason))
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(IdmError(500, f"{type(exc).__name__}: {exc}"))

    # receiving -----------------------------------------------------------------------------

    def _received(self, request: web.Request, path: str) -> _Received | None:
        """The request checked against the mock's limits, read and journaled (see `_record`);
        or None when its body is still on its way (`_receive` then waits for it)."""
        raw_headers = request.raw_headers
        # Measured in C first: in the usual case all of them together are within the limit.
        header_bytes = sum(map(len, chain.from_iterable(raw_headers)))
        refusal = self._over_limits(request, raw_headers, header_bytes)
        body = b""
        if request.body_exists and refusal is None:
            content, length = request.content, request.content_length
            # All of it has arrived and nobody has read it yet (a middleware may have, with
            # `request.read()`, which keeps it): take it without waiting.
            if not (content.is_eof() and not content.at_eof() and length is not None
                    and length <= self.max_body):
                return None
            body = content.read_nowait()
        return self._record(request, path, header_bytes, body, refusal)

    async def _receive(self, request: web.Request, path: str) -> _Received:
        """`_received` for a body still on its way (and a request within the URL and header
        limits, as `_received` found)."""
        header_bytes = sum(map(len, chain.from_iterable(request.raw_headers)))
        try:
            body = await self._read_body(request)
        except _LimitError as refusal:
            return self._record(request, path, header_bytes, b"", refusal)
        return self._record(request, path, header_bytes, body, None)

    def _record(self, request: web.Request, path: str, header_bytes: int, body: bytes,
                refusal: _LimitError | None) -> _Received:
        """Journal the request: the journal's entry, the headers with lower-case names, the
        body, and why the request is not within the mock's limits (if it is not)."""
        # A client sends the same headers again and again: each set is lower-cased once (the
        # dict is shared by the requests that sent it, and nobody changes it).
        raw_headers = request.raw_headers
        small = header_bytes <= MAX_HEADER_BYTES
        headers = self._header_sets.get(raw_headers) if small else None
        if headers is None:
            headers = lower_case_headers(request.headers.items())
            if small:
                if len(self._header_sets) >= HEADER_SETS_KEPT:
                    self._header_sets.clear()
                self._header_sets[raw_headers] = headers
        state = self.state
        # The journal has a lock of its own; reading the clock needs none.
        exchange = state.journal.open(state.engine.clock.now(), request.method, path,
                                      request.query, headers, body)
        return exchange, headers, body, refusal

    @staticmethod
    def _over_limits(request: web.Request, raw_headers: tuple[tuple[bytes, bytes], ...],
                     header_bytes: int) -> _LimitError | None:
        if len(request.raw_path) > MAX_URL_BYTES:
            return _LimitError(414, f"The request URL is longer than {MAX_URL_BYTES} bytes")
        if header_bytes <= MAX_HEADER_BYTES:
            return None
        for name, value in raw_headers:
            if len(name) + len(value) > MAX_HEADER_BYTES:
                return _LimitError(431, f"The header {name.decode('ascii', 'replace')[:100]} "
                                        f"is longer than {MAX_HEADER_BYTES} bytes")
        return None

    def _too_large(self) -> _LimitError:
        return _LimitError(413, f"The request body is larger than {self.max_body} bytes")

    async def _read_body(self, request: web.Request) -> bytes:
        """The body of a request that has one (`request.body_exists`)."""
        if request.content_length is not None and request.content_length > self.max_body:
            raise self._too_large()  # refused before reading; aiohttp drains what is sent
        try:
            if request.content.is_eof():  # all of it has arrived: nothing to wait for
                return await request.read()
            # A client that stops half-way through its body must not keep a handler waiting.
            async with asyncio.timeout(self.body_timeout) as deadline:
                if self._stopping:
                    deadline.reschedule(-1)
                self._reading.add(deadline)
                try:
                    return await request.read()
                finally:
                    self._reading.discard(deadline)
        except web.HTTPRequestEntityTooLarge:  # a chunked body, or a lying Content-Length
            raise self._too_large() from None
        except ConnectionError:  # the client closed its connection half-way
            raise ClientGone() from None
        except TimeoutError:
            if self._stopping:
                raise _LimitError(503, "The server is shutting down") from None
            raise _LimitError(408, f"The request body did not arrive within "
                                   f"{self.body_timeout:g} seconds") from None

    # refusing ------------------------------------------------------------------------------

    async def _refuse(self, request: web.Request, refusal: _LimitError,
                      exchange: Exchange) -> web.StreamResponse:
        exchange.unserved = f"over the mock's limits ({refusal.message})"
        response = error_response(refusal)
        assert isinstance(response.body, bytes)  # as every JSON answer's
        self.state.journal.answered(exchange, response.status, response.body)
        if refusal.status in (408, 503):
            # The rest of the body may never come: answer, then close the connection rather
            # than let aiohttp wait (up to its 10 s lingering time) to drain it.
            response.force_close()
            if request.transport is None:
                return response  # the client went meanwhile
            with contextlib.suppress(ConnectionError):
                await response.prepare(request)
                await response.write_eof()
            if request.transport is not None:
                request.transport.close()  # no data is received past this point
            request.content.feed_eof()  # so aiohttp does not linger on the unread body
        return response
