"""Query paging over HTTP: the 8.1 profile pages (cookie, offset, exact totals when asked), 6.5
ignores paging, and every way to switch it works in each setting (docs/fidelity.md, "Paging").
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import requests

from mockidm import MockIDM
from mockidm.scenario import load_scenario, parse_scenario

pytest_plugins = ["pytester"]

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTANCES = "workflow/processinstance"
ALL = {"_queryId": "query-all-ids"}
IGNORED = {"pagedResultsCookie": None, "totalPagedResultsPolicy": "NONE",
           "totalPagedResults": -1, "remainingPagedResults": -1}


def query(mock: MockIDM, path: str = INSTANCES, **params: Any) -> dict[str, Any]:
    response = requests.get(f"{mock.url}/{path}", params={**ALL, **params},
                            headers=mock.admin_headers, timeout=10)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resultCount"] == len(body["result"])
    return body


def start(mock: MockIDM, count: int) -> list[str]:
    mock.deploy_samples()
    return [mock.start_process("roleRequest").id for _ in range(count)]


def pages(mock: MockIDM, size: int, **params: Any) -> list[dict[str, Any]]:
    """A client's paging loop: ask again with the cookie until it is null."""
    answers, cookie = [], None
    for _ in range(100):  # bounded: a server that never ends the loop fails the test
        extra = {"_pagedResultsCookie": cookie} if cookie is not None else {}
        body = query(mock, _pageSize=size, **params, **extra)
        answers.append(body)
        cookie = body["pagedResultsCookie"]
        if cookie is None:
            return answers
    raise AssertionError("the cookie never became null")


@pytest.fixture
def mock81():
    with MockIDM("8.1").serve() as mock:
        yield mock


@pytest.fixture
def mock65():
    with MockIDM("6.5").serve() as mock:
        yield mock


def test_a_client_loop_pages_through_25_instances_10_at_a_time(mock81):
    started = start(mock81, 25)
    answers = pages(mock81, 10, _totalPagedResultsPolicy="EXACT")
    assert [a["resultCount"] for a in answers] == [10, 10, 5]
    assert [i["_id"] for a in answers for i in a["result"]] == started  # each once, in order
    assert [a["pagedResultsCookie"] for a in answers] == ["10", "20", None]
    assert all(a["totalPagedResultsPolicy"] == "EXACT" and a["totalPagedResults"] == 25
               and a["remainingPagedResults"] == -1 for a in answers)


def test_without_a_count_policy_there_are_no_totals(mock81):
    start(mock81, 25)
    body = query(mock81, _pageSize=10)
    assert body["resultCount"] == 10
    assert (body["pagedResultsCookie"], body["totalPagedResultsPolicy"],
            body["totalPagedResults"]) == ("10", "NONE", -1)


def test_an_offset_starts_the_page_there(mock81):
    started = start(mock81, 25)
    body = query(mock81, _pageSize=10, _pagedResultsOffset=20)
    assert [i["_id"] for i in body["result"]] == started[20:]
    assert body["pagedResultsCookie"] is None
    body = query(mock81, _pageSize=5, _pagedResultsOffset=3)
    assert [i["_id"] for i in body["result"]] == started[3:8]
    assert body["pagedResultsCookie"] == "8"


def test_paging_follows_the_sort_and_the_filters(mock81):
    started = start(mock81, 12)
    body = query(mock81, _queryId="filtered-query", _sortKeys="-processInstanceId", _pageSize=4,
                 _totalPagedResultsPolicy="EXACT")
    expected = sorted(started, reverse=True)  # ids are strings: they sort as text
    assert [i["_id"] for i in body["result"]] == expected[:4]
    assert body["totalPagedResults"] == 12


def test_fields_select_within_the_page(mock81):
    started = start(mock81, 3)
    body = query(mock81, _pageSize=2, _fields="businessKey")
    assert body["result"] == [{"_id": started[0], "businessKey": None},
                              {"_id": started[1], "businessKey": None}]
    assert body["pagedResultsCookie"] == "2"


