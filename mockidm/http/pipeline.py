"""IDM's request pipeline, with routes taken from the spec.

Every request under `BASE_PATH`, once the transport (`transport.py`) has received and journaled
it, runs the same steps, in IDM's order:
authenticate, with the scripted auth failures first (401) -> Common REST checks (400/409/412)
-> access rules (403) -> route (404, 400, 501) -> the operation's spec check -> a route fault
that matches, if any -> the handler -> IDM-shaped JSON, with a session cookie.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

from aiohttp import web

from ..engine import EngineError
from ..profile import SUPPORTED_RESOURCE_VERSIONS
from ..spec import Operation, Spec, SpecError
from ..state import State
from . import (  # noqa: F401
    definitions,
    descriptors,
    endpoints,
    executions,
    info,
    instances,
    jobs,
    objects,
    tasks,
)
from .access import authorize
from .auth import SESSION_COOKIE, Principal
from .call import Call, Reply
from .crest import (
    CREATE,
    DELETE,
    DESCRIPTOR_OPERATIONS,
    NO_PROTOCOL,
    PATCH,
    QUERY,
    READ,
    UPDATE,
    CrestRequest,
    addressed_operation,
    parse_request,
)
from .errors import IdmError, forbidden, not_supported
from .faults import Fault
from .journal import Exchange
from .operations import HANDLERS
from .paging import offset_paged_envelope, paged_envelope
from .queryfilter import parse_pointer
from .render import JSON_TYPE, error_response, query_envelope, select_fields, to_json
from .router import Resource, Router
from .transport import ConnectionDropped

BASE_PATH = "/openidm"

# Operations that exist only from IDM 7 (the spec marks them `x-idm-since: "7.0"`).
_SINCE_KEY = "x-idm-since"

_COLLECTION_REFUSALS = {READ: "read", UPDATE: "updated", DELETE: "deleted", PATCH: "patched"}

# A request ready for its handler: the CREST request, its operation and its path parameters.
Prepared = tuple[CrestRequest, Operation, dict[str, str]]


# IDM's answer to a resource version it does not serve (7+), on any path.
UNSUPPORTED_VERSION = "Resource'' not found"


class Pipeline:
    def __init__(self, state: State, spec: Spec, validate_responses: bool) -> None:
        _check_handlers(spec)
        self.state = state
        self.validate_responses = validate_responses
        self._success_headers: dict[tuple[int, int], dict[str, str]] = {}
        operations = [op for op in spec.operations
                      if state.profile.executions_and_jobs or _since(op, spec) is None]
        # The descriptors answer on every path: they are no resource of the router's.
        self.descriptors = {op.crest: op for op in operations
                            if op.crest in DESCRIPTOR_OPERATIONS}
        self.router = Router([op for op in operations if op.crest not in self.descriptors],
                             BASE_PATH)

    def answer(self, request: web.Request, path: str, headers: dict[str, str], body: bytes,
               exchange: Exchange) -> web.Response | Awaitable[web.Response]:
        """The answer to a request under `BASE_PATH` (the transport's `Answer`); or, when a
        scripted fault takes the request, the answer to wait for."""
        state = self.state
        raw_path = path[len(BASE_PATH):]
        # Parsing cookies costs time: only when there are some.
        cookies = request.cookies if "cookie" in headers else {}
        # One critical section from authentication to the handler's answer, so that what the
        # access rules saw is what the handler acts on (another thread may hold the state:
        # a test's, or a second server's). Only a scripted fault splits it, at its delay.
        with state.lock:
            try:
                principal = state.faults.auth.authenticate(headers, cookies, state.identity,
                                                           state.sessions, state.tokens,
                                                           exchange)
            except IdmError:
                exchange.operation = self.addressed(request.method, path, request.query.items(),
                                                    headers)
                raise
            exchange.user = principal.name
            try:
                prepared: Prepared | IdmError = self._prepare(request, raw_path, headers, body,
                                                              principal, exchange)
            except IdmError as error:
                prepared = error
                if exchange.operation is None:  # refused before routing
                    exchange.operation = self.addressed(request.method, path,
                                                        request.query.items(), headers)
            if state.faults.routes:
                operation = prepared[1].operation_id if isinstance(prepared, tuple) else None
                fault = state.faults.route_fault(request.method, raw_path.strip("/"), operation,
                                                 exchange.params)
                if fault is not None:
                    return self._answer_fault(request, headers, exchange, fault, prepared,
                                              principal)
            return self._conclude(request, headers, prepared, principal)

    def addressed(self, method: str, path: str, query: Iterable[tuple[str, str]],
                  headers: Mapping[str, str]) -> str | None:
        """The operationId a request under `BASE_PATH` was addressed to, from its method, path
        and the parameters that choose the operation (`_action`, `_queryId`...) alone: to name
        the operation of a request refused before it was routed (the transport's `Addressed`).
        None when no operation of the spec is there for it."""
        addressed = addressed_operation(method, path[len(BASE_PATH):], query, headers)
        if addressed is None:
            return None
        crest_op, crest_path = addressed
        if crest_op in self.descriptors:
            return self.descriptors[crest_op].operation_id
        matched = self.router.match(crest_path)
        operation = matched[0].operations.get(crest_op) if matched is not None else None
        return None if operation is None else operation.operation_id

    @staticmethod
    def outside(request: web.Request, path: str, headers: dict[str, str], body: bytes,
                exchange: Exchange) -> web.Response:
        """The answer to a path outside `BASE_PATH`: IDM's 404, and a request the mock could
        not serve."""
        exchange.unserved = f"outside {BASE_PATH}"
        return error_response(IdmError(404, f"Resource '{request.path.strip('/')}' not found"))

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
            # An unsupported resource version is IDM's own 404 on a path the mock serves.
            if error.status == 404 and "not found" in (error.message or "") \
                    and error.message != UNSUPPORTED_VERSION:
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
            if crest.op in self.descriptors:  # a descriptor of the whole API, or a 404 to say
                return self.descriptors[crest.op], {}
            # IDM's router names what is left of the path below the service that took it.
            service, *rest = crest.path or ("",)
            remaining = "/".join(rest) if service in self.router.services and rest else service
            raise IdmError(404, f"Resource '{remaining}' not found")
        resource, path_params = matched
        if (crest.resource_version is not None and self.state.profile.resource_versioning
                and crest.resource_version not in SUPPORTED_RESOURCE_VERSIONS):
            raise IdmError(404, UNSUPPORTED_VERSION)
        verdicts = resource.verdicts
        verdict = verdicts.get(crest.op)
        if verdict is None:
            verdict = verdicts[crest.op] = (self.descriptors.get(crest.op)
                                            or _verdict(resource, crest.op))
        if isinstance(verdict, IdmError):  # a new one: a raised error keeps its traceback
            raise IdmError(verdict.status, verdict.message, verdict.detail)
        return verdict, path_params

    async def _answer_fault(self, request: web.Request, headers: dict[str, str],
                            exchange: Exchange, fault: Fault, prepared: Prepared | IdmError,
                            principal: Principal) -> web.Response:
        exchange.fault = fault.describe()
        if fault.latency:
            await asyncio.sleep(fault.latency)
        if fault.drop:
            raise ConnectionDropped()
        if fault.status is not None:
            prepared = IdmError(fault.status, fault.message, fault.detail)
        with self.state.lock:
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
        # A bearer token is checked afresh on every request (the rsFilter keeps no session).
        if (headers.get("x-openidm-nosession", "").lower() != "true"
                and principal.via != "bearer"):
            response.set_cookie(SESSION_COOKIE, self.state.sessions.issue(principal.user),
                                path="/", httponly=True)
            response.headers["Expires"] = "Thu, 01 Jan 1970 00:00:00 GMT"
        return response

    def _respond(self, request: web.Request, crest: CrestRequest, op: Operation,
                 reply: Reply) -> web.Response:
        if reply.items is not None:
            items = reply.items
            if crest.page_size > 0 and (self.state.profile.paging
                                        or op.operation_id in self.state.profile.own_paging):
                content: Any = (paged_envelope if self.state.profile.paging
                                else offset_paged_envelope)(items, crest)
                items = content["result"]
                if crest.fields:
                    content["result"] = [select_fields(i, crest.fields) for i in items]
            else:
                content = query_envelope(
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
            headers = {**headers, "Location": f"{request.scheme}://{host}{BASE_PATH}/"
                                              f"{reply.location}"}
        # aiohttp copies the headers it is given: the shared dict stays as it is.
        return web.Response(body=to_json(content, crest.pretty), status=reply.status,
                            headers=headers)

    def _headers_for(self, protocol: tuple[int, int]) -> dict[str, str]:
        """The headers of every successful JSON answer, for the protocol the client asked."""
        if protocol == NO_PROTOCOL:  # a descriptor: the content type alone, as CHF answers
            return {"Content-Type": JSON_TYPE}
        headers = {"Content-Type": JSON_TYPE, "Cache-Control": "no-cache"}
        if self.state.profile.resource_versioning:
            headers["Content-API-Version"] = f"protocol={protocol[0]}.{protocol[1]},resource=1.0"
        return headers


def _check_handlers(spec: Spec) -> None:
    declared = {op.operation_id for op in spec.operations}
    missing, extra = declared - HANDLERS.keys(), HANDLERS.keys() - declared
    if missing or extra:
        raise SpecError(f"operations without a handler: {sorted(missing)}; "
                        f"handlers without an operation: {sorted(extra)}")


def _since(op: Operation, spec: Spec) -> str | None:
    return spec.document["paths"][op.path][op.method.lower()].get(_SINCE_KEY)


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
    field = (parse_pointer((crest.fields or [""])[0]) or ("",))[-1]
    value = content.get(field)
    if not isinstance(value, str):
        raise IdmError(404, f"Field {field} not found")
    try:
        data = base64.b64decode(value, validate=True)
    except binascii.Error:  # a text field, not bytes: no answer to give, but no crash either
        raise IdmError(500, f"Field {field} is not base64-encoded content") from None
    return web.Response(body=data, content_type=crest.mime_type,
                        headers={"Cache-Control": "no-cache"})
