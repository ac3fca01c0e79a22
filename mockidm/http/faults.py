"""Scripted failures: what a test tells the mock to get wrong, and when.

Two kinds. Authentication failures act before anything else, as IDM's authentication filter
does: the next N requests refused, one user's password refused, a user locked out, every
session cookie issued so far expired. Route faults match a request by method, path (a glob
from /openidm on), operationId or query parameters and answer with an IDM-shaped error, add
latency or drop the connection; `nth`, `times` and `seconds` say which matching calls fail.

A failure that never fired is reported at the end of a test, so a scripted failure cannot
silently miss the code it was meant to exercise.
"""

from __future__ import annotations

import difflib
import fnmatch
import itertools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from ..identity import Identity
from ..spec import load_spec
from . import auth
from .auth import SESSION_COOKIE, BearerTokens, Principal, Sessions, attempted_user
from .errors import unauthorized
from .journal import Exchange


@dataclass
class Fault:
    """One route fault. Matching fields left None match anything."""

    method: str | None = None
    path: str | None = None  # glob on the path from /openidm on, e.g. "workflow/processinstance*"
    operation: str | None = None  # the spec's operationId
    query: Mapping[str, str] | None = None  # parameters the request must carry, with values
    status: int | None = None  # answer with this status and IDM's envelope...
    message: str | None = None  # ...and this message (default: the reason phrase)
    detail: Any = None
    latency: float = 0.0  # seconds to wait before answering (or failing)
    drop: bool = False  # close the connection without an answer
    nth: int | None = None  # fail only the Nth matching call (1-based)
    times: int | None = None  # fail at most this many matching calls
    seconds: float | None = None  # fail only during this long after it was set
    # Its bookkeeping, not given when it is made (`FAULT_FIELDS` are the fields that are).
    id: int = field(default_factory=itertools.count(1).__next__, init=False)
    matched: int = field(default=0, init=False)  # matching calls seen
    fired: int = field(default=0, init=False)  # calls it failed
    _since: float = field(default_factory=time.monotonic, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.has_effect(self.status, self.drop, self.latency):
            raise ValueError("a fault needs a status, drop=True or some latency")
        if self.operation is not None:
            problem = unknown_operation(self.operation)
            if problem is not None:  # it would never fire: say so now, not at teardown
                raise ValueError(problem)
        if self.method is not None:
            self.method = self.method.upper()

    @staticmethod
    def has_effect(status: int | None, drop: bool, latency: float) -> bool:
        """The rule every route fault obeys, wherever it is scripted from: it answers with a
        status, drops the connection or waits; anything else would change nothing."""
        return status is not None or bool(drop) or bool(latency)

    def describe(self) -> str:
        match = " ".join(f"{name}={value!r}" for name, value in (
            ("method", self.method), ("path", self.path), ("operation", self.operation),
            ("query", self.query)) if value is not None) or "every request"
        effect = ("drop the connection" if self.drop else
                  f"answer {self.status}" if self.status else f"wait {self.latency}s")
        return f"fault #{self.id} ({match} -> {effect})"

    def matches(self, method: str, path: str, operation: str | None,
                params: Mapping[str, str]) -> bool:
        return ((self.method is None or self.method == method)
                and (self.path is None or fnmatch.fnmatchcase(path, _relative(self.path)))
                and (self.operation is None or self.operation == operation)
                and (self.query is None
                     or all(params.get(k) == v for k, v in self.query.items())))

    def fires(self) -> bool:
        """Count one matching call; say whether this one fails."""
        self.matched += 1
        if self.nth is not None and self.matched != self.nth:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.seconds is not None and time.monotonic() - self._since > self.seconds:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        """It can never fire again (so it does not count as unused once it has fired)."""
        return (self.nth is not None and self.matched >= self.nth) or (
            self.times is not None and self.fired >= self.times)


def unknown_operation(operation: str) -> str | None:
    """Why a route fault's `operation` can never match (it names no operationId of the
    spec), with the closest ones; None when it names one."""
    known = sorted(op.operation_id for op in load_spec().operations)
    if operation in known:
        return None
    close = difflib.get_close_matches(operation, known, n=1)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"the operationIds of openapi.yaml: {', '.join(known)}")
    return f"unknown operation {operation!r}; {hint}"


