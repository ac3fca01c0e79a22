"""The wren profile chosen every way a user chooses a profile, each answering as Wren:IDM's port
(tests/wren_walk.py: every `Profile` field the profile adds, asserted over HTTP): `mockidm serve
--profile wren`, `--mockidm-profile wren` and the marker's `profile="wren"`, a fixture file and
the admin API driving a wren mock (their `complete` steps keep the variables on the task, as
Wren's `_action=complete` does), and `mockidm compare --profile wren`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import requests
from wren_walk import ADMIN, WORKFLOWS, assert_answers_as_wren

from mockidm import AdminClient, MockIDM
from mockidm.admin.server import add_admin_routes
from mockidm.scenario import load_scenario
from mockidm.server import ThreadedServer

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
WORKFLOW = WORKFLOWS / "access_approval.bpmn20.xml"
pytest_plugins = ["pytester"]
PLUGIN = () if entry_points(group="pytest11", name="mockidm") else ("-p", "mockidm.pytest_plugin")


@pytest.fixture
def wren_server() -> Iterator[str]:
    """`mockidm serve --profile wren --workflow-dir <the test workflows>`: its IDM url."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mockidm", "serve", "--profile", "wren", "--port", "0",
         "--workflow-dir", str(WORKFLOWS), "--strict"], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.match(r"mockidm wren serving (http://127\.0\.0\.1:\d+/openidm)", line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        yield found.group(1)
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_the_command_line_serves_wren(wren_server: str) -> None:
    assert_answers_as_wren(wren_server)


def test_the_pytest_option_and_marker_choose_wren(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_it=f"""
import sys
import pytest
sys.path.insert(0, {str(TESTS)!r})
from wren_walk import assert_answers_as_wren

WORKFLOW = {str(WORKFLOW)!r}

@pytest.mark.mockidm(definitions=[WORKFLOW])
def test_by_option(mockidm):
    assert mockidm.profile.name == "wren"
    assert_answers_as_wren(mockidm.url, mockidm.admin_headers)

@pytest.mark.mockidm(profile="wren", definitions=[WORKFLOW])
def test_by_marker(mockidm):
    assert mockidm.profile.name == "wren"
    assert_answers_as_wren(mockidm.url, mockidm.admin_headers)
""")
    by_option = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", "-k", "by_option",
                                   "--mockidm-profile", "wren")
    by_option.assert_outcomes(passed=1)
    by_marker = pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", "-k", "by_marker")
    by_marker.assert_outcomes(passed=1)


def _history(url: str, instance: str) -> Any:
    answer = requests.get(f"{url}/workflow/processinstance/history/{instance}",
                          headers=ADMIN, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_fixture_file_completes_as_wren_does(tmp_path: Path) -> None:
    """A fixture file's `complete` step is a client's complete: on the task in wren."""
    fixture = tmp_path / "fixture.yaml"
    fixture.write_text(f"""
definitions: [{{file: {WORKFLOW}}}]
instances:
  - key: accessApproval
    variables: {{userName: fixed}}
    complete: [{{task: approval, variables: {{result: approve}}}}]
""")
    for profile, locals_, variables in (
            ("wren", {"result": "approve"}, {"userName": "fixed", "decision": "approve"}),
            ("8.1", {}, {})):
        mock = MockIDM(profile)
        with mock.serve():
            load_scenario(mock, fixture)
            listed = requests.get(f"{mock.url}/workflow/processinstance/history"
                                  "?_queryId=query-all-ids", headers=ADMIN, timeout=10)
            [instance] = [item["_id"] for item in listed.json()["result"]]
            history = _history(mock.url, instance)
            assert history["tasks"][0]["taskLocalVariables"] == locals_
            assert history["processVariables"] == variables
            if profile == "wren":
                assert_answers_as_wren(mock.url)


def test_the_admin_api_drives_a_wren_mock() -> None:
    mock = MockIDM("wren")

    def factory():  # type: ignore[no-untyped-def]
        app = mock.app(validate_responses=True)
        add_admin_routes(app, mock, token=None, validate_responses=True)
        return app

    with ThreadedServer(factory) as server:
        admin = AdminClient(server.url)
        assert admin.request("GET", "")["profile"] == "wren"
        admin.deploy_file(WORKFLOW)
        started = admin.start_process("accessApproval", variables={"userName": "admin"})
        [task] = admin.tasks(started["id"])
        admin.complete(task["id"], {"result": "reject"})
        idm = server.url
        history = _history(idm, started["id"])
        assert history["tasks"][0]["taskLocalVariables"] == {"result": "reject"}
        assert history["processVariables"] == {"userName": "admin", "decision": "reject"}
        assert_answers_as_wren(idm)


@pytest.mark.parametrize("paging", [False, True])
def test_choosing_paging_replaces_wrens_own(paging: bool) -> None:
    """`paging=` (as `--paging on/off` and a fixture file's `paging`) decides for every query:
    off, the task history no longer pages as Wren's does; on, every query pages the mock's way."""
    mock = MockIDM("wren", paging=paging)
    mock.deploy_file(WORKFLOW)
    with mock.serve():
        for _ in range(2):
            mock.start_process("accessApproval")
        for path in ("taskinstance/history", "processinstance"):
            answer = requests.get(f"{mock.url}/workflow/{path}?_queryId=query-all-ids"
                                  "&_pageSize=1", headers=ADMIN, timeout=10)
            assert answer.json()["resultCount"] == (1 if paging else 2), path
