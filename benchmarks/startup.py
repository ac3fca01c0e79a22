"""Start-up: how long a user waits before mockidm first answers.

(a) Time to first answer: from spawning the process to the first HTTP answer, for
    `python -m mockidm serve --quiet` as a user runs it (the built-in samples, the admin API)
    and for a bare aiohttp app started the same way (`python -c APP`: one handler,
    `web.run_app`). Each in a fresh process, taking turns so that a busy machine slows both
    alike; medians. The target: mockidm within 1.5x of the bare app.
(b) The first fixture-file test: a pytest run in a subprocess, as pytester runs one, of a
    single test whose marker loads a fixture file (so it pays the mock's start and the file),
    next to the same run of a test that does not use the mock. The test's own time is what
    pytest reports for it (setup, call and teardown, from --junit-xml).

Python may keep its bytecode (and mockidm the parse of its spec) in `__pycache__`, as it does
for a user: an installed package has both after `pip install` and its first start. A first,
untimed round of each fills them.

    python benchmarks/startup.py [--repeats 7] [--pytest-repeats 3] [--checkout DIR]

Exit status 0 whatever the figures are; 1 if a server or a test run fails.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

HOST = "127.0.0.1"
TARGET_RATIO = 1.5
T = TypeVar("T")

# What a user writes to serve one answer with aiohttp: the floor of any aiohttp server's start.
BARE_APP = """
import sys
from aiohttp import web

async def answer(request):
    return web.json_response({"ok": True})

app = web.Application()
app.router.add_get("/", answer)
web.run_app(app, host=sys.argv[1], port=int(sys.argv[2]), print=None, access_log=None)
"""
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true", "Accept-API-Version": "resource=1.0"}

SCENARIO = """\
users: [{name: alice, password: secret, roles: [openidm-authorized]}]
definitions: [{samples: true}]
instances: [{key: contractorOnboarding, businessKey: order-1}]
"""
FIXTURE_TEST = """\
import json, urllib.request
import pytest

@pytest.mark.mockidm(fixtures="scenario.yaml")
def test_first(mockidm):
    url = (mockidm.url + "/workflow/processinstance?_queryId=filtered-query"
           "&processInstanceBusinessKey=order-1")
    with urllib.request.urlopen(urllib.request.Request(url, headers=mockidm.admin_headers)) as r:
        assert json.load(r)["resultCount"] == 1
"""
PLAIN_TEST = """\
def test_first():
    assert True
"""


def _env(checkout: Path) -> dict[str, str]:
    """The checkout's mockidm first on the path; Python free to write its caches."""
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(checkout), env.get("PYTHONPATH"))))
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def first_answer(checkout: Path, command: list[str], path: str, headers: dict[str, str],
                 port: int) -> float:
    """Seconds from spawning `command` to a 200 on `path`, polled every 2 ms."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=_env(checkout), cwd=checkout,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            if child.poll() is not None:
                stderr = child.stderr.read().decode() if child.stderr else ""
                sys.exit(f"{' '.join(command)} exited {child.returncode} before answering:\n"
                         f"{stderr}")
            connection = http.client.HTTPConnection(HOST, port, timeout=10)
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
            except ConnectionRefusedError:
                time.sleep(0.002)
                continue
            finally:
                connection.close()
            elapsed = time.perf_counter() - start
            if response.status != 200:
                sys.exit(f"{' '.join(command)} answered {response.status} on {path}")
            return elapsed
    finally:
        child.terminate()
        child.wait()


def mock_server(checkout: Path) -> float:
    port = _free_port()
    return first_answer(checkout, [sys.executable, "-m", "mockidm", "serve", "--quiet",
                                   "--host", HOST, "--port", str(port)],
                        "/openidm/workflow/processdefinition?_queryId=query-all-ids", ADMIN, port)


def bare_server(checkout: Path) -> float:
    port = _free_port()
    return first_answer(checkout, [sys.executable, "-c", BARE_APP, HOST, str(port)], "/", {},
                        port)


def pytest_run(checkout: Path, folder: Path, test: str) -> tuple[float, float]:
    """(the whole run's wall time, the test's own time) of `pytest` on one test file."""
    (folder / "test_first.py").write_text(test)
    report = folder / "report.xml"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"--junit-xml={report}", "test_first.py"],
                          cwd=folder, env=_env(checkout), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the pytest run failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    case = ElementTree.parse(report).getroot().find(".//testcase")
    if case is None:
        sys.exit(f"no test case in pytest's report:\n{done.stdout[-3000:]}")
    return wall, float(case.get("time", "nan"))


def _turns(runs: dict[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    """Each run `repeats` times, taking turns (the order flips every round)."""
    results: dict[str, list[T]] = {name: [] for name in runs}
    for round_ in range(repeats):
        for name in (list(runs) if round_ % 2 == 0 else list(reversed(runs))):
            results[name].append(runs[name]())
    return results


def _ms(samples: list[float]) -> str:
    return (f"{statistics.median(samples) * 1000:6.0f} ms (min {min(samples) * 1000:.0f}, "
            f"max {max(samples) * 1000:.0f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7,
                        help="server starts of each kind (default 7)")
    parser.add_argument("--pytest-repeats", type=int, default=3,
                        help="pytest runs of each kind (default 3)")
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the mockidm checkout to measure (default: this one's)")
    args = parser.parse_args(argv)
    checkout = args.checkout.resolve()

    mock_server(checkout)  # fill the caches, untimed
    bare_server(checkout)
    servers = _turns({"mockidm serve": lambda: mock_server(checkout),
                      "bare aiohttp app": lambda: bare_server(checkout)}, args.repeats)
    mock, bare = (statistics.median(servers[name]) for name in servers)
    print(f"{checkout}\n\n(a) time to first answer, a fresh process each, median of "
          f"{args.repeats}")
    for name, samples in servers.items():
        print(f"  {name:<18} {_ms(samples)}")
    verdict = "ok" if mock / bare <= TARGET_RATIO else "OVER"
    print(f"  mockidm / bare     {mock / bare:6.2f}x (target <= {TARGET_RATIO}x: {verdict})")

    with tempfile.TemporaryDirectory(prefix="mockidm-startup-") as name:
        folder = Path(name)
        (folder / "scenario.yaml").write_text(SCENARIO)
        pytest_run(checkout, folder, FIXTURE_TEST)  # fill the caches, untimed
        runs = _turns({"fixture-file test": lambda: pytest_run(checkout, folder, FIXTURE_TEST),
                       "plain test": lambda: pytest_run(checkout, folder, PLAIN_TEST)},
                      args.pytest_repeats)
    print(f"\n(b) one test in a `pytest` subprocess, median of {args.pytest_repeats}")
    for kind, results in runs.items():
        print(f"  {kind:<18} the test {_ms([test for _, test in results])}; "
              f"the whole run {_ms([wall for wall, _ in results])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
