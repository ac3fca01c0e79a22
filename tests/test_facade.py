"""The MockIDM facade, seen by a real HTTP client against `MockIDM().serve()`.

serve() and its URL, scripting state from Python (deploy, start, claim, complete, time),
reset() and what it costs, the request journal and its assertion helpers (with near-miss
explanations in IDM's terms), problems(), snapshot() / restore(), and secrets kept out of
the journal.
"""

from __future__ import annotations

import base64
import json
import re
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from idm_client import ok

from mockidm import UserTask, linear_process
from mockidm.engine import InstanceQuery
from mockidm.facade import ClockReading, MockIDM
from mockidm.identity import ProcessAccessRule
from mockidm.samples import SAMPLES_DIR

PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
HISTORY = "workflow/processinstance/history"
ALL = "_queryId=query-all-ids"
NO_SESSION = {"X-OpenIDM-NoSession": "true"}
ADMIN_GROUP = "internal/role/openidm-admin"
T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def onboarding(key: str = "onboarding") -> Any:
    return linear_process(key, key.capitalize(), [
        UserTask("approve", "Approve", candidate_groups=[ADMIN_GROUP]),
        UserTask("provision", "Provision", candidate_groups=[ADMIN_GROUP]),
    ])


def call(mock: MockIDM, method: str, path: str, *, headers: dict[str, str] | None = None,
         auth: bool = True, **kwargs: Any) -> requests.Response:
    """`path` is relative to /openidm; admin credentials by default, no session cookie."""
    merged = {**({**mock.admin_headers, **NO_SESSION} if auth else {}), **(headers or {})}
    return requests.request(method, f"{mock.url}/{path}", headers=merged, timeout=10, **kwargs)



def start(mock: MockIDM, body: dict[str, Any]) -> dict[str, Any]:
    return ok(call(mock, "POST", f"{PI}?_action=create", json=body), 201)


def results(mock: MockIDM, path: str) -> list[dict[str, Any]]:
    return ok(call(mock, "GET", path))["result"]


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["_id"] for item in items]


# --- serve() ----------------------------------------------------------------------------------

def test_serve_on_a_free_loopback_port_with_an_openidm_url():
    first, second = MockIDM(), MockIDM()
    with pytest.raises(RuntimeError, match="not serving"):
        _ = first.url
    with first.serve() as served, second.serve():
        assert served is first
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/openidm", first.url)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/openidm", second.url)
        assert first.url != second.url  # each on a port of its own
        first.deploy(onboarding())
        assert ids(results(first, f"{PD}?{ALL}")) == ["onboarding:1:2"]
        assert ids(results(second, f"{PD}?{ALL}")) == []  # separate states
    with pytest.raises(RuntimeError, match="not serving"):
        _ = first.url


def test_admin_headers_authenticate(mock):
    assert mock.admin_headers == {"X-OpenIDM-Username": "openidm-admin",
                                  "X-OpenIDM-Password": "openidm-admin"}
    response = requests.get(f"{mock.url}/{PD}?{ALL}", headers=mock.admin_headers, timeout=10)
    assert response.status_code == 200
    assert response.json()["result"] == []
    anonymous = requests.get(f"{mock.url}/{PD}?{ALL}", timeout=10)
    assert anonymous.status_code == 401


# --- scripting the state from Python, seen over HTTP ------------------------------------------

def test_deploy_start_claim_complete_through_the_facade(mock):
    [definition] = mock.deploy(onboarding())
    assert ids(results(mock, f"{PD}?{ALL}")) == [definition.id] == ["onboarding:1:2"]

    instance = mock.start_process("onboarding", business_key="c-1", variables={"who": "ann"})
    item = ok(call(mock, "GET", f"{PI}/{instance.id}"))
    assert (item["_id"], item["businessKey"], item["processDefinitionId"]) == (
        instance.id, "c-1", "onboarding:1:2")
    assert item["startUserId"] == "openidm-admin"

    [task] = mock.tasks(instance.id)
    over_http = results(mock, f"{TI}?_queryId=filtered-query&processInstanceId={instance.id}")
    assert ids(over_http) == [task.id]
    assert over_http[0]["name"] == "Approve"
    assert over_http[0]["assignee"] is None

    mock.claim(task.id, "openidm-admin")
    assert ok(call(mock, "GET", f"{TI}/{task.id}"))["assignee"] == "openidm-admin"

    mock.complete(task.id, {"approved": True})
    [second] = mock.tasks(instance.id)
    read = ok(call(mock, "GET", f"{TI}/{second.id}"))
    assert read["name"] == "Provision"
    assert read["variables"] == {"who": "ann", "approved": True}
    mock.complete(second.id)
    assert results(mock, f"{PI}?{ALL}") == []
    [ended] = results(mock, f"{HISTORY}?{ALL}")
    assert ended["_id"] == instance.id
    assert ended["endTime"] is not None


