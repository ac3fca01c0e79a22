"""The handler registry (operationId -> handler) and what the workflow providers share.

Handlers are thin: read the CREST request, make one engine call, shape the answer. The query
helpers here do what IDM's providers do to every query: pick by `_queryId` or `_queryFilter`,
sort with the keys each endpoint accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cmp_to_key
from typing import Any

from .call import Call, Handler, Reply
from .errors import IdmError

HANDLERS: dict[str, Handler] = {}

QUERY_ALL_IDS = "query-all-ids"
FILTERED_QUERY = "filtered-query"
VARIABLE_PREFIX = "var-"


def operation(operation_id: str) -> Callable[[Handler], Handler]:
    """Register a handler under the spec's operationId."""
    def register(handler: Handler) -> Handler:
        HANDLERS[operation_id] = handler
        return handler
    return register


def unknown_query_id(call: Call | None = None, resource: str = "") -> IdmError:
    """An unknown query id on `resource`, in the words of the call's release."""
    if call is None:
        return IdmError(400, "Unknown query-id")
    return IdmError(400, call.profile.unknown_query_message(resource, call.request.query_id))


def variables_filter(params: Mapping[str, str]) -> dict[str, str]:
    """`var-NAME=value` parameters: process variable NAME equals the string value."""
    return {name[len(VARIABLE_PREFIX):]: value for name, value in params.items()
            if name.startswith(VARIABLE_PREFIX)}


def is_true(value: str | None) -> bool:
    return value == "true"  # IDM only reacts to exactly `true`


def like(pattern: str) -> re.Pattern[str]:
    """SQL LIKE (`%` any run, `_` one character) as a regex."""
    parts = [".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


@dataclass(frozen=True)
class SortPolicy:
    """The sort keys one endpoint accepts (key -> field of its JSON) and its answer to others."""

    fields: Mapping[str, str]
    unknown_status: int  # 500 where the provider swallows the engine error, 501 where not


def sort_items(items: list[dict[str, Any]], sort_keys: Sequence[str], policy: SortPolicy
               ) -> list[dict[str, Any]]:
    if not sort_keys:
        return items
    keys = []
    for raw in sort_keys:
        descending = raw.startswith("-")
        name = raw.lstrip("+-")
        if name not in policy.fields:
            raise IdmError(policy.unknown_status, f"Sort key: {name} is not valid")
        keys.append((policy.fields[name], descending))

    # Items come oldest first. Ties (two tasks created in the same millisecond) keep that
    # order in the first key's direction, as a database adding the id as a last key would:
    # otherwise a descending sort would show tied items oldest first and others newest first,
    # and the order would hang on whether two commands fell in the same millisecond.
    tie_direction = -1 if keys[0][1] else 1

    def compare(a: tuple[int, dict[str, Any]], b: tuple[int, dict[str, Any]]) -> int:
        for field, descending in keys:
            result = _compare_values(a[1].get(field), b[1].get(field))
            if result:
                return -result if descending else result
        return tie_direction * (a[0] - b[0])

    return [item for _, item in sorted(enumerate(items), key=cmp_to_key(compare))]


def _compare_values(a: Any, b: Any) -> int:
    # Nulls sort first, as the engine's database puts them for an ascending order.
    if a is None or b is None:
        return (a is not None) - (b is not None)
    if type(a) is not type(b):
        a, b = str(a), str(b)
    return (a > b) - (a < b)


def filtered(items: Iterable[dict[str, Any]], call: Call) -> list[dict[str, Any]]:
    """Apply the request's `_queryFilter` to shaped items."""
    query_filter = call.request.query_filter
    if query_filter is None:
        return list(items)
    return [item for item in items if query_filter.matches(item)]


def query_filter_allowed(call: Call, resource: str = "") -> None:
    """Before 7, the workflow providers knew no `_queryFilter`: the query id is null."""
    if call.request.query_filter is not None and not call.profile.query_filter:
        raise unknown_query_id(call, resource)


def query_reply(items: list[dict[str, Any]]) -> Reply:
    return Reply(items=items)
