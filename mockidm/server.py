"""Running an aiohttp application on a free 127.0.0.1 port in a background thread.

The thread has its own event loop, so sync tests, async tests (on another loop) and
out-of-process clients such as schemathesis or wrk all reach the same live server.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import TracebackType

from aiohttp import web


class ThreadedServer:
    def __init__(self, app_factory: Callable[[], web.Application], host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self._factory = app_factory
        self.host, self.port = host, port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="mockidm-server")
        self._runner: web.AppRunner | None = None
        self.app: web.Application | None = None

    async def _start(self) -> None:
        self.app = self._factory()  # built inside the server's loop
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def start(self) -> ThreadedServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def call(self, function: Callable[[], object]) -> object:
        """Run `function` on the server's loop (engine state belongs to that thread)."""
        async def run() -> object:
            return function()
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=30)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The base URL of the API, ending in /openidm."""
        return self.origin + "/openidm"

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
