"""Scripted failures, each observed over HTTP by a real client against `MockIDM().serve()`.

Route faults (status + IDM envelope, latency, dropped connection, `nth`, `times`, `seconds`,
matching by method / path glob / operationId / query) and authentication failures (the next
N requests refused, one user's password rejected, a locked-out user, expired session
cookies), with the counters and the "never used" reports of `problems()`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import inspect
import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
import requests
import yaml

from mockidm.facade import MockIDM
from mockidm.http.faults import FAULT_FIELDS, Fault
from mockidm.samples import SAMPLES_DIR
from mockidm.spec import load_spec
from mockidm.spec_files import admin_spec_path, contracts_dir

PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ALL = "_queryId=query-all-ids"
NO_SESSION = {"X-OpenIDM-NoSession": "true"}
ACCESS_DENIED = {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
UNAVAILABLE = {"code": 503, "reason": "Service Unavailable", "message": "Service Unavailable"}
SESSION = "session-jwt"
AJAX = {"X-Requested-With": "XMLHttpRequest"}
ADMIN_ROLES = ("openidm-admin", "openidm-authorized")
T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def mock(mock: MockIDM) -> MockIDM:
    """conftest's served mock with the sample workflows deployed and two more administrators
    (so that what they are refused is authentication, never access)."""
    mock.deploy_folder(SAMPLES_DIR)
    mock.add_user("bob", "bob-pw", ADMIN_ROLES)
    mock.add_user("alice", "alice-pw", ADMIN_ROLES)
    return mock


def creds(name: str, password: str, *, session: bool = False) -> dict[str, str]:
    headers = {"X-OpenIDM-Username": name, "X-OpenIDM-Password": password}
    return headers if session else {**headers, **NO_SESSION}


def basic(name: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", **NO_SESSION}


def call(mock: MockIDM, method: str, path: str, *, headers: dict[str, str] | None = None,
         auth: bool = True, **kwargs: Any) -> requests.Response:
    """A request with `requests`; `path` is relative to /openidm; admin credentials by
    default, no session cookie issued."""
    merged = {**({**mock.admin_headers, **NO_SESSION} if auth else {}), **(headers or {})}
    return requests.request(method, f"{mock.url}/{path}", headers=merged, timeout=10, **kwargs)


def assert_idm_error(response: requests.Response, body: dict[str, Any]) -> None:
    assert response.status_code == body["code"], response.text
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.json() == body


def start(mock: MockIDM, key: str = "roleRequest", **extra: Any) -> str:
    response = call(mock, "POST", f"{PI}?_action=create", json={"_key": key, **extra})
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def first_task(mock: MockIDM, instance_id: str) -> str:
    return mock.tasks(instance_id)[0].id


def instance_count(mock: MockIDM) -> int:
    response = call(mock, "GET", f"{PI}?{ALL}")
    assert response.status_code == 200, response.text
    return response.json()["resultCount"]


def statuses(mock: MockIDM, n: int, path: str = f"{PD}?{ALL}") -> list[int]:
    return [call(mock, "GET", path).status_code for _ in range(n)]


def unused(mock: MockIDM) -> list[str]:
    return [p for p in mock.problems() if p.startswith("scripted failure never used")]


def login(mock: MockIDM, name: str, password: str) -> str:
    """Authenticate with headers, asking for a session: the `session-jwt` cookie issued."""
    response = call(mock, "GET", f"{PD}?{ALL}", headers=creds(name, password, session=True),
                    auth=False)
    assert response.status_code == 200, response.text
    return response.cookies[SESSION]


def with_cookie(mock: MockIDM, token: str, headers: dict[str, str] | None = None
                ) -> requests.Response:
    """A query authenticated by the cookie alone (X-Requested-With passes IDM's CSRF guard)."""
    return call(mock, "GET", f"{PD}?{ALL}", headers={**AJAX, **NO_SESSION, **(headers or {})},
                auth=False, cookies={SESSION: token})


# --- route faults: status and IDM's envelope --------------------------------------------------

def test_status_fault_answers_idm_envelope(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)  # no limit: every call
    assert (fault.matched, fault.fired) == (2, 2)
    [first, _] = mock.requests("queryProcessDefinitions")
    assert first.status == 503
    assert first.response == UNAVAILABLE
    assert first.fault == fault.describe()
    assert "scripted failure" in first.render()


def test_status_fault_with_message_and_detail(mock):
    mock.fault(operation="createProcessInstance", status=409,
               message="Workflow engine 'busy'", detail={"retryAfter": 5})
    response = call(mock, "POST", f"{PI}?_action=create", json={"_key": "roleRequest"})
    assert_idm_error(response, {"code": 409, "reason": "Conflict",
                                "message": "Workflow engine &#39;busy&#39;",
                                "detail": {"retryAfter": 5}})


def test_status_fault_does_not_run_the_operation(mock):
    mock.fault(operation="createProcessInstance", status=500, times=1)
    response = call(mock, "POST", f"{PI}?_action=create", json={"_key": "roleRequest"})
    assert_idm_error(response, {"code": 500, "reason": "Internal Server Error",
                                "message": "Internal Server Error"})
    assert instance_count(mock) == 0
    start(mock)
    assert instance_count(mock) == 1


def test_a_fault_needs_an_effect(mock):
    with pytest.raises(ValueError, match="status, drop=True or some latency"):
        mock.fault(operation="queryProcessDefinitions")


def test_a_misspelled_operation_is_refused_at_once_with_a_suggestion(mock):
    with pytest.raises(ValueError) as typo:
        mock.fault(operation="createProcesInstance", status=500)
    assert str(typo.value) == ("unknown operation 'createProcesInstance'; did you mean "
                               "'createProcessInstance'?")
    with pytest.raises(ValueError) as unknown:
        mock.fault(operation="xyzzy", status=500)
    assert str(unknown.value).startswith("unknown operation 'xyzzy'; the operationIds of "
                                         "openapi.yaml: ")
    assert "createProcessInstance" in str(unknown.value)
    assert mock.route_faults() == [] and mock.problems() == []  # nothing was scripted


# --- latency ----------------------------------------------------------------------------------

def test_latency_delays_a_normal_answer(mock):
    fault = mock.fault(operation="queryProcessDefinitions", latency=0.2)
    began = time.perf_counter()
    slow = call(mock, "GET", f"{PD}?{ALL}")
    slow_elapsed = time.perf_counter() - began
    assert slow.status_code == 200
    assert slow.json()["resultCount"] == 4  # the four sample definitions: answered normally
    assert 0.2 <= slow_elapsed < 2.0
    began = time.perf_counter()
    fast = call(mock, "GET", f"{PI}?{ALL}")  # another operation: not delayed
    assert fast.status_code == 200
    assert time.perf_counter() - began < 0.2
    assert (fault.matched, fault.fired) == (1, 1)
    assert unused(mock) == []


def test_latency_then_status(mock):
    mock.fault(operation="queryProcessDefinitions", latency=0.2, status=503)
    began = time.perf_counter()
    response = call(mock, "GET", f"{PD}?{ALL}")
    assert 0.2 <= time.perf_counter() - began < 2.0
    assert_idm_error(response, UNAVAILABLE)


async def test_latency_does_not_hold_up_other_requests(mock):
    mock.fault(operation="queryProcessDefinitions", latency=0.5)
    headers = {**mock.admin_headers, **NO_SESSION}
    done: dict[str, float] = {}

    async def fetch(session: aiohttp.ClientSession, name: str, path: str) -> int:
        async with session.get(f"{mock.url}/{path}", headers=headers) as response:
            await response.read()
            done[name] = time.perf_counter() - began
            return response.status

    began = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        slow = asyncio.create_task(fetch(session, "slow", f"{PD}?{ALL}"))
        await asyncio.sleep(0.05)  # the slow request is in the mock, sleeping
        assert await fetch(session, "fast", f"{PI}?{ALL}") == 200
        assert await slow == 200
    assert done["fast"] < 0.4  # answered while the slow one still waits
    assert 0.5 <= done["slow"] < 2.5


# --- dropped connections ----------------------------------------------------------------------

def test_drop_closes_the_connection_for_requests(mock):
    fault = mock.fault(operation="queryProcessDefinitions", drop=True, times=1)
    with pytest.raises(requests.exceptions.ConnectionError):
        call(mock, "GET", f"{PD}?{ALL}")
    assert call(mock, "GET", f"{PD}?{ALL}").status_code == 200  # times=1: once only
    assert (fault.matched, fault.fired) == (2, 1)
    [dropped, answered] = mock.requests("queryProcessDefinitions")
    assert dropped.fault == fault.describe()
    assert "drop the connection" in dropped.fault
    assert answered.fault is None and answered.status == 200


async def test_drop_closes_the_connection_for_aiohttp(mock):
    fault = mock.fault(operation="createProcessInstance", drop=True, times=1)
    headers = {**mock.admin_headers, **NO_SESSION}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            async with session.post(f"{mock.url}/{PI}?_action=create", headers=headers,
                                    json={"_key": "roleRequest"}) as response:
                await response.read()
        async with session.post(f"{mock.url}/{PI}?_action=create", headers=headers,
                                json={"_key": "roleRequest"}) as response:
            assert response.status == 201
    assert fault.fired == 1
    assert instance_count(mock) == 1  # the dropped request started nothing


async def test_drop_on_every_call_reaches_aiohttp_even_after_its_retry(mock):
    """aiohttp retries an idempotent request once on a dropped connection: a GET that must
    fail needs a fault that drops more than one call."""
    fault = mock.fault(operation="queryProcessDefinitions", drop=True)
    headers = {**mock.admin_headers, **NO_SESSION}
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(f"{mock.url}/{PD}?{ALL}", headers=headers) as response:
                await response.read()
    assert fault.fired == fault.matched >= 1
    assert len(mock.requests("queryProcessDefinitions")) == fault.matched


# --- which matching calls fail: nth, times, seconds -------------------------------------------

def test_nth_fails_only_the_nth_matching_call(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503, nth=2)
    assert statuses(mock, 4) == [200, 503, 200, 200]
    assert (fault.matched, fault.fired) == (4, 1)
    assert [e.fault is not None for e in mock.requests("queryProcessDefinitions")] == [
        False, True, False, False]


def test_times_fails_the_first_n_matching_calls(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503, times=2)
    assert statuses(mock, 4) == [503, 503, 200, 200]
    assert (fault.matched, fault.fired) == (4, 2)


def test_seconds_fails_only_for_a_while(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503, seconds=0.3)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)
    time.sleep(0.4)
    assert call(mock, "GET", f"{PD}?{ALL}").status_code == 200
    assert (fault.matched, fault.fired) == (2, 1)


