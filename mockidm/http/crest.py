"""Common REST over HTTP: turning a request into a CREST operation, and results into JSON.

Everything here is generic: it is what IDM's CREST HTTP adapter does in front of every
endpoint, before any workflow code runs (docs/common-rest.md). Messages are IDM's, verbatim.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from ..profile import Profile
from .errors import IdmError
from .queryfilter import Filter, QueryFilterError, parse_pointer
from .queryfilter import parse as parse_query_filter

QUERY, READ, CREATE, UPDATE, DELETE, PATCH, ACTION = (
    "query", "read", "create", "update", "delete", "patch", "action")
# The API descriptor requests: `_crestapi` (a GET that is no query: CREST's own request type
# API) and `_api` (any method: CHF's OpenApiRequestFilter answers it, before Common REST).
API, OPENAPI = "api", "openapi"
DESCRIPTOR_OPERATIONS = (API, OPENAPI)
# Their answer is no Common REST answer: no protocol (and so no Content-API-Version); one no
# `Accept-API-Version` can name (`protocol=0.0` is a valid request).
NO_PROTOCOL = (-1, -1)

PROTOCOL_DEFAULT = (2, 1)
COUNT_POLICIES = ("NONE", "EXACT", "ESTIMATE")

_COMMON = ("_fields", "_prettyprint")
_RESERVED = {
    QUERY: {*_COMMON, "_sortkeys", "_queryid", "_queryexpression", "_queryfilter",
            "_pagedresultscookie", "_pagedresultsoffset", "_pagesize", "_totalpagedresultspolicy"},
    READ: {*_COMMON, "_mimetype"},
    CREATE: {*_COMMON, "_action"},
    ACTION: {*_COMMON, "_action"},
    UPDATE: set(_COMMON),
    DELETE: set(_COMMON),
    PATCH: set(_COMMON),
}
_MULTI_VALUED = {"_fields", "_sortkeys"}
_QUERY_SELECTORS = frozenset({"_queryid", "_queryfilter", "_queryexpression"})  # GET is a query
_JSON_CONTENT_TYPE = re.compile(r"^application/json( *; *charset=utf-8)?$", re.IGNORECASE)
_USUAL_JSON_TYPES = frozenset({"application/json", "application/json; charset=UTF-8",
                               "application/json; charset=utf-8", "application/json;charset=UTF-8"})
_VERSION = re.compile(r"^(protocol|resource)=(\d+)(?:\.(\d+))?$")
_SORT_KEY = re.compile(r"^[+-]?[^,+-][^,]*$")

Version = tuple[int, int]


class CrestRequest:
    """One Common REST request, as the router and the providers see it.

    The defaults are class attributes: a request sets only what it was given, which keeps
    building one cheap (it is built for every request)."""

    action: str | None = None
    content: Any = None
    new_resource_id: str | None = None
    if_match: str | None = None
    if_none_match: str | None = None  # a PUT's: `*` refuses to replace what exists
    fields: list[str] | None = None
    pretty: bool = False
    mime_type: str | None = None
    query_id: str | None = None
    query_filter: Filter | None = None
    query_expression: str | None = None
    sort_keys: tuple[str, ...] = ()
    page_size: int = 0
    paged_results_offset: int = 0
    paged_results_cookie: str | None = None
    count_policy: str = "NONE"

    def __init__(self, method: str, op: str, path: tuple[str, ...], protocol: Version,
                 resource_version: Version | None) -> None:
        self.method = method
        self.op = op
        self.path = path  # decoded path elements after /openidm
        self.protocol = protocol
        self.resource_version = resource_version
        self.params: dict[str, str] = {}  # the non-reserved (filter) params

    def __repr__(self) -> str:
        return f"CrestRequest({self.method} {self.op} {self.resource_path!r} {vars(self)})"

    @property
    def resource_path(self) -> str:
        return "/".join(self.path)


def parse_request(method: str, raw_path: str, query: Iterable[tuple[str, str]],
                  headers: Mapping[str, str], body: bytes, profile: Profile) -> CrestRequest:
    """Check a request as CREST does and say which operation it is; raise IdmError if bad.

    `headers` has lower-case names (see `lower_case_headers`)."""
    if method == "POST" and "x-http-method-override" in headers:
        method = headers["x-http-method-override"].upper()
    params = _group(query)
    if "_crestapi" in params or "_api" in params:  # (`_group` lower-cases `_` names)
        descriptor = _descriptor(method, params)
        if descriptor is not None:
            return _descriptor_request(method, raw_path, params, descriptor)
    protocol, resource = _parse_version(headers.get("accept-api-version"),
                                        profile.max_protocol_minor)
    _check_content_type(method, headers)
    _reject_unsupported_conditionals(headers)
    request = CrestRequest(method=method, op="", path=_parse_path(raw_path),
                           protocol=protocol, resource_version=resource)
    if method == "GET":
        _parse_get(request, params, headers)
    elif method == "POST":
        _parse_post(request, params, headers, body)
    elif method == "PUT":
        _parse_put(request, params, headers, body)
    elif method == "DELETE":
        _reject_if_none_match(method, headers)
        request.op = DELETE
        request.if_match = headers.get("if-match")
    elif method == "PATCH":
        if "if-none-match" in headers:
            raise IdmError(412, "Use of If-None-Match not supported for PATCH requests")
        request.op = PATCH
        request.content = _json_content(headers, body)
        request.if_match = headers.get("if-match")
    else:
        raise IdmError(501, f"Method {method} not supported")
    _take_params(request, params)
    return request


def addressed_operation(method: str, raw_path: str, query: Iterable[tuple[str, str]],
                        headers: Mapping[str, str]) -> tuple[str, tuple[str, ...]] | None:
    """The CREST operation a request is addressed to and the resource path it acts on, as
    `parse_request` would tell them, without checking anything else: for a request refused
    before it was parsed (or while), to say what it was for. None when that cannot be told
    (an unknown method, `_action` given twice, a path with empty elements)."""
    if method == "POST" and "x-http-method-override" in headers:
        method = headers["x-http-method-override"].upper()
    params = _group(query)
    try:
        path = _parse_path(raw_path)
        descriptor = _descriptor(method, params)
        if descriptor is not None:
            return descriptor, path
        if method == "GET":
            return (QUERY if not params.keys().isdisjoint(_QUERY_SELECTORS) else READ), path
        if method == "POST":
            action = _single(params, "_action")
            return (CREATE if action is None or action.lower() == "create" else ACTION), path
        if method == "PUT":
            # Without If-Match, protocol 2 creates the resource named by the path's last element.
            version = headers.get("accept-api-version")
            protocol = PROTOCOL_DEFAULT if version is None else _versions(version)[0]
            if "if-match" in headers or protocol < (2, 0):
                return UPDATE, path
            return (CREATE, path[:-1]) if path else None
    except IdmError:
        return None
    op = {"DELETE": DELETE, "PATCH": PATCH}.get(method)
    return None if op is None else (op, path)


def _descriptor(method: str, params: dict[str, tuple[str, list[str]]]) -> str | None:
    """The descriptor operation a request asks for (OPENAPI, API), if any."""
    entry = params.get("_api")
    if entry is not None and entry[0] == "_api":  # CHF reads its form: case-sensitive
        return OPENAPI
    if (method == "GET" and "_crestapi" in params
            and params.keys().isdisjoint(_QUERY_SELECTORS)):  # a query stays a query
        return API
    return None


def _descriptor_request(method: str, raw_path: str, params: dict[str, tuple[str, list[str]]],
                        descriptor: str) -> CrestRequest:
    """An API descriptor request: CREST checks no header, body or other parameter for it
    (HttpAdapter.doApiRequest) and reads `_prettyPrint` alone."""
    request = CrestRequest(method=method, op=descriptor, path=_parse_path(raw_path),
                           protocol=NO_PROTOCOL, resource_version=None)
    pretty = params.get("_prettyprint")
    if descriptor == API and pretty is not None:
        request.pretty = pretty[1][-1].lower() == "true"
    return request


def lower_case_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """One plain dict with lower-case names: cheaper to ask than a case-insensitive multidict."""
    return {name.lower(): value for name, value in headers}


@lru_cache(maxsize=64)  # clients send the same one or two values again and again
def _parse_version(value: str | None, max_minor: int) -> tuple[Version, Version | None]:
    """`Accept-API-Version`: (protocol, resource); an invalid one raises (and is not cached)."""
    protocol, resource = PROTOCOL_DEFAULT, None
    if value is not None:
        protocol, resource = _versions(value)
    if protocol[0] > PROTOCOL_DEFAULT[0]:
        raise IdmError(400, f"Unsupported major version: {protocol[0]}.{protocol[1]}")
    # CREST compares the minor version alone, so even protocol 1.5 is refused.
    if protocol[1] > max_minor:  # the profile's highest minor version
        raise IdmError(400, f"Unsupported minor version: {protocol[0]}.{protocol[1]}")
    return protocol, resource


def _versions(value: str) -> tuple[Version, Version | None]:
    protocol, resource = PROTOCOL_DEFAULT, None
    parts = [p.strip() for p in value.split(",")]
    matches = [_VERSION.match(p) for p in parts]
    if not value.strip() or len(parts) > 2 or not all(matches):
        raise IdmError(400, f"Version string is in an invalid format: {value}")
    for m in matches:
        assert m is not None
        version = (int(m.group(2)), int(m.group(3) or 0))
        if m.group(1) == "protocol":
            protocol = version
        else:
            resource = version
    return protocol, resource


def _check_content_type(method: str, headers: Mapping[str, str]) -> None:
    content_type = headers.get("content-type")
    if method == "GET" or content_type is None:
        return
    if content_type in _USUAL_JSON_TYPES:
        return
    media_type = content_type.strip()
    if _JSON_CONTENT_TYPE.match(media_type) or media_type.lower().startswith("multipart/form-data"):
        return
    raise IdmError(
        400,
        "The request could not be processed because it specified the content-type "
        f"'{media_type.split(';')[0]}' when only the content-type 'application/json' and "
        "'multipart/form-data' are supported")


def _reject_unsupported_conditionals(headers: Mapping[str, str]) -> None:
    if "if-modified-since" in headers:
        raise IdmError(409, "Header If-Modified-Since not supported")
    if "if-unmodified-since" in headers:
        raise IdmError(409, "Header If-Unmodified-Since not supported")


def _reject_if_none_match(method: str, headers: Mapping[str, str]) -> None:
    if "if-none-match" in headers:
        raise IdmError(412, f"If-None-Match not supported for {method} requests")


@lru_cache(maxsize=256)  # a collection's path comes again and again
def _parse_path(raw_path: str) -> tuple[str, ...]:
    stripped = raw_path.strip("/")
    if not stripped:
        return ()
    elements = stripped.split("/")
    if "" in elements:
        raise IdmError(400, f"Resource path '{stripped}' contains empty path elements")
    if "%" not in stripped:
        return tuple(elements)
    return tuple(unquote(e) if "%" in e else e for e in elements)


def _group(query: Iterable[tuple[str, str]]) -> dict[str, tuple[str, list[str]]]:
    """name (lower-cased when reserved) -> (name as sent, values)."""
    grouped: dict[str, tuple[str, list[str]]] = {}
    for name, value in query:
        key = name.lower() if name[:1] == "_" else name
        entry = grouped.get(key)
        if entry is None:
            grouped[key] = (name, [value])
        else:
            entry[1].append(value)
    return grouped


def _single(params: dict[str, tuple[str, list[str]]], key: str) -> str | None:
    entry = params.get(key)
    if entry is None:
        return None
    name, values = entry
    if len(values) > 1:
        raise _multiple_values(name)
    return values[0]


def _parse_get(request: CrestRequest, params: dict, headers: Mapping[str, str]) -> None:
    if "if-match" in headers:
        raise IdmError(412, "If-Match not supported for GET requests")
    if not params.keys().isdisjoint(_QUERY_SELECTORS):
        _reject_if_none_match("GET", headers)
        request.op = QUERY
    else:
        if headers.get("if-none-match") == "*":
            raise IdmError(412, "If-None-Match * not appropriate for GET requests")
        request.op = READ


def _parse_post(request: CrestRequest, params: dict, headers: Mapping[str, str],
                body: bytes) -> None:
    _reject_if_none_match("POST", headers)
    if "if-match" in headers:
        raise IdmError(412, "If-Match not supported for POST requests")
    action = _single(params, "_action")
    if action is None and request.protocol < PROTOCOL_DEFAULT:
        raise IdmError(400, "No values provided for the request parameter '_action'")
    if action is None or action.lower() == "create":
        request.op = CREATE
        request.content = _json_object_content(headers, body)
    else:
        request.op = ACTION
        request.action = action
        request.content = _json_action_content(headers, body)


def _parse_put(request: CrestRequest, params: dict, headers: Mapping[str, str],
               body: bytes) -> None:
    if_match, if_none_match = headers.get("if-match"), headers.get("if-none-match")
    if if_match is not None and if_none_match is not None:
        raise IdmError(412, "Simultaneous use of If-Match and If-None-Match not supported "
                            "for PUT requests")
    request.content = _json_object_content(headers, body)
    if if_none_match is not None and if_none_match != "*":
        raise IdmError(400, f'"{if_none_match}" is not a supported value for If-None-Match on PUT')
    if if_match is None and request.protocol >= (2, 0):
        # A PUT without If-Match creates a resource with the id from the path (upsert).
        if not request.path:
            raise IdmError(400, "No new resource ID in HTTP PUT request")
        request.op = CREATE
        request.if_none_match = if_none_match
        request.new_resource_id = request.path[-1]
        request.path = request.path[:-1]
    else:
        request.op = UPDATE
        request.if_match = if_match


def _decode_json(body: bytes) -> Any:
    try:  # the usual case, valid JSON, straight to the C scanner
        text = body.decode("utf-8").strip(_JSON_WHITESPACE)
        value, end = _DECODER.scan_once(text, 0)  # type: ignore[attr-defined]
        if end == len(text):
            return value
    except Exception:  # the full decoder below says what is wrong
        pass
    try:
        return _DECODER.decode(body.decode("utf-8"))
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            raise IdmError(400, "The request could not be processed because there is "
                                "trailing data after the JSON content") from None
        error: Exception = exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # too deep: not JSON to us
        error = exc
    raise IdmError(400, "The request could not be processed because the provided content "
                        "is not valid JSON", detail=str(error))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
# Whitespace as JSON defines it (no form feed or BOM), before and after the value.
_JSON_WHITESPACE = " \t\n\r"


def _json_content(headers: Mapping[str, str], body: bytes) -> Any:
    """The content of a create, update or patch: required, and JSON."""
    if "content-type" not in headers:
        raise IdmError(400, "The request could not be processed because the  content-type was "
                            "not specified and is required")
    if not body.strip():
        raise IdmError(400, "The request could not be processed because it did not contain any "
                            "JSON content")
    return _decode_json(body)


def _json_object_content(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The content of a create or update: a JSON object (literal null counts as {})."""
    value = _json_content(headers, body)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise IdmError(400, "The request could not be processed because the provided content "
                            "is not a JSON object")
    return value


