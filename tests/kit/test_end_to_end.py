"""The kit as a user runs it: `mockidm serve` in one process, `mockidm contract` in another."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from broken_servers import BROKEN

from mockidm.contract import catalogue
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


def test_every_rule_passes_against_mockidm_serve(served: str, tmp_path: Path) -> None:
    junit = tmp_path / "contract.xml"
    started = time.monotonic()
    result = _mockidm("contract", "--url", served, "--junit-xml", str(junit))
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout + result.stderr
    suite = ET.parse(junit).getroot()
    cases = suite.findall(".//testcase")
    assert {c.get("name") for c in cases} == {r.id for r in catalogue()}
    assert not suite.findall(".//failure") and not suite.findall(".//error")
    assert elapsed < 60, f"the kit took {elapsed:.1f} s"
    print(f"\nthe whole kit against mockidm serve: {elapsed:.2f} s")


def test_a_broken_server_exits_1_and_names_its_rule(tmp_path: Path) -> None:
    broken = next(b for b in BROKEN if b.rule == "key-starts-latest")
    with ThreadedServer(broken.app) as server:
        result = _mockidm("contract", "--url", server.url)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line.upper()]
    assert any("key-starts-latest" in line for line in failed), result.stdout
