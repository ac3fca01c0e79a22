"""The `mockidm` command as a user meets it, in a subprocess: where it listens, a port it
cannot have, its version."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MOCKIDM_ADMIN_TOKEN", None)
    return env


def mockidm(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockidm", *args], cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def serving() -> Iterator[subprocess.Popen[str]]:
    """`mockidm serve --port 0`, until its ready line."""
    process = subprocess.Popen([sys.executable, "-m", "mockidm", "serve", "--port", "0",
                                "--quiet"], cwd=ROOT, env=_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_port_0_prints_the_port_it_listens_on(serving: subprocess.Popen[str]) -> None:
    assert serving.stdout is not None
    line = serving.stdout.readline()
    found = re.fullmatch(r"mockidm 8\.1 serving (http://127\.0\.0\.1:(\d+)/openidm), admin API "
                         r"at (http://127\.0\.0\.1:(\d+)/__mockidm/), inspector at "
                         r"http://127\.0\.0\.1:\d+/__mockidm/ui/ \(Ctrl-C to stop\)\n", line)
    assert found, line
    url, port, admin, admin_port = found.groups()
    assert port == admin_port and int(port) > 0
    answer = requests.get(f"{url}/workflow/processdefinition?_queryId=query-all-ids",
                          headers=ADMIN, timeout=10)
    assert answer.status_code == 200 and answer.json()["resultCount"] == 4
    assert requests.get(f"{admin}journal", timeout=10).status_code == 200


def test_a_busy_port_is_one_line_and_exit_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = mockidm("serve", "--port", str(port), "--quiet")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "serving" not in done.stdout
    # What the start logged before it tried the port, then the one line that says why it stops.
    assert done.stderr.splitlines()[-1] == (
        f"mockidm serve: error: cannot listen on 127.0.0.1:{port}: Address already in use")


@pytest.mark.parametrize("port", ["65536", "-1", "http"])
def test_a_port_that_is_no_port_is_refused_by_the_parser(port: str) -> None:
    done = mockidm("serve", "--port", port)
    assert done.returncode == 2
    assert f"argument --port: invalid port value: '{port}'" in done.stderr


def test_version_is_the_package_metadata() -> None:
    """`mockidm --version` (and `mockidm.__version__`) say the version pyproject.toml gives the
    package: a checkout's own, whatever mockidm is installed."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    done = mockidm("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"mockidm {version}\n"
    import mockidm as package

    assert package.__version__ == version
