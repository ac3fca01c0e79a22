"""What one mock holds: the state that the facade makes and the HTTP layer is handed.

The HTTP layer keeps nothing of its own between requests: it reads and changes this. Its
stores (sessions, bearer tokens, journal, faults) are defined beside the HTTP code that
interprets them (`http/auth.py`, `http/journal.py`, `http/faults.py`, none of which imports the
pipeline); the engine, the identity and the profile come from the layers below.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from .engine import Engine
from .http.auth import BearerTokens, Sessions
from .http.faults import Faults
from .http.journal import Journal
from .identity import Identity
from .idm_objects import IdentityServer, IdmObjects
from .profile import Profile


@dataclass(slots=True)
class State:
    """Everything one mock server holds. A test's thread and the server's thread share it:
    both change it only while holding `lock`."""

    engine: Engine
    identity: Identity
    profile: Profile
    sessions: Sessions
    tokens: BearerTokens = field(default_factory=BearerTokens)  # scripted access tokens
    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    idm: IdmObjects = field(default_factory=IdmObjects)  # the IDM objects scripts call
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.wire_scripts()
        self.wire_identity()

    def wire_identity(self) -> None:
        """Let the identity find the managed users among the IDM objects; again whenever
        the identity is replaced (reset, restore)."""
        self.identity.managed = self.idm

    def wire_scripts(self) -> None:
        """Give the engine's scripts and expressions IDM's `openidm` (over `idm`) and
        `identityServer`; again whenever the engine is replaced (reset, restore)."""
        idm, server = self.idm, IdentityServer()
        self.engine.interpreter.script_objects = (
            lambda instance, activity: {"openidm": idm.facade(instance.id, activity),
                                        "identityServer": server})
