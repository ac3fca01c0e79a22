"""Which names carry secrets (passwords, tokens, cookies), written once for every place that
hides them: the mock's journal and the recorder of `mockidm record`.

A leaf: it imports nothing of mockidm, so that a host that must not reach the HTTP layer's
state (the recorder talks HTTP only) shares the one list.
"""

from __future__ import annotations

REDACTED = "********"
# Request headers (lower-case) whose whole value is a credential.
SECRET_HEADERS = frozenset({"x-openidm-password", "authorization", "cookie",
                            "x-openidm-reauth-password", "x-mockidm-admin-token"})
# Answer headers (lower-case) that hand out a credential: a session cookie.
SECRET_ANSWER_HEADERS = frozenset({"set-cookie"})
# JSON fields and query parameters (compared lower-case) whose value is a credential: a
# managed user's password, OAuth tokens, a client secret.
SECRET_FIELDS = frozenset({"password", "userpassword", "_password", "access_token",
                           "refresh_token", "id_token", "client_secret"})


def is_secret_field(name: str) -> bool:
    return name.lower() in SECRET_FIELDS
