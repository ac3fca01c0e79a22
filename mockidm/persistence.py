"""State that survives a restart: the file behind `mockidm serve --state FILE`.

The file is JSON: the mock's whole state as `MockIDM.snapshot()` gives it (definitions,
instances, tasks, history, the next id, the clock, users, access rules) and the startup state
that the admin API's reset returns to, so that after a restart the mock answers as before:

    {"format": "mockidm-state", "version": 1, "saved": "<ISO time>",
     "initial": <snapshot>, "state": <snapshot>}

A <snapshot> is the admin API's `TakenSnapshot` (admin-openapi.yaml): {"profile", "identity",
"engine"}, the engine's part as contracts/engine-snapshot.json describes it.

Not kept: the request journal, sessions (a cookie issued before a restart is refused after
it), scripted failures. The file holds the users' passwords: it is created readable by its
owner only.

Loading happens once, at start: a file that cannot be read or restored is an error
(`StateFileError`), never a reason to start empty and overwrite it later.

Saving: a request that can change the state (any method but GET, HEAD and OPTIONS, admin API
included) marks the state changed once it is answered. A task in the server's loop wakes every
`poll` seconds and, when something changed, snapshots the state under the lock (on the loop:
requests would wait for the lock anyway, and it is consistent), then encodes and writes it in a
worker thread while the loop serves; at most once per `interval`, and only if the state differs
from the file's. A crash (SIGKILL, power loss) thus loses at most the changes of the last
`interval` plus one save, which takes longer as the state grows (the snapshot holds up requests
for some 0.1 s per 2,000 instances). A write never leaves a broken file: the new state goes to a
temporary file in the same directory, is flushed to disk, replaces the old file in one rename,
and the directory is flushed too. A clean shutdown (SIGTERM, Ctrl-C) saves once more, after the
last request.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

if TYPE_CHECKING:
    from .facade import MockIDM

log = logging.getLogger("mockidm.state")

FORMAT = "mockidm-state"
VERSION = 1
READS = frozenset({"GET", "HEAD", "OPTIONS"})
# What a failed restore raises: SnapshotError (a ValueError), a profile mismatch (ValueError),
# and the identity's loader, which indexes and iterates what it is given.
_RESTORE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


class StateFileError(Exception):
    """A state file that cannot be loaded or written; the message names the file."""


def _encode(data: Any) -> bytes:
    try:
        return orjson.dumps(data)
    except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits in a variable
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


class StateFile:
    """Keeps `mock`'s state in `path`. Call `load()`, then `start()` (which writes the file
    once: a path that cannot be written fails at once), then `install(app)` on the server's
    application; or `save()` from anywhere."""

    def __init__(self, path: str | os.PathLike[str], mock: MockIDM, *, interval: float = 1.0,
                 poll: float = 0.25) -> None:
        # Through a symlink to the file it points at: replacing would break the link.
        self.path = Path(os.path.realpath(path))
        self.mock = mock
        self.interval, self.poll = interval, poll
        self.failed = False  # the last save failed
        self._initial: bytes | None = None
        self._changes = 0  # requests that may have changed the state, answered so far
        self._saved_changes = 0  # how many of them the file holds
        self._saved_digest: bytes | None = None  # of the state in the file
        self._last_save = float("-inf")  # time.monotonic() of the last snapshot
        self._snapshot_seconds = 0.0
        self._write_lock = threading.Lock()
        self._stop: asyncio.Event | None = None

    # loading -------------------------------------------------------------------------------

    def load(self) -> bool:
        """Restore the state saved in the file, and make its startup state what the admin
        reset returns to. False if there is no file (nothing restored)."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StateFileError(f"cannot read the state file {self.path}: "
                                 f"{exc.strerror or exc}") from None
        document = self._parse(raw)
        part = "initial"
        try:
            self.mock.restore(document["initial"])
            self._initial = _encode(self.mock.snapshot())
            self.mock.keep_as_initial()
            part = "state"
            self.mock.restore(document["state"])
        except _RESTORE_ERRORS as exc:
            message = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            hint = ""
            profile = document[part].get("profile")
            if profile != self.mock.profile.name and isinstance(profile, str):
                hint = f" (start with --profile {profile}, or use another state file)"
            raise StateFileError(f"cannot restore the state file {self.path}: {part}: "
                                 f"{message}{hint}") from None
        return True

    def _parse(self, raw: bytes) -> Mapping[str, Any]:
        where = f"the state file {self.path}"
        if not raw.strip():
            raise StateFileError(f"{where} is empty; fix it or remove it to start afresh")
        try:
            document = json.loads(raw)
        except RecursionError:
            raise StateFileError(f"{where} nests deeper than this Python reads") from None
        except UnicodeDecodeError as exc:
            raise StateFileError(f"{where} is not UTF-8 text ({exc.reason} at byte "
                                 f"{exc.start})") from None
        except json.JSONDecodeError as exc:
            raise StateFileError(f"{where} is not valid JSON ({exc.msg} at line {exc.lineno} "
                                 f"column {exc.colno}): it is damaged; fix it or remove it to "
                                 "start afresh") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise StateFileError(f'{where} is not a mockidm state file (no "format": '
                                 f'"{FORMAT}")')
        if document.get("version") != VERSION:
            raise StateFileError(f"{where} has version {document.get('version')!r}; this "
                                 f"mockidm reads version {VERSION}")
        for part in ("initial", "state"):
            if not isinstance(document.get(part), dict):
                raise StateFileError(f"{where}: {part!r} is missing or not an object")
        return document

    # saving --------------------------------------------------------------------------------

    def start(self) -> None:
        """Clear what an interrupted write left behind; then, if `load()` restored the file,
        check that its directory takes new files, else take the present state as the startup
        state (the caller has called `mock.keep_as_initial()` on it) and write the file now."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        if self._initial is None:
            self._initial = _encode(self.mock.snapshot())
            self.save(raise_errors=True)
            return
        try:
            fd, probe = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                         dir=self.path.parent)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise StateFileError(f"cannot write the state file {self.path}: "
                                 f"{exc.strerror or exc}") from None

    def mark_changed(self) -> None:
        """Tell the saver that the state changed other than through a request."""
        self._changes += 1

    def save(self, *, raise_errors: bool = False) -> bool:
        """Write the present state if it differs from the file's; from any thread. False (and
        the error logged) if it could not be written."""
        changes, snapshot = self._snapshot()
        return self._store(changes, snapshot, raise_errors=raise_errors)

    def _snapshot(self) -> tuple[int, dict[str, Any]]:
        """The state (a copy that shares nothing with the mock), and how many changes it
        holds at least."""
        changes = self._changes  # read first: a change after it is saved next time
        self._last_save = started = time.monotonic()
        snapshot = self.mock.snapshot()  # under the lock: a consistent state
        self._snapshot_seconds = time.monotonic() - started
        return changes, snapshot

    def _store(self, changes: int, snapshot: dict[str, Any], *,
               raise_errors: bool = False) -> bool:
        started = time.monotonic()
        try:
            with self._write_lock:
                state = _encode(snapshot)
                digest = hashlib.blake2b(state, digest_size=16).digest()
                written = digest != self._saved_digest
                if written:
                    self._write(state)
                    self._saved_digest = digest
        except OSError as exc:
            if raise_errors:
                self.failed = True
                raise StateFileError(f"cannot write the state file {self.path}: "
                                     f"{exc.strerror or exc}") from None
            # Once per run of failures: it is retried every `interval` while changes wait.
            (log.debug if self.failed else log.error)(
                "cannot save the state to %s: %s (retrying while the state changes)",
                self.path, exc.strerror or exc)
            self.failed = True
            return False
        if self.failed:
            log.info("the state is saved again in %s", self.path)
        self.failed = False
        self._saved_changes = changes
        if written:
            log.debug("saved %d bytes to %s: snapshot %.0f ms, write %.0f ms", len(state),
                      self.path, self._snapshot_seconds * 1000,
                      (time.monotonic() - started) * 1000)
        return True

    def _write(self, state: bytes) -> None:
        if self._initial is None:
            raise RuntimeError("StateFile.start() first: it records the startup state")
        saved = datetime.now(UTC).isoformat(timespec="milliseconds")
        document = b"".join((
            b'{"format":"', FORMAT.encode(), b'","version":', str(VERSION).encode(),
            b',"saved":"', saved.encode(), b'",\n"initial":', self._initial,
            b',\n"state":', state, b"}\n"))
        directory = self.path.parent
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                         dir=directory)  # mode 0600: it holds passwords
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(document)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        # The rename itself is durable only once the directory is.
        directory_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)

    # in a server ---------------------------------------------------------------------------

    def install(self, app: web.Application) -> None:
        """Count the requests that may change the state, save in the background while the app
        serves, and once more when it stops."""

        @web.middleware
        async def count_changes(request: web.Request,
                                handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                                ) -> web.StreamResponse:
            try:
                return await handler(request)
            finally:  # once answered (or failed): a save from now on holds the change
                if request.method not in READS:
                    self._changes += 1

        app.middlewares.append(count_changes)
        app.cleanup_ctx.append(self._lifetime)

    async def _lifetime(self, app: web.Application) -> AsyncIterator[None]:
        self._stop = asyncio.Event()
        saver = asyncio.create_task(self._run(), name="mockidm-state-saver")
        yield
        self._stop.set()
        await saver  # lets a write in progress finish
        try:
            saved = await asyncio.to_thread(self.save)
        except Exception:  # a state that cannot be snapshot: say so, stop anyway
            log.exception("cannot save the state to %s", self.path)
            saved, self.failed = False, True
        if not saved:
            log.error("the last changes are not saved in %s", self.path)

    async def _run(self) -> None:
        assert self._stop is not None
        while True:
            timeout = self.poll
            if self._changes != self._saved_changes:
                timeout = max(0.0, self._last_save + self.interval - time.monotonic())
                if timeout == 0.0:
                    try:
                        # The snapshot on the loop, at full speed: requests would wait for the
                        # lock anyway. Encoding and writing in a thread, while the loop serves.
                        await asyncio.to_thread(self._store, *self._snapshot())
                    except Exception:  # a state that cannot be snapshot: say so, keep serving
                        self.failed = True
                        log.exception("cannot save the state to %s", self.path)
                    continue
            try:
                await asyncio.wait_for(self._stop.wait(), timeout)
                return
            except TimeoutError:
                pass
