"""Writing CREST results: field selection, the query envelope, Jackson-shaped JSON, and the
JSON answers that carry them (IDM's error envelope among them)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from .errors import IdmError
from .queryfilter import parse_pointer

JSON_TYPE = "application/json; charset=UTF-8"
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def select_fields(resource: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Keep the requested top-level fields (`_id` always); the leaf name becomes the key."""
    if not fields:
        return resource
    selected: dict[str, Any] = {}
    if "_id" in resource:
        selected["_id"] = resource["_id"]
    for pointer in fields:
        parts = parse_pointer(pointer)  # checked while parsing the request
        if not parts:
            continue  # the root: no field of its own (as before the dialects were one)
        value: Any = resource
        for part in parts:
            if not isinstance(value, Mapping) or part not in value:
                break
            value = value[part]
        else:
            selected[parts[-1]] = value
    return selected


def query_envelope(items: list[dict[str, Any]], *, cookie: str | None = None,
                   policy: str = "NONE", total: int = -1, remaining: int = -1) -> dict[str, Any]:
    return {
        "result": items,
        "resultCount": len(items),
        "pagedResultsCookie": cookie,
        "totalPagedResultsPolicy": policy,
        "totalPagedResults": total,
        "remainingPagedResults": remaining,
    }


def to_json(value: Any, pretty: bool = False) -> bytes:
    """Compact JSON, or what Jackson's default pretty printer writes for `_prettyPrint=true`."""
    if not pretty:
        try:
            return orjson.dumps(value)
        except TypeError:  # an integer beyond 64 bits, which only the json module writes
            return _compact(value).encode("utf-8")
    parts: list[str] = []
    _pretty(value, 0, parts)
    return "".join(parts).encode("utf-8")


def _pretty(value: Any, depth: int, out: list[str]) -> None:
    # Jackson: objects one member per line, `"key" : value`, 2-space indent;
    # arrays on one line as `[ a, b ]`; empty containers as `{ }` and `[ ]`.
    if isinstance(value, Mapping):
        if not value:
            out.append("{ }")
            return
        indent = "  " * (depth + 1)
        out.append("{\n")
        for i, (key, item) in enumerate(value.items()):
            out.append(f"{indent}{_compact(str(key))} : ")
            _pretty(item, depth + 1, out)
            out.append(",\n" if i < len(value) - 1 else "\n")
        out.append("  " * depth + "}")
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[ ]")
            return
        out.append("[ ")
        for i, item in enumerate(value):
            if i:
                out.append(", ")
            _pretty(item, depth, out)
        out.append(" ]")
    else:
        out.append(_compact(value))


def json_response(content: Any, status: int = 200, pretty: bool = False) -> web.Response:
    return web.Response(body=to_json(content, pretty), status=status,
                        headers={"Content-Type": JSON_TYPE, "Cache-Control": "no-cache"})


def error_response(error: IdmError) -> web.Response:
    response = json_response(error.body(), error.status)
    if error.headers:
        response.headers.update(error.headers)
    return response