def test_every_query_endpoint_pages(mock81):
    start(mock81, 3)
    for path in (INSTANCES, "workflow/taskinstance", "workflow/execution",
                 "workflow/processdefinition"):
        body = query(mock81, path, _queryId="query-all-ids" if path != "workflow/execution"
                     else "filtered-query", _pageSize=1, _totalPagedResultsPolicy="EXACT")
        assert body["resultCount"] == 1, path
        assert body["pagedResultsCookie"] == "1", path
        assert body["totalPagedResults"] > 1, path


def test_a_cookie_the_server_did_not_hand_out_is_refused(mock81):
    start(mock81, 2)
    response = requests.get(f"{mock81.url}/{INSTANCES}",
                            params={**ALL, "_pageSize": 1, "_pagedResultsCookie": "abc"},
                            headers=mock81.admin_headers, timeout=10)
    assert response.status_code == 400
    assert "_pagedResultsCookie" in response.json()["message"]


def test_a_cookie_past_the_end_is_an_empty_last_page(mock81):
    start(mock81, 2)
    body = query(mock81, _pageSize=1, _pagedResultsCookie="7", _totalPagedResultsPolicy="EXACT")
    assert (body["result"], body["pagedResultsCookie"], body["totalPagedResults"]) == (
        [], None, 2)


def test_page_size_zero_or_none_is_no_paging(mock81):
    started = start(mock81, 12)
    for params in ({}, {"_pageSize": 0}, {"_pagedResultsOffset": 5},
                   {"_totalPagedResultsPolicy": "EXACT"}):
        body = query(mock81, **params)
        assert [i["_id"] for i in body["result"]] == started, params
        assert {k: body[k] for k in IGNORED} == IGNORED, params


def test_6_5_ignores_paging(mock65):
    started = start(mock65, 25)
    body = query(mock65, _pageSize=10, _pagedResultsOffset=10, _totalPagedResultsPolicy="EXACT")
    assert [i["_id"] for i in body["result"]] == started
    assert {k: body[k] for k in IGNORED} == IGNORED


# Every way to switch paging, in each setting -------------------------------------------------

def assert_pages(mock: MockIDM, on: bool) -> None:
    started = start(mock, 3)
    body = query(mock, _pageSize=2)
    assert [i["_id"] for i in body["result"]] == (started[:2] if on else started)
    assert body["pagedResultsCookie"] == ("2" if on else None)


@pytest.mark.parametrize(("profile", "paging"), [
    ("8.1", False), ("8.1", True), ("6.5", True), ("6.5", False)])
def test_the_profile_option(profile, paging):
    with MockIDM(profile, paging=paging).serve() as mock:
        assert mock.paging is paging
        assert_pages(mock, paging)
        mock.reset()
        assert mock.paging is paging  # the mock's own choice survives a reset


@pytest.mark.parametrize("paging", [False, True])
def test_switching_a_running_mock_and_reset_puts_the_profile_back(paging):
    profile = "6.5" if paging else "8.1"
    with MockIDM(profile).serve() as mock:
        mock.paging = paging
        assert_pages(mock, paging)
        mock.reset()
        assert mock.paging is not paging
        assert_pages(mock, not paging)


@pytest.mark.parametrize("paging", [False, True])
def test_a_startup_fixture_file_sets_what_reset_returns_to(tmp_path, paging):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"paging": paging}))
    with MockIDM("6.5" if paging else "8.1").serve() as mock:
        load_scenario(mock, scenario)
        mock.keep_as_initial()  # as `mockidm serve --fixtures FILE` does
        mock.reset()
        assert mock.paging is paging
        assert_pages(mock, paging)


@pytest.mark.parametrize("paging", [False, True])
def test_the_fixture_file_option(tmp_path, paging):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"paging": paging}))
    with MockIDM("6.5" if paging else "8.1").serve() as mock:
        load_scenario(mock, scenario)
        assert mock.paging is paging
        assert_pages(mock, paging)