def test_what_http_does_is_seen_by_the_facade(mock):
    mock.deploy_folder(SAMPLES_DIR)
    created = start(mock, {"_key": "roleRequest", "_businessKey": "r-1", "role": "auditor"})
    tasks = mock.tasks(created["_id"])
    assert sorted(t.name for t in tasks) == ["Manager review", "Security review"]
    instance = mock.engine.instance(created["_id"])
    assert (instance.business_key, instance.variables["role"]) == ("r-1", "auditor")


def test_deploy_bpmn_text_and_file(mock):
    text = (SAMPLES_DIR / "03-role-request.bpmn20.xml").read_text()
    [role] = mock.deploy_bpmn(text, "role.bpmn20.xml")
    [activation] = mock.deploy_file(SAMPLES_DIR / "04-account-activation.bpmn20.xml")
    items = {i["_id"]: i for i in results(mock, f"{PD}?{ALL}")}
    assert set(items) == {role.id, activation.id}
    assert items[role.id]["key"] == "roleRequest"
    assert items[role.id]["resourceName"] == "role.bpmn20.xml"
    assert items[activation.id]["key"] == "accountActivation"


def test_users_added_through_the_facade_authenticate(mock):
    mock.add_user("carol", "carol-pw", ["openidm-admin", "openidm-authorized"])
    creds = {"X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=creds, auth=False).status_code == 200
    wrong = {**creds, "X-OpenIDM-Password": "nope"}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=wrong, auth=False).status_code == 401


# --- time -------------------------------------------------------------------------------------

def test_freeze_and_advance_time_show_in_start_and_create_times(mock):
    mock.deploy(onboarding())
    mock.freeze_time(T0)
    first = start(mock, {"_key": "onboarding"})["_id"]
    mock.advance_time(90)
    second = start(mock, {"_key": "onboarding"})["_id"]
    mock.advance_time(timedelta(hours=1))
    third = mock.start_process("onboarding").id
    times = {i["_id"]: i["startTime"] for i in results(mock, f"{PI}?{ALL}")}
    assert times == {first: "2024-05-06T07:08:09.000Z", second: "2024-05-06T07:09:39.000Z",
                     third: "2024-05-06T08:09:39.000Z"}
    tasks = {t["processInstanceId"]: t["createTime"] for t in results(mock, f"{TI}?{ALL}")}
    assert tasks == {first: "2024-05-06T07:08:09.000Z", second: "2024-05-06T07:09:39.000Z",
                     third: "2024-05-06T08:09:39.000Z"}
    # the journal keeps the mock's time too
    assert [e.time for e in mock.requests("createProcessInstance")] == [
        T0, T0 + timedelta(seconds=90)]


# --- reset() ----------------------------------------------------------------------------------

