"""The inspector: web pages to see and drive a mock under `/__mockidm/ui/`.

A host, like the admin API: it reaches the mock through the facade only, and acts as a chosen
user through the mock's own HTTP API, so the access rules judge it and the journal records it.
It is protected as the admin API is (its `Guard`: open on loopback, the admin token
otherwise). Registering costs nothing: the pages' code (Jinja2, aiohttp-sse) is imported on
the first request.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web

from ..admin.server import PREFIX as ADMIN_PREFIX
from ..admin.server import Guard, error_response
from ..http.errors import IdmError

if TYPE_CHECKING:
    from ..facade import MockIDM
    from .views import Inspector

PREFIX = ADMIN_PREFIX + "/ui"


class _Entrance:
    """The guard, a same-origin rule for changes, then the pages (built when first asked)."""

    def __init__(self, mock: MockIDM, guard: Guard) -> None:
        self.mock, self.guard = mock, guard
        self._inspector: Inspector | None = None
        self.closing = asyncio.Event()  # the server stops: live streams end

    async def shutting_down(self, app: web.Application) -> None:
        self.closing.set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            self.guard.check(request)
            if request.method not in ("GET", "HEAD"):
                _same_origin(request)
        except IdmError as error:
            return error_response(error)
        if self._inspector is None:
            from .views import Inspector

            self._inspector = Inspector(self.mock, self.closing)
        return await self._inspector.dispatch(request)


def _same_origin(request: web.Request) -> None:
    """A page of another site must not drive the mock through the user's browser (the page
    is open on loopback): a change needs no Origin, or this server's."""
    origin = request.headers.get("Origin")
    fetched_from = request.headers.get("Sec-Fetch-Site")
    if (origin is not None and origin != f"{request.scheme}://{request.host}") or (
            fetched_from is not None and fetched_from not in ("same-origin", "none")):
        raise IdmError(403, "the inspector accepts changes from its own pages only")


def add_ui_routes(app: web.Application, mock: MockIDM, *, token: str | None) -> None:
    """Register the inspector on `app`, behind the admin API's guard with `token`. Register
    it before the admin API, whose catch-all would otherwise answer its paths."""
    entrance = _Entrance(mock, Guard(token))
    app.on_shutdown.append(entrance.shutting_down)
    app.router.add_route("*", PREFIX + r"{tail:(/[\s\S]*)?}", entrance.handle)
