"""What a handler gets: one authenticated CREST request and the mock it runs against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..engine import Engine
from ..profile import Profile
from ..state import State
from .auth import Principal
from .crest import CrestRequest


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
    location: str | None = None  # the new resource's path under /openidm, for 201


Handler = Callable[[Call], Reply]
