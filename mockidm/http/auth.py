"""Authentication as IDM does it: its classic modules (credential headers, Basic, a session
cookie) and, as behind PingAM, bearer access tokens (IDM's `rsFilter`).

Credentials are tried in IDM's order: a valid `session-jwt` cookie takes precedence, then the
`X-OpenIDM-Username`/`X-OpenIDM-Password` headers, then `Authorization: Basic`. Failure is
always 401 `Access Denied`, whatever the reason, so the answer leaks nothing. An
`Authorization: Bearer` token a test scripted (`BearerTokens`) authenticates as its subject with
its roles; an unknown or expired one is 401 with the resource server's `invalid_token`
challenge (docs/fidelity.md, "Bearer tokens").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import unquote_to_bytes

from ..engine.clock import Clock
from ..identity import Identity, User
from .errors import IdmError, unauthorized

SESSION_COOKIE = "session-jwt"
SESSION_LIFETIME = timedelta(minutes=120)  # IDM's default maxTokenLifeMinutes


class Principal(NamedTuple):  # a tuple: one is made for every request
    user: User
    via: str  # "cookie", "headers", "basic" or "bearer"

    @property
    def name(self) -> str:
        return self.user.name


class Sessions:
    """Signed, expiring session tokens in JWT form (HS256), checked against the mock's clock."""

    def __init__(self, clock: Clock, secret: bytes | None = None) -> None:
        self.clock = clock
        self._secret = secret or os.urandom(32)
        # Tokens of an earlier generation are refused: `expire_all` is a scripted failure.
        self.generation = 0

    def expire_all(self) -> None:
        """Every token issued so far stops being accepted."""
        self.generation += 1

    def expired(self, claims: Mapping[str, Any]) -> bool:
        return claims.get("gen", 0) < self.generation

    def issue(self, user: User) -> str:
        now = self.clock.now()
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = _b64(json.dumps({"sub": user.name, "iat": now.timestamp(),
                                  "exp": int((now + SESSION_LIFETIME).timestamp()),
                                  "gen": self.generation}).encode())
        return f"{header}.{claims}.{self._sign(header, claims)}"

    def verify(self, token: str) -> str | None:
        """The user name a valid, unexpired token carries; None for anything else."""
        claims = self.claims(token)
        if (claims is None or claims["exp"] <= self.clock.now().timestamp()
                or self.expired(claims)):
            return None
        return str(claims["sub"])

    def claims(self, token: str) -> dict[str, Any] | None:
        """The claims of a token this mock signed, expired or not."""
        parts = token.split(".")
        if len(parts) != 3 or not hmac.compare_digest(
                self._sign(parts[0], parts[1]).encode(),
                parts[2].encode("utf-8", "surrogateescape")):  # a cookie may be any text
            return None
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
            return claims if {"sub", "iat", "exp"} <= claims.keys() else None
        except (ValueError, TypeError, binascii.Error, AttributeError):
            return None

    def _sign(self, header: str, claims: str) -> str:
        signed = f"{header}.{claims}".encode("utf-8", "surrogateescape")  # a cookie: any text
        return _b64(hmac.new(self._secret, signed, hashlib.sha256).digest())


# What IDM's resource server filter (CHF's, from OpenIG's OAuth2ResourceServerFilter) challenges
# an unknown, expired or revoked token with: RFC 6750's `invalid_token`, its fixed description.
# The realm IDM configures is not public: this one is the mock's choice (docs/fidelity.md).
BEARER_REALM = "no realm"
INVALID_TOKEN_CHALLENGE = (
    f'Bearer realm="{BEARER_REALM}", error="invalid_token", error_description="The access '
    'token provided is expired, revoked, malformed, or invalid for other reasons."')


@dataclass(frozen=True)
class BearerToken:
    """What an access token stands for: the subject IDM maps it to, the roles it grants, and
    when it stops being valid (on the mock's clock; None: never)."""

    subject: str
    roles: tuple[str, ...]
    expires: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.expires is None or now < self.expires


class BearerTokens:
    """The access tokens a test scripted, as the authorization server would introspect them."""

    def __init__(self) -> None:
        self._tokens: dict[str, BearerToken] = {}

    def add(self, token: str, subject: str, roles: Iterable[str],
            expires: datetime | None = None) -> BearerToken:
        self._tokens[token] = scripted = BearerToken(subject, tuple(roles), expires)
        return scripted

    def revoke(self, token: str) -> bool:
        """Whether there was such a token."""
        return self._tokens.pop(token, None) is not None

    def clear(self) -> None:
        self._tokens.clear()

    def get(self, token: str) -> BearerToken | None:
        return self._tokens.get(token)


def invalid_token() -> IdmError:
    """IDM's 401, with the bearer challenge a resource server sends for a token it refuses."""
    error = unauthorized()
    error.headers = {"WWW-Authenticate": INVALID_TOKEN_CHALLENGE}
    return error


def _bearer(token: str, tokens: BearerTokens, sessions: Sessions) -> Principal:
    scripted = tokens.get(token)
    if scripted is None or not scripted.valid_at(sessions.clock.now()):
        raise invalid_token()
    # The subject IDM maps the token to: not one of the identity's users, a user of its own.
    return Principal(User(scripted.subject, "", scripted.roles), "bearer")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_header_value(value: str) -> str:
    """A credential header as IDM reads it: RFC 5987 (`UTF-8''...`), UTF-8 or ISO-8859-1."""
    if value.isascii() and "''" not in value:
        return value
    raw = value.encode("utf-8", "surrogateescape")
    if raw.lower().startswith((b"utf-8''", b"iso-8859-1''")):
        charset, _, encoded = raw.partition(b"''")
        raw = unquote_to_bytes(encoded)
        return raw.decode(charset.decode("ascii"), "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def attempted_user(headers: Mapping[str, str]) -> str | None:
    """The user name a request's credentials claim, before any password is checked."""
    username = headers.get("x-openidm-username")
    if username is not None:
        return decode_header_value(username)
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        return decode_header_value(decoded.decode("utf-8", "surrogateescape")).partition(":")[0]
    return None


def authenticate(headers: Mapping[str, str], cookies: Mapping[str, str], identity: Identity,
                 sessions: Sessions, tokens: BearerTokens) -> Principal:
    """`headers` has lower-case names."""
    token = cookies.get(SESSION_COOKIE)
    if token:
        name = sessions.verify(token)
        user = None if name is None else (identity.users.get(name)
                                          or identity.managed_user(name))
        if user is not None:
            return Principal(user, "cookie")
    username, password = headers.get("x-openidm-username"), headers.get("x-openidm-password")
    if username is not None and password is not None:
        user = identity.authenticate(decode_header_value(username), decode_header_value(password))
        if user is not None:
            return Principal(user, "headers")
        raise unauthorized()
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        user = _basic(authorization[6:].strip(), identity)
        if user is not None:
            return Principal(user, "basic")
    elif authorization[:7].lower() == "bearer ":
        return _bearer(authorization[7:].strip(), tokens, sessions)
    raise unauthorized()


def _basic(encoded: str, identity: Identity) -> User | None:
    try:
        decoded = decode_header_value(base64.b64decode(encoded, validate=True)
                                      .decode("utf-8", "surrogateescape"))
    except (binascii.Error, ValueError):
        return None
    name, sep, password = decoded.partition(":")
    return identity.authenticate(name, password) if sep else None
