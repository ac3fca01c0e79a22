"""Secrets out of a recorded exchange: credential headers, cookie values, and JSON fields or
query parameters that hold passwords and tokens (the names: `mockidm.redaction`).

What is kept is what a comparison needs: the header is still there, a cookie keeps its name, a
Basic credential keeps its user (`Basic base64(user:********)`), a bearer token its scheme.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..contract.har import HarEntry, Headers
from ..redaction import (
    REDACTED,
    SECRET_ANSWER_HEADERS,
    SECRET_FIELDS,
    SECRET_HEADERS,
    is_secret_field,
)

_SECRET_NAMES = tuple(name.encode() for name in SECRET_FIELDS)  # lower-case, as bytes


def _mentions_a_secret(data: bytes) -> bool:
    """Whether any secret's name appears at all: one lower() and a substring search per name,
    all in C (a case-insensitive regular expression of the names is 50x slower)."""
    lowered = data.lower()
    return any(name in lowered for name in _SECRET_NAMES)


def redact_entry(entry: HarEntry) -> HarEntry:
    return replace(
        entry, url=_redact_url(entry.url),
        request_headers=_redact_headers(entry.request_headers, SECRET_HEADERS),
        request_body=_redact_body(entry.request_body),
        response_headers=_redact_headers(entry.response_headers, SECRET_ANSWER_HEADERS),
        response_body=_redact_body(entry.response_body))


def _redact_headers(headers: Headers, secret: frozenset[str]) -> Headers:
    return [(name, redact_header(name, value) if name.lower() in secret else value)
            for name, value in headers]


def redact_header(name: str, value: str) -> str:
    name = name.lower()
    if name == "cookie":
        return "; ".join(_cookie(part.strip()) for part in value.split(";") if part.strip())
    if name == "set-cookie":
        cookie, sep, attributes = value.partition(";")
        return _cookie(cookie.strip()) + (sep + attributes if sep else "")
    if name == "authorization":
        scheme, _, credentials = value.partition(" ")
        if scheme.lower() == "basic":
            return f"{scheme} {basic_with_password(credentials, REDACTED)}"
        return f"{scheme} {REDACTED}" if credentials else REDACTED
    return REDACTED


def _cookie(pair: str) -> str:
    cookie_name, sep, _ = pair.partition("=")
    return f"{cookie_name}={REDACTED}" if sep else REDACTED


def basic_user(credentials: str) -> str | None:
    """The user of a Basic credential (base64 `user:password`), None if it is not one."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, _ = decoded.partition(":")
    return user if sep else None


def basic_with_password(credentials: str, password: str) -> str:
    """A Basic credential with its password replaced (all of it when it is not one)."""
    user = basic_user(credentials)
    if user is None:
        return REDACTED
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _redact_url(url: str) -> str:
    if not _mentions_a_secret(url.encode("utf-8", "surrogateescape")):
        return url  # unchanged, byte for byte
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_field(name) for name, _ in query):
        return url
    query = [(k, REDACTED if is_secret_field(k) else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _redact_body(body: bytes) -> bytes:
    if not body:
        return body
    if not _mentions_a_secret(body):
        return body  # cheap: no secret's name appears at all
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return body
    redacted, changed = _redact_json(value)
    return json.dumps(redacted, ensure_ascii=False).encode("utf-8") if changed else body


def _redact_json(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        changed, out = False, {}
        for key, item in value.items():
            if is_secret_field(key) and item is not None:
                out[key], changed = REDACTED, True
            else:
                out[key], sub = _redact_json(item)
                changed = changed or sub
        return out, changed
    if isinstance(value, list):
        pairs = [_redact_json(item) for item in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    return value, False