def test_reset_forgets_the_state(mock):
    mock.deploy_folder(SAMPLES_DIR)
    start(mock, {"_key": "roleRequest"})
    mock.add_user("carol", "carol-pw", ["openidm-admin"])
    mock.freeze_time(T0)
    mock.fault(operation="queryProcessInstances", status=503)
    mock.fail_auth(5)  # never used: problems() would say so...
    assert mock.problems() != []

    mock.reset()

    assert mock.problems() == []  # ...but reset forgets scripted failures
    assert mock.requests() == []  # and the journal
    assert results(mock, f"{PD}?{ALL}") == []  # no 401: fail_auth is gone
    assert results(mock, f"{PI}?{ALL}") == []  # no 503: the fault is gone
    assert results(mock, f"{HISTORY}?{ALL}") == []
    carol = {"X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=carol, auth=False).status_code == 401
    mock.deploy(onboarding())
    start(mock, {"_key": "onboarding"})
    started = datetime.fromisoformat(results(mock, f"{PI}?{ALL}")[0]["startTime"])
    assert abs(started - datetime.now(UTC)) < timedelta(minutes=1)  # the clock runs again
    assert [e.operation for e in mock.requests()] == [
        "queryProcessDefinitions", "queryProcessInstances", "queryProcessInstanceHistory",
        "queryProcessDefinitions", "createProcessInstance", "queryProcessInstances"]
    assert [e.user for e in mock.requests()][3] is None  # carol's 401: addressed, not served


def scenario(mock: MockIDM) -> list[Any]:
    """Deploy, start over HTTP, claim and complete: every id the client sees."""
    [definition] = mock.deploy(onboarding())
    seen: list[Any] = [definition.id, ok(call(mock, "GET", f"{PD}/{definition.id}"))
                       ["deploymentId"]]
    for business_key in ("a", "b"):
        created = start(mock, {"_key": "onboarding", "_businessKey": business_key})
        task = results(mock, f"{TI}?_queryId=filtered-query&processInstanceId={created['_id']}"
                       )[0]["_id"]
        ok(call(mock, "POST", f"{TI}/{task}?_action=claim", json={"userId": "openidm-admin"}))
        ok(call(mock, "POST", f"{TI}/{task}?_action=complete", json={}))
        seen += [created["_id"], task]
    seen.append(ids(results(mock, f"{TI}?{ALL}")))
    return seen


def test_ids_restart_at_one_after_reset(mock):
    first = scenario(mock)
    assert first[:2] == ["onboarding:1:2", "1"]  # deployment 1, definition 2, ...
    mock.reset()
    assert scenario(mock) == first
    mock.reset()
    assert scenario(mock) == first
    with MockIDM().serve() as fresh:
        assert scenario(fresh) == first  # as a brand-new mock


def test_journal_numbering_restarts_after_reset(mock):
    call(mock, "GET", f"{PD}?{ALL}")
    call(mock, "GET", f"{PD}?{ALL}")
    mock.reset()
    call(mock, "GET", f"{PD}?{ALL}")
    [entry] = mock.requests()
    assert entry.seq == 1
    assert mock.journal.render().startswith("#1 GET")


def test_reset_is_well_under_a_millisecond():
    mock = MockIDM()
    model = onboarding()
    durations = []
    for i in range(1000):
        mock.deploy(model)  # a small state to throw away each time
        mock.start_process("onboarding", business_key=str(i))
        mock.fault(operation="queryJobs", status=503)
        began = time.perf_counter()
        mock.reset()
        durations.append(time.perf_counter() - began)
    median = statistics.median(durations)
    p99 = statistics.quantiles(durations, n=100)[98]
    print(f"\nreset(): median {median * 1e6:.1f} us, p99 {p99 * 1e6:.1f} us, "
          f"max {max(durations) * 1e6:.1f} us over {len(durations)} resets")
    assert median < 0.001
    assert mock.engine.definitions() == []


# --- the journal ------------------------------------------------------------------------------

def test_the_journal_keeps_each_exchange(mock):
    mock.deploy(onboarding())
    created = start(mock, {"_key": "onboarding", "_businessKey": "c-9", "who": "ann"})
    call(mock, "GET", f"{PI}?_queryId=filtered-query&businessKey=c-9")
    [create, query] = mock.requests()

    assert create.seq < query.seq
    assert (create.method, create.path) == ("POST", "/openidm/workflow/processinstance")
    assert create.query == [("_action", "create")]
    assert create.params == {"_action": "create"}
    assert create.target == "/openidm/workflow/processinstance?_action=create"
    assert create.body == {"_key": "onboarding", "_businessKey": "c-9", "who": "ann"}
    assert create.status == 201
    assert create.response == created
    assert create.operation == "createProcessInstance"
    assert create.user == "openidm-admin"
    assert create.headers["content-type"] == "application/json"
    assert create.headers["x-openidm-username"] == "openidm-admin"
    assert create.unserved is None and create.fault is None

    assert (query.method, query.operation, query.body) == ("GET", "queryProcessInstances", None)
    assert query.params == {"_queryId": "filtered-query", "businessKey": "c-9"}
    assert ids(query.response["result"]) == [created["_id"]]

    rendered = mock.journal.render()
    assert (f"#{create.seq} POST /openidm/workflow/processinstance?_action=create -> 201 "
            "createProcessInstance as openidm-admin") in rendered
    assert '"_businessKey": "c-9"' in rendered
    as_json = json.loads(json.dumps([e.to_json() for e in mock.requests()]))
    assert as_json[0]["body"] == create.body
    assert as_json[0]["response"] == created
    assert as_json[0]["query"] == [["_action", "create"]]
    assert as_json[1]["operation"] == "queryProcessInstances"


def test_the_journal_records_refusals_too(mock):
    call(mock, "GET", f"{PD}?{ALL}", auth=False)
    [refused] = mock.requests()
    # Not routed, but what it was addressed to is known from its method, path and query.
    assert (refused.status, refused.user, refused.operation) == (
        401, None, "queryProcessDefinitions")
    assert refused.response == {"code": 401, "reason": "Unauthorized",
                                "message": "Access Denied"}
    assert "answer: Access Denied" in refused.render()


def test_a_journal_limit_keeps_the_latest(mock):
    limited = MockIDM(journal_limit=3)
    with limited.serve():
        for _ in range(5):
            call(limited, "GET", f"{PD}?{ALL}")
        assert [e.seq for e in limited.requests()] == [3, 4, 5]


def test_a_journal_byte_budget_keeps_the_latest_bodies():
    limited = MockIDM(journal_max_bytes=10_000)
    with limited.serve():
        limited.deploy(onboarding())
        for index in range(10):
            start(limited, {"_key": "onboarding", "_businessKey": f"k{index}"})
        for _ in range(3):  # each answer lists the ten instances: some 4,000 bytes
            call(limited, "GET", f"{PI}?{ALL}")
        entries = limited.requests()
    assert entries[-1].seq == 13 and 1 < entries[0].seq < 13
    assert [e.seq for e in entries] == list(range(entries[0].seq, 14))
    assert sum(len(e.raw_body) + len(e.raw_response) for e in entries) <= 10_000
    assert len(entries[-1].response["result"]) == 10  # kept whole


SECRET = "pa55-Word-Shh"
BASIC_SECRET = "basic-Secret-99"
REAUTH_SECRET = "reauth-Secret-77"


def test_secrets_never_reach_the_journal(mock):
    mock.add_user("dave", SECRET, ["openidm-admin", "openidm-authorized"])
    mock.add_user("erin", BASIC_SECRET, ["openidm-admin", "openidm-authorized"])
    mock.deploy(onboarding())
    dave = {"X-OpenIDM-Username": "dave", "X-OpenIDM-Password": SECRET}
    login = call(mock, "GET", f"{PD}?{ALL}", headers=dave, auth=False)  # a session is issued
    assert login.status_code == 200
    token = login.cookies["session-jwt"]
    basic_token = base64.b64encode(f"erin:{BASIC_SECRET}".encode()).decode()
    basic = {"Authorization": f"Basic {basic_token}", **NO_SESSION}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=basic, auth=False).status_code == 200
    with_cookie = call(mock, "GET", f"{PD}?{ALL}", auth=False, cookies={"session-jwt": token},
                       headers={"X-Requested-With": "XMLHttpRequest", **NO_SESSION})
    assert with_cookie.status_code == 200
    reauth = {**dave, **NO_SESSION, "X-OpenIDM-Reauth-Password": REAUTH_SECRET}
    start_body = {"_key": "onboarding", "_businessKey": "k"}
    assert call(mock, "POST", f"{PI}?_action=create", headers=reauth, auth=False,
                json=start_body).status_code == 201
    wrong = {"X-OpenIDM-Username": "dave", "X-OpenIDM-Password": SECRET + "-typo", **NO_SESSION}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=wrong, auth=False).status_code == 401

    entries = mock.requests()
    assert [e.user for e in entries] == ["dave", "erin", "dave", "dave", None]
    # What a test prints: the journal, each entry, and the list `requests()` answers.
    rendered = (mock.journal.render() + "\n".join(e.render() for e in entries)
                + repr(entries) + str(mock.journal.entries()))
    as_json = json.dumps([e.to_json() for e in entries])
    for leak in (SECRET, BASIC_SECRET, basic_token, token, REAUTH_SECRET,
                 token.split(".")[2], "openidm-admin:"):
        assert leak not in rendered
        assert leak not in as_json
    assert entries[0].headers["x-openidm-password"] == "********"
    assert entries[1].headers["authorization"] == "********"
    assert entries[2].headers["cookie"] == "********"
    assert entries[3].headers["x-openidm-reauth-password"] == "********"
    assert entries[4].headers["x-openidm-password"] == "********"
    assert entries[0].headers["x-openidm-username"] == "dave"  # the name is no secret