def test_nth_and_times_together(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503, nth=3, times=1)
    assert statuses(mock, 4) == [200, 200, 503, 200]
    assert (fault.matched, fault.fired) == (4, 1)


# --- matching: method, path glob, operationId, query ------------------------------------------

def test_match_by_method(mock):
    instance = start(mock)
    fault = mock.fault(method="delete", status=503)  # any case
    assert call(mock, "GET", f"{PI}/{instance}").status_code == 200
    assert_idm_error(call(mock, "DELETE", f"{PI}/{instance}"), UNAVAILABLE)
    assert call(mock, "GET", f"{PI}/{instance}").status_code == 200  # not deleted
    assert (fault.matched, fault.fired) == (1, 1)


def test_match_by_path_glob(mock):
    task = first_task(mock, start(mock))
    fault = mock.fault(path="workflow/taskinstance/*", status=503)
    assert call(mock, "GET", f"{TI}?{ALL}").status_code == 200  # the collection: no match
    assert call(mock, "GET", f"{PD}?{ALL}").status_code == 200
    assert_idm_error(call(mock, "GET", f"{TI}/{task}"), UNAVAILABLE)
    assert_idm_error(call(mock, "POST", f"{TI}/{task}?_action=complete", json={}),
                     UNAVAILABLE)
    assert (fault.matched, fault.fired) == (2, 2)


