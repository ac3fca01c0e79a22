"""IDM's error envelope `{"code", "reason", "message"[, "detail"]}`, message HTML-escaped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    408: "Request Timeout",  # 408, 413, 414 and 431 come from the servlet container, not CREST
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Payload Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    428: "Precondition Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}

# What Guava's HtmlEscapers does to CREST messages (note `'` -> `&#39;`, not `&#x27;`).
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def html_escape(text: str) -> str:
    return text.translate(_HTML_ESCAPES)


class IdmError(Exception):
    """An error answer: raise it anywhere in the HTTP layer to send IDM's envelope."""

    def __init__(self, status: int, message: str | None = None, detail: Any = None, *,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message or REASONS.get(status, "Resource Exception"))
        self.status = status
        self.message = message
        self.detail = detail
        self.headers = headers  # sent with the envelope (a bearer challenge)

    def body(self) -> dict[str, Any]:
        reason = REASONS.get(self.status, "Resource Exception")
        body: dict[str, Any] = {
            "code": self.status,
            "reason": reason,
            "message": html_escape(self.message if self.message is not None else reason),
        }
        if self.detail is not None:
            body["detail"] = self.detail
        return body


def not_supported(operation: str) -> IdmError:
    """What a provider answers for a CREST operation it does not implement."""
    return IdmError(501, f"The {operation.upper()} operations are not supported")


ACCESS_DENIED = "Access denied"


def unauthorized() -> IdmError:
    return IdmError(401, "Access Denied")


def forbidden() -> IdmError:
    return IdmError(403, ACCESS_DENIED)