def test_a_test_that_must_see_a_secret_asks_for_it_by_name(mock):
    mock.add_user("dave", SECRET, ["openidm-admin", "openidm-authorized"])
    dave = {"X-OpenIDM-Username": "dave", "X-OpenIDM-Password": SECRET, **NO_SESSION}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=dave, auth=False).status_code == 200
    [entry] = mock.requests(user="dave")
    assert entry.headers_with_secrets()["x-openidm-password"] == SECRET
    assert entry.headers["x-openidm-password"] == "********"  # asking changed nothing
    assert SECRET not in repr(entry)


# --- refused requests name the operation they were addressed to -------------------------------

def test_a_request_refused_before_routing_names_its_operation(mock):
    mock.deploy(onboarding())
    mock.fail_auth(times=1)
    body = {"_key": "onboarding"}
    assert call(mock, "POST", f"{PI}?_action=create", json=body).status_code == 401
    [refused] = mock.assert_called("createProcessInstance", status=401)
    assert refused.user is None and refused.body == body
    assert "createProcessInstance" in refused.render()
    mock.clear_journal()

    mock.add_user("nobody", "nobody-pw", [])  # authenticated, but no role: 403
    nobody = {"X-OpenIDM-Username": "nobody", "X-OpenIDM-Password": "nobody-pw"}
    refusals = [
        (call(mock, "GET", f"{PI}?{ALL}", headers=nobody, auth=False), 403,
         "queryProcessInstances"),
        (call(mock, "GET", f"{PI}?{ALL}", headers={"Accept-API-Version": "protocol=9.0"}),
         400, "queryProcessInstances"),  # Common REST refuses it
        (call(mock, "GET", f"{PI}/1", headers={"If-Modified-Since": "x"}), 409,
         "readProcessInstance"),
        (call(mock, "POST", f"{TI}/7?_action=claim", json={"userId": "x"},
              headers={"Content-Type": "text/plain"}), 400, "actOnTaskInstance"),
        (call(mock, "POST", f"{PI}?_action=create", data=b"x" * (1024 * 1024 + 1),
              headers={"Content-Type": "application/json"}), 413, "createProcessInstance"),
        # Nothing to name: no such path, or `_action` twice.
        (call(mock, "GET", "workflow/nowhere?_queryId=x"), 404, None),
        (call(mock, "POST", f"{TI}/7?_action=claim&_action=complete", json={}), 400, None),
    ]
    assert [(response.status_code, e.status, e.operation)
            for (response, _, _), e in zip(refusals, mock.requests(), strict=True)] == [
        (status, status, operation) for _, status, operation in refusals]
    mock.assert_called("actOnTaskInstance", status=400)