# What a test scripts: the fields given when a fault is made, in their order. The facade and
# the admin API take these; the JSON schemas of fixture files and of the admin API document
# them, and tests/test_faults.py keeps every one of those lists equal to this one.
FAULT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Fault) if f.init)


def _relative(path: str) -> str:
    """A path glob as written in the journal (`/openidm/workflow/...`) or below /openidm."""
    path = path.strip("/")
    return path[len("openidm/"):] if path.startswith("openidm/") else path


@dataclass
class AuthFaults:
    refuse_next: int = 0  # the next N requests get 401 whatever their credentials
    rejected_passwords: dict[str, int] = field(default_factory=dict)  # user -> times refused
    locked_out: dict[str, int] = field(default_factory=dict)  # user -> times refused
    sessions_expired: bool = False  # the cookies issued until then are refused
    expired_cookies_refused: int = 0
    refused: int = 0  # how many refuse_next requests were refused

    @property
    def scripted(self) -> bool:
        """Whether any authentication failure is scripted (usually none is)."""
        return bool(self.refuse_next or self.rejected_passwords or self.locked_out
                    or self.sessions_expired)

    def authenticate(self, headers: Mapping[str, str], cookies: Mapping[str, str],
                     identity: Identity, sessions: Sessions, tokens: BearerTokens,
                     exchange: Exchange) -> Principal:
        """Who sent the request, as `auth.authenticate` finds it, once the scripted failures
        have had their say: refuse the next N, a locked-out user, a rejected password (each a
        401). A cookie issued before `sessions_expired` fails in `auth.authenticate` itself;
        it is counted here. What fired is named on `exchange`."""
        if not self.scripted:
            return auth.authenticate(headers, cookies, identity, sessions, tokens)
        if self.refuse_next:
            self.refuse_next -= 1
            self.refused += 1
            exchange.fault = "refuse the next requests with 401"
            raise unauthorized()
        token = cookies.get(SESSION_COOKIE)
        if token and self.sessions_expired:
            claims = sessions.claims(token)
            if claims is not None and sessions.expired(claims):
                self.expired_cookies_refused += 1
                exchange.fault = "expired session cookie"
        principal = auth.authenticate(headers, cookies, identity, sessions, tokens)
        if not (self.locked_out or self.rejected_passwords):
            return principal
        # A cookie or a bearer token carries no password: only a lock-out refuses it.
        passwordless = principal.via in ("cookie", "bearer")
        name = principal.name if passwordless else attempted_user(headers)
        for refusals, what in ((self.locked_out, "locked out"),
                               (self.rejected_passwords, "password rejected")):
            if name in refusals and (what == "locked out" or not passwordless):
                refusals[name] += 1
                exchange.fault = f"{name}: {what}"
                raise unauthorized()
        return principal


class Faults:
    def __init__(self) -> None:
        self.routes: list[Fault] = []
        self.auth = AuthFaults()

    def add(self, fault: Fault) -> Fault:
        self.routes.append(fault)
        return fault

    def clear(self) -> None:
        self.routes.clear()
        self.auth = AuthFaults()

    def route_fault(self, method: str, path: str, operation: str | None,
                    params: Mapping[str, str]) -> Fault | None:
        """The first fault that matches this request and fires on it."""
        for fault in self.routes:
            if fault.matches(method, path, operation, params) and fault.fires():
                return fault
        return None

    def unused(self) -> list[str]:
        """Scripted failures that never fired."""
        unused = [f.describe() for f in self.routes if f.fired == 0]
        auth = self.auth
        if auth.refuse_next:
            unused.append(f"refuse the next {auth.refuse_next} request(s) with 401 "
                          f"({auth.refused} refused so far)")
        unused += [f"reject the password of {user!r}"
                   for user, n in auth.rejected_passwords.items() if n == 0]
        unused += [f"lock out {user!r}" for user, n in auth.locked_out.items() if n == 0]
        if auth.sessions_expired and auth.expired_cookies_refused == 0:
            unused.append("expire the session cookies (no expired cookie was presented)")
        return unused
