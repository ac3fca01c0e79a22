"""Workflow scripts over HTTP: the role request a requester starts and a manager decides,
its Groovy run against the mock's IDM objects, and what IDM was asked (the IDM journal)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockidm.admin.client import AdminClient, AdminError
from mockidm.admin.server import add_admin_routes
from mockidm.facade import MockIDM
from mockidm.scenario import ScenarioError, load_scenario
from mockidm.server import ThreadedServer

WORKFLOWS = Path(__file__).parent / "script_workflows"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
PASSWORD = "Passw0rd!"


def headers(user: str) -> dict[str, str]:
    return {"X-OpenIDM-Username": user, "X-OpenIDM-Password": PASSWORD,
            "X-OpenIDM-NoSession": "true"}


# Managed users: they log in with their userName and password. The manager's id is their
# userName, which the script makes the task's assignee.
USERS = [
    {"_id": "u-bjensen", "userName": "bjensen", "password": PASSWORD, "givenName": "Barbara",
     "sn": "Jensen", "mail": "bjensen@example.com", "manager": {"_ref": "managed/user/jdoe"},
     "roles": []},
    {"_id": "jdoe", "userName": "jdoe", "password": PASSWORD, "givenName": "John", "sn": "Doe",
     "mail": "jdoe@example.com", "roles": []},
]


@pytest.fixture
def idm() -> Iterator[MockIDM]:
    mock = MockIDM()
    mock.seed_objects("managed/user", USERS)
    mock.seed_objects("managed/role", [{"_id": "auditor", "name": "Auditor"}])
    mock.deploy_folder(WORKFLOWS)
    with mock.serve():
        yield mock


def request_role(mock: MockIDM) -> tuple[str, dict]:
    started = requests.post(f"{mock.url}/{PI}?_action=create",
                            json={"_key": "scriptedRoleRequest", "roleId": "auditor"},
                            headers=headers("bjensen"), timeout=10)
    assert started.status_code == 201, started.text
    instance = started.json()["_id"]
    [waiting] = mock.tasks(instance)
    # The manager reads it: IDM lets the assignee read their task.
    task = requests.get(f"{mock.url}/{TI}/{waiting.id}", headers=headers("jdoe"),
                        timeout=10)
    assert task.status_code == 200, task.text
    return instance, task.json()


def decide(mock: MockIDM, task: dict, decision: str) -> None:
    done = requests.post(f"{mock.url}/{TI}/{task['_id']}?_action=complete",
                         json={"decision": decision}, headers=headers("jdoe"), timeout=10)
    assert done.status_code == 200, done.text


def test_approval_gives_the_requester_the_role_and_one_email(idm: MockIDM) -> None:
    instance, task = request_role(idm)
    # The script found the manager with openidm.query: the task is theirs, named by it.
    assert task["assignee"] == "jdoe"
    assert task["name"] == "Role auditor for Barbara Jensen"
    decide(idm, task, "approve")
    assert idm.idm_object("managed/user/u-bjensen")["roles"] == [
        {"_ref": "managed/role/auditor"}]
    calls = [(c["method"], c["resource"], c["activityId"]) for c in idm.idm_calls()]
    assert calls == [("query", "managed/user", "findManager"),
                     ("patch", "managed/user/u-bjensen", "grantRole"),
                     ("read", "managed/user/u-bjensen", "grantRole"),
                     ("action", "external/email", "grantRole")]
    [mail] = idm.assert_idm_called("action", "external/email", times=1)
    assert mail["arguments"]["actionName"] == "send"
    assert mail["arguments"]["content"] == {
        "to": "bjensen@example.com", "subject": "Role granted",
        "body": "You now have the role auditor."}
    assert all(c["processInstanceId"] == instance for c in idm.idm_calls())
    ended = requests.get(f"{idm.url}/{PI}/history/{instance}", headers=idm.admin_headers,
                         timeout=10)
    assert ended.json()["endActivityId"] == "granted"
    assert idm.problems() == []


def test_rejection_patches_nothing_and_tells_the_requester(idm: MockIDM) -> None:
    _, task = request_role(idm)
    decide(idm, task, "reject")
    assert idm.idm_object("managed/user/u-bjensen")["roles"] == []
    idm.assert_idm_called("patch", times=0)
    [mail] = idm.assert_idm_called("action", "external/email", times=1)
    assert mail["arguments"]["content"]["subject"] == "Role refused"


def test_the_idm_journal_and_objects_over_the_admin_api(idm: MockIDM) -> None:
    _, task = request_role(idm)
    decide(idm, task, "approve")

    def factory():  # type: ignore[no-untyped-def]
        app = idm.app(validate_responses=True)
        add_admin_routes(app, idm, token=None, validate_responses=True)
        return app

    with ThreadedServer(factory) as server:
        check_admin_api(AdminClient(server.url))


def check_admin_api(admin: AdminClient) -> None:
    assert [c["method"] for c in admin.idm_calls()] == ["query", "patch", "read", "action"]
    assert [c["resource"] for c in admin.idm_calls(method="action")] == ["external/email"]
    assert admin.idm_calls(resource="managed/user/*")[0]["method"] == "patch"
    assert admin.idm_object("managed/user/u-bjensen")["roles"] == [
        {"_ref": "managed/role/auditor"}]
    assert sorted(admin.idm_objects()) == ["managed/role", "managed/user"]
    with pytest.raises(AdminError) as missing:
        admin.idm_object("managed/user/nobody")
    assert missing.value.status == 404
    admin.seed_objects("managed/group", [{"_id": "g1"}])
    assert admin.idm_object("managed/group/g1") == {"_id": "g1", "_rev": "1"}
    admin.idm_answer("system/ldap/account", error=(503, "LDAP is down"), method="read")


def test_an_assertion_on_idm_calls_lists_the_calls_made(idm: MockIDM) -> None:
    request_role(idm)
    with pytest.raises(AssertionError) as failed:
        idm.assert_idm_called("patch", "managed/user/u-bjensen")
    assert "expected an IDM call method='patch'" in str(failed.value)
    assert "query managed/user" in str(failed.value)


def test_a_failing_script_fails_the_command_and_changes_nothing(idm: MockIDM) -> None:
    idm.add_user("walter", PASSWORD)  # an internal user: the script finds no managed user
    started = requests.post(f"{idm.url}/{PI}?_action=create",
                            json={"_key": "scriptedRoleRequest", "roleId": "auditor"},
                            headers=headers("walter"), timeout=10)
    assert started.status_code == 500
    message = started.json()["message"]
    # Activiti's ScriptingEngines around the JSR-223 Groovy engine's ScriptException.
    assert message.startswith("problem evaluating script: javax.script.ScriptException: "
                              "java.lang.IllegalArgumentException: no managed user walter")
    assert "activity &#39;findManager&#39;, line 4 of the script" in message
    assert idm.instances() == []


def test_the_snapshot_keeps_the_objects(idm: MockIDM) -> None:
    _, task = request_role(idm)
    decide(idm, task, "approve")
    saved = idm.snapshot()
    fresh = MockIDM()
    fresh.restore(saved)
    assert fresh.idm_object("managed/user/u-bjensen")["roles"] == [
        {"_ref": "managed/role/auditor"}]
    idm.reset()
    assert idm.idm_objects() == {} and idm.idm_calls() == []


LOOPING = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="looping" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="spin"/>
    <scriptTask id="spin" scriptFormat="groovy"><script>while (true) { }</script></scriptTask>
    <sequenceFlow id="f2" sourceRef="spin" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def test_an_endless_loop_stops_and_the_server_keeps_serving(idm: MockIDM) -> None:
    idm.deploy_bpmn(LOOPING, "looping.bpmn20.xml")
    spun = requests.post(f"{idm.url}/{PI}?_action=create", json={"_key": "looping"},
                         headers=idm.admin_headers, timeout=30)
    assert spun.status_code == 500
    assert "mockidm stopped the script after 100000 steps" in spun.json()["message"]
    after = requests.get(f"{idm.url}/workflow/processdefinition?_queryFilter=true",
                         headers=idm.admin_headers, timeout=10)
    assert after.status_code == 200


UNSUPPORTED = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="classy" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="helper"/>
    <scriptTask id="helper" scriptFormat="groovy">
      <script>
        class Helper { def twice(n) { n * 2 } }
        doubled = new Helper().twice(21)
      </script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="helper" targetRef="wait"/>
    <userTask id="wait" name="Got ${doubled}" assignee="openidm-admin"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def test_a_script_outside_the_subset_is_named_at_deploy_and_fails_when_reached(
        idm: MockIDM, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="mockidm"):
        idm.deploy_bpmn(UNSUPPORTED, "classy.bpmn20.xml")
    [problem] = idm.problems()
    assert problem.startswith("classy.bpmn20.xml, line 8: the script of 'helper' uses a "
                              "class declaration, which mockidm's Groovy does not run")
    assert problem in caplog.text
    start = f"{idm.url}/{PI}?_action=create"
    refused = requests.post(start, json={"_key": "classy"}, headers=idm.admin_headers,
                            timeout=10)
    assert refused.status_code == 500
    assert "mockidm cannot run this Groovy construct: a class declaration" in (
        refused.json()["message"])
    # What the test declares stands in for the script.
    idm.set_outputs("helper", {"doubled": 42})
    created = requests.post(start, json={"_key": "classy"}, headers=idm.admin_headers,
                            timeout=10)
    assert created.status_code == 201, created.text
    assert [t.name for t in idm.tasks(created.json()["_id"])] == ["Got 42"]


def test_an_unscripted_call_fails_loudly_and_a_scripted_answer_serves_it(idm: MockIDM) -> None:
    bpmn = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="managers" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <scriptTask id="ask" scriptFormat="groovy" activiti:autoStoreVariables="true">
      <script>
        candidates = openidm.query('endpoint/getusermanager', [userId: 'x']).result._id
      </script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="ask" targetRef="wait"/>
    <userTask id="wait" activiti:candidateUsers="${candidates}"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""
    idm.deploy_bpmn(bpmn, "managers.bpmn20.xml")
    start = f"{idm.url}/{PI}?_action=create"
    refused = requests.post(start, json={"_key": "managers"}, headers=idm.admin_headers,
                            timeout=10)
    assert refused.status_code == 500
    assert ("mockidm cannot answer query on endpoint/getusermanager: script its answer with "
            "mock.idm_answer(&#39;endpoint/getusermanager&#39;") in refused.json()["message"]
    idm.idm_answer("endpoint/getusermanager", {"result": [{"_id": "m1"}, {"_id": "m2"}]},
                   method="query")
    created = requests.post(start, json={"_key": "managers"}, headers=idm.admin_headers,
                            timeout=10)
    assert created.status_code == 201, created.text
    [task] = idm.tasks(created.json()["_id"])
    assert task.candidate_users == ["m1", "m2"]


def test_a_fixture_file_seeds_the_objects_and_scripts_the_answers(tmp_path: Path) -> None:
    (tmp_path / "wf").mkdir()
    (tmp_path / "wf" / "role_request.bpmn20.xml").write_bytes(
        (WORKFLOWS / "role_request.bpmn20.xml").read_bytes())
    (tmp_path / "scenario.yaml").write_text("""