# --- requests(), assert_called(), assert_not_called(), explain() ------------------------------

@pytest.fixture
def traffic(mock):
    """Three starts (one failing), a read, a task claim, and a 404."""
    mock.deploy(onboarding())
    mock.add_user("bob", "bob-pw", ["openidm-admin", "openidm-authorized"])
    bob = {"X-OpenIDM-Username": "bob", "X-OpenIDM-Password": "bob-pw"}
    first = start(mock, {"_key": "onboarding", "_businessKey": "a"})["_id"]
    ok(call(mock, "POST", f"{PI}?_action=create", headers=bob,
            json={"_key": "onboarding", "_businessKey": "b"}), 201)
    assert call(mock, "POST", f"{PI}?_action=create",
                json={"_key": "onbording"}).status_code == 404
    ok(call(mock, "GET", f"{PI}/{first}"))
    task = mock.tasks(first)[0].id
    ok(call(mock, "POST", f"{TI}/{task}?_action=claim", json={"userId": "bob"}))
    assert call(mock, "GET", f"{PI}/999").status_code == 404
    return mock


def test_requests_filters(traffic):
    mock = traffic
    assert len(mock.requests()) == 6
    assert len(mock.requests("createProcessInstance")) == 3
    assert len(mock.requests(operation="readProcessInstance")) == 2
    assert len(mock.requests(method="post")) == 4
    assert len(mock.requests(method="GET")) == 2
    assert len(mock.requests(path="workflow/processinstance")) == 3
    assert len(mock.requests(path="/openidm/workflow/processinstance/999")) == 1
    assert [e.body for e in mock.requests(status=404)] == [{"_key": "onbording"}, None]
    assert [e.body["_businessKey"] for e in mock.requests(user="bob")] == ["b"]
    assert len(mock.requests("createProcessInstance", status=201, user="openidm-admin")) == 1
    assert mock.requests("deleteProcessInstance") == []


