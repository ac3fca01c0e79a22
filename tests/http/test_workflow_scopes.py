"""Embedded sub-processes, error end and boundary events, call activities, walked over HTTP with
three BPMN files of our own (tests/http/scope_workflows/, docs/fidelity.md names what they are
modelled on).

contractor_review.bpmn20.xml: a manager review, then a nested sub-process of security and legal
reviews in parallel, inside the sub-process `reviewStage`. The manager's rejection is an error end
event that `rejectedCatch` (its code) catches; the security denial, thrown in the nested
sub-process, walks out of it to `reviewStage`, whose catch-all `anyError` takes it.
access_grant.bpmn20.xml calls grant_notification.bpmn20.xml: the child is a process instance of its
own; declining there is an error end event caught on the call activity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from idm_client import Idm, ok, start, tasks

from mockidm import Engine

WORKFLOWS = Path(__file__).parent / "scope_workflows"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ADMIN = "openidm-admin"


def DEFINITIONS(engine: Engine) -> None:  # conftest's `idm` deploys what this deploys
    engine.deploy_folder(WORKFLOWS, strict=True)


def complete(idm: Idm, task_id: str, **variables: Any) -> None:
    ok(idm.request("POST", f"{TI}/{task_id}?_action=complete", json=variables))


def open_tasks(idm: Idm, instance_id: str) -> dict[str, dict[str, Any]]:
    return {t["taskDefinitionKey"]: t for t in tasks(idm, processInstanceId=instance_id)}


def history(idm: Idm, instance_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{PI}/history/{instance_id}"))  # type: ignore[no-any-return]


def task_history(idm: Idm, instance_id: str) -> dict[str, tuple[str | None, str | None]]:
    """Each task of the instance: (assignee, delete reason)."""
    return {t["taskDefinitionKey"]: (t["assignee"], t["deleteReason"])
            for t in history(idm, instance_id)["tasks"]}


def executions(idm: Idm, instance_id: str) -> list[tuple[str, str, str | None]]:
    """(activity, execution id, parent id) of each execution of the instance."""
    found = idm.query("workflow/execution",
                      f"_queryId=filtered-query&processInstanceId={instance_id}")
    return sorted((e["activityId"], e["_id"], e["parentId"]) for e in found)


def review(idm: Idm) -> str:
    return start(idm, "contractorReview", manager="mgr1", contractorName="Ada")


# sub-processes ---------------------------------------------------------------------------------


def test_the_review_enters_the_sub_process_and_its_task_goes_to_the_manager(idm: Idm) -> None:
    instance = review(idm)
    [task] = tasks(idm, processInstanceId=instance)
    assert (task["taskDefinitionKey"], task["assignee"], task["name"]) == (
        "managerReview", "mgr1", "Review Ada")
    # Its form reads the instance's variables from inside the sub-process.
    read = ok(idm.request("GET", f"{TI}/{task['_id']}"))
    assert read["formProperties"] == [{"contractorName": "Ada"}, {"decision": None}]
    # The instance's execution waits in the sub-process; a child execution runs inside it.
    waiting = {activity: (execution, parent) for activity, execution, parent
               in executions(idm, instance)}
    assert waiting.keys() == {"reviewStage", "managerReview"}
    assert waiting["reviewStage"] == (instance, None)
    inner, parent = waiting["managerReview"]
    assert parent == instance
    assert task["executionId"] == inner != instance
    assert idm.found("workflow/execution", f"executionParentId={instance}") == [inner]


def test_an_approved_review_runs_the_nested_checks_in_parallel_then_provisions(
        idm: Idm) -> None:
    instance = review(idm)
    complete(idm, open_tasks(idm, instance)["managerReview"]["_id"], decision="approve")
    checks = open_tasks(idm, instance)
    assert set(checks) == {"securityReview", "legalReview"}
    assert [t["_id"] for t in tasks(idm, taskCandidateGroup="security")] == [
        checks["securityReview"]["_id"]]
    assert [t["_id"] for t in tasks(idm, taskCandidateGroup="legal")] == [
        checks["legalReview"]["_id"]]
    # Nested: the manager's execution waits in securityStage, the two branches inside it.
    waiting = executions(idm, instance)
    stage = next(e for e in waiting if e[0] == "securityStage")
    assert stage[2] == instance
    assert {e[0] for e in waiting if e[2] == stage[1]} == {"securityReview", "legalReview"}
    complete(idm, checks["legalReview"]["_id"])
    assert set(open_tasks(idm, instance)) == {"securityReview"}  # the join waits
    complete(idm, checks["securityReview"]["_id"], securityDecision="allow")
    # Both sub-processes are left: the path goes on after reviewStage.
    [provision] = tasks(idm, processInstanceId=instance)
    assert (provision["taskDefinitionKey"], provision["name"]) == ("provisionAccount",
                                                                   "Provision Ada")
    assert executions(idm, instance) == [("provisionAccount", instance, None)]
    complete(idm, provision["_id"])
    ended = history(idm, instance)
    assert (ended["endActivityId"], ended["deleteReason"]) == ("approved", None)
    assert {t["taskDefinitionKey"] for t in ended["tasks"] if t["endTime"] is not None} == {
        "managerReview", "securityReview", "legalReview", "provisionAccount"}


def test_a_rejection_is_an_error_caught_by_the_boundary_event_that_names_its_code(
        idm: Idm) -> None:
    instance = review(idm)
    complete(idm, open_tasks(idm, instance)["managerReview"]["_id"], decision="reject")
    # rejectedCatch names REVIEW_REJECTED: it wins over the catch-all anyError declared first.
    [notify] = tasks(idm, processInstanceId=instance)
    assert (notify["taskDefinitionKey"], notify["assignee"]) == ("notifyRequester", ADMIN)
    assert executions(idm, instance) == [("notifyRequester", instance, None)]
    assert tasks(idm, taskCandidateGroup="security") == []
    complete(idm, notify["_id"])
    ended = history(idm, instance)
    assert (ended["endActivityId"], ended["deleteReason"]) == ("rejectedEnd", None)


def test_a_denial_walks_out_of_the_nested_sub_process_and_interrupts_the_open_review(
        idm: Idm) -> None:
    instance = review(idm)
    complete(idm, open_tasks(idm, instance)["managerReview"]["_id"], decision="approve")
    checks = open_tasks(idm, instance)
    complete(idm, checks["securityReview"]["_id"], securityDecision="deny")
    # securityStage has no boundary event: reviewStage's catch-all takes SECURITY_DENIED, and
    # everything inside reviewStage ends, the legal review still open included.
    [audit] = tasks(idm, processInstanceId=instance)
    assert audit["taskDefinitionKey"] == "auditFailure"
    assert [t["_id"] for t in tasks(idm, taskCandidateGroup="auditors")] == [audit["_id"]]
    assert tasks(idm, taskCandidateGroup="legal") == []
    assert task_history(idm, instance)["legalReview"] == (
        None, "boundary event (anyError)")
    assert executions(idm, instance) == [("auditFailure", instance, None)]
    complete(idm, audit["_id"])
    assert history(idm, instance)["endActivityId"] == "audited"


def test_deleting_an_instance_inside_a_sub_process_ends_everything_in_it(idm: Idm) -> None:
    instance = review(idm)
    complete(idm, open_tasks(idm, instance)["managerReview"]["_id"], decision="approve")
    ok(idm.request("DELETE", f"{PI}/{instance}"))
    assert tasks(idm, processInstanceId=instance) == []
    assert executions(idm, instance) == []
    reasons = task_history(idm, instance)
    assert reasons["securityReview"] == reasons["legalReview"] == (None, "Deleted by Openidm")


# call activities -------------------------------------------------------------------------------


def grant(idm: Idm) -> tuple[str, str]:
    """A grant approved by a manager: (the parent instance, the child it called)."""
    parent = start(idm, "accessGrant", _businessKey="grant-7", grantedRole="auditor",
                   request={"userId": "bjensen"})
    complete(idm, open_tasks(idm, parent)["approveGrant"]["_id"])
    [child] = idm.found(PI, f"superProcessInstanceId={parent}")
    return parent, child


def test_the_call_activity_starts_the_child_as_a_process_instance_of_its_own(idm: Idm) -> None:
    parent, child = grant(idm)
    body = ok(idm.request("GET", f"{PI}/{child}"))
    assert body["superProcessInstanceId"] == parent
    assert body["processDefinitionId"].startswith("grantNotification:1:")
    assert body["businessKey"] == "grant-7"  # inheritBusinessKey
    assert body["startActivityId"] == "notified"
    assert ok(idm.request("GET", f"{PI}/{parent}"))["superProcessInstanceId"] is None
    # The child's task goes to the user the in mapping's sourceExpression named.
    [acknowledge] = tasks(idm, processInstanceId=child)
    assert (acknowledge["assignee"], acknowledge["name"]) == ("bjensen", "Your new role: auditor")
    variables = ok(idm.request("GET", f"{TI}/{acknowledge['_id']}"))["variables"]
    assert variables == {"userId": "bjensen", "role": "auditor"}  # only what was mapped in
    # The parent waits in the call activity; its execution is the child's super execution.
    assert tasks(idm, processInstanceId=parent) == []
    assert executions(idm, parent) == [("notifyUser", parent, None)]
    [child_execution] = idm.query("workflow/execution",
                                  f"_queryId=filtered-query&processInstanceId={child}")
    assert child_execution["superExecutionId"] == parent


def test_the_parent_goes_on_when_the_child_ends_with_the_out_variables(idm: Idm) -> None:
    parent, child = grant(idm)
    [acknowledge] = tasks(idm, processInstanceId=child)
    complete(idm, acknowledge["_id"], answer="accept", acknowledgedAt="2026-12-07")
    ended = history(idm, child)
    assert (ended["endActivityId"], ended["deleteReason"]) == ("acceptedEnd", None)
    [confirm] = tasks(idm, processInstanceId=parent)
    assert confirm["taskDefinitionKey"] == "confirmGrant"
    variables = ok(idm.request("GET", f"{TI}/{confirm['_id']}"))["variables"]
    assert variables["userAcknowledged"] == "2026-12-07"
    assert "answer" not in variables  # only the out mapping comes back
    complete(idm, confirm["_id"])
    assert history(idm, parent)["endActivityId"] == "granted"


def test_an_error_end_event_in_the_child_is_caught_on_the_call_activity(idm: Idm) -> None:
    parent, child = grant(idm)
    [acknowledge] = tasks(idm, processInstanceId=child)
    complete(idm, acknowledge["_id"], answer="decline")
    ended = history(idm, child)
    assert (ended["endActivityId"], ended["deleteReason"]) == ("declinedEnd",
                                                               "ERROR_EVENT ACK_DECLINED")
    [follow_up] = tasks(idm, processInstanceId=parent)
    assert (follow_up["taskDefinitionKey"], follow_up["name"]) == ("followUp",
                                                                   "Follow up with bjensen")
    assert idm.found(PI, f"superProcessInstanceId={parent}") == []  # no running child


def test_deleting_the_parent_deletes_the_child(idm: Idm) -> None:
    parent, child = grant(idm)
    ok(idm.request("DELETE", f"{PI}/{parent}"))
    ended = history(idm, child)
    assert ended["deleteReason"] == "Deleted by Openidm"
    assert task_history(idm, child) == {"acknowledge": ("bjensen", "Deleted by Openidm")}
    assert idm.found(PI, "processDefinitionKey=grantNotification") == []


# what fails ------------------------------------------------------------------------------------

UNCAUGHT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="{key}" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="work"/>
    <userTask id="work"/>
    <sequenceFlow id="f1" sourceRef="work" targetRef="next"/>
    {next}
  </process>
</definitions>
"""


