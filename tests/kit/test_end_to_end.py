"""The kit as a user runs it: `mockidm serve` in one process, `mockidm contract` in another."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from broken_servers import BROKEN, mock_app

from mockidm.contract import catalogue
from mockidm.contract.fuzz import LINKED
from mockidm.contract.settings import DEFAULT_MAX_EXAMPLES
from mockidm.server import ThreadedServer

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mockidm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockidm.cli", *args], env=ENV,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockidm.cli", "serve", "--port",
                                str(port), "--quiet"], env=ENV, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "no server"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/openidm"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow  # the whole kit at its defaults
def test_every_rule_passes_against_mockidm_serve(served: str, tmp_path: Path) -> None:
    """The whole kit at its default settings (schemathesis included, --max-examples at its
    default), as a user runs it: every rule passes, having judged something, in under a minute
    on two cores; and what it started (schemathesis's starts too) is all marked with the run
    and cleaned up, as the server itself shows."""
    junit = tmp_path / "contract.xml"
    started = time.monotonic()
    result = _mockidm("contract", "--url", served, "--junit-xml", str(junit))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    suite = ET.parse(junit).getroot()
    cases = suite.findall(".//testcase")
    assert {c.get("name") for c in cases} == {r.id for r in catalogue()}
    assert not suite.findall(".//failure") and not suite.findall(".//error")
    assert not suite.findall(".//skipped")  # the samples give every rule what it needs
    assert elapsed < 60, f"the kit took {elapsed:.1f} s"
    print(f"\nthe whole kit against mockidm serve, default settings (max-examples "
          f"{DEFAULT_MAX_EXAMPLES}): {elapsed:.2f} s")

    out = result.stdout
    notes = dict(re.findall(r"^  (fuzz-[a-z-]+): (.*)$", out, re.MULTILINE))
    assert f"{DEFAULT_MAX_EXAMPLES} examples per operation" in notes["fuzz-conformance"]
    for rule in set(notes) - {"fuzz-conformance"}:
        assert int(notes[rule].split()[0]) > 0, notes  # none passed on nothing
    for operation in LINKED:  # the stateful run went along every link of the create
        assert f"{operation} " in notes["fuzz-stateful-links"], notes
    run_id = _found(r"\(profile 8\.1, run ([0-9a-f]+)\)", out)
    count = int(_found(r"cleanup: (\d+) instances started, \d+ deleted, \d+ ended on their "
                       r"own \(kept in history\), 0 could not be cleaned", out))
    assert count > 50
    # Nothing of the run still runs; every instance on the server (a fresh one) is the run's.
    assert _ids(served, "processinstance", **{"var-mockidmContractRun": run_id}) == []
    everything = _ids(served, "processinstance/history")
    assert len(everything) == count
    assert sorted(everything) == sorted(_ids(served, "processinstance/history", **{
        "var-mockidmContractRun": run_id}))


def _found(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    assert match is not None, f"{pattern!r} not in:\n{text}"
    return match.group(1)


def _ids(url: str, path: str, **params: str) -> list[str]:
    response = requests.get(f"{url}/workflow/{path}", params={"_queryId": "filtered-query",
                                                              **params},
                            headers={"X-OpenIDM-Username": "openidm-admin",
                                     "X-OpenIDM-Password": "openidm-admin"}, timeout=10)
    assert response.status_code == 200, response.text
    return [item["_id"] for item in response.json()["result"]]


def test_a_broken_server_exits_1_and_names_its_rule(tmp_path: Path) -> None:
    broken = next(b for b in BROKEN if b.rule == "key-starts-latest")
    with ThreadedServer(broken.app) as server:
        result = _mockidm("contract", "--url", server.url, "--max-examples", "1")
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line.upper()]
    assert any("key-starts-latest" in line for line in failed), result.stdout


def test_in_a_terminal_a_bar_shows_the_schema_driven_rules_at_work() -> None:
    """`mockidm contract` in a terminal (a pseudo-terminal here): while a `fuzz-*` rule works,
    a bar is redrawn in place on its line, which then ends with the result."""
    leader, follower = os.openpty()
    with ThreadedServer(mock_app) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "mockidm.cli", "contract", "--url", server.url,
             "--max-examples", "2"], env={**ENV, "TERM": "xterm", "COLUMNS": "160"},
            stdin=subprocess.DEVNULL, stdout=follower, stderr=follower)
        os.close(follower)
        shown = b""
        with contextlib.suppress(OSError):  # EIO once the command has exited
            while chunk := os.read(leader, 65536):
                shown += chunk
        os.close(leader)
        assert process.wait(timeout=60) == 0, shown.decode(errors="replace")
    text = shown.decode()
    rules = catalogue()
    number = next(n for n, r in enumerate(rules, 1) if r.id == "fuzz-conformance")
    line = f"[{number}/{len(rules)}] fuzz-conformance ... "
    bars = re.findall(rf"\r{re.escape(line)}\[([#.]{{24}})\] conformance run: (\d+)/(\d+) "
                      r"examples, (\d+) of 33 operations", text)
    assert len(bars) >= 2, text
    assert bars[0][0] == "." * 24 and bars[-1][0] == "#" * 24
    assert bars[-1][1] == bars[-1][2] and bars[-1][3] == "33"
    assert re.search(rf"\r{re.escape(line)}ok \(\d+\.\d\d s\)\r\n", text), text
    assert "\n  conformance run" not in text  # no plain lines in a terminal
