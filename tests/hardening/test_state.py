"""State that survives a restart: `mockidm serve --state FILE` (mockidm/persistence.py).

- a clean stop (SIGTERM) and a restart change nothing a client can see: same instances, same
  tasks, ids that go on from where they were, the admin reset back to the first start's state;
- kill -9 during heavy writing, three times (at a random moment, as a write begins, some way
  into a write): the file always parses, the server always starts on it, and what was
  acknowledged more than a second (plus a margin) before the kill is there;
- the saver writes while the state changes, not when it does not, and once more at shutdown;
  a write that fails keeps the old file and is retried;
- a file that cannot be read or restored stops the server with exit 2 and a message naming it,
  and is left as it was.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from mockidm import MockIDM, cli
from mockidm.persistence import FORMAT, VERSION, StateFile
from mockidm.server import ThreadedServer

REPO = Path(__file__).resolve().parents[2]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
CREATE = f"/openidm/{PI}?_action=create"
# What a crash may lose: the saver's interval (1 s), plus the save in progress (0.1-0.3 s at
# this test's sizes) and room for a slow machine.
LOSS_BOUND = 1.0
MARGIN = 0.75


# --- a `mockidm serve --state` process --------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, state: Path, *args: str) -> None:
        self.port = _free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        environment = {k: v for k, v in os.environ.items() if k != "MOCKIDM_ADMIN_TOKEN"}
        environment["PYTHONPATH"] = str(REPO)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(self.port), "--quiet",
             "--state", str(state), *args],
            cwd=REPO, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            text=True)

    def wait(self, timeout: float = 20) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited {self.process.returncode}: "
                                     f"{self.process.communicate()[1]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise AssertionError("the server did not start listening")

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.origin}/openidm/{path}", headers=ADMIN,
                                timeout=10, **kwargs)

    def ok(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, response.text
        return response.json()

    def stop(self) -> str:
        """SIGTERM; the log. It must exit 0."""
        self.process.send_signal(signal.SIGTERM)
        try:
            _, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        assert self.process.returncode == 0, err
        return err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        if self.process.stderr is not None and not self.process.stderr.closed:
            self.process.communicate()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a test starts is gone when it ends, whatever happened."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def serve(servers: list[Server], state: Path, *args: str) -> Server:
    server = Server(state, *args)
    servers.append(server)
    return server.wait()


def temporaries(state: Path) -> list[Path]:
    return sorted(state.parent.glob(f".{state.name}.*.tmp"))


def instance_ids(state: Path) -> set[str]:
    document = json.loads(state.read_bytes())
    assert document["format"] == FORMAT and document["version"] == VERSION
    return {i["id"] for i in document["state"]["engine"]["instances"]}


# --- a clean restart ------------------------------------------------------------------------

def test_a_restart_keeps_instances_tasks_and_ids_and_the_reset_still_goes_to_the_start(
        tmp_path, servers):
    state = tmp_path / "state.json"
    first = serve(servers, state)
    startup_definitions = first.ok("GET", "workflow/processdefinition?_queryId=query-all-ids")
    created = [first.ok("POST", f"{PI}?_action=create", 201,
                        json={"_key": "roleRequest", "businessKey": f"restart-{n}"})["_id"]
               for n in range(3)]
    task = first.ok("GET", f"{TI}?_queryId=filtered-query&processInstanceId={created[0]}"
                    )["result"][0]
    first.ok("POST", f"{TI}/{task['_id']}?_action=claim", json={"userId": "openidm-admin"})
    before = {i: first.ok("GET", f"{PI}/{i}") for i in created}
    task_before = first.ok("GET", f"{TI}/{task['_id']}")
    assert task_before["assignee"] == "openidm-admin"
    log = first.stop()
    assert "Traceback" not in log, log
    assert stat.S_IMODE(state.stat().st_mode) == 0o600  # it holds the users' passwords
    assert temporaries(state) == []
    assert set(created) <= instance_ids(state)

    # The flags that would build another state are not applied over a saved one.
    second = serve(servers, state, "--no-samples")
    assert {i: second.ok("GET", f"{PI}/{i}") for i in created} == before
    assert second.ok("GET", f"{TI}/{task['_id']}") == task_before
    new = second.ok("POST", f"{PI}?_action=create", 201, json={"_key": "roleRequest"})["_id"]
    assert int(new) > max(int(i) for i in [*created, task["_id"]])
    assert requests.post(f"{second.origin}/__mockidm/reset", timeout=10).status_code == 200
    assert second.ok("GET", f"{PI}?_queryId=query-all-ids")["result"] == []
    assert second.ok("GET", "workflow/processdefinition?_queryId=query-all-ids"
                     ) == startup_definitions
    second.stop()
    assert instance_ids(state) == set()


def test_the_file_is_saved_while_the_state_changes_and_on_shutdown(tmp_path):
    """In-process, with the saver's timing under control."""
    mock = MockIDM()
    mock.deploy_samples()
    mock.keep_as_initial()
    periodic = StateFile(tmp_path / "periodic.json", mock, interval=0.2, poll=0.05)
    periodic.start()
    only_at_shutdown = StateFile(tmp_path / "shutdown.json", mock, interval=3600, poll=3600)
    only_at_shutdown.start()

    def app():  # type: ignore[no-untyped-def]
        app = mock.app()
        periodic.install(app)
        only_at_shutdown.install(app)
        return app

    with ThreadedServer(app) as server:
        url = server.url
        instance = requests.post(f"{url}/{PI}?_action=create", json={"_key": "roleRequest"},
                                 headers=ADMIN, timeout=10).json()["_id"]
        deadline = time.monotonic() + 5
        while instance not in instance_ids(periodic.path) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert instance in instance_ids(periodic.path)
        # Reads change nothing: no write at all (the same file, not a new one renamed in place).
        inode = periodic.path.stat().st_ino
        for _ in range(20):
            requests.get(f"{url}/{PI}/{instance}", headers=ADMIN, timeout=10)
        time.sleep(0.4)
        assert periodic.path.stat().st_ino == inode
        # A change that leaves the state as it was (a refused create) writes nothing either.
        refused = requests.post(f"{url}/{PI}?_action=create", json={"_key": "noSuchKey"},
                                headers=ADMIN, timeout=10)
        assert refused.status_code == 404
        time.sleep(0.4)
        assert periodic.path.stat().st_ino == inode
        assert instance not in instance_ids(only_at_shutdown.path)
    assert instance in instance_ids(only_at_shutdown.path)
    assert temporaries(periodic.path) == temporaries(only_at_shutdown.path) == []


