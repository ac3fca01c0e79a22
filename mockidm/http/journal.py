"""The request journal: every request the mock received and what it answered.

Secrets never leave it unasked: an exchange keeps the request's own (immutable) headers and
query, which costs nothing on the request path, and every way of reading it (`headers`,
`render`, `to_json`, its repr) replaces passwords, Basic credentials and cookies first. A test
that must see what was sent asks for it by name: `headers_with_secrets()`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from multidict import MultiMapping

from ..redaction import REDACTED, SECRET_HEADERS


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    return {name: REDACTED if name in SECRET_HEADERS else value
            for name, value in headers.items()}


def parse_body(body: bytes) -> Any:
    """The body as JSON when it is JSON, else as text (or None when empty)."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace")


@dataclass(slots=True)
class Exchange:
    """One request and its answer."""

    seq: int
    time: datetime
    method: str
    path: str  # as requested, from /openidm on
    sent_query: MultiMapping[str] | Sequence[tuple[str, str]]  # as sent, never changed
    # Lower-case names, as sent: secrets in clear, so out of the repr (see `headers`).
    _sent_headers: Mapping[str, str] = field(repr=False)
    raw_body: bytes
    status: int = 0
    raw_response: bytes = b""
    operation: str | None = None  # the spec's operationId, once routed
    user: str | None = None  # who it authenticated as
    unserved: str | None = None  # why the mock could not serve it, if it could not
    fault: str | None = None  # the scripted failure that answered it

    # Copied, redacted and parsed when asked for: recording stays cheap on the request path.
    @property
    def query(self) -> list[tuple[str, str]]:
        sent = self.sent_query
        return list(sent.items() if isinstance(sent, MultiMapping) else sent)

    @property
    def headers(self) -> dict[str, str]:
        """Lower-case names, secrets redacted."""
        return redact(self._sent_headers)

    def headers_with_secrets(self) -> dict[str, str]:
        """The headers as sent, passwords and cookies in clear (lower-case names): only for a
        test that must check them; everything else shows them redacted."""
        return dict(self._sent_headers)

    @property
    def body(self) -> Any:
        return parse_body(self.raw_body)

    @property
    def response(self) -> Any:
        return parse_body(self.raw_response)

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)

    @property
    def target(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query)
        return f"{self.path}?{query}" if query else self.path

    def render(self) -> str:
        answer = str(self.status) if self.status else "no answer"
        parts = [f"#{self.seq} {self.method} {self.target} -> {answer}"]
        if self.operation:
            parts.append(self.operation)
        if self.user:
            parts.append(f"as {self.user}")
        if self.fault:
            parts.append(f"[scripted failure: {self.fault}]")
        if self.unserved:
            parts.append(f"[not served: {self.unserved}]")
        line = " ".join(parts)
        if self.body is not None:
            line += f"\n    request: {json.dumps(self.body, default=str)[:500]}"
        if self.status >= 400 and isinstance(self.response, dict):
            line += f"\n    answer: {self.response.get('message')}"
        return line

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "time": self.time.isoformat(), "method": self.method,
                "path": self.path, "query": [list(p) for p in self.query],
                "headers": self.headers, "body": self.body, "status": self.status,
                "response": self.response, "operation": self.operation, "user": self.user,
                "unserved": self.unserved, "fault": self.fault}


class Journal:
    """What the mock was asked, oldest first. For long-running servers, `limit` caps the
    number of exchanges and `max_bytes` the bodies they hold (requests and answers: one
    query listing a thousand instances answers some 0.4 MB); the oldest go first, but the
    newest exchange is always kept, however large."""

    def __init__(self, limit: int | None = None, max_bytes: int | None = None) -> None:
        if max_bytes is not None and max_bytes < 1:
            raise ValueError("max_bytes must be 1 or more (or None)")
        self._entries: deque[Exchange] = deque(maxlen=limit)
        self._max_bytes = max_bytes
        self._bytes = 0  # the bodies held, counted only when there is a budget
        self._seq = 0
        # The server's thread appends while a test's thread reads: reading a deque that
        # another thread changes fails, so both go through this lock.
        self._lock = threading.Lock()

    def open(self, time: datetime, method: str, path: str,
             query: MultiMapping[str] | Sequence[tuple[str, str]], headers: Mapping[str, str],
             body: bytes) -> Exchange:
        """Record a request. `query` and `headers` are kept, not copied: nobody may change
        them afterwards (aiohttp's query is immutable; the pipeline's headers dict is new)."""
        with self._lock:
            self._seq += 1
            exchange = Exchange(self._seq, time, method, path, query, headers, body)
            entries = self._entries
            if self._max_bytes is not None:
                if len(entries) == entries.maxlen:
                    self._forget(entries[0])  # the deque is about to drop it
                self._bytes += len(body)
            entries.append(exchange)
            if self._max_bytes is not None and self._bytes > self._max_bytes:
                self._keep_within_budget()
        return exchange

    def answered(self, exchange: Exchange, status: int, response: bytes) -> None:
        """Record the answer to a request `open` recorded."""
        with self._lock:
            exchange.status, exchange.raw_response = status, response
            # An exchange already dropped (or cleared) while it was served costs nothing.
            if self._max_bytes is not None and self._holds(exchange):
                self._bytes += len(response)
                if self._bytes > self._max_bytes:
                    self._keep_within_budget()

    def _holds(self, exchange: Exchange) -> bool:
        # Entries are in sequence order: the newest are checked first, as they are answered.
        for entry in reversed(self._entries):
            if entry is exchange:
                return True
            if entry.seq < exchange.seq:
                return False
        return False

    def _keep_within_budget(self) -> None:
        entries = self._entries
        while self._max_bytes is not None and self._bytes > self._max_bytes and len(entries) > 1:
            self._forget(entries.popleft())

    def _forget(self, entry: Exchange) -> None:
        self._bytes -= len(entry.raw_body) + len(entry.raw_response)

    def entries(self) -> list[Exchange]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = self._seq = 0

    def render(self, entries: Iterable[Exchange] | None = None) -> str:
        return "\n".join(e.render() for e in (self.entries() if entries is None else entries))