idmObjects:
  managed/user:
    - {_id: u-bjensen, userName: bjensen, givenName: Barbara, sn: Jensen,
       mail: b@example.com, roles: []}
idmAnswers:
  - {resource: external/email, method: action, action: send, answer: {status: QUEUED}}
definitions:
  - folder: wf/
instances:
  - key: scriptedRoleRequest
    user: bjensen
    variables: {roleId: auditor}
    complete: [{task: approval, variables: {decision: approve}}]
""")
    mock = MockIDM()
    load_scenario(mock, tmp_path / "scenario.yaml")
    assert mock.idm_object("managed/user/u-bjensen")["roles"] == [
        {"_ref": "managed/role/auditor"}]
    [mail] = mock.idm_calls("action")
    assert mail["answer"] == {"status": "QUEUED"}


def test_a_fixture_file_that_fails_leaves_no_objects_or_answers(tmp_path: Path) -> None:
    mock = MockIDM()
    bad = {"idmObjects": {"managed/user": [{"_id": "x"}]},
           "idmAnswers": [{"resource": "sync", "method": "action"}],
           "instances": [{"key": "nothingDeployed"}]}
    with pytest.raises(ScenarioError):
        load_scenario(mock, bad)
    assert mock.idm_objects() == {} and mock.idm_answers() == []


LISTENING = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="listening" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" activiti:assignee="jdoe">
      <extensionElements>
        <activiti:executionListener event="start"
            class="org.activiti.engine.impl.bpmn.listener.ScriptExecutionListener">
          <activiti:field name="script">
            <activiti:string>execution.setVariable('entered', execution.getCurrentActivityId())
'ok'</activiti:string>
          </activiti:field>
          <activiti:field name="language" stringValue="groovy"/>
          <activiti:field name="resultVariable" stringValue="startResult"/>
        </activiti:executionListener>
        <activiti:taskListener event="create"
            class="org.activiti.engine.impl.bpmn.listener.ScriptTaskListener">
          <activiti:field name="script">
            <activiti:string>task.setVariable('reviewer', task.getAssignee().toUpperCase())
task.name + ' for ' + task.assignee</activiti:string>
          </activiti:field>
          <activiti:field name="language" stringValue="groovy"/>
          <activiti:field name="resultVariable" stringValue="summary"/>
        </activiti:taskListener>
      </extensionElements>
    </userTask>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def test_script_listeners_see_task_and_execution_and_store_their_result() -> None:
    mock = MockIDM()
    mock.deploy_bpmn(LISTENING, "listening.bpmn20.xml")
    instance = mock.start_process("listening")
    assert instance.variables["entered"] == "review"
    assert instance.variables["startResult"] == "ok"
    assert instance.variables["reviewer"] == "JDOE"
    assert instance.variables["summary"] == "Review for jdoe"
    assert mock.problems() == []


def test_a_flows_script_listener_outside_the_subset_is_named_at_deploy() -> None:
    bpmn = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="flowing" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="end">
      <extensionElements>
        <activiti:executionListener
            class="org.activiti.engine.impl.bpmn.listener.ScriptExecutionListener">
          <activiti:field name="script">
            <activiti:string>def (a, b) = [1, 2]</activiti:string>
          </activiti:field>
          <activiti:field name="language" stringValue="groovy"/>
        </activiti:executionListener>
      </extensionElements>
    </sequenceFlow>
    <endEvent id="end"/>
  </process>
</definitions>
"""
    mock = MockIDM()
    mock.deploy_bpmn(bpmn, "flowing.bpmn20.xml")
    [problem] = mock.problems()
    assert problem.startswith("flowing.bpmn20.xml, line 10: the script of 'f1:take' uses "
                              "multiple assignment")