def test_the_fixture_file_option_must_be_a_boolean(tmp_path):
    scenario = tmp_path / "scenario.json"
    scenario.write_text(json.dumps({"paging": "on"}))
    with pytest.raises(ValueError, match="paging"):
        parse_scenario(scenario)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "flag", "on"), [
    ("8.1", "off", False), ("6.5", "on", True), ("8.1", None, True), ("6.5", None, False)])
def test_the_cli_flag(profile, flag, on):
    port = _free_port()
    command = [sys.executable, "-m", "mockidm.cli", "serve", "--port", str(port), "--quiet",
               "--profile", profile, *(["--paging", flag] if flag else [])]
    process = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/openidm/{INSTANCES}"
    headers = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin"}
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, process.communicate()
            try:
                requests.get(url, params=ALL, headers=headers, timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "mockidm serve did not answer"
                time.sleep(0.05)
        for _ in range(3):
            created = requests.post(f"{url}?_action=create", json={"_key": "roleRequest"},
                                    headers=headers, timeout=5)
            assert created.status_code == 201, created.text
        body = requests.get(url, params={**ALL, "_pageSize": 2}, headers=headers,
                            timeout=5).json()
        assert body["resultCount"] == (2 if on else 3)
        assert body["pagedResultsCookie"] == ("2" if on else None)
        # The admin API switches it with a fixture document; a reset puts the flag's back.
        admin = f"http://127.0.0.1:{port}/__mockidm"
        loaded = requests.post(f"{admin}/fixtures", json={"paging": not on}, timeout=5)
        assert loaded.status_code == 200, loaded.text
        for _ in range(3):
            requests.post(f"{url}?_action=create", json={"_key": "roleRequest"},
                          headers=headers, timeout=5)
        body = requests.get(url, params={**ALL, "_pageSize": 2}, headers=headers,
                            timeout=5).json()
        assert body["resultCount"] == (6 if on else 2)  # six instances now
        assert requests.post(f"{admin}/reset", timeout=5).status_code == 200
        for _ in range(3):
            requests.post(f"{url}?_action=create", json={"_key": "roleRequest"},
                          headers=headers, timeout=5)
        body = requests.get(url, params={**ALL, "_pageSize": 2}, headers=headers,
                            timeout=5).json()
        assert body["resultCount"] == (2 if on else 3)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def test_the_cli_refuses_another_paging_value():
    finished = subprocess.run([sys.executable, "-m", "mockidm.cli", "serve", "--paging", "yes"],
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                              capture_output=True, text=True, timeout=30)
    assert finished.returncode == 2
    assert "--paging: invalid choice: 'yes'" in finished.stderr


PLUGIN = () if entry_points(group="pytest11", name="mockidm") else ("-p", "mockidm.pytest_plugin")
MARKER_TEST = """
import pytest
import requests


def page(mockidm):
    mockidm.deploy_samples()
    for _ in range(3):
        mockidm.start_process("roleRequest")
    return requests.get(f"{mockidm.url}/workflow/processinstance",
                        params={"_queryId": "query-all-ids", "_pageSize": 2},
                        headers=mockidm.admin_headers, timeout=10).json()


@pytest.mark.mockidm(paging=False)
def test_off(mockidm):
    assert page(mockidm)["resultCount"] == 3


@pytest.mark.mockidm(profile="6.5", paging=True)
def test_on(mockidm):
    assert page(mockidm)["pagedResultsCookie"] == "2"


def test_default_after_the_marker(mockidm):
    assert page(mockidm)["resultCount"] == 2  # the session's 8.1 server, reset: paging on
"""


@pytest.mark.slow
def test_the_pytest_marker(pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_it=MARKER_TEST)
    result = pytester.runpytest_subprocess(*PLUGIN, "-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