def test_path_glob_with_a_leading_slash(mock):
    fault = mock.fault(path="/workflow/processdefinition*", status=503)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)
    assert call(mock, "GET", f"{PI}?{ALL}").status_code == 200
    assert fault.fired == 1


def test_path_glob_as_the_journal_writes_paths(mock):
    call(mock, "GET", f"{PD}?{ALL}")
    journal_path = mock.requests("queryProcessDefinitions")[0].path
    assert journal_path == "/openidm/workflow/processdefinition"
    mock.fault(path=journal_path + "*", status=503)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)


def test_match_by_operation(mock):
    instance = start(mock)
    fault = mock.fault(operation="readProcessInstance", status=503)
    assert call(mock, "GET", f"{PI}?{ALL}").status_code == 200  # same path prefix, other op
    assert_idm_error(call(mock, "GET", f"{PI}/{instance}"), UNAVAILABLE)
    assert (fault.matched, fault.fired) == (1, 1)


def test_match_by_query(mock):
    instance = start(mock)
    task = first_task(mock, instance)
    fault = mock.fault(query={"_action": "complete"}, status=503)
    claim = call(mock, "POST", f"{TI}/{task}?_action=claim", json={"userId": "openidm-admin"})
    assert claim.status_code == 200, claim.text
    complete = call(mock, "POST", f"{TI}/{task}?_action=complete",
                    json={"securityDecision": "approve"})
    assert_idm_error(complete, UNAVAILABLE)
    assert first_task(mock, instance) == task  # the task is still there
    assert (fault.matched, fault.fired) == (1, 1)