def test_assert_called_returns_the_matches(traffic):
    mock = traffic
    found = mock.assert_called("createProcessInstance", body={"_key": "onboarding"})
    assert [e.body["_businessKey"] for e in found] == ["a", "b"]
    assert len(mock.assert_called("createProcessInstance", times=3)) == 3
    assert len(mock.assert_called("createProcessInstance", body={"_businessKey": "b"},
                                  times=1, user="bob", status=201)) == 1
    assert len(mock.assert_called("actOnTaskInstance", query={"_action": "claim"},
                                  body={"userId": "bob"})) == 1
    assert len(mock.assert_called(method="GET", times=2)) == 2


def test_assert_called_with_times_and_a_body(traffic):
    found = traffic.assert_called("createProcessInstance", times=2, body={"_key": "onboarding"})
    assert [e.status for e in found] == [201, 201]
    assert traffic.assert_called("deleteProcessInstance", times=0) == []


def test_assert_called_times_mismatch_says_how_many(traffic):
    with pytest.raises(AssertionError) as failure:
        traffic.assert_called("createProcessInstance", times=5)
    first_line = str(failure.value).splitlines()[0]
    assert first_line == ("expected a request operation='createProcessInstance' 5 time(s), "
                          "found 3.")


def test_assert_called_explains_a_misspelt_key(mock):
    mock.deploy(onboarding(), onboarding("offboarding"), onboarding("roleRequest"))
    response = call(mock, "POST", f"{PI}?_action=create", json={"_key": "onbording"})
    assert response.status_code == 404
    with pytest.raises(AssertionError) as failure:
        mock.assert_called("createProcessInstance", body={"_key": "onboarding"})
    message = str(failure.value)
    assert message.splitlines()[0] == ("expected a request operation='createProcessInstance' "
                                       "body={'_key': 'onboarding'} at least once, found 0.")
    assert "you started `_key=onbording`; the deployed keys are `onboarding`" in message
    assert "`roleRequest`" not in message  # only the keys it could have meant
    assert "body _key: sent 'onbording', expected 'onboarding'" in message
    assert "POST /openidm/workflow/processinstance?_action=create -> 404" in message
    assert "no processes deployed with key" in message


def test_assert_called_explains_a_misspelt_definition_id(mock):
    mock.deploy(onboarding())
    call(mock, "POST", f"{PI}?_action=create", json={"_processDefinitionId": "onboarding:1:3"})
    with pytest.raises(AssertionError) as failure:
        mock.assert_called("createProcessInstance", status=201)
    message = str(failure.value)
    assert ("`_processDefinitionId=onboarding:1:3` is not deployed; deployed: onboarding:1:2"
            in message)


def test_assert_called_suggests_an_operation_name(traffic):
    with pytest.raises(AssertionError) as failure:
        traffic.assert_called("createProcesInstance")
    message = str(failure.value)
    assert "no createProcesInstance was received; did you mean createProcessInstance" in message


def test_assert_called_explains_a_query_mismatch(traffic):
    with pytest.raises(AssertionError) as failure:
        traffic.assert_called("actOnTaskInstance", query={"_action": "complete"})
    assert "query _action: sent 'claim', expected 'complete'" in str(failure.value)


def test_assert_called_on_an_empty_journal(mock):
    with pytest.raises(AssertionError) as failure:
        mock.assert_called("createProcessInstance")
    assert "the mock received no request at all" in str(failure.value)


def test_assert_not_called(traffic):
    traffic.assert_not_called("deleteProcessInstance")
    traffic.assert_not_called("createProcessInstance", user="nobody")
    with pytest.raises(AssertionError) as failure:
        traffic.assert_not_called("createProcessInstance", status=404)
    message = str(failure.value)
    assert message.startswith("expected no createProcessInstance, found 1:")
    assert '"_key": "onbording"' in message


# --- problems() -------------------------------------------------------------------------------

def test_problems_lists_a_path_outside_the_spec(mock):
    response = call(mock, "GET", "workflow/processinstanse?_queryId=query-all-ids")
    assert response.status_code == 404
    assert mock.problems() == ["request not served (no such path in the spec): "
                               "GET /openidm/workflow/processinstanse?_queryId=query-all-ids"]
    [entry] = mock.requests()
    assert entry.unserved == "no such path in the spec"
    assert "[not served: no such path in the spec]" in entry.render()


