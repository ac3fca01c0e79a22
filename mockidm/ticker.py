"""A served mock's timers, with the real clock: a host's small background loop.

The engine fires timers only when asked (`Engine.fire_due_jobs`); with a frozen clock the
facade asks whenever the clock moves. With the real clock nothing moves it, so a server
(`mockidm serve`, `MockIDM.serve()`) runs this loop in its event loop: every `INTERVAL`
seconds it calls the facade's fire-due method, which takes the state's lock. A frozen clock
makes it idle: only the facade's clock calls fire timers then, so a test stays deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

INTERVAL = 0.2  # seconds: a due timer fires within a fraction of a second

_log = logging.getLogger("mockidm")


def add_ticker(app: web.Application, fire_due: Callable[[], object],
               frozen: Callable[[], bool] | None = None, interval: float = INTERVAL) -> None:
    """Run `fire_due` every `interval` seconds while `app` serves (and the clock runs:
    `frozen`, if given, says when it does not)."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(interval)
            if frozen is not None and frozen():
                continue
            try:
                fire_due()
            except Exception:  # a timer's failure is the engine's to record; keep ticking
                _log.exception("firing due timers failed")

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(tick(), name="mockidm-timers")
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(lifetime)