def _json_action_content(headers: Mapping[str, str], body: bytes) -> Any:
    """The content of an action: any JSON, or null when there is none."""
    if "content-type" not in headers or not body.strip():
        return None
    return _decode_json(body)


def _int_param(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise IdmError(400, f"The value '{value}' for parameter '{name}' could not be parsed "
                            "as a valid integer") from None


def _multiple_values(name: str) -> IdmError:
    return IdmError(400, f"Multiple values provided for the single-valued request parameter "
                         f"'{name}'")


def _take_params(request: CrestRequest, params: dict) -> None:
    reserved = _RESERVED[request.op]
    # Queries and actions pass unknown parameters to the provider (filters such as `_id`);
    # the other operations refuse any unknown `_` name.
    strict = request.op not in (QUERY, ACTION)
    single: dict[str, str] = {}  # reserved single-valued parameters, by lower-case name
    for key, (name, values) in params.items():
        if key[:1] != "_":  # the provider's own parameter, the usual case
            if len(values) > 1:
                raise _multiple_values(name)
            request.params[name] = values[0]
            continue
        if strict and key not in reserved:
            raise IdmError(400, f"Unrecognized request parameter '{name}'")
        if key in _MULTI_VALUED:
            continue
        if len(values) > 1:
            raise _multiple_values(name)
        if key in reserved:
            single[key] = values[0]
        else:
            request.params[name] = values[0]
    if "_fields" in params:
        request.fields = []
        for value in params["_fields"][1]:
            pointers = [p for p in value.split(",") if p]
            try:
                for pointer in pointers:
                    parse_pointer(pointer)
            except ValueError:
                raise IdmError(400, f"The value '{value}' for parameter '{params['_fields'][0]}' "
                                    "could not be parsed as a comma separated list of JSON "
                                    "pointers") from None
            request.fields += pointers
    if "_prettyprint" in single:
        request.pretty = single["_prettyprint"].lower() == "true"
    if "_mimetype" in single:
        request.mime_type = single["_mimetype"]
        if request.fields is None or len(request.fields) != 1:
            raise IdmError(400, "The mime type parameter requires only 1 field to be specified")
    if request.op == QUERY:
        _take_query_params(request, params, single)


def _take_query_params(request: CrestRequest, params: dict, single: dict[str, str]) -> None:
    if "_sortkeys" in params:
        sort_keys: list[str] = []
        for value in params["_sortkeys"][1]:
            keys = value.split(",")
            if not all(_SORT_KEY.match(k) for k in keys):
                raise IdmError(400, f"The value '{value}' for parameter "
                                    f"'{params['_sortkeys'][0]}' could not be parsed as a comma "
                                    "separated list of sort keys")
            sort_keys += keys
        request.sort_keys = tuple(sort_keys)
    request.query_id = single.get("_queryid")
    if len(single) == (request.query_id is not None):
        return  # `_queryId` alone, the usual query: nothing else to take or to check
    request.query_expression = single.get("_queryexpression")
    query_filter = single.get("_queryfilter")
    if query_filter is not None:
        try:
            request.query_filter = parse_query_filter(query_filter)
        except QueryFilterError:
            raise IdmError(400, f"The value '{query_filter}' for parameter "
                                f"'{params['_queryfilter'][0]}' could not be parsed as a valid "
                                "query filter") from None
    request.paged_results_cookie = single.get("_pagedresultscookie")
    if "_pagedresultsoffset" in single:
        request.paged_results_offset = _int_param(params["_pagedresultsoffset"][0],
                                                  single["_pagedresultsoffset"])
    if "_pagesize" in single:
        request.page_size = _int_param(params["_pagesize"][0], single["_pagesize"])
    policy = single.get("_totalpagedresultspolicy")
    if policy is not None:
        if policy.upper() not in COUNT_POLICIES:
            raise IdmError(400, f"The value '{policy}' for parameter "
                                f"'{params['_totalpagedresultspolicy'][0]}' could not be parsed "
                                "as a valid count policy")
        request.count_policy = policy.upper()
    _reject_exclusive(request)


def _reject_exclusive(request: CrestRequest) -> None:
    if request.paged_results_offset <= 0 and (
            (request.query_id is not None) + (request.query_filter is not None)
            + (request.query_expression is not None) < 2):
        return  # the usual case, told without building lists
    given = [name for name, value in (("_queryId", request.query_id),
                                      ("_queryFilter", request.query_filter),
                                      ("_queryExpression", request.query_expression))
             if value is not None]
    if len(given) > 1:
        raise IdmError(400, f"The parameters {given[0]} and {given[1]} are mutually exclusive")
    if request.paged_results_offset > 0 and request.paged_results_cookie is not None:
        raise IdmError(400, "The parameters _pagedResultsOffset and _pagedResultsCookie are "
                            "mutually exclusive")