def test_match_by_query_needs_every_parameter_and_value(mock):
    fault = mock.fault(query={"_queryId": "filtered-query", "key": "roleRequest"}, status=503)
    assert call(mock, "GET", f"{PD}?{ALL}").status_code == 200
    assert call(mock, "GET", f"{PD}?_queryId=filtered-query&key=accountActivation"
                ).status_code == 200
    assert_idm_error(call(mock, "GET", f"{PD}?_queryId=filtered-query&key=roleRequest"),
                     UNAVAILABLE)
    assert (fault.matched, fault.fired) == (1, 1)


def test_match_by_every_field_at_once(mock):
    fault = mock.fault(method="GET", path="workflow/processdefinition",
                       operation="queryProcessDefinitions", query={"_queryId": "query-all-ids"},
                       status=503)
    assert call(mock, "GET", f"{PD}?_queryId=filtered-query&key=roleRequest"
                ).status_code == 200
    assert call(mock, "GET", f"{PI}?{ALL}").status_code == 200
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)
    assert (fault.matched, fault.fired) == (1, 1)


def test_the_first_fault_that_fires_answers(mock):
    first = mock.fault(operation="queryProcessDefinitions", status=503, times=1)
    second = mock.fault(operation="queryProcessDefinitions", status=500, times=1)
    assert statuses(mock, 3) == [503, 500, 200]
    assert (first.matched, first.fired, second.matched, second.fired) == (3, 1, 2, 1)


# --- counters and problems() ------------------------------------------------------------------

def test_counters_count_only_matching_calls(mock):
    fault = mock.fault(operation="readProcessInstance", status=503, nth=5)
    statuses(mock, 3)  # queryProcessDefinitions: not matching
    assert (fault.matched, fault.fired) == (0, 0)
    instance = start(mock)
    assert [call(mock, "GET", f"{PI}/{instance}").status_code for _ in range(2)] == [200, 200]
    assert (fault.matched, fault.fired) == (2, 0)


def test_problems_reports_a_fault_that_never_fired(mock):
    fault = mock.fault(operation="deleteProcessDefinition", status=503)
    statuses(mock, 2)
    assert mock.problems() == [f"scripted failure never used: {fault.describe()}"]
    assert "deleteProcessDefinition" in fault.describe()
    assert "answer 503" in fault.describe()


def test_problems_reports_a_fault_that_matched_but_never_fired(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503, nth=3)
    statuses(mock, 2)
    assert fault.matched == 2
    assert mock.problems() == [f"scripted failure never used: {fault.describe()}"]


def test_problems_does_not_report_a_fault_that_fired(mock):
    mock.fault(operation="queryProcessDefinitions", status=503, times=1)
    mock.fault(operation="queryProcessInstances", latency=0.01)
    mock.fault(operation="readProcessDefinition", drop=True)
    statuses(mock, 1)
    statuses(mock, 1, f"{PI}?{ALL}")
    with pytest.raises(requests.exceptions.ConnectionError):
        call(mock, "GET", f"{PD}/roleRequest:1:6")
    assert mock.problems() == []


