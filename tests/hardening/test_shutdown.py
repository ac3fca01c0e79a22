"""`mockidm serve` and SIGTERM: the requests under way finish, new ones are refused, exit 0.

Each test runs the real command in a subprocess. `web.run_app` handles the signal: it closes
the listening socket, lets the handlers under way finish within its shutdown timeout, then
returns, and `mockidm serve` exits 0.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
QUERY = "/openidm/workflow/processinstance?_queryId=query-all-ids"
LATENCY = 1.5
EXIT_DEADLINE = 5.0  # seconds from SIGTERM to exit, the slow request included


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Serve:
    """`mockidm serve` in a subprocess, ready when it says so."""

    def __init__(self, *args: str, wrapper: str | None = None) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        command = ([sys.executable, "-c", wrapper] if wrapper else
                   [sys.executable, "-m", "mockidm.cli"])
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("MOCKIDM_ADMIN_TOKEN", None)
        self.process = subprocess.Popen(
            [*command, "serve", "--port", str(self.port), *args], cwd=ROOT, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if "serving" not in line:
            self.process.kill()
            raise AssertionError(f"mockidm serve did not start: {line}"
                                 f"{self.process.stderr.read()}")
        self.http = requests.Session()  # its connection stays open, idle, at the signal

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, f"{self.origin}/__mockidm/{path}", timeout=5,
                                     **kwargs)
        assert response.ok, response.text
        return response

    def refuses_connections(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False

    def stop(self) -> tuple[str, str]:
        if self.process.poll() is None:
            self.process.kill()
        out, err = self.process.communicate(timeout=10)
        return out, err


@pytest.fixture
def serves() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for server in started:
        server.stop()


def in_flight(server: Serve, operation: str, deadline: float = 5) -> None:
    """Wait until the journal holds a request of `operation` that has no answer yet."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        entries = server.admin("GET", f"journal?operation={operation}").json()
        if any(e["status"] == 0 for e in entries):
            return
        time.sleep(0.02)
    raise AssertionError(f"no {operation} in flight")


def test_sigterm_lets_a_slow_request_finish_refuses_new_ones_and_exits_0(serves):
    server = Serve()
    serves.append(server)
    server.admin("POST", "faults", json={"operation": "queryProcessInstances",
                                         "latency": LATENCY})
    answer: dict[str, object] = {}

    def slow_request() -> None:
        try:
            response = requests.get(server.origin + QUERY, headers=ADMIN, timeout=10)
            answer["status"], answer["body"] = response.status_code, response.json()
        except Exception as exc:
            answer["error"] = exc

    client = threading.Thread(target=slow_request)
    client.start()
    in_flight(server, "queryProcessInstances")
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)

    end = time.monotonic() + 1
    while not server.refuses_connections():
        assert time.monotonic() < end, "still accepting connections after SIGTERM"
        time.sleep(0.02)
    assert client.is_alive(), "the slow request ended before the refusal could be seen"

    exit_code = server.process.wait(timeout=EXIT_DEADLINE)
    exited = time.monotonic()
    client.join(timeout=5)
    assert answer.get("error") is None, answer
    assert answer["status"] == 200
    assert answer["body"]["result"] == []  # answered in full: before the process went
    assert exit_code == 0
    assert exited - signalled < EXIT_DEADLINE
    _, err = server.stop()
    assert "Traceback" not in err, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
def test_idle_stalled_and_silent_connections_do_not_delay_the_exit(serves, signum):
    """An idle keep-alive connection, one with half its headers sent and one that sent
    nothing are closed at once; one half-way through its body is answered 503 and closed."""
    server = Serve()
    serves.append(server)
    server.admin("GET", "clock")  # `server.http` keeps this connection, idle
    headers = socket.create_connection(("127.0.0.1", server.port))
    headers.sendall(b"GET /openidm/info/ping HTTP/1.1\r\nHost: x\r\nX-OpenIDM-Us")
    silent = socket.create_connection(("127.0.0.1", server.port))
    body = socket.create_connection(("127.0.0.1", server.port))
    body.sendall(b"POST /openidm/workflow/processinstance?_action=create HTTP/1.1\r\n"
                 b"Host: x\r\nX-OpenIDM-Username: openidm-admin\r\n"
                 b"X-OpenIDM-Password: openidm-admin\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 60\r\n\r\n{\"_key\":")
    # The request waiting for its body is journaled only once it has its body: let the
    # server read what was sent (a request on another connection, answered after it).
    time.sleep(0.1)
    server.admin("GET", "clock")
    signalled = time.monotonic()
    server.process.send_signal(signum)
    assert server.process.wait(timeout=EXIT_DEADLINE) == 0
    assert time.monotonic() - signalled < 1.5
    body.settimeout(2)
    answer = body.recv(65536)
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable"), answer
    assert answer.endswith(b'{"code":503,"reason":"Service Unavailable",'
                           b'"message":"The server is shutting down"}')
    for sock in (headers, silent):
        sock.settimeout(2)
        assert sock.recv(100) == b""
        sock.close()
    body.close()
    _, err = server.stop()
    assert "Traceback" not in err, err


# web.run_app's shutdown_timeout, forced to 0.5 s: `mockidm serve` does not set it (60 s).
SHORT_DEADLINE = 0.5
WITH_SHORT_DEADLINE = (
    "import sys, aiohttp.web as web\n"
    "run_app = web.run_app\n"
    f"web.run_app = lambda *a, **k: run_app(*a, **{{**k, 'shutdown_timeout': {SHORT_DEADLINE}}})\n"
    "from mockidm.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n")


def test_a_request_slower_than_the_shutdown_deadline_is_cut_and_the_exit_is_still_0(serves):
    """Past the deadline aiohttp closes the connection unanswered (a handler that does not
    read is cancelled only after a second wait: up to twice the deadline in all)."""
    server = Serve(wrapper=WITH_SHORT_DEADLINE)
    serves.append(server)
    server.admin("POST", "faults", json={"operation": "queryProcessInstances", "latency": 30})
    answer: dict[str, object] = {}

    def slow_request() -> None:
        try:
            answer["status"] = requests.get(server.origin + QUERY, headers=ADMIN,
                                            timeout=10).status_code
        except requests.ConnectionError as exc:
            answer["error"] = exc

    client = threading.Thread(target=slow_request)
    client.start()
    in_flight(server, "queryProcessInstances")
    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=EXIT_DEADLINE) == 0
    assert time.monotonic() - signalled < 2 * SHORT_DEADLINE + 1
    client.join(timeout=5)
    assert "status" not in answer and "error" in answer  # dropped, not answered
