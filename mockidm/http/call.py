"""What a handler gets: one authenticated CREST request and the mock it runs against."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..engine import Engine
from ..identity import Identity
from ..profile import Profile
from .auth import Principal, Sessions
from .crest import CrestRequest
from .faults import Faults
from .journal import Journal


@dataclass(slots=True)
class State:
    """Everything one mock server holds. A test's thread and the server's thread share it:
    both change it only while holding `lock`."""

    engine: Engine
    identity: Identity
    profile: Profile
    sessions: Sessions
    journal: Journal = field(default_factory=Journal)
    faults: Faults = field(default_factory=Faults)
    lock: threading.RLock = field(default_factory=threading.RLock)


@dataclass(slots=True)
class Call:
    state: State
    request: CrestRequest
    principal: Principal
    path_params: dict[str, str]

    @property
    def engine(self) -> Engine:
        return self.state.engine

    @property
    def profile(self) -> Profile:
        return self.state.profile


@dataclass(slots=True)
class Reply:
    """A handler's answer: a resource (status 200/201) or a query's items."""

    content: dict[str, Any] | None = None
    items: list[dict[str, Any]] | None = None
    status: int = 200
    location: str | None = None  # the new resource's id, for 201


Handler = Callable[[Call], Reply]