def test_problems_names_every_unused_fault(mock):
    fired = mock.fault(operation="queryProcessDefinitions", status=503)
    idle_drop = mock.fault(path="workflow/job*", drop=True)
    idle_latency = mock.fault(method="PUT", latency=0.3)
    statuses(mock, 1)
    problems = mock.problems()
    assert problems == [f"scripted failure never used: {idle_drop.describe()}",
                        f"scripted failure never used: {idle_latency.describe()}"]
    assert "drop the connection" in problems[0]
    assert "wait 0.3s" in problems[1]
    assert fired.describe() not in "\n".join(problems)


# --- authentication: the next N requests refused ----------------------------------------------

def test_fail_auth_refuses_the_next_requests_whatever_their_credentials(mock):
    mock.fail_auth(2)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), ACCESS_DENIED)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}", headers=creds("bob", "bob-pw"),
                          auth=False), ACCESS_DENIED)
    assert call(mock, "GET", f"{PD}?{ALL}").status_code == 200
    refused = mock.requests(status=401)
    assert len(refused) == 2
    assert all(e.fault and "401" in e.fault for e in refused)
    assert mock.problems() == []


def test_fail_auth_refuses_before_routing_and_faults(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503)
    mock.fail_auth()
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), ACCESS_DENIED)
    assert (fault.matched, fault.fired) == (0, 0)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}"), UNAVAILABLE)


def test_fail_auth_unused_is_reported(mock):
    mock.fail_auth(3)
    call(mock, "GET", f"{PD}?{ALL}")
    [problem] = mock.problems()
    assert problem.startswith("scripted failure never used: refuse the next 2 request(s)")
    assert "1 refused so far" in problem
    statuses(mock, 2)
    assert mock.problems() == []


# --- authentication: one user's password rejected ---------------------------------------------

def test_reject_password_refuses_only_that_user(mock):
    mock.reject_password("bob")
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}", headers=creds("bob", "bob-pw"),
                          auth=False), ACCESS_DENIED)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}", headers=basic("bob", "bob-pw"),
                          auth=False), ACCESS_DENIED)
    assert call(mock, "GET", f"{PD}?{ALL}", headers=creds("alice", "alice-pw"),
                auth=False).status_code == 200
    assert call(mock, "GET", f"{PD}?{ALL}", headers=basic("alice", "alice-pw"),
                auth=False).status_code == 200
    assert call(mock, "GET", f"{PD}?{ALL}").status_code == 200  # the admin
    assert [e.status for e in mock.requests()] == [401, 401, 200, 200, 200]
    assert mock.problems() == []


def test_reject_password_unused_is_reported(mock):
    mock.reject_password("bob")
    call(mock, "GET", f"{PD}?{ALL}", headers=creds("alice", "alice-pw"), auth=False)
    assert unused(mock) == ["scripted failure never used: reject the password of 'bob'"]


# --- authentication: a locked-out user --------------------------------------------------------

def test_lock_out_refuses_the_user_even_with_a_session_cookie(mock):
    token = login(mock, "bob", "bob-pw")
    assert with_cookie(mock, token).status_code == 200  # the cookie alone works...
    mock.lock_out("bob")
    assert_idm_error(with_cookie(mock, token), ACCESS_DENIED)  # ...until bob is locked out
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}", headers=creds("bob", "bob-pw"),
                          auth=False), ACCESS_DENIED)
    assert_idm_error(call(mock, "GET", f"{PD}?{ALL}", headers=basic("bob", "bob-pw"),
                          auth=False), ACCESS_DENIED)
    assert call(mock, "GET", f"{PD}?{ALL}", headers=creds("alice", "alice-pw"),
                auth=False).status_code == 200
    assert with_cookie(mock, login(mock, "alice", "alice-pw")).status_code == 200
    assert mock.problems() == []


def test_lock_out_unused_is_reported(mock):
    mock.lock_out("bob")
    statuses(mock, 1)
    assert unused(mock) == ["scripted failure never used: lock out 'bob'"]


# --- authentication: expired session cookies --------------------------------------------------

def test_expired_session_cookie_is_refused_but_headers_still_work(mock):
    token = login(mock, "openidm-admin", "openidm-admin")
    assert with_cookie(mock, token).status_code == 200
    mock.expire_sessions()
    assert_idm_error(with_cookie(mock, token), ACCESS_DENIED)
    response = call(mock, "GET", f"{PD}?{ALL}",
                    headers=creds("openidm-admin", "openidm-admin", session=True),
                    auth=False, cookies={SESSION: token})
    assert response.status_code == 200  # the expired cookie is ignored, the headers pass
    fresh = response.cookies[SESSION]
    assert fresh != token
    assert with_cookie(mock, fresh).status_code == 200  # a cookie issued since is valid
    assert mock.problems() == []