def test_problems_lists_a_request_the_spec_rejects(mock):
    mock.deploy(onboarding())
    response = call(mock, "POST", f"{PI}?_action=create", json={"_key": 1})
    assert response.status_code == 500
    [problem] = mock.problems()
    assert problem.startswith("request not served (the spec rejects it (body /_key: ")
    assert problem.endswith("): POST /openidm/workflow/processinstance?_action=create")


def test_problems_is_empty_for_served_requests_even_errors(mock):
    mock.deploy(onboarding())
    start(mock, {"_key": "onboarding"})
    assert call(mock, "GET", f"{PI}/999").status_code == 404  # served: IDM's own 404
    assert call(mock, "GET", f"{PD}?{ALL}", auth=False).status_code == 401
    assert mock.problems() == []


def test_problems_lists_unserved_requests_then_unused_failures(mock):
    fault = mock.fault(operation="queryJobs", status=503)
    call(mock, "GET", "nowhere/at/all")
    assert mock.problems() == [
        "request not served (no such path in the spec): GET /openidm/nowhere/at/all",
        f"scripted failure never used: {fault.describe()}"]


def test_problems_lists_a_request_outside_openidm(mock):
    origin = mock.url.removesuffix("/openidm")
    response = requests.get(f"{origin}/workflow/processinstance?{ALL}",
                            headers=mock.admin_headers, timeout=10)
    assert response.status_code == 404
    assert any("/workflow/processinstance" in p for p in mock.problems())


# --- snapshot() / restore() -------------------------------------------------------------------

def uma_sees(mock: MockIDM) -> list[str]:
    uma = {"X-OpenIDM-Username": "uma", "X-OpenIDM-Password": "uma-pw"}
    body = ok(call(mock, "GET", "endpoint/getprocessesforuser", headers=uma, auth=False))
    return sorted(p["key"] for p in body["processes"])


def test_snapshot_survives_json_reset_and_restore(mock):
    mock.deploy_folder(SAMPLES_DIR)
    mock.deploy(onboarding())
    mock.add_user("bob", "bob-pw", ["openidm-admin", "openidm-authorized"])
    mock.add_user("uma", "uma-pw")  # openidm-authorized only: sees what process access allows
    mock.set_process_access({"workflowAccess": [{"propertiesCheck": {
        "property": "key", "matches": "role.*", "requiresRole": "openidm-authorized"}}]})
    mock.freeze_time(T0)
    started = start(mock, {"_key": "onboarding", "_businessKey": "snap-1", "who": "ann"})
    task = mock.tasks(started["_id"])[0].id
    ok(call(mock, "POST", f"{TI}/{task}?_action=claim", json={"userId": "bob"}))
    definitions = results(mock, f"{PD}?{ALL}")
    by_key = f"{PI}?_queryId=filtered-query&businessKey=snap-1"
    instance = results(mock, by_key)
    tasks = results(mock, f"{TI}?{ALL}")
    assert uma_sees(mock) == ["roleRequest"]

    text = json.dumps(mock.snapshot())
    mock.reset()
    assert results(mock, f"{PD}?{ALL}") == []
    assert results(mock, by_key) == []
    bob = {"X-OpenIDM-Username": "bob", "X-OpenIDM-Password": "bob-pw"}
    assert call(mock, "GET", f"{PD}?{ALL}", headers=bob, auth=False).status_code == 401

    mock.restore(json.loads(text))
    assert results(mock, f"{PD}?{ALL}") == definitions
    assert results(mock, by_key) == instance
    assert instance[0]["_id"] == started["_id"]
    assert instance[0]["startTime"] == "2024-05-06T07:08:09.000Z"
    assert results(mock, f"{TI}?{ALL}") == tasks
    assert ok(call(mock, "GET", f"{TI}/{task}"))["assignee"] == "bob"
    assert call(mock, "GET", f"{PD}?{ALL}", headers=bob, auth=False).status_code == 200
    assert uma_sees(mock) == ["roleRequest"]  # users and process-access rules are back
    assert json.loads(json.dumps(mock.snapshot())) == json.loads(text)

    # the restored state goes on: new ids do not collide, the clock is still frozen
    again = start(mock, {"_key": "onboarding", "_businessKey": "snap-2"})
    assert int(again["_id"]) > max(int(t["_id"]) for t in tasks)
    assert results(mock, f"{PI}?_queryId=filtered-query&businessKey=snap-2")[0][
        "startTime"] == "2024-05-06T07:08:09.000Z"
    ok(call(mock, "POST", f"{TI}/{task}?_action=complete", json={}))


