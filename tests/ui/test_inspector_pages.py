"""The inspector over HTTP: served where the admin API is and guarded as it is, every value
escaped, actions that go through the mock's own API as the chosen user, the live stream."""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from aiohttp import web

from mockidm import MockIDM
from mockidm.admin.server import PREFIX as ADMIN_PREFIX
from mockidm.admin.server import add_admin_routes
from mockidm.server import ThreadedServer
from mockidm.ui import PREFIX, add_ui_routes

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-inspector-token"
HOSTILE = '<script>alert("bk")</script><img src=x onerror=alert(1)>'
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}


@pytest.fixture
def served() -> Iterator[MockIDM]:
    mock = MockIDM()
    mock.deploy_samples()
    with mock.serve():
        yield mock


def _page(mock: MockIDM, path: str = "") -> requests.Response:
    answer = requests.get(mock.inspector_url + path, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/html")
    return answer


def test_every_page_of_a_served_mock_answers(served: MockIDM) -> None:
    instance = served.start_process("contractorOnboarding", business_key="order-1")
    task = served.tasks(instance.id)[0]
    for path in ("", f"definitions/{instance.definition.id}", "instances",
                 f"instances/{instance.id}", "tasks", "journal", "controls"):
        page = _page(served, path).text
        assert "mockidm" in page and "<main>" in page
    assert f'data-task="{task.id}"' in _page(served, "tasks").text
    # no CDN: every script and stylesheet is the inspector's own
    linked = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', _page(served).text)
    assert linked and all(link.startswith(PREFIX + "/static/") for link in linked)
    for link in linked:
        assert requests.get(served.inspector_url.removesuffix(PREFIX + "/") + link,
                            timeout=10).status_code == 200


def test_an_unknown_page_and_an_unknown_instance_are_404(served: MockIDM) -> None:
    for path in ("nowhere", "instances/999999", "definitions/nope:1:1", "journal/424242"):
        assert requests.get(served.inspector_url + path, timeout=10).status_code == 404


# guarded as the admin API is -------------------------------------------------------------------

@pytest.fixture
def guarded() -> Iterator[ThreadedServer]:
    """A server with a token, as `mockidm serve --admin-token` mounts them."""
    mock = MockIDM()

    def app() -> web.Application:
        served = mock.app()
        add_ui_routes(served, mock, token=TOKEN)
        add_admin_routes(served, mock, token=TOKEN)
        return served

    with ThreadedServer(app) as server:
        yield server


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_without_the_token_the_page_is_refused_exactly_as_the_admin_api(
        guarded: ThreadedServer, headers: dict[str, str]) -> None:
    page = requests.get(f"{guarded.origin}{PREFIX}/", headers=headers, timeout=10)
    admin = requests.get(f"{guarded.origin}{ADMIN_PREFIX}/journal", headers=headers, timeout=10)
    assert page.status_code == admin.status_code == 401
    assert page.json() == admin.json()
    assert page.headers["WWW-Authenticate"] == admin.headers["WWW-Authenticate"]
    events = requests.get(f"{guarded.origin}{PREFIX}/events", headers=headers, timeout=10)
    assert events.status_code == 401
    reset = requests.post(f"{guarded.origin}{PREFIX}/controls/reset", headers=headers,
                          timeout=10)
    assert reset.status_code == 401


def test_with_the_token_the_page_answers(guarded: ThreadedServer) -> None:
    page = requests.get(f"{guarded.origin}{PREFIX}/",
                        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert page.status_code == 200 and "Process definitions" in page.text


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen([sys.executable, "-m", "mockidm", "serve", "--port", "0",
                                "--quiet", *args], cwd=ROOT,
                               env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"serving (http://\S+?)/openidm", line)
    if not found:
        process.kill()
        raise AssertionError(process.communicate(timeout=10))
    return process, found.group(1).replace("0.0.0.0", "127.0.0.1")


@pytest.mark.slow
def test_mockidm_serve_guards_and_no_admin_removes_the_page() -> None:
    # A reachable address without a token: no server at all, as for the admin API.
    refused = subprocess.run([sys.executable, "-m", "mockidm", "serve", "--host", "0.0.0.0",
                              "--port", "0"], cwd=ROOT, env={"PYTHONPATH": str(ROOT)},
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "refusing to serve the admin API" in refused.stderr
    process, origin = _serve("--host", "0.0.0.0", "--admin-token", TOKEN)
    try:
        assert requests.get(f"{origin}{PREFIX}/", timeout=10).status_code == 401
        assert requests.get(f"{origin}{PREFIX}/", timeout=10,
                            headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    finally:
        process.kill()
        process.communicate(timeout=10)
    process, origin = _serve("--no-admin")
    try:
        gone = requests.get(f"{origin}{PREFIX}/", timeout=10)
        assert gone.status_code == 404 and gone.json()["reason"] == "Not Found"  # IDM's 404
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_a_change_from_another_site_is_refused(served: MockIDM) -> None:
    served.freeze_time()
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        answer = requests.post(served.inspector_url + "controls/clock",
                               data={"action": "unfreeze"}, headers=headers, timeout=10)
        assert answer.status_code == 403
    assert served.clock().frozen


# every value escaped ---------------------------------------------------------------------------

def test_a_business_key_holding_html_is_shown_as_text(served: MockIDM) -> None:
    started = requests.post(f"{served.url}/workflow/processinstance?_action=create",
                            headers=ADMIN, timeout=10,
                            json={"_key": "contractorOnboarding", "_businessKey": HOSTILE,
                                  "contractorName": HOSTILE})
    assert started.status_code == 201, started.text
    instance = served.instances()[0]
    escaped = ("&lt;script&gt;alert(&#34;bk&#34;)&lt;/script&gt;"
               "&lt;img src=x onerror=alert(1)&gt;")
    seq = served.requests("createProcessInstance")[0].seq
    for path in ("instances", f"instances/{instance.id}", f"journal/{seq}",
                 f"instances?businessKey={HOSTILE}"):
        page = _page(served, path).text
        assert HOSTILE not in page and "<script>alert" not in page
        assert "onerror=alert(1)>" not in page
    assert escaped in _page(served, f"instances/{instance.id}").text
    assert escaped in _page(served, "instances").text


def test_names_from_a_bpmn_file_are_escaped_in_the_diagram(served: MockIDM) -> None:
    bpmn = (ROOT / "mockidm/samples/01-contractor-onboarding.bpmn20.xml").read_text()
    bpmn = bpmn.replace('name="Contractor onboarding"', 'name="&lt;svg onload=alert(1)&gt;"')
    bpmn = re.sub(r'(<userTask id="\w+" name=")[^"]*"',
                  r'\1&lt;/text&gt;&lt;script&gt;x&lt;/script&gt;"', bpmn)
    definition = served.deploy_bpmn(bpmn, "hostile.bpmn20.xml")[0]
    page = _page(served, f"definitions/{definition.id}").text
    assert "<svg onload" not in page and "<script>x" not in page
    assert "&lt;/text&gt;&lt;script&gt;x&lt;/script&gt;" in page


# acting as a user: the API's rules, the journal ---------------------------------------------------

def test_completing_from_the_page_goes_through_the_api_as_the_chosen_user(
        served: MockIDM) -> None:
    instance = served.start_process("contractorOnboarding",
                                    variables={"contractorName": "Ann"})
    task = served.tasks(instance.id)[0]
    back = f"{PREFIX}/instances/{instance.id}"
    served.add_user("bob", "bob-pw")  # an authorized user who is no candidate
    refused = requests.post(served.inspector_url + f"tasks/{task.id}/complete", timeout=10,
                            data={"as": "bob", "var.decision": "reject", "back": back})
    assert refused.status_code == 200  # followed back to the page, which says why
    assert "403" in refused.text and served.tasks(instance.id)  # still waiting
    done = requests.post(served.inspector_url + f"tasks/{task.id}/complete", timeout=10,
                         data={"as": "openidm-admin", "var.decision": "reject",
                               "var.comment": "", "back": back}, allow_redirects=False)
    assert done.status_code == 303 and done.headers["Location"].startswith(back + "?")
    entry = served.requests("actOnTaskInstance", user="openidm-admin")[-1]
    assert entry.status == 200 and entry.params == {"_action": "complete"}
    assert entry.headers["user-agent"] == "mockidm-inspector"
    assert entry.body == {"decision": "reject"}  # typed, the empty comment left out
    ended = served.instance(instance.id)
    assert ended.ended and ended.end_activity == "contractorRejected"
    assert [e.user for e in served.requests("actOnTaskInstance")] == ["bob", "openidm-admin"]


def test_claim_and_assign_from_the_page(served: MockIDM) -> None:
    instance = served.start_process("contractorOnboarding", variables={"contractorName": "A"})
    task = served.tasks(instance.id)[0]
    requests.post(served.inspector_url + f"tasks/{task.id}/claim", timeout=10,
                  data={"as": "openidm-admin", "userId": "openidm-admin"})
    assert served.tasks(instance.id)[0].assignee == "openidm-admin"
    requests.post(served.inspector_url + f"tasks/{task.id}/assign", timeout=10,
                  data={"as": "openidm-admin", "assignee": ""})
    assert served.tasks(instance.id)[0].assignee is None
    assert [e.operation for e in served.requests()] == ["actOnTaskInstance",
                                                        "updateTaskInstance"]


def test_a_redirect_never_leaves_the_inspector(served: MockIDM) -> None:
    for back in ("https://evil.example/", "//evil.example/x", f"{PREFIX}/..//evil"):
        answer = requests.post(served.inspector_url + "controls/clock", timeout=10,
                               allow_redirects=False, data={"action": "freeze", "back": back})
        assert answer.status_code == 303
        assert answer.headers["Location"].startswith(PREFIX + "/?")


# controls ----------------------------------------------------------------------------------------

def test_the_clock_faults_reset_and_snapshots_from_the_page(served: MockIDM) -> None:
    ui = served.inspector_url
    requests.post(ui + "controls/clock", data={"action": "freeze",
                                               "at": "2030-01-01T09:00:00Z"}, timeout=10)
    requests.post(ui + "controls/clock", data={"action": "advance", "seconds": "90"},
                  timeout=10)
    assert served.clock().frozen and served.clock().now.isoformat() == "2030-01-01T09:01:30+00:00"
    requests.post(ui + "controls/faults", data={"operation": "queryTaskInstances",
                                                "status": "503", "times": "1"}, timeout=10)
    assert [f.status for f in served.route_faults()] == [503]
    assert "queryTaskInstances" in _page(served, "controls").text
    snapshot = requests.get(ui + "snapshot", timeout=10)
    assert "attachment" in snapshot.headers["Content-Disposition"]
    served.start_process("contractorOnboarding", variables={"contractorName": "A"})
    requests.post(ui + "controls/reset", timeout=10)
    assert served.instances() == [] and served.route_faults() == []
    served.deploy_samples()  # reset emptied a mock that kept no initial state
    served.start_process("contractorOnboarding", variables={"contractorName": "B"})
    restored = requests.post(ui + "controls/restore", timeout=10,
                             files={"snapshot": ("s.json", snapshot.content)})
    assert restored.status_code == 200 and "restored s.json" in restored.text
    assert served.instances() == []
    bad = requests.post(ui + "controls/restore", timeout=10,
                        files={"snapshot": ("s.json", b"{not json")})
    assert "not restored" in bad.text


def test_the_journal_page_filters_and_explains_a_near_miss(served: MockIDM) -> None:
    requests.post(f"{served.url}/workflow/processinstance?_action=create", headers=ADMIN,
                  json={"_key": "contractorOnbording"}, timeout=10)
    page = _page(served, "journal?status=404").text
    assert "createProcessInstance" in page
    missed = _page(served, "journal?operation=createProcessInstance&status=201").text
    assert "you started `_key=contractorOnbording`" in missed
    assert "`contractorOnboarding`" in missed


def test_the_live_stream_sends_each_new_request(served: MockIDM) -> None:
    with requests.get(served.inspector_url + "events", stream=True, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        requests.get(f"{served.url}/workflow/processdefinition?_queryId=query-all-ids",
                     headers=ADMIN, timeout=10)
        lines = stream.iter_lines(decode_unicode=True)
        event = data = None
        for line in lines:
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "requests":
                data = json.loads(line.removeprefix("data: "))
                break
    assert data is not None
    assert [(d["operation"], d["user"]) for d in data] == [("queryProcessDefinitions",
                                                            "openidm-admin")]


def test_who_may_take_a_task_is_whom_the_api_lets_update_it(served: MockIDM) -> None:
    served.add_user("mgr", "mgr-pw", ["openidm-authorized", "managers"])
    served.add_user("hr", "hr-pw", ["openidm-authorized", "hr"])
    served.add_user("named", "named-pw")
    served.add_user("outsider", "outsider-pw")
    listed = {}
    for user in ("mgr", "hr", "named", "outsider", "anonymous", "openidm-admin"):
        instance = served.start_process("contractorOnboarding",
                                        variables={"contractorName": user})
        task = served.tasks(instance.id)[0]
        task.candidate_users.append("named")  # as an activiti:candidateUsers would
        listed[user] = user in served.may_update(task)
        password = served.user(user).password
        taken = requests.put(f"{served.url}/workflow/taskinstance/{task.id}",
                             json={"assignee": user},
                             headers={"X-OpenIDM-Username": user, "If-Match": "*",
                                      "X-OpenIDM-Password": password,
                                      "X-OpenIDM-NoSession": "true"}, timeout=10)
        assert listed[user] == (taken.status_code == 200), (user, taken.text)
    # "managers" is written bare in the BPMN, and the 8.1 profile prefixes the mock's roles
    assert listed == {"mgr": False, "hr": False, "named": True, "outsider": False,
                      "anonymous": False, "openidm-admin": True}
    served.add_user("bare", "bare-pw", ["openidm-authorized", "internal/role/openidm-admin"])
    instance = served.start_process("contractorOnboarding", variables={"contractorName": "x"})
    page = _page(served, f"instances/{instance.id}").text
    assert "by IDM's default access rules: openidm-admin, bare;" in page


def test_a_change_made_from_python_reaches_an_open_page(served: MockIDM) -> None:
    with requests.get(served.inspector_url + "events", stream=True, timeout=10) as stream:
        served.start_process("contractorOnboarding", variables={"contractorName": "A"})
        events = (line for line in stream.iter_lines(decode_unicode=True)
                  if line.startswith("event: "))
        assert next(events) == "event: changed"


def test_starting_from_a_definition_page_goes_through_the_api(served: MockIDM) -> None:
    definition = next(d for d in served.definitions() if d.id == "contractorOnboarding:1:2")
    page = _page(served, f"definitions/{definition.id}").text
    assert 'name="var.contractorName"' in page and 'name="var.startDate"' in page
    refused = requests.post(served.inspector_url + f"definitions/{definition.id}/start",
                            data={"as": "anonymous", "var.contractorName": "Eve"}, timeout=10)
    assert "403" in refused.text and served.instances() == []
    started = requests.post(served.inspector_url + f"definitions/{definition.id}/start",
                            data={"as": "openidm-admin", "businessKey": "order-7",
                                  "var.contractorName": "Ann", "var.department": "",
                                  "extra": '{"budget": 12}'}, timeout=10,
                            allow_redirects=False)
    (instance,) = served.instances()
    assert started.status_code == 303
    assert started.headers["Location"].startswith(f"{PREFIX}/instances/{instance.id}?")
    assert instance.definition.id == definition.id and instance.business_key == "order-7"
    assert instance.variables == {"contractorName": "Ann", "budget": 12}
    entry = served.requests("createProcessInstance", status=201)[0]
    assert entry.user == "openidm-admin"
    assert entry.body == {"_processDefinitionId": definition.id, "contractorName": "Ann",
                          "budget": 12, "_businessKey": "order-7"}


def test_an_action_whose_connection_a_fault_drops_says_so(served: MockIDM) -> None:
    instance = served.start_process("contractorOnboarding", variables={"contractorName": "A"})
    task = served.tasks(instance.id)[0]
    served.fault(operation="actOnTaskInstance", drop=True)
    answer = requests.post(served.inspector_url + f"tasks/{task.id}/complete", timeout=10,
                           data={"as": "openidm-admin", "var.decision": "approve"})
    assert answer.status_code == 200 and "no answer (ServerDisconnectedError" in answer.text
    assert served.tasks(instance.id) == [task]  # nothing completed
    # an id is one path segment of the API, never a way elsewhere in it
    served.clear_journal()
    for raw in ("%2E%2E", ".%2E", "..%2F..%2Fprocessdefinition"):
        connection = http.client.HTTPConnection(served.url.split("/")[2], timeout=10)
        connection.request("POST", f"{PREFIX}/tasks/{raw}/claim", body="as=openidm-admin",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
        status = connection.getresponse().status
        connection.close()
        assert status == 404, raw
    assert served.requests() == []


def test_a_called_instance_and_its_caller_link_to_each_other(served: MockIDM) -> None:
    folder = ROOT / "tests/http/scope_workflows"
    served.deploy_file(folder / "grant_notification.bpmn20.xml")
    served.deploy_file(folder / "access_grant.bpmn20.xml")
    parent = served.start_process("accessGrant", business_key="grant-1", variables={
        "grantedRole": "auditor", "request": {"userId": "ann"}})
    served.complete(served.tasks(parent.id)[0].id)
    (child,) = [i for i in served.instances() if i.super_instance_id == parent.id]
    parent_page = _page(served, f"instances/{parent.id}").text
    assert f'href="{PREFIX}/instances/{child.id}">instance {child.id}</a> (grantNotification)' \
        in parent_page
    child_page = _page(served, f"instances/{child.id}").text
    assert f'Called by <a href="{PREFIX}/instances/{parent.id}">instance {parent.id}</a>' \
        in child_page
    assert 'class="node callActivity active"' in parent_page


def test_the_idm_calls_an_instances_scripts_made_are_on_its_page(served: MockIDM) -> None:
    served.seed_objects("managed/user", [
        {"_id": "u-bjensen", "userName": "bjensen", "givenName": "<b>Barbara</b>", "sn": "J",
         "mail": "b@example.com", "roles": []}])
    served.deploy_file(ROOT / "tests/http/script_workflows/role_request.bpmn20.xml")
    instance = served.start_process("scriptedRoleRequest", user="bjensen",
                                    variables={"roleId": "auditor"})
    other = served.start_process("scriptedRoleRequest", user="bjensen",
                                 variables={"roleId": "other"})
    page = _page(served, f"instances/{instance.id}").text
    calls = page[page.index('id="idm-calls"'):page.index("<h2>Variables")]
    assert calls.count("<tr") == 2  # the header, and the one query this instance made
    assert "<code>query managed/user</code>" in calls and "findManager" in calls
    assert "&lt;b&gt;Barbara&lt;/b&gt;" in calls and "<b>Barbara" not in calls
    assert len([c for c in served.idm_calls() if c["processInstanceId"] == other.id]) == 1


def test_timers_are_listed_and_advancing_the_clock_says_which_fired(served: MockIDM) -> None:
    served.deploy_file(ROOT / "tests/http/timer_workflows/access_escalation.bpmn20.xml")
    instance = served.start_process("accessEscalation", variables={"manager": "bob"})
    (job,) = served.jobs()
    page = _page(served, f"instances/{instance.id}").text
    assert f'data-job="{job.id}"' in page and "approvalOverdue" in page
    assert f'data-job="{job.id}"' in _page(served, "controls").text
    served.freeze_time()
    early = requests.post(served.inspector_url + "controls/clock", timeout=10,
                          data={"action": "advance", "seconds": "3600"})
    assert "no timer fell due" in early.text
    late = requests.post(served.inspector_url + "controls/clock", timeout=10,
                         data={"action": "advance", "seconds": str(72 * 3600)})
    assert f"1 timer(s) fired: approvalOverdue of instance {instance.id}" in late.text
    assert [t.key for t in served.tasks(instance.id)] == ["escalatedApproval"]
    assert f'data-job="{job.id}"' not in _page(served, f"instances/{instance.id}").text