def test_expired_sessions_unused_is_reported(mock):
    mock.expire_sessions()
    statuses(mock, 1)  # headers only: no cookie presented
    assert unused(mock) == ["scripted failure never used: expire the session cookies "
                            "(no expired cookie was presented)"]


def test_expire_sessions_with_a_frozen_clock_spares_later_cookies(mock):
    mock.freeze_time(T0)
    old = login(mock, "openidm-admin", "openidm-admin")
    mock.expire_sessions()
    assert_idm_error(with_cookie(mock, old), ACCESS_DENIED)
    fresh = login(mock, "openidm-admin", "openidm-admin")
    assert with_cookie(mock, fresh).status_code == 200


def test_every_unused_auth_failure_is_reported(mock):
    mock.fail_auth(1)
    mock.reject_password("bob")
    mock.lock_out("alice")
    mock.expire_sessions()
    assert unused(mock) == [
        "scripted failure never used: refuse the next 1 request(s) with 401 (0 refused so far)",
        "scripted failure never used: reject the password of 'bob'",
        "scripted failure never used: lock out 'alice'",
        "scripted failure never used: expire the session cookies "
        "(no expired cookie was presented)",
    ]


# One list of fields, one rule: the Fault dataclass ------------------------------------------

BOOKKEEPING = {"id", "description", "matched", "fired"}  # what a fault answers besides its fields


def test_the_facade_takes_exactly_the_fields_of_fault() -> None:
    """`MockIDM.fault` spells the fields out to type them: the same names, order, defaults and
    types as the dataclass's."""
    parameters = list(inspect.signature(MockIDM.fault).parameters.values())[1:]
    by_name = {f.name: f for f in dataclasses.fields(Fault)}
    assert tuple(p.name for p in parameters) == FAULT_FIELDS
    for parameter in parameters:
        field = by_name[parameter.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default == field.default, parameter.name
        assert parameter.annotation == field.type, parameter.name


def test_fault_fields_are_those_given_when_a_fault_is_made() -> None:
    assert FAULT_FIELDS == ("method", "path", "operation", "query", "status", "message",
                            "detail", "latency", "drop", "nth", "times", "seconds")
    assert {f.name for f in dataclasses.fields(Fault) if not f.init} == {
        "id", "matched", "fired", "_since"}


def test_the_json_schemas_document_exactly_the_fields_of_fault() -> None:
    fixture = json.loads((contracts_dir() / "fixture-file.json").read_text(encoding="utf-8"))
    admin = yaml.safe_load(admin_spec_path().read_text(encoding="utf-8"))
    add_fault = admin["paths"]["/__mockidm/faults"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    answered = admin["components"]["schemas"]["Fault"]
    assert list(fixture["$defs"]["fault"]["properties"]) == list(FAULT_FIELDS)
    assert list(add_fault["properties"]) == list(FAULT_FIELDS)
    assert set(answered["properties"]) == set(FAULT_FIELDS) | BOOKKEEPING
    assert set(answered["required"]) == set(answered["properties"]) - {"detail"}


def test_the_admin_spec_states_the_rule_of_fault() -> None:
    """The admin spec refuses a fault body exactly when Fault does (the rule is Fault's: the
    spec states it so that its readers see it)."""
    operation = next(op for op in load_spec(admin_spec_path()).operations
                     if op.operation_id == "addFault")
    for status, drop, latency in itertools.product((None, 503), (None, False, True),
                                                   (None, 0, 0.5)):
        body: dict[str, Any] = {name: value for name, value in (
            ("status", status), ("drop", drop), ("latency", latency)) if value is not None}
        refused_by_spec = operation.check_request({}, body) is not None
        assert refused_by_spec == (not Fault.has_effect(status, bool(drop), latency or 0.0)), body
        if not refused_by_spec:
            Fault(**body)
        else:
            with pytest.raises(ValueError, match="status, drop=True or some latency"):
                Fault(**body)
