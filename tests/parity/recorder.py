"""For the parity tests: a recorder (the proxy of `mockidm record`) in a thread,
in front of any served application."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from yarl import URL

from mockidm.contract.har import HarWriter
from mockidm.parity.record import Recorder
from mockidm.server import ThreadedServer

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true", "Accept-API-Version": "resource=1.0"}


@contextmanager
def recording(upstream_origin: str, out: Path, *, keep_secrets: bool = False
              ) -> Iterator[ThreadedServer]:
    """A recorder forwarding to `upstream_origin`, writing `out`; closed (the HAR's closing
    brackets written) when the block ends."""
    writer = HarWriter(out, "mockidm record", "test")
    recorder = Recorder(URL(upstream_origin), writer, keep_secrets=keep_secrets)
    with ThreadedServer(recorder.app) as proxy:
        yield proxy
    writer.close()
