"""The aiohttp application: IDM's request pipeline, with routes taken from the spec.

Every request under `/openidm` runs the same steps, in IDM's order:
authenticate (401) -> Common REST checks (400/409/412) -> access rules (403) ->
route (404) -> the operation's spec check -> its handler -> IDM-shaped JSON.

Before those, the mock's own limits, each answered in IDM's envelope and journaled as unserved:
a URL over `MAX_URL_BYTES` (414), a header over `MAX_HEADER_BYTES` (431), a body over
`client_max_size` (413) or one that does not arrive within `body_timeout` seconds (408, and the
connection is closed). aiohttp's parser answers a plain-text 400 itself, before the app, past
`PARSER_MAX_BYTES` per line or header, over 128 headers, or for a malformed request; its log
line then names the error but not the request's bytes (they may hold a password).
A connection that never completes its headers is closed when `idle_timeout` runs out.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from itertools import chain
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..engine import Engine, EngineError
from ..identity import Identity
from ..profile import SUPPORTED_RESOURCE_VERSIONS, Profile, get_profile
from ..spec import Operation, Spec, SpecError, load_spec
from ..state import State
from . import definitions, endpoints, executions, instances, tasks  # noqa: F401
from .access import authorize
from .auth import SESSION_COOKIE, Principal, Sessions
from .call import Call, Reply
from .crest import (
    CREATE,
    DELETE,
    PATCH,
    QUERY,
    READ,
    UPDATE,
    CrestRequest,
    lower_case_headers,
    parse_request,
)
from .errors import IdmError, forbidden, not_supported
from .faults import Fault
from .journal import Exchange
from .operations import HANDLERS
from .render import query_envelope, select_fields, to_json
from .router import Resource, Router

log = logging.getLogger("mockidm")

BASE_PATH = "/openidm"
JSON_TYPE = "application/json; charset=UTF-8"
STATE = web.AppKey("state", State)

# Operations that exist only from IDM 7 (the spec marks them `x-idm-since: "7.0"`).
_SINCE_KEY = "x-idm-since"

_COLLECTION_REFUSALS = {READ: "read", UPDATE: "updated", DELETE: "deleted", PATCH: "patched"}

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


def create_app(engine: Engine | None = None, *, profile: str | Profile = "8.1",
               identity: Identity | None = None, validate_responses: bool = False,
               client_max_size: int = DEFAULT_MAX_BODY,
               body_timeout: float | None = DEFAULT_BODY_TIMEOUT,
               idle_timeout: float | None = None, state: State | None = None
               ) -> web.Application:
    """An aiohttp application serving the workflow API over `engine` (or over `state`, which
    a MockIDM shares with the app so that a test can script it while it serves).

    validate_responses: check every answer against the spec (for tests; costs time).
    client_max_size: the largest request body, in bytes; a larger one is 413.
    body_timeout: seconds a request body may take to arrive (None: no limit); then 408.
    idle_timeout: seconds a connection may stay without a complete request, in its headers
      or between requests, before it is closed (aiohttp's `keepalive_timeout`). None leaves
      the host's: 75 under `web.run_app` (`mockidm serve`), 3630 under `web.AppRunner`.
    """
    if client_max_size < 1:
        raise ValueError("client_max_size must be 1 byte or more")
    if body_timeout is not None and body_timeout <= 0:
        raise ValueError("body_timeout must be positive (or None)")
    if state is None:
        profile = get_profile(profile)
        engine = engine or Engine()
        state = State(engine=engine, identity=identity or Identity.default(profile),
                      profile=profile, sessions=Sessions(engine.clock))
    spec = load_spec(validate_responses=validate_responses)
    _check_handlers(spec)
    pipeline = Pipeline(state, spec, validate_responses, max_body=client_max_size,
                        body_timeout=body_timeout)
    handler_args: dict[str, Any] = {"max_line_size": PARSER_MAX_BYTES,
                                    "max_field_size": PARSER_MAX_BYTES, "logger": _SERVER_LOG}
    if idle_timeout is not None:
        handler_args["keepalive_timeout"] = idle_timeout
    app = web.Application(client_max_size=client_max_size, handler_args=handler_args)
    app[STATE] = state
    app.on_shutdown.append(pipeline.shutting_down)
    # The spec's literal paths first: aiohttp finds them with one dict lookup, where the
    # catch-all below costs it a walk up the path and a regex (some 1.5 us a request).
    for path in pipeline.router.literal_paths():
        app.router.add_route("*", f"{BASE_PATH}/{path}", pipeline.handle)
    # `[\s\S]` and not `.`: a path may carry an encoded newline.
    app.router.add_route("*", BASE_PATH + r"{tail:(/[\s\S]*)?}", pipeline.handle)
    app.router.add_route("*", r"/{tail:[\s\S]*}", pipeline.outside)
    return app


def _check_handlers(spec: Spec) -> None:
    declared = {op.operation_id for op in spec.operations}
    missing, extra = declared - HANDLERS.keys(), HANDLERS.keys() - declared
    if missing or extra:
        raise SpecError(f"operations without a handler: {sorted(missing)}; "
                        f"handlers without an operation: {sorted(extra)}")


def _since(op: Operation, spec: Spec) -> str | None:
    return spec.document["paths"][op.path][op.method.lower()].get(_SINCE_KEY)


class ConnectionDropped(Exception):
    """A scripted failure: the connection closes with no answer."""


class ClientGone(Exception):
    """The client closed its connection before the whole request arrived."""


# A request as received: its journal entry, headers (lower-case names), body, and refusal.
_Received = tuple[Exchange, dict[str, str], bytes, _LimitError | None]
# A request ready for its handler: the CREST request, its operation and its path parameters.
Prepared = tuple[CrestRequest, Operation, dict[str, str]]


class Pipeline:
    def __init__(self, state: State, spec: Spec, validate_responses: bool, *,
                 max_body: int = DEFAULT_MAX_BODY,
                 body_timeout: float | None = DEFAULT_BODY_TIMEOUT) -> None:
        self.state = state
        self.validate_responses = validate_responses
        self.max_body = max_body
        self.body_timeout = body_timeout
        # The body reads under way, and whether the server is stopping (see `shutting_down`).
        self._reading: set[asyncio.Timeout] = set()
        self._header_sets: dict[tuple[tuple[bytes, bytes], ...], dict[str, str]] = {}
        self._success_headers: dict[tuple[int, int], dict[str, str]] = {}
        self._stopping = False
        operations = [op for op in spec.operations
                      if state.profile.executions_and_jobs or _since(op, spec) is None]
        self.router = Router(operations, BASE_PATH)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """A request under /openidm."""
        try:
            path = request.rel_url.raw_path
            # Usually the whole body is there already: no coroutine to wait for it.
            exchange, headers, body, refusal = (self._received(request, path)
                                                or await self._receive(request, path))
            if refusal is not None:
                return await self._refuse(request, refusal, exchange)
            try:
                response = self._answer(request, path[len(BASE_PATH):], headers, body,
                                        exchange)
                if not isinstance(response, web.Response):  # a scripted fault, its latency
                    response = await self._answer_fault(request, headers, exchange, *response)
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

    async def outside(self, request: web.Request) -> web.StreamResponse:
        """A path outside /openidm: IDM's 404, and a request the mock could not serve."""
        try:
            return await self._outside(request)
        except Exception as exc:
            return self._failure(request, exc)

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

    async def _outside(self, request: web.Request) -> web.StreamResponse:
        path = request.rel_url.raw_path
        exchange, _, _, refusal = (self._received(request, path)
                                   or await self._receive(request, path))
        if refusal is not None:
            return await self._refuse(request, refusal, exchange)
        exchange.unserved = "outside /openidm"
        response = error_response(IdmError(404, f"Resource '{request.path.strip('/')}' "
                                                "not found"))
        self.state.journal.answered(exchange, response.status, response.body)
        return response

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

    async def shutting_down(self, app: web.Application) -> None:
        """The server stops (aiohttp's on_shutdown: it listens no more and waits for the
        requests under way): a body still to come will not hold it, it is answered 503."""
        self._stopping = True
        for deadline in list(self._reading):
            deadline.reschedule(-1)  # expire now

    async def _refuse(self, request: web.Request, refusal: _LimitError,
                      exchange: Exchange) -> web.StreamResponse:
        exchange.unserved = f"over the mock's limits ({refusal.message})"
        response = error_response(refusal)
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

    def _answer(self, request: web.Request, raw_path: str, headers: dict[str, str],
                body: bytes, exchange: Exchange
                ) -> web.Response | tuple[Fault, Prepared | IdmError, Principal]:
        """The answer; or, when a scripted fault takes the request, what `_answer_fault`
        needs to answer it."""
        state = self.state
        # Parsing cookies costs time: only when there are some.
        cookies = request.cookies if "cookie" in headers else {}
        # One critical section from authentication to the handler's answer, so that what the
        # access rules saw is what the handler acts on (another thread may hold the state:
        # a test's, or a second server's). Only a scripted fault splits it, at its delay.
        with state.lock:
            principal = state.faults.auth.authenticate(headers, cookies, state.identity,
                                                       state.sessions, exchange)
            exchange.user = principal.name
            try:
                prepared: Prepared | IdmError = self._prepare(request, raw_path, headers, body,
                                                              principal, exchange)
            except IdmError as error:
                prepared = error
            if state.faults.routes:
                operation = prepared[1].operation_id if isinstance(prepared, tuple) else None
                fault = state.faults.route_fault(request.method, raw_path.strip("/"), operation,
                                                 exchange.params)
                if fault is not None:
                    return fault, prepared, principal
            return self._conclude(request, headers, prepared, principal)

    async def _answer_fault(self, request: web.Request, headers: dict[str, str],
                            exchange: Exchange, fault: Fault, prepared: Prepared | IdmError,
                            principal: Principal) -> web.Response:
        state = self.state
        exchange.fault = fault.describe()
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.drop:
            raise ConnectionDropped()
        if fault.status is not None:
            prepared = IdmError(fault.status, fault.message, fault.detail)
        with state.lock:
            return self._conclude(request, headers, prepared, principal)

    def _conclude(self, request: web.Request, headers: dict[str, str],
                  prepared: Prepared | IdmError, principal: Principal) -> web.Response:
        """The answer: the refusal found on the way, or the handler's; with a session."""
        if isinstance(prepared, IdmError):
            response = error_response(prepared)
        else:
            crest, op, path_params = prepared
            try:
                reply = HANDLERS[op.operation_id](Call(self.state, crest, principal, path_params))
                response = self._respond(request, crest, op, reply)
            except EngineError as exc:
                response = error_response(IdmError(500, exc.message))  # providers' catch-all
            except IdmError as error:
                response = error_response(error)
        if headers.get("x-openidm-nosession", "").lower() != "true":
            response.set_cookie(SESSION_COOKIE, self.state.sessions.issue(principal.user),
                                path="/", httponly=True)
            response.headers["Expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return response

    def _prepare(self, request: web.Request, raw_path: str, headers: dict[str, str],
                 body: bytes, principal: Principal, exchange: Exchange) -> Prepared:
        """Everything up to the handler: Common REST, access rules, routing, the spec."""
        state = self.state
        crest = parse_request(request.method, raw_path, request.query.items(), headers, body,
                              state.profile)
        authorize(state, principal, crest, headers)
        try:
            op, path_params = self._route(crest)
        except IdmError as error:
            if error.status == 404 and "not found" in (error.message or ""):
                exchange.unserved = "no such path in the spec"
            raise
        exchange.operation = op.operation_id
        violation = op.check_request(crest.params, crest.content)
        if violation is not None:
            exchange.unserved = f"the spec rejects it ({violation})"
            raise IdmError(op.invalid_status, f"Invalid request for {op.operation_id}, "
                                              f"{violation}")
        return crest, op, path_params

    def _route(self, crest: CrestRequest) -> tuple[Operation, dict[str, str]]:
        if crest.op == PATCH and crest.path[:1] == ("workflow",):
            raise not_supported(PATCH)  # the workflow service refuses patches before routing
        matched = self.router.match(crest.path)
        if matched is None:
            # IDM's router names what is left of the path below the service that took it.
            service, *rest = crest.path or ("",)
            remaining = "/".join(rest) if service in self.router.services and rest else service
            raise IdmError(404, f"Resource '{remaining}' not found")
        resource, path_params = matched
        if (crest.resource_version is not None and self.state.profile.resource_versioning
                and crest.resource_version not in SUPPORTED_RESOURCE_VERSIONS):
            raise IdmError(404, "Resource'' not found")
        verdicts = resource.verdicts
        verdict = verdicts.get(crest.op)
        if verdict is None:
            verdict = verdicts[crest.op] = _verdict(resource, crest.op)
        if isinstance(verdict, IdmError):  # a new one: a raised error keeps its traceback
            raise IdmError(verdict.status, verdict.message, verdict.detail)
        return verdict, path_params

    def _respond(self, request: web.Request, crest: CrestRequest, op: Operation,
                 reply: Reply) -> web.Response:
        if reply.items is not None:
            items = reply.items
            content: Any = query_envelope(
                [select_fields(i, crest.fields) for i in items] if crest.fields else items)
        else:
            content = select_fields(reply.content or {}, crest.fields)
            if crest.mime_type is not None and not crest.mime_type.startswith(
                    ("application/json", "text/")):
                return _binary_field(content, crest)
        if self.validate_responses and not crest.fields:  # `_fields` answers are partial
            violation = op.check_response(reply.status, content)
            if violation is not None:
                raise IdmError(500, f"mockidm broke its own spec: {violation}")
        headers = self._success_headers.get(crest.protocol)
        if headers is None:
            headers = self._success_headers[crest.protocol] = self._headers_for(crest.protocol)
        if reply.location is not None:
            # The Host header as aiohttp's `request.host` reads it, without its cost.
            host = request.headers.get("Host") or request.host
            base = f"{request.scheme}://{host}{request.path.rstrip('/')}"
            headers = {**headers, "Location": f"{base}/{reply.location}"}
        # aiohttp copies the headers it is given: the shared dict stays as it is.
        return web.Response(body=to_json(content, crest.pretty), status=reply.status,
                            headers=headers)

    def _headers_for(self, protocol: tuple[int, int]) -> dict[str, str]:
        """The headers of every successful JSON answer, for the protocol the client asked."""
        headers = {"Content-Type": JSON_TYPE, "Cache-Control": "no-cache"}
        if self.state.profile.resource_versioning:
            headers["Content-API-Version"] = f"protocol={protocol[0]}.{protocol[1]},resource=1.0"
        return headers


def _verdict(resource: Resource, crest_op: str) -> Operation | IdmError:
    """What a CREST operation on a resource comes to: the spec's operation, or a refusal."""
    if crest_op not in resource.operations and resource.other_operations_status == 403:
        return forbidden()  # a script endpoint refuses other methods itself
    if resource.is_collection and crest_op in _COLLECTION_REFUSALS:
        return IdmError(400, f"The resource collection  cannot be "
                             f"{_COLLECTION_REFUSALS[crest_op]}")
    if not resource.is_collection and crest_op in (QUERY, CREATE):
        verb = "queried" if crest_op == QUERY else "created"
        return IdmError(400, f"The resource instance  cannot be {verb}")
    return resource.operations.get(crest_op) or not_supported(crest_op)


def _binary_field(content: dict[str, Any], crest: CrestRequest) -> web.Response:
    """`_mimeType` asks for one field as raw bytes (CREST base64-decodes it)."""
    field = (crest.fields or [""])[0].strip("/").split("/")[-1]
    value = content.get(field)
    if not isinstance(value, str):
        raise IdmError(404, f"Field {field} not found")
    return web.Response(body=base64.b64decode(value), content_type=crest.mime_type,
                        headers={"Cache-Control": "no-cache"})


def json_response(content: Any, status: int = 200, pretty: bool = False) -> web.Response:
    return web.Response(body=to_json(content, pretty), status=status,
                        headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-cache"})


def error_response(error: IdmError) -> web.Response:
    return json_response(error.body(), error.status)



