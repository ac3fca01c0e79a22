"""Expressions where the engine evaluates them, walked over HTTP with two BPMN files of our own
(tests/http/workflows/): who a task goes to, what it is called, what its form shows, which
path is taken, what history says, and what a failing expression answers.

role_request.bpmn20.xml: the start event's initiator keeps the starter (`startUserId`), the
approval goes to `${manager}` from the start body, its name, description, due date and
priority are expressions, its form shows `expression="#{startUserId}"`; approving runs a
service task `${execution.getVariable('roleName')}` into `grantedRole` (resultVariableName),
and the requester confirms. peer_review.bpmn20.xml: candidates from a list variable and a
comma list, a form with numbers and a map, and an escalation whose assignee names a variable
nobody set.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from idm_client import Idm, ok, start, tasks

from mockidm import Engine, MockIDM
from mockidm.engine.bpmn import BpmnError
from mockidm.identity import ProcessAccessRule

pytest_plugins = ["pytester"]
WORKFLOWS = Path(__file__).parent / "workflows"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ADMIN = "openidm-admin"


def DEFINITIONS(engine: Engine) -> None:  # conftest's `idm` deploys what this deploys
    engine.deploy_folder(WORKFLOWS)





def read(idm: Idm, task_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{TI}/{task_id}"))  # type: ignore[no-any-return]


def complete(idm: Idm, task_id: str, **variables: Any) -> requests.Response:
    return idm.request("POST", f"{TI}/{task_id}?_action=complete", json=variables)


def claim(idm: Idm, task_id: str, user: str) -> requests.Response:
    return idm.request("POST", f"{TI}/{task_id}?_action=claim", json={"userId": user})


def history(idm: Idm, instance_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{PI}/history/{instance_id}"))  # type: ignore[no-any-return]


def task_history(idm: Idm, instance_id: str) -> list[dict[str, Any]]:
    return ok(idm.request("GET", f"{TI}/history?_queryId=filtered-query"  # type: ignore[no-any-return]
                          f"&processInstanceId={instance_id}"))["result"]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# role request -------------------------------------------------------------------------------


def test_the_approval_goes_to_the_manager_named_in_the_start_form(idm: Idm) -> None:
    instance = start(idm, "roleRequest", roleName="auditor", manager="mgr1", urgent=True)
    [task] = tasks(idm, assignee="mgr1")
    assert task["processInstanceId"] == instance
    assert tasks(idm, assignee="${manager}") == [] and tasks(idm, assignee=ADMIN) == []
    # Name and description are evaluated when the task is created; the starter is the
    # initiator variable, the authenticated user of the create request.
    assert task["name"] == "Approve auditor for openidm-admin"
    assert task["description"] == "openidm-admin asks for the role auditor"
    assert task["priority"] == 80  # ${urgent ? 80 : 40}
    assert when(task["dueDate"]) - when(task["createTime"]) == timedelta(days=2)  # P2D
    # The assignee claims it (a no-op); anyone else is refused, as the engine refuses.
    assert ok(claim(idm, task["_id"], "mgr1")) == {"Task action performed": "claim"}
    refused = claim(idm, task["_id"], "bob")
    assert refused.status_code == 500
    assert refused.json()["message"] == (
        f"Task &#39;{task['_id']}&#39; is already claimed by someone else.")


def test_the_approval_form_shows_the_requester_and_java_text(idm: Idm) -> None:
    start(idm, "roleRequest", roleName="auditor", manager="mgr1", urgent=True)
    [task] = tasks(idm, assignee="mgr1")
    body = read(idm, task["_id"])
    assert body["formProperties"] == [
        {"requester": "openidm-admin"},  # expression="${startUserId}"
        {"roleName": "auditor"},
        {"urgent": "true"},  # a Boolean as Java writes it, not Python's "True"
        {"comment": "none yet"},  # no variable: its default expression
        {"decision": None},
    ]
    assert body["variables"]["startUserId"] == ADMIN
    assert body["variables"]["urgent"] is True


def test_approving_grants_the_role_through_the_service_task_expression(idm: Idm) -> None:
    instance = start(idm, "roleRequest", roleName="auditor", manager="mgr1", urgent=False)
    [approval] = tasks(idm, assignee="mgr1")
    assert approval["priority"] == 40
    assert ok(complete(idm, approval["_id"], decision="approve"))
    # The service task stored its result; the confirmation goes back to the requester.
    [confirm] = tasks(idm, processInstanceId=instance)
    assert confirm["taskDefinitionKey"] == "confirmGrant"
    assert confirm["name"] == "Confirm: you now have auditor"
    assert confirm["assignee"] == ADMIN
    assert read(idm, confirm["_id"])["variables"]["grantedRole"] == "auditor"
    assert ok(complete(idm, confirm["_id"]))
    ended = history(idm, instance)
    assert ended["endActivityId"] == "granted" and ended["startUserId"] == ADMIN
    assert [(t["taskDefinitionKey"], t["assignee"], t["name"])
            for t in task_history(idm, instance)] == [
        ("managerApproval", "mgr1", "Approve auditor for openidm-admin"),
        ("confirmGrant", ADMIN, "Confirm: you now have auditor")]


def test_rejecting_ends_without_a_grant(idm: Idm) -> None:
    instance = start(idm, "roleRequest", roleName="auditor", manager="mgr1", urgent=False)
    [approval] = tasks(idm, assignee="mgr1")
    assert ok(complete(idm, approval["_id"], decision="reject"))
    assert tasks(idm, processInstanceId=instance) == []
    assert history(idm, instance)["endActivityId"] == "rejected"
    assert [t["taskDefinitionKey"] for t in task_history(idm, instance)] == ["managerApproval"]


def test_the_initiator_is_the_authenticated_user_who_starts(mock: MockIDM) -> None:
    mock.deploy_folder(WORKFLOWS)
    mock.add_user("alice", "secret")
    mock.set_process_access([ProcessAccessRule("key", "^roleRequest$", "openidm-authorized")])
    alice = {"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": "secret",
             "X-OpenIDM-NoSession": "true"}
    created = requests.post(f"{mock.url}/workflow/processinstance?_action=create",
                            json={"_key": "roleRequest", "roleName": "r", "manager": "mgr1",
                                  "urgent": True},
                            headers=alice, timeout=10)
    assert created.status_code == 201, created.text
    [task] = mock.tasks(created.json()["_id"])
    assert task.name == "Approve r for alice"
    # From the facade, the user it is told starts.
    instance = mock.start_process("roleRequest", variables={"roleName": "r", "manager": "m",
                                                                 "urgent": False},
                                  user="carol")
    assert instance.variables["startUserId"] == "carol"
    assert [t.description for t in mock.tasks(instance.id)] == ["carol asks for the role r"]


def test_a_start_variable_of_the_initiators_name_wins_over_it(idm: Idm) -> None:
    """The engine sets the initiator variable first, then the variables it was given."""
    start(idm, "roleRequest", roleName="r", manager="mgr1", urgent=True, startUserId="someone")
    [task] = tasks(idm, assignee="mgr1")
    assert task["name"] == "Approve r for someone"


def test_an_assignee_expression_that_cannot_be_evaluated_fails_the_start(idm: Idm) -> None:
    before = ok(idm.request("GET", f"{PI}?_queryId=query-all-ids"))["result"]
    response = idm.start({"_key": "roleRequest", "roleName": "r", "urgent": True})  # no manager
    assert response.status_code == 500
    assert response.json() == {"code": 500, "reason": "Internal Server Error",
                               "message": "Unknown property used in expression: ${manager}"}
    assert ok(idm.request("GET", f"{PI}?_queryId=query-all-ids"))["result"] == before
    assert ok(idm.request("GET", f"{PI}/history?_queryId=query-all-ids"))["result"] == []


# peer review --------------------------------------------------------------------------------


def peer_review(idm: Idm, **extra: Any) -> tuple[str, str]:
    instance = start(idm, "peerReview", _businessKey="PR-7", candidateManagers=["m1", "m2"],
                     reviewRoles="internal/role/a ,  internal/role/b", weight=1e20,
                     details={"a": [1, 2.5, None, True]}, **extra)
    [task] = tasks(idm, processInstanceId=instance)
    return instance, task["_id"]


def test_candidates_come_from_a_list_and_a_comma_list(idm: Idm) -> None:
    _, task_id = peer_review(idm)
    for user in ("m1", "m2"):
        assert [t["_id"] for t in tasks(idm, taskCandidateUser=user)] == [task_id]
    assert tasks(idm, taskCandidateUser="${candidateManagers}") == []
    for group in ("internal/role/a", "internal/role/b", "internal/role/auditor"):
        assert [t["_id"] for t in tasks(idm, taskCandidateGroup=group)] == [task_id]
    body = read(idm, task_id)
    assert body["name"] == "Review PR-7"  # ${execution.processBusinessKey}
    assert body["candidates"] == {
        "candidateUsers": ["m1", "m2"],
        "candidateGroups": ["internal/role/a", "internal/role/b", "internal/role/auditor"]}
    # Numbers and maps as Java writes them; a property that is not readable is not shown.
    assert body["formProperties"] == [
        {"count": "2"}, {"weight": "1.0E20"}, {"details": "{a=[1, 2.5, null, true]}"}]
    assert ok(claim(idm, task_id, "m1")) == {"Task action performed": "claim"}
    assert read(idm, task_id)["assignee"] == "m1"
    assert tasks(idm, taskCandidateUser="m2") == []


def test_a_failing_assignee_expression_fails_the_complete_and_changes_nothing(idm: Idm) -> None:
    instance, task_id = peer_review(idm)
    before = read(idm, task_id)
    response = complete(idm, task_id, escalate=True, note="first try")
    assert response.status_code == 500
    assert response.json()["message"] == (
        "Unknown property used in expression: ${seniorManager}")
    assert read(idm, task_id) == before  # still active, `note` not stored
    assert [t["_id"] for t in tasks(idm, processInstanceId=instance)] == [task_id]
    assert history(idm, instance)["endTime"] is None
    # With the variable given, the escalation goes to that manager.
    assert ok(complete(idm, task_id, escalate=True, seniorManager="boss"))
    [escalated] = tasks(idm, assignee="boss")
    assert escalated["taskDefinitionKey"] == "escalate"
    assert ok(complete(idm, escalated["_id"]))
    assert history(idm, instance)["endActivityId"] == "escalated"


def test_without_escalation_the_review_ends_done(idm: Idm) -> None:
    instance, task_id = peer_review(idm)
    assert ok(complete(idm, task_id, escalate=False))
    assert history(idm, instance)["endActivityId"] == "done"


def test_a_candidate_expression_that_gives_null_adds_nobody(idm: Idm) -> None:
    instance = start(idm, "peerReview", candidateManagers=None, reviewRoles=None)
    [task] = tasks(idm, processInstanceId=instance)
    assert [t["_id"] for t in tasks(idm, taskCandidateGroup="internal/role/auditor")] == [
        task["_id"]]
    assert tasks(idm, taskCandidateGroup="null") == []
    assert task["name"] == "Review "  # a null business key is '' in text
    # Its form counts the candidates with a method call on null: the read fails.
    response = idm.request("GET", f"{TI}/{task['_id']}")
    assert response.status_code == 500
    assert response.json()["message"] == (
        "Unknown property used in expression: ${candidateManagers.size()}")


def test_a_form_expression_that_fails_makes_the_task_read_fail(idm: Idm) -> None:
    instance = start(idm, "peerReview", candidateManagers="m1", reviewRoles="r")
    [task] = tasks(idm, processInstanceId=instance)
    response = idm.request("GET", f"{TI}/{task['_id']}")
    assert response.status_code == 500
    assert response.json()["message"] == (
        "Unknown method used in expression: ${candidateManagers.size()}")


# deploying ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("attribute", "text"), [
    ('activiti:assignee="${manager"', "${manager"),
    ('activiti:candidateUsers="${a +}"', "${a +}"),
    ('name="Approve ${}"', "Approve ${}"),
    ('activiti:formKey="${formName"', "${formName"),  # category and formKey (test_task_form_key)
    ('activiti:category="#{a +}"', "#{a +}"),
])
def test_an_expression_that_does_not_compile_fails_the_deployment(attribute: str,
                                                                  text: str) -> None:
    bpmn = f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="broken" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="task"/>
    <userTask id="task" {attribute}/>
    <sequenceFlow id="f2" sourceRef="task" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""
    with pytest.raises(BpmnError) as refused:
        Engine().deploy_bpmn(bpmn, "broken.bpmn20.xml")
    assert refused.value.line == 7
    assert str(refused.value).startswith(
        f"broken.bpmn20.xml, line 7: element 'task': Cannot compile expression {text!r}")


def test_an_expression_calls_the_mocks_openidm(mock: MockIDM) -> None:
    """IDM resolves `openidm` (its script bindings) in expressions: the mock's answers from
    its IDM objects and journals the call; outputs a test declares stand in for it."""
    bpmn = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="lookup" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="readUser"/>
    <serviceTask id="readUser" activiti:expression="${openidm.read('managed/user/ada')}"
                 activiti:resultVariableName="user"/>
    <sequenceFlow id="f2" sourceRef="readUser" targetRef="wait"/>
    <userTask id="wait" name="Welcome ${user.userName}" activiti:assignee="openidm-admin"/>
    <sequenceFlow id="f3" sourceRef="wait" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""
    mock.seed_objects("managed/user", [{"_id": "ada", "userName": "ada.l"}])
    mock.deploy_bpmn(bpmn, "lookup.bpmn20.xml")
    start = f"{mock.url}/workflow/processinstance?_action=create"
    created = requests.post(start, json={"_key": "lookup"}, headers=mock.admin_headers,
                            timeout=10)
    assert created.status_code == 201, created.text
    assert [t.name for t in mock.tasks(created.json()["_id"])] == ["Welcome ada.l"]
    [call] = mock.assert_idm_called("read", "managed/user/ada", times=1)
    assert call["activityId"] == "readUser"
    assert call["processInstanceId"] == created.json()["_id"]
    mock.set_outputs("readUser", {"user": {"userName": "bob"}})
    declared = requests.post(start, json={"_key": "lookup"}, headers=mock.admin_headers,
                             timeout=10)
    assert [t.name for t in mock.tasks(declared.json()["_id"])] == ["Welcome bob"]
    mock.assert_idm_called("read", times=1)  # the declaration stood in: no second call


GREETING_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="greet" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="welcome"/>
    <userTask id="welcome" name="Welcome ${openidm.read('managed/user/ada').givenName}"
              activiti:category="${nobodySetThis}" activiti:assignee="openidm-admin"/>
    <sequenceFlow id="f2" sourceRef="welcome" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def test_a_task_name_that_reads_idm_shows_idms_value(mock: MockIDM) -> None:
    """A task name reading `openidm` is evaluated with the mock's IDM objects; an expression
    that fails on IDM too (the category's unknown variable) keeps the text as written, which
    is IDM's own behaviour and no problem."""
    mock.seed_objects("managed/user", [{"_id": "ada", "givenName": "Ada"}])
    mock.deploy_bpmn(GREETING_BPMN, "greet.bpmn20.xml")
    start = f"{mock.url}/workflow/processinstance?_action=create"
    created = requests.post(start, json={"_key": "greet"}, headers=mock.admin_headers,
                            timeout=10)
    assert created.status_code == 201, created.text
    [task] = mock.tasks(created.json()["_id"])
    assert task.name == "Welcome Ada"
    assert task.category == "${nobodySetThis}"
    assert mock.problems() == []


def test_an_engine_without_idm_objects_keeps_the_text_and_says_so_once() -> None:
    """A bare Engine has no `openidm` (a MockIDM gives it its own): Flowable keeps a task name
    whose expression fails as written; the text is not IDM's answer, so it is recorded, once
    per attribute."""
    engine = Engine()
    engine.deploy_bpmn(GREETING_BPMN, "greet.bpmn20.xml")
    for _ in range(2):
        instance = engine.start(key="greet")
        [task] = engine.tasks_of(instance.id)
        assert task.name == "Welcome ${openidm.read('managed/user/ada').givenName}"
    assert list(engine.interpreter.unevaluated.values()) == [
        "mockidm cannot evaluate Welcome ${openidm.read('managed/user/ada').givenName} in "
        "activity "
        "'welcome' of process 'greet' (Cannot resolve identifier 'openidm': IDM's own object, "
        "which only a real IDM gives expressions): the task shows the text as written, where a "
        "real IDM shows the value"]
