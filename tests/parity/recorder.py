"""For the parity tests: the recorder of `mockidm record` in a thread of its own, in front of
any server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from yarl import URL

from mockidm.contract.har import HarWriter
from mockidm.parity.listener import Listener
from mockidm.parity.record import Recorder

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true", "Accept-API-Version": "resource=1.0"}


@dataclass(frozen=True)
class Proxy:
    origin: str

    @property
    def url(self) -> str:
        return self.origin + "/openidm"


@contextmanager
def recording(upstream_origin: str, out: Path, *, keep_secrets: bool = False
              ) -> Iterator[Proxy]:
    """A recorder forwarding to `upstream_origin`, writing `out`; stopped (the HAR's closing
    brackets written) when the block ends."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True, name="recorder")
    thread.start()

    def call(coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=30)

    async def make() -> tuple[Recorder, Listener]:
        recorder = Recorder(URL(upstream_origin), HarWriter(out, "mockidm record", "test"),
                            keep_secrets=keep_secrets)
        return recorder, Listener(recorder.handle)

    recorder, listener = call(make())
    port = call(listener.start("127.0.0.1", 0))
    try:
        yield Proxy(f"http://127.0.0.1:{port}")
    finally:
        call(listener.stop())
        call(recorder.close())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