def test_a_failed_write_keeps_the_old_file_is_logged_once_and_retried(tmp_path, monkeypatch,
                                                                        caplog):
    mock = MockIDM()
    mock.deploy_samples()
    mock.keep_as_initial()
    state_file = StateFile(tmp_path / "state.json", mock)
    state_file.start()
    before = state_file.path.read_bytes()
    mock.start_process("roleRequest")
    real_replace = os.replace

    def disk_full(source: str, target: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with caplog.at_level(logging.DEBUG, logger="mockidm.state"):
        assert not state_file.save()
        assert not state_file.save()
        assert state_file.failed
        assert state_file.path.read_bytes() == before
        assert temporaries(state_file.path) == []  # the temporary file is removed
        monkeypatch.setattr(os, "replace", real_replace)
        assert state_file.save()
    assert not state_file.failed
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "No space left on device" in errors[0].getMessage()
    assert "saved again" in caplog.text
    assert len(instance_ids(state_file.path)) == 1


# --- kill -9 ----------------------------------------------------------------------------------

def _hammer(port: int, acknowledged: list[tuple[str, float]], stop: threading.Event) -> None:
    """Create instances one after another, as fast as the server answers; note each 201."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"_key": "roleRequest"})
    headers = {**ADMIN, "Content-Type": "application/json"}
    while not stop.is_set():
        try:
            connection.request("POST", CREATE, body, headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            return  # killed
        if response.status == 201:
            acknowledged.append((json.loads(data)["_id"], time.monotonic()))


@pytest.mark.slow  # a soak of several seconds
def test_kill_9_during_heavy_writing_loses_at_most_the_last_second(tmp_path, servers):
    """Three rounds, each on a server and file of its own: a save costs time in proportion to
    the state (about 0.1 s per 2,000 instances here), and the bound is one second plus the save
    in progress. The servers start together, and restart together, to keep the test short."""
    seed = random.randrange(1 << 32)
    chance = random.Random(seed)
    # A random moment; the moment a write is seen to begin; a random moment into a write
    # (one takes some 20-80 ms here), which may be its rename.
    moments = ("random", "write begins", "into a write")
    files = [tmp_path / f"state-{n}.json" for n in range(len(moments))]
    started = [Server(state) for state in files]
    servers.extend(started)
    saved_in: list[set[str]] = []
    judged: list[set[str]] = []
    killed_mid_write, worst_loss, total = 0, 0.0, 0
    for round_, (moment, state, server) in enumerate(zip(moments, files, started, strict=True)):
        server.wait()
        acknowledged: list[tuple[str, float]] = []
        stop = threading.Event()
        writer = threading.Thread(target=_hammer, args=(server.port, acknowledged, stop))
        writer.start()
        time.sleep(chance.uniform(2.0, 2.5) if moment == "random" else 2.0)
        if moment != "random":  # a temporary file shows: a write is in progress
            deadline = time.monotonic() + 3
            while not temporaries(state) and time.monotonic() < deadline:
                time.sleep(0.0005)
            if moment == "into a write":
                time.sleep(chance.uniform(0.0, 0.06))
        killed_at = time.monotonic()  # taken before the kill: the check errs on the safe side
        server.kill()
        stop.set()
        writer.join(timeout=15)
        killed_mid_write += bool(temporaries(state))
        total += len(acknowledged)

        saved = instance_ids(state)  # it parses: never a half-written file
        acked = dict(acknowledged)
        lost = {i: killed_at - t for i, t in acked.items() if i not in saved}
        worst_loss = max(worst_loss, *lost.values(), 0.0)
        old_enough = {i for i, t in acked.items() if t < killed_at - LOSS_BOUND - MARGIN}
        assert old_enough, f"round {round_}: too few requests to judge (seed {seed})"
        assert old_enough <= saved, (
            f"round {round_} ({moment}, seed {seed}): lost {len(old_enough - saved)} instances "
            f"acknowledged more than {LOSS_BOUND + MARGIN} s before the kill; the oldest lost "
            f"one {max(lost.values()):.2f} s before it")
        saved_in.append(saved)
        judged.append(old_enough)
    assert killed_mid_write >= 1, "no kill landed in the middle of a write"

    # Each file starts a server, which clears what the interrupted write left, serves what was
    # saved, and goes on from there (the ids of lost instances are given again).
    restarted = [Server(state) for state in files]
    servers.extend(restarted)
    for state, server, saved, old_enough in zip(files, restarted, saved_in, judged,
                                                 strict=True):
        server.wait()
        assert temporaries(state) == []
        assert server.ok("GET", f"{PI}/{min(old_enough, key=int)}")["_id"]
        assert (server.ok("GET", f"{PI}?_queryId=query-all-ids&_fields=_id")["resultCount"]
                == len(saved))
        new = server.ok("POST", f"{PI}?_action=create", 201, json={"_key": "roleRequest"})
        assert int(new["_id"]) > max(int(i) for i in saved)
        server.stop()
        assert instance_ids(state) == saved | {new["_id"]}
    print(f"{total} instances acknowledged, {killed_mid_write} kill(s) mid-write, the oldest "
          f"lost acknowledgement {worst_loss:.2f} s before its kill")


# --- files that cannot be loaded --------------------------------------------------------------

def test_a_corrupt_state_file_stops_the_server_with_exit_2_and_is_left_alone(tmp_path):
    state = tmp_path / "state.json"
    good = MockIDM()
    good.deploy_samples()
    good.keep_as_initial()
    StateFile(state, good).start()
    damaged = state.read_bytes()[:-200]  # a write cut short, as no save of ours leaves it
    state.write_bytes(damaged)
    result = subprocess.run(
        [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(_free_port()), "--state",
         str(state)], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert str(state) in result.stderr and "not valid JSON" in result.stderr, result.stderr
    assert "serving" not in result.stdout
    assert state.read_bytes() == damaged


def _document(mock: MockIDM, **changes: Any) -> dict[str, Any]:
    snapshot = mock.snapshot()
    return {"format": FORMAT, "version": VERSION, "saved": "2026-01-01T00:00:00+00:00",
            "initial": snapshot, "state": snapshot, **changes}


def _bad_files() -> dict[str, tuple[Any, str]]:
    mock = MockIDM()
    mock.deploy_samples()
    collide = mock.snapshot()
    collide["engine"]["next_id"] = 2  # below ids in use
    return {
        "empty": (b"", "is empty"),
        "blank": (b"  \n", "is empty"),
        "not JSON": (b"{nope", "not valid JSON"),
        "not UTF-8": (b'{"format": "\xff"}', "not UTF-8"),
        "a list": (b"[]", "not a mockidm state file"),
        "another format": (json.dumps({"profile": "8.1"}).encode(), "not a mockidm state file"),
        "a newer version": (json.dumps(_document(mock, version=2)).encode(), "version 2"),
        "no state": (json.dumps(_document(mock, state=None)).encode(), "'state'"),
        "a broken snapshot": (json.dumps(_document(mock, state=collide)).encode(),
                              "next_id"),
        "a snapshot missing a part": (
            json.dumps(_document(mock, initial={"profile": "8.1"})).encode(), "initial"),
        "another profile": (json.dumps(_document(MockIDM("6.5"))).encode(), "--profile 6.5"),
        "a directory": (None, "cannot read"),
    }


@pytest.mark.parametrize("case", sorted(_bad_files()))
def test_a_state_file_that_cannot_be_restored_is_a_startup_error(case, tmp_path, capsys):
    content, message = _bad_files()[case]
    state = tmp_path / "state.json"
    if content is None:
        state.mkdir()
    else:
        state.write_bytes(content)
    assert cli.main(["serve", "--port", str(_free_port()), "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and str(state) in err and message in err, err
    if content is not None:
        assert state.read_bytes() == content


def test_a_state_file_that_cannot_be_written_is_a_startup_error(tmp_path, capsys):
    state = tmp_path / "missing-directory" / "state.json"
    assert cli.main(["serve", "--port", str(_free_port()), "--state", str(state)]) == 2
    err = capsys.readouterr().err
    assert "cannot write the state file" in err and str(state) in err, err


def test_serve_help_documents_the_state_flag():
    result = subprocess.run([sys.executable, "-m", "mockidm.cli", "serve", "--help"],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "--state FILE" in text and "kill -9" in text and "last second" in text