def deploy(idm: Idm, key: str, next_node: str) -> None:
    text = UNCAUGHT.format(key=key, next=next_node)
    idm.server.call(lambda: idm.engine.deploy_bpmn(text, f"{key}.bpmn20.xml"))


def test_an_error_nothing_catches_fails_the_complete_and_changes_nothing(idm: Idm) -> None:
    deploy(idm, "uncaught", '<endEvent id="next"><errorEventDefinition errorRef="BOOM"/>'
                            '</endEvent>')
    instance = start(idm, "uncaught")
    [work] = tasks(idm, processInstanceId=instance)
    response = idm.request("POST", f"{TI}/{work['_id']}?_action=complete", json={"x": 1})
    assert response.status_code == 500
    assert response.json()["message"] == (
        "No catching boundary event found for error with errorCode &#39;BOOM&#39;, neither in "
        "same process nor in parent process")
    assert [t["_id"] for t in tasks(idm, processInstanceId=instance)] == [work["_id"]]
    assert "x" not in ok(idm.request("GET", f"{TI}/{work['_id']}"))["variables"]


def test_a_call_of_a_key_nobody_deployed(idm: Idm) -> None:
    deploy(idm, "lost", '<callActivity id="next" calledElement="nowhere"/>')
    instance = start(idm, "lost")
    [work] = tasks(idm, processInstanceId=instance)
    response = idm.request("POST", f"{TI}/{work['_id']}?_action=complete", json={})
    assert response.status_code == 500
    assert response.json()["message"] == (
        "Process definition nowhere was not found in sameDeployment[false] tenantId[] "
        "fallbackToDefaultTenant[false]")
    assert [t["_id"] for t in tasks(idm, processInstanceId=instance)] == [work["_id"]]
    assert idm.found(PI, f"superProcessInstanceId={instance}") == []
