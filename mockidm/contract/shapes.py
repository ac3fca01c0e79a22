"""The shape every workflow answer shares (docs/common-rest.md), one predicate per property.

Each predicate takes what it judges and returns a `Problem` (what was expected, what came) or
None. The example-based rules (`scenarios/protocol.py`, `scenarios/errors.py`) and the
schemathesis checks (`checks.py`) both judge with these, so that a property is written once
and a fix to it reaches both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .outcome import clip

# A query's answer (Common REST): these six keys, no more and no fewer.
ENVELOPE = ("result", "resultCount", "pagedResultsCookie", "totalPagedResultsPolicy",
            "totalPagedResults", "remainingPagedResults")
# An error's answer: these first, in this order; then only these, when set.
ERROR_KEYS = ("code", "reason", "message")
ERROR_EXTRA = frozenset({"detail", "cause"})


@dataclass(frozen=True)
class Problem:
    expected: str
    got: str

    def __str__(self) -> str:
        return f"expected {self.expected}; got {self.got}"


def _shown(value: Any) -> str:
    return clip(repr(value), 200)


def query_envelope(body: Any) -> Problem | None:
    """Exactly the six envelope keys, and `resultCount` the number of items in `result`."""
    if not isinstance(body, dict) or set(body) != set(ENVELOPE):
        return Problem(f"the six keys {list(ENVELOPE)}",
                       str(sorted(body)) if isinstance(body, dict) else _shown(body))
    result = body["result"]
    if not isinstance(result, list) or body["resultCount"] != len(result):
        return Problem("resultCount the number of items in result",
                       f"resultCount {body['resultCount']!r} for "
                       f"{len(result) if isinstance(result, list) else _shown(result)} items")
    return None


def no_etag(etag: str | None) -> Problem | None:
    """Workflow answers carry no ETag header (`etag`: its value, None when absent)."""
    return None if etag is None else Problem("no ETag header", f"ETag: {etag}")


def string_revs(objects: Iterable[Any], *, required: bool) -> Problem | None:
    """`_rev` of each object is a JSON string; `required`: every object has one (an object
    that is not a JSON object then fails too)."""
    wrong = []
    for obj in objects:
        if not isinstance(obj, dict):
            if required:
                wrong.append(obj)
        elif "_rev" in obj:
            if not isinstance(obj["_rev"], str):
                wrong.append(obj["_rev"])
        elif required:
            wrong.append("<absent>")
    return Problem('_rev a JSON string such as "1"', _shown(wrong)) if wrong else None


def error_envelope(body: Any, status: int, reason: str | None = None) -> Problem | None:
    """IDM's error: a JSON object with code, reason, message first, in that order, then only
    detail and cause; `code` the HTTP status and, if given, `reason` its phrase."""
    keys = list(body) if isinstance(body, dict) else None
    if keys is None or tuple(keys[:3]) != ERROR_KEYS or set(keys[3:]) - ERROR_EXTRA:
        return Problem("code, reason, message in that order (then detail, cause when set)",
                       str(keys) if keys is not None else _shown(body))
    if body["code"] != status or (reason is not None and body["reason"] != reason):
        want = f"code {status}" + (f", reason {reason!r}" if reason is not None else "")
        return Problem(want, f"code {body['code']!r}, reason {body['reason']!r}")
    return None