def test_snapshot_is_plain_json(mock):
    mock.deploy_folder(SAMPLES_DIR)
    mock.start_process("roleRequest", business_key="r", variables={"role": "x", "n": 1.5})
    snapshot = mock.snapshot()
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot["profile"] == "8.1"


def test_too_deeply_nested_json_is_invalid_json_not_a_crash(mock, caplog):
    """Python's decoder gives up past its recursion limit: that is bad JSON (400), as
    Jackson's nesting limit makes it for IDM, and neither the state nor the journal suffers."""
    mock.deploy(onboarding())
    nested = b'{"_key":"onboarding","deep":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = call(mock, "POST", f"{PI}?_action=create", data=nested,
                    headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["message"] == ("The request could not be processed because the "
                                          "provided content is not valid JSON")
    assert mock.engine.query_instances(InstanceQuery()) == []
    [entry] = mock.requests()
    assert entry.status == 400 and entry.body.startswith('{"_key":"onboarding"')
    assert "#1 POST" in mock.journal.render()
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


# --- reading the state (what the admin API and fixture files use) -----------------------------

def test_definitions_users_and_access_rules_read_through_the_facade():
    mock = MockIDM()
    first = mock.deploy(onboarding())
    second = mock.deploy(onboarding(), onboarding("offboarding"))
    assert [d.id for d in mock.definitions()] == [d.id for d in first + second]
    mock.add_user("uma", "pw", ["manager"])
    assert mock.user("uma").roles == ("internal/role/manager",)  # 8.1 prefixes bare names
    with pytest.raises(KeyError):
        mock.user("nobody")
    rule = ProcessAccessRule("key", "onb.*", "manager")
    mock.set_process_access([rule])
    assert mock.process_access() == [rule]
    mock.process_access().clear()  # a copy: the rules in force stay
    assert mock.process_access() == [rule]


def test_the_clock_reads_running_or_frozen():
    mock = MockIDM()
    running = mock.clock()
    assert not running.frozen and abs(running.now - datetime.now(UTC)) < timedelta(seconds=5)
    mock.freeze_time(T0)
    mock.advance_time(60)
    assert mock.clock() == ClockReading(now=T0 + timedelta(seconds=60), frozen=True)
    mock.unfreeze_time()
    assert not mock.clock().frozen


def test_scripted_failures_read_as_copies_with_their_counts(mock):
    fault = mock.fault(operation="queryProcessDefinitions", status=503, times=1)
    mock.reject_password("uma")
    call(mock, "GET", f"{PD}?{ALL}")
    [seen] = mock.route_faults()
    assert (seen.id, seen.matched, seen.fired, seen.status) == (fault.id, 1, 1, 503)
    assert seen is not fault
    auth = mock.auth_faults()
    assert auth.rejected_passwords == {"uma": 0}
    auth.rejected_passwords.clear()  # a copy: the failure stays scripted
    assert mock.auth_faults().rejected_passwords == {"uma": 0}


def test_rollback_puts_back_the_state_and_the_scripted_failures():
    mock = MockIDM()
    mock.deploy(onboarding())
    fault = mock.fault(operation="queryProcessDefinitions", status=503)
    mock.fail_auth(2)
    before = mock.checkpoint()
    mock.deploy(onboarding("offboarding"))
    mock.add_user("uma", "pw")
    mock.clear_faults()
    mock.lock_out("uma")
    mock.fault(path="workflow/*", drop=True)
    mock.rollback(before)
    assert [d.key for d in mock.definitions()] == ["onboarding"]
    with pytest.raises(KeyError):
        mock.user("uma")
    assert mock.state.faults.routes == [fault] and mock.state.faults.routes[0] is fault
    auth = mock.auth_faults()
    assert (auth.refuse_next, auth.locked_out) == (2, {})


def test_a_state_that_cannot_be_saved_gives_no_checkpoint():
    mock = MockIDM()
    mock.deploy(onboarding())
    mock.start_process("onboarding", variables={"when": datetime.now(UTC)})
    with pytest.raises(ValueError):
        mock.checkpoint()


def test_the_lock_is_the_one_every_method_takes():
    mock = MockIDM()
    assert mock.lock is mock.state.lock
    with mock.lock:  # reentrant: facade methods still work while it is held
        mock.deploy(onboarding())
        assert len(mock.definitions()) == 1
