"""A workflow folder as IDM deploys it: each file on its own, a file the mock cannot deploy
skipped (named with its line in the log and in `problems`), the rest deployed; `--strict`
and `strict=True` refuse the folder instead. Fixture files and the pytest marker stay strict.
Each host is tested as a user meets it: a `mockidm serve` process over HTTP, the facade, a
pytest run, a fixture file."""

from __future__ import annotations

import io
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import requests

from mockidm import MockIDM
from mockidm.engine import FolderRefused
from mockidm.scenario import ScenarioError, parse_scenario

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[1]
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
QUERY_ALL = "workflow/processdefinition?_queryId=query-all-ids"
# As in test_pytest_plugin.py: an installation without the pytest11 entry point needs it named.
PLUGIN = () if entry_points(group="pytest11", name="mockidm") else ("-p", "mockidm.pytest_plugin")


def bpmn(key: str, middle: str = "") -> str:
    """start -> `middle` (a user task unless given; its id is `middle`) -> end, one element
    a line: a complex gateway as `middle` is on line 7."""
    body = middle or ('<userTask id="middle" name="Review" '
                      'activiti:candidateGroups="internal/role/openidm-admin"/>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="mockidm.tests.folder">
  <process id="{key}" name="{key}" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="toMiddle" sourceRef="start" targetRef="middle"/>
    {body}
    <sequenceFlow id="toEnd" sourceRef="middle" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


# A complex gateway: a BPMN element neither Activiti's IDM samples nor the mock run.
BROKEN = bpmn("broken", '<complexGateway id="middle"/>')
WHY = ("b-broken.bpmn20.xml, line 7: element 'complexGateway' (id 'middle') is not "
       "supported by mockidm")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Two good files around a broken one, and a file that is no workflow at all."""
    workflow = tmp_path / "workflow"
    workflow.mkdir()
    (workflow / "a-first.bpmn20.xml").write_text(bpmn("first"))
    (workflow / "b-broken.bpmn20.xml").write_text(BROKEN)
    (workflow / "c-last.bpmn20.xml").write_text(bpmn("last"))
    (workflow / "notes.txt").write_text("not a workflow")
    return workflow


# mockidm serve ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(folder: Path, port: int, *flags: str) -> list[str]:
    return [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(port),
            "--workflow-dir", str(folder), "--quiet", *flags]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def _wait_until_serving(process: subprocess.Popen[str], origin: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            requests.get(f"{origin}/openidm/{QUERY_ALL}", headers=ADMIN, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("mockidm serve did not answer")


def test_serve_skips_the_broken_file_serves_the_others_and_names_it(folder):
    port = _free_port()
    origin = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(_serve(folder, port), env=_env(), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_until_serving(process, origin)
        listed = requests.get(f"{origin}/openidm/{QUERY_ALL}", headers=ADMIN, timeout=5)
        assert sorted(d["key"] for d in listed.json()["result"]) == ["first", "last"]
        started = requests.post(f"{origin}/openidm/workflow/processinstance?_action=create",
                                json={"_key": "last"}, headers=ADMIN, timeout=5)
        assert started.status_code == 201, started.text
        missing = requests.post(f"{origin}/openidm/workflow/processinstance?_action=create",
                                json={"_key": "broken"}, headers=ADMIN, timeout=5)
        assert missing.status_code == 404  # as on an IDM that could not deploy the file

        problem = f"workflow file not deployed: {WHY}"
        assert requests.get(f"{origin}/__mockidm/problems", timeout=5).json() == [problem]
        # The admin reset returns to the startup state: the file is still not deployed.
        assert requests.post(f"{origin}/__mockidm/reset", timeout=5).status_code == 200
        assert requests.get(f"{origin}/__mockidm/problems", timeout=5).json() == [problem]

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate()
    [line] = [line for line in stderr.splitlines() if "b-broken" in line]
    assert line.endswith(f"mockidm skipped {WHY}"), stderr
    assert "Traceback" not in stderr


def test_serve_strict_exits_2_with_the_same_message(folder):
    finished = subprocess.run(_serve(folder, _free_port(), "--strict"), env=_env(),
                              capture_output=True, text=True, timeout=30, check=False)
    assert finished.returncode == 2, finished
    [line] = [line for line in finished.stderr.splitlines() if line.strip()]
    assert f"cannot deploy {WHY} (--strict: not starting)" in line
    assert "Traceback" not in finished.stderr
    assert "serving" not in finished.stdout


def test_serve_strict_names_every_broken_file_one_line_each(folder):
    (folder / "d-malformed.bpmn20.xml").write_text("<definitions><process id='x'>")
    finished = subprocess.run(_serve(folder, _free_port(), "--strict"), env=_env(),
                              capture_output=True, text=True, timeout=30, check=False)
    assert finished.returncode == 2, finished
    lines = [line for line in finished.stderr.splitlines() if line.strip()]
    assert [("b-broken" in line, "d-malformed" in line) for line in lines] == [
        (True, False), (False, True)]
    assert "d-malformed.bpmn20.xml, line 1: malformed XML" in lines[1]


# the facade ------------------------------------------------------------------------------------


def test_deploy_folder_deploys_the_rest_and_reports_the_skipped_file(folder, caplog):
    mock = MockIDM()
    with caplog.at_level(logging.WARNING, logger="mockidm"):
        deployed = mock.deploy_folder(folder)
    assert [d.key for d in deployed] == ["first", "last"]
    assert [d.key for d in mock.definitions()] == ["first", "last"]
    assert [r.getMessage() for r in caplog.records] == [f"skipped {WHY}"]
    assert mock.skipped_files() == [f"workflow file not deployed: {WHY}"]
    assert mock.problems() == [f"workflow file not deployed: {WHY}"]

    mock.reset()  # a new mock's state: nothing deployed, nothing skipped
    assert mock.problems() == [] and mock.definitions() == []


def test_deploy_folder_strict_deploys_nothing_and_raises(folder):
    mock = MockIDM()
    with pytest.raises(FolderRefused) as refused:
        mock.deploy_folder(folder, strict=True)
    assert str(refused.value) == WHY
    assert [s.path.name for s in refused.value.skipped] == ["b-broken.bpmn20.xml"]
    assert mock.definitions() == [] and mock.problems() == []


def test_a_broken_archive_is_skipped_naming_its_entry(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner.bpmn20.xml", BROKEN)
    (folder / "b-broken.bpmn20.xml").unlink()
    (folder / "b-forms.bar").write_bytes(buffer.getvalue())
    mock = MockIDM()
    assert [d.key for d in mock.deploy_folder(folder)] == ["first", "last"]
    assert mock.problems() == [
        "workflow file not deployed: b-forms.bar: inner.bpmn20.xml, line 7: element "
        "'complexGateway' (id 'middle') is not supported by mockidm"]


def test_an_unreadable_file_is_skipped_too(folder, monkeypatch):
    read_bytes = Path.read_bytes

    def refuse_the_broken_one(path: Path) -> bytes:
        if path.name == "b-broken.bpmn20.xml":
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse_the_broken_one)
    mock = MockIDM()
    assert [d.key for d in mock.deploy_folder(folder)] == ["first", "last"]
    assert mock.problems() == [
        "workflow file not deployed: b-broken.bpmn20.xml: cannot be read: Permission denied"]


# fixture files and the pytest plugin: strict -------------------------------------------------


def test_a_fixture_file_folder_with_a_broken_file_is_refused_naming_it(folder):
    scenario = folder.parent / "scenario.yaml"
    scenario.write_text("definitions:\n  - folder: workflow\n")
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(scenario)
    assert WHY in str(refused.value)


PLUGIN_TEST = """
import pytest
import requests

@pytest.mark.mockidm(definitions="workflow")
def test_marker_folder(mockidm):
    pass

def test_deploy_folder_in_a_test(mockidm):
    assert [d.key for d in mockidm.deploy_folder("workflow")] == ["first", "last"]

@pytest.mark.mockidm(allow_skipped_files=True)
def test_skipping_allowed(mockidm):
    assert [d.key for d in mockidm.deploy_folder("workflow")] == ["first", "last"]
"""


def test_the_plugin_refuses_a_marker_folder_and_fails_a_test_that_skipped_a_file(
        folder, pytester):
    workflow = pytester.path / "workflow"
    workflow.mkdir()
    for file in folder.iterdir():
        (workflow / file.name).write_text(file.read_text())
    pytester.makepyfile(test_it=PLUGIN_TEST)
    result = pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=2)
    output = result.stdout.str()
    # The marker's folder: an error at setup, no traceback.
    result.stdout.fnmatch_lines(["*ERROR at setup of test_marker_folder*", f"mockidm: {WHY}"])
    # A test's own deploy_folder: the test passes, then its teardown fails naming the file.
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_deploy_folder_in_a_test*",
                                 f"*workflow file not deployed: {WHY}"])
    assert "allow_skipped_files=True" in output
    assert "Traceback" not in output
