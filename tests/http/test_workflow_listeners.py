"""Task and execution listeners and mail tasks, walked over HTTP with two BPMN files of our own
(tests/http/listener_workflows/), shaped as the census (docs/workflow-census.md) says real IDM
workflows use them.

access_review.bpmn20.xml: the review goes to candidates; an assignment listener keeps who
claimed it (`task.assignee`), a complete listener copies `result` into `decision`, the gateway
reads `decision`; execution listeners note the review's start, the rejection path and the
end. role_grant.bpmn20.xml: a Groovy ScriptTaskListener (as in Wren:IDM's test case) and a
Java class listener, which pass through and are reported. welcome_mail.bpmn20.xml: mail
tasks shaped like the forgeops joining workflows, their mails read over the admin API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from idm_client import Idm, ok, start, tasks

from mockidm import Engine, MockIDM
from mockidm.admin.client import AdminClient
from mockidm.admin.server import add_admin_routes
from mockidm.engine import EngineError
from mockidm.engine.bpmn import BpmnError
from mockidm.server import ThreadedServer

WORKFLOWS = Path(__file__).parent / "listener_workflows"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ADMIN = "openidm-admin"


def DEFINITIONS(engine: Engine) -> None:  # conftest's `idm` deploys what this deploys
    engine.deploy_folder(WORKFLOWS)





def variables(idm: Idm, task_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{TI}/{task_id}"))["variables"]  # type: ignore[no-any-return]


def action(idm: Idm, task_id: str, name: str, **body: Any) -> requests.Response:
    return idm.request("POST", f"{TI}/{task_id}?_action={name}", json=body)


def history(idm: Idm, instance_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{PI}/history/{instance_id}"))  # type: ignore[no-any-return]


def claimed_review(idm: Idm, reviewer: str = "rev1") -> tuple[str, str]:
    instance = start(idm, "accessReview", reviewers=["rev1", "rev2"])
    [review] = tasks(idm, processInstanceId=instance)
    ok(action(idm, review["_id"], "claim", userId=reviewer))
    return instance, review["_id"]


# task listeners --------------------------------------------------------------------------------


def test_the_start_and_create_listeners_run_when_the_review_is_created(idm: Idm) -> None:
    instance = start(idm, "accessReview", reviewers=["rev1", "rev2"])
    [review] = tasks(idm, processInstanceId=instance)
    seen = variables(idm, review["_id"])
    assert seen["reviewOpened"] is True  # the task's execution listener, event start
    # The create listener saw the task with no assignee; nobody was assigned, so no
    # assignment listener ran.
    assert "seenAssignee" in seen and seen["seenAssignee"] is None
    assert "reviewer" not in seen


def test_the_assignment_listener_keeps_who_claimed_the_review(idm: Idm) -> None:
    _, review = claimed_review(idm, "rev2")
    assert variables(idm, review)["reviewer"] == "rev2"
    # Handing it on is an assignment too.
    ok(idm.request("PUT", f"{TI}/{review}", json={"assignee": "rev1"},
                   headers={"If-Match": "*"}))
    assert variables(idm, review)["reviewer"] == "rev1"


def test_an_assignee_set_at_creation_fires_the_assignment_listener(idm: Idm) -> None:
    instance, review = claimed_review(idm)
    ok(action(idm, review, "complete", result="approve"))
    [confirm] = tasks(idm, processInstanceId=instance)
    assert confirm["taskDefinitionKey"] == "confirm" and confirm["assignee"] == ADMIN
    seen = variables(idm, confirm["_id"])
    # `assignment` fired before `create`, though written after it: create saw `confirmer`.
    assert seen["confirmer"] == ADMIN and seen["confirmerAtCreate"] == ADMIN


def test_approving_the_complete_listener_decides_the_gateway(idm: Idm) -> None:
    instance, review = claimed_review(idm)
    ok(action(idm, review, "complete", result="approve"))
    [confirm] = tasks(idm, processInstanceId=instance)
    seen = variables(idm, confirm["_id"])
    # complete copied result into decision; delete ran after it, before the token moved on.
    assert seen["decision"] == "approve" and seen["reviewClosed"] == "delete"
    assert "rejectedBy" not in seen  # the rejection flow's take listener did not run
    ok(action(idm, confirm["_id"], "complete"))
    ended = history(idm, instance)
    assert ended["endActivityId"] == "granted"
    assert idm.server.call(lambda: idm.engine.instance(instance).variables["closed"]) is True


def test_rejecting_takes_the_other_path_and_its_take_listener_runs(idm: Idm) -> None:
    instance, review = claimed_review(idm, "rev1")
    ok(action(idm, review, "complete", result="reject"))
    assert tasks(idm, processInstanceId=instance) == []
    assert history(idm, instance)["endActivityId"] == "rejected"
    final = idm.server.call(lambda: dict(idm.engine.instance(instance).variables))
    assert final["decision"] == "reject" and final["rejectedBy"] == "rev1"
    assert final["closed"] is True  # the process's end listener


def test_a_failing_complete_listener_answers_500_and_changes_nothing(idm: Idm) -> None:
    instance, review = claimed_review(idm)
    before = variables(idm, review)
    # No `result`: the complete listener's ${... result} names no variable.
    failed = action(idm, review, "complete", comment="forgot the result")
    assert failed.status_code == 500
    assert "Unknown property used in expression" in failed.text
    assert "result" in failed.text
    [still] = tasks(idm, processInstanceId=instance)
    assert still["_id"] == review and still["assignee"] == "rev1"
    assert variables(idm, review) == before  # not even the variables sent with it
    # Done right, it goes on.
    ok(action(idm, review, "complete", result="approve"))
    assert tasks(idm, processInstanceId=instance)[0]["taskDefinitionKey"] == "confirm"


def test_deleting_the_instance_runs_the_delete_and_end_listeners(idm: Idm) -> None:
    instance, _ = claimed_review(idm)
    ok(idm.request("DELETE", f"{PI}/{instance}"))
    final = idm.server.call(lambda: dict(idm.engine.instance(instance).variables))
    assert final["reviewClosed"] == "delete" and final["closed"] is True


def test_a_listener_expression_that_does_not_compile_refuses_the_deploy() -> None:
    broken = (WORKFLOWS / "access_review.bpmn20.xml").read_text().replace(
        "${execution.setVariable('decision', result)}", "${execution.setVariable(}")
    with pytest.raises(BpmnError) as refused:
        Engine().deploy_bpmn(broken, "broken.bpmn20.xml")
    assert "element 'review'" in str(refused.value) and refused.value.line is not None


# Java and script listeners ---------------------------------------------------------------------


def _complete_approval(mock: MockIDM, result: str) -> tuple[str, requests.Response]:
    created = requests.post(f"{mock.url}/{PI}?_action=create", json={"_key": "roleGrant"},
                            headers=HEADERS, timeout=10)
    assert created.status_code == 201, created.text
    [task] = mock.tasks(created.json()["_id"])
    done = requests.post(f"{mock.url}/{TI}/{task.id}?_action=complete",
                         json={"result": result}, headers=HEADERS, timeout=10)
    return created.json()["_id"], done


HEADERS = {"X-OpenIDM-Username": ADMIN, "X-OpenIDM-Password": ADMIN,
           "X-OpenIDM-NoSession": "true"}


@pytest.mark.parametrize(("decision", "end"), [("approve", "granted"), ("reject", "refused")])
def test_a_groovy_script_listener_runs_and_a_java_listener_is_reported(
        mock: MockIDM, caplog: pytest.LogCaptureFixture, decision: str, end: str) -> None:
    mock.deploy_folder(WORKFLOWS)
    with caplog.at_level(logging.WARNING, logger="mockidm"):
        instance, done = _complete_approval(mock, decision)
    # The Groovy copied `result` into `decision` (its resultVariable): the gateway read it.
    assert done.status_code == 200, done.text
    ended = requests.get(f"{mock.url}/{PI}/history/{instance}", headers=HEADERS, timeout=10)
    assert ended.json()["endActivityId"] == end
    problems = mock.problems()
    assert len(problems) == 1, problems
    assert "the Java class com.example.idm.NotifyApprover" in problems[0]
    assert "create listener of 'approveRole' in process 'roleGrant'" in problems[0]
    # Said once per listener, however often it passes.
    _complete_approval(mock, decision)
    assert mock.problems() == problems
    assert sum("listener not run" in r.message for r in caplog.records) == 1


@pytest.mark.parametrize(("decision", "end"), [("approve", "granted"), ("reject", "refused")])
def test_outputs_declared_for_a_script_listener_stand_in_for_it(
        mock: MockIDM, decision: str, end: str) -> None:
    mock.deploy_folder(WORKFLOWS)
    mock.set_outputs("approveRole:complete", {"decision": decision}, key="roleGrant")
    mock.set_outputs("approveRole:create", {})
    instance, done = _complete_approval(mock, "whatever")
    assert done.status_code == 200, done.text
    ended = requests.get(f"{mock.url}/{PI}/history/{instance}", headers=HEADERS, timeout=10)
    assert ended.json()["endActivityId"] == end
    assert mock.problems() == []  # declared: acknowledged (still logged once)


# mail tasks ------------------------------------------------------------------------------------


@pytest.fixture
def admin() -> Iterator[tuple[MockIDM, AdminClient, str]]:
    """A mock served with its admin API (validating its answers against the admin spec)."""
    mock = MockIDM()
    mock.deploy_folder(WORKFLOWS)

    def factory():  # type: ignore[no-untyped-def]
        app = mock.app(validate_responses=True)
        add_admin_routes(app, mock, token=None, validate_responses=True)
        return app

    with ThreadedServer(factory) as server:
        yield mock, AdminClient(server.url), server.url


MEMBER = {"member": {"mail": "ann@example.com", "givenName": "Ann"}, "organisation": "Acme"}


def test_mail_tasks_record_their_mails_with_the_fields_evaluated(
        admin: tuple[MockIDM, AdminClient, str]) -> None:
    mock, client, url = admin
    assert client.mails() == []
    created = requests.post(f"{url}/{PI}?_action=create", headers=HEADERS, timeout=10, json={
        "_key": "welcomeMail", **MEMBER, "admins": "a1@example.com, a2@example.com,"})
    assert created.status_code == 201, created.text
    instance = created.json()["_id"]
    welcome, notify = client.mails()
    assert welcome == {
        "processInstanceId": instance, "activityId": "welcome", "time": welcome["time"],
        "to": ["ann@example.com"], "from": "noreply@example.com", "cc": [], "bcc": [],
        "subject": "Welcome to the organisation", "text": None,
        "html": "<p>Hello Ann, you joined Acme.</p>", "charset": "UTF-8"}
    # A comma list split and trimmed (the trailing empty part dropped); no `from`: the
    # engine's default sender; no subject: empty.
    assert (notify["to"], notify["cc"], notify["from"], notify["subject"], notify["text"]) == (
        ["a1@example.com", "a2@example.com"], ["audit@example.com"], "activiti@localhost", "",
        "Ann joined Acme")
    # The third mail's recipient is unknown and it ignores the exception: no mail, the
    # message in its exceptionVariableName, and the process goes on.
    [wait] = mock.tasks(instance)
    seen = requests.get(f"{url}/{TI}/{wait.id}", headers=HEADERS, timeout=10).json()
    error = "Unknown property used in expression: ${sponsor}"
    assert seen["variables"]["sponsorMailError"] == error
    assert len(mock.sent_mails()) == 2


def test_a_mail_task_that_cannot_send_fails_the_start(
        admin: tuple[MockIDM, AdminClient, str]) -> None:
    _, client, url = admin
    failed = requests.post(f"{url}/{PI}?_action=create", headers=HEADERS, timeout=10,
                           json={"_key": "welcomeMail", **MEMBER})  # no `admins`
    assert failed.status_code == 500
    assert "Unknown property used in expression: ${admins}" in failed.text
    assert requests.get(f"{url}/{PI}?_queryId=query-all-ids", headers=HEADERS,
                        timeout=10).json()["result"] == []
    # The first mail had gone out before the second failed, as an SMTP server would have it.
    assert [m["activityId"] for m in client.mails()] == ["welcome"]
    client.reset()
    assert client.mails() == []


def test_a_mail_task_without_a_body_or_a_recipient_fails_as_the_engine_says() -> None:
    text = (WORKFLOWS / "welcome_mail.bpmn20.xml").read_text()
    engine = Engine()
    engine.deploy_bpmn(text.replace('name="text" expression', 'name="unused" expression'),
                       "nobody.bpmn20.xml")
    with pytest.raises(EngineError) as refused:
        engine.start(key="welcomeMail", variables={**MEMBER, "admins": "a@example.com"})
    assert str(refused.value) == ("'html' or 'text' is required to be defined when using the "
                                  "mail activity")
    engine.deploy_bpmn(text.replace('"${admins}"', '"${nobody}"'), "nobody.bpmn20.xml")
    with pytest.raises(EngineError) as refused:
        engine.start(key="welcomeMail", variables={**MEMBER, "nobody": None})
    assert str(refused.value) == "No recipient could be found for sending email"


def test_a_mail_body_can_come_from_a_variable_holding_its_template() -> None:
    text = (WORKFLOWS / "welcome_mail.bpmn20.xml").read_text().replace(
        '<activiti:field name="text" expression="${member.givenName} joined ${organisation}"/>',
        '<activiti:field name="textVar" stringValue="adminTemplate"/>')
    engine = Engine()
    engine.deploy_bpmn(text, "template.bpmn20.xml")
    instance = engine.start(key="welcomeMail", variables={
        **MEMBER, "admins": "a@example.com", "adminTemplate": "New: ${member.givenName}"})
    assert [m.text for m in engine.interpreter.mails if m.instance_id == instance.id] == [
        None, "New: Ann"]
