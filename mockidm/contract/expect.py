"""Assertions for scenarios: each failure says what was checked, what was expected, what came
back, and gives a curl line that sends the offending request again."""

from __future__ import annotations

import html
from typing import Any, NoReturn

import requests

from .outcome import RuleFailed, clip
from .shapes import Problem
from .target import Target, json_body


def fail(target: Target, what: str, expected: object, got: object,
         response: requests.Response | None = None) -> NoReturn:
    lines = [what, f"  expected: {clip(str(expected), 400)}",
             f"  got:      {clip(str(got), 400)}"]
    if response is not None:
        lines.append(f"  reproduce: {target.curl(response)}")
    raise RuleFailed("\n".join(lines))


def that(condition: bool, target: Target, what: str, expected: object, got: object,
         response: requests.Response | None = None) -> None:
    if not condition:
        fail(target, what, expected, got, response)


def no_problem(problem: Problem | None, target: Target, what: str,
               response: requests.Response | None = None) -> None:
    """Fail with what a predicate of `shapes` found, if anything."""
    if problem is not None:
        fail(target, what, problem.expected, problem.got, response)


def _short(response: requests.Response) -> str:
    return f"{response.status_code} {response.text}"


def status(target: Target, response: requests.Response, expected: int, what: str) -> None:
    that(response.status_code == expected, target, what, f"HTTP {expected}",
         _short(response), response)


def body(target: Target, response: requests.Response, what: str) -> Any:
    """The JSON body, which must be there."""
    value = json_body(response)
    that(value is not None, target, what, "a JSON body", _short(response), response)
    return value


def error(target: Target, response: requests.Response, expected_status: int, what: str,
          message: str | None = None) -> dict[str, Any]:
    """An IDM error: the status, a JSON object whose `code` is that status and, if given, the
    message (compared after undoing IDM's HTML escaping; the error-envelope rule checks the
    escaping itself)."""
    status(target, response, expected_status, what)
    value = body(target, response, what)
    that(isinstance(value, dict) and value.get("code") == expected_status, target, what,
         f'an error body with "code": {expected_status}', _short(response), response)
    if message is not None:
        got = value.get("message")
        that(isinstance(got, str) and html.unescape(got) == message, target, what,
             f"message {message!r}", f"message {got!r}", response)
    return value
