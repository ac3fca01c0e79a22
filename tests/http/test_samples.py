"""The BPMN samples that `mockidm serve` deploys, walked end to end over HTTP as an administrator.

Each sample is started by key, its tasks are found the way IDM's user interfaces find them
(candidate group, candidate user, assignee), claimed and completed with a decision, and the
outcome is read back from the history: which end event the instance reached, and which tasks
were completed (reference 5.2, 5.3, 5.5-5.10; the sample files in mockidm/samples/).
"""

from __future__ import annotations

from typing import Any

import pytest
from idm_client import Idm, ok

from mockidm.samples import deploy_samples

PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
EX = "workflow/execution"
DEFINITIONS = deploy_samples  # conftest's `idm` deploys the BPMN samples
ADMIN = "openidm-admin"
ADMIN_ROLE = "internal/role/openidm-admin"
REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
DECISION = {"name": "enum", "values": {"approve": "Approve", "reject": "Reject"},
            "datePattern": None}
MISSING_DECISION = "Unknown property used in expression: ${decision == &#39;approve&#39;}"


# helpers ---------------------------------------------------------------------------------------



def assert_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"code": status, "reason": REASONS[status], "message": message}


def definition_id(idm: Idm, key: str, version: int) -> str:
    items = ok(idm.request("GET", f"{PD}?_queryId=filtered-query&key={key}"))["result"]
    [found] = [d["_id"] for d in items if d["version"] == version]
    return found


def start(idm: Idm, key: str, **variables: Any) -> dict[str, Any]:
    body = ok(idm.start({"_key": key, **variables}), 201)
    assert body["_id"] == body["processInstanceId"]
    return body


def tasks(idm: Idm, **params: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    body = ok(idm.request("GET", f"{TI}?_queryId=filtered-query&{query}"))
    assert body["resultCount"] == len(body["result"])
    return body["result"]


def task_ids(idm: Idm, **params: str) -> set[str]:
    return {t["_id"] for t in tasks(idm, **params)}


def only_task(idm: Idm, instance_id: str) -> dict[str, Any]:
    [task] = tasks(idm, processInstanceId=instance_id)
    return task


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {t["taskDefinitionKey"]: t for t in items}


def claim(idm: Idm, task_id: str, user: str = ADMIN) -> None:
    response = idm.request("POST", f"{TI}/{task_id}?_action=claim", json={"userId": user})
    assert ok(response) == {"Task action performed": "claim"}


def complete(idm: Idm, task_id: str, body: dict[str, Any]) -> None:
    response = idm.request("POST", f"{TI}/{task_id}?_action=complete", json=body)
    assert ok(response) == {"Task action performed": "complete"}


def read_task(idm: Idm, task_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{TI}/{task_id}"))


def history(idm: Idm, instance_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{PI}/history/{instance_id}"))


def task_history(idm: Idm, instance_id: str) -> list[dict[str, Any]]:
    body = ok(idm.request(
        "GET", f"{TI}/history?_queryId=filtered-query&processInstanceId={instance_id}"))
    return body["result"]


def running_ids(idm: Idm) -> set[str]:
    return {i["_id"] for i in ok(idm.request("GET", f"{PI}?_queryId=query-all-ids"))["result"]}


def executions(idm: Idm, instance_id: str) -> list[dict[str, Any]]:
    items = ok(idm.request("GET", f"{EX}?_queryFilter=true"))["result"]
    return [e for e in items if e["processInstanceId"] == instance_id]


def waiting_at(idm: Idm, instance_id: str) -> set[str]:
    return {e["activityId"] for e in executions(idm, instance_id)}


def execution_at(idm: Idm, instance_id: str, activity_id: str) -> str:
    [found] = [e["_id"] for e in executions(idm, instance_id) if e["activityId"] == activity_id]
    return found


def act(idm: Idm, action: str, body: dict[str, Any]) -> Any:
    return idm.request("POST", f"{EX}?_action={action}", json=body)


def assert_ended(idm: Idm, instance_id: str, end_activity: str,
                 completed: list[str]) -> dict[str, Any]:
    """The instance has ended at `end_activity` with exactly the tasks `completed` (task
    definition keys) completed; it is gone from the running view."""
    body = history(idm, instance_id)
    assert body["endActivityId"] == end_activity
    assert body["endTime"] is not None
    assert isinstance(body["durationInMillis"], int)
    assert body["durationInMillis"] >= 0
    assert body["deleteReason"] is None
    assert instance_id not in running_ids(idm)
    finished = ok(idm.request("GET", f"{PI}/history?_queryId=filtered-query&finished=true"
                                     f"&processInstanceId={instance_id}"))["result"]
    assert [i["endActivityId"] for i in finished] == [end_activity]
    assert tasks(idm, processInstanceId=instance_id) == []
    assert executions(idm, instance_id) == []
    done = task_history(idm, instance_id)
    assert sorted(t["taskDefinitionKey"] for t in done) == sorted(completed)
    for task in done:
        assert task["deleteReason"] is None  # Flowable records no reason for completion
        assert task["endTime"] is not None
        assert task["durationInMillis"] >= 0
    assert sorted(t["_id"] for t in body["tasks"]) == sorted(t["_id"] for t in done)
    return body


# contractorOnboarding --------------------------------------------------------------------------


def test_contractor_onboarding_starts_version_2_by_key(idm):
    created = start(idm, "contractorOnboarding", _businessKey="c-1", contractorName="Ann")
    assert created["processDefinitionId"] == definition_id(idm, "contractorOnboarding", 2)
    assert created["status"] == "suspended"
    assert created["businessKey"] == "c-1"
    task = only_task(idm, created["_id"])
    assert task["taskDefinitionKey"] == "managerApproval"
    assert task["name"] == "Approve the contractor"
    assert task["description"] == "Check the contract and the start date."
    assert task["assignee"] is None
    # Both candidate groups of the task find it; so does the comma list; other groups do not.
    assert task["_id"] in task_ids(idm, taskCandidateGroup=ADMIN_ROLE)
    assert task["_id"] in task_ids(idm, taskCandidateGroup="managers")
    assert task["_id"] in task_ids(idm, taskCandidateGroup="hr,managers")
    assert task["_id"] not in task_ids(idm, taskCandidateGroup="hr")
    assert task["_id"] not in task_ids(idm, taskCandidateUser="nobody")


def test_contractor_onboarding_approved_goes_to_hr_and_ends_onboarded(idm):
    instance = start(idm, "contractorOnboarding", contractorName="Ann",
                     startDate="01/02/2027")["_id"]
    [approval] = tasks(idm, processInstanceId=instance, taskCandidateGroup="managers")
    claim(idm, approval["_id"])
    assert read_task(idm, approval["_id"])["assignee"] == ADMIN
    # A claimed task leaves the candidate views and shows under its assignee.
    assert approval["_id"] not in task_ids(idm, taskCandidateGroup="managers")
    assert approval["_id"] in task_ids(idm, assignee=ADMIN)

    complete(idm, approval["_id"], {"decision": "approve", "accountName": "ann.c"})

    hr = only_task(idm, instance)
    assert hr["taskDefinitionKey"] == "hrSetup"
    assert hr["name"] == "Prepare the contractor's account"
    assert hr["assignee"] is None
    assert hr["_id"] in task_ids(idm, taskCandidateGroup="hr")
    assert hr["_id"] not in task_ids(idm, taskCandidateGroup="managers")
    read = read_task(idm, hr["_id"])
    assert read["candidates"] == {"candidateUsers": [], "candidateGroups": ["hr"]}
    # The form shows the value set when the earlier task was completed.
    assert read["formProperties"] == [{"accountName": "ann.c"}]
    assert read["variables"] == {"contractorName": "Ann", "startDate": "01/02/2027",
                                 "decision": "approve", "accountName": "ann.c"}
    running = history(idm, instance)
    assert running["endTime"] is None and running["endActivityId"] is None
    assert instance in running_ids(idm)
    assert waiting_at(idm, instance) == {"hrSetup"}

    claim(idm, hr["_id"])
    complete(idm, hr["_id"], {})
    assert_ended(idm, instance, "contractorOnboarded", ["managerApproval", "hrSetup"])


def test_contractor_onboarding_rejected_ends_rejected(idm):
    instance = start(idm, "contractorOnboarding", contractorName="Bob")["_id"]
    [approval] = tasks(idm, processInstanceId=instance, taskCandidateGroup=ADMIN_ROLE)
    claim(idm, approval["_id"])
    complete(idm, approval["_id"], {"decision": "reject", "comment": "no budget"})
    ended = assert_ended(idm, instance, "contractorRejected", ["managerApproval"])
    assert ended["tasks"][0]["assignee"] == ADMIN
    assert ended["tasks"][0]["claimTime"] is not None


def test_contractor_onboarding_version_1_still_runs_by_definition_id(idm):
    first = definition_id(idm, "contractorOnboarding", 1)
    created = ok(idm.start({"_processDefinitionId": first, "contractorName": "Cy"}), 201)
    assert created["processDefinitionId"] == first
    task = only_task(idm, created["_id"])
    assert read_task(idm, task["_id"])["candidates"]["candidateGroups"] == [ADMIN_ROLE]
    assert task["_id"] not in task_ids(idm, taskCandidateGroup="managers")  # v2's group only
    complete(idm, task["_id"], {"decision": "reject"})  # version 1 has no gateway
    assert_ended(idm, created["_id"], "end", ["managerApproval"])


def test_gateway_on_a_missing_variable_fails_and_rolls_back(idm):
    instance = start(idm, "contractorOnboarding", contractorName="Dee")["_id"]
    approval = only_task(idm, instance)
    claim(idm, approval["_id"])
    before = read_task(idm, approval["_id"])

    response = idm.request("POST", f"{TI}/{approval['_id']}?_action=complete",
                           json={"comment": "forgot the decision"})
    assert_error(response, 500, MISSING_DECISION)

    # Nothing of the failed command is left: the task is active and unchanged (the comment
    # was not stored), the token still waits in it, no HR task, nothing ended.
    assert read_task(idm, approval["_id"]) == before
    assert only_task(idm, instance)["_id"] == approval["_id"]
    assert waiting_at(idm, instance) == {"managerApproval"}
    assert instance in running_ids(idm)
    after = history(idm, instance)
    assert after["endTime"] is None and after["endActivityId"] is None
    [record] = task_history(idm, instance)
    assert record["endTime"] is None and record["deleteReason"] is None

    # With the decision the same task completes normally.
    complete(idm, approval["_id"], {"decision": "reject"})
    assert_ended(idm, instance, "contractorRejected", ["managerApproval"])


# roleRequest ---------------------------------------------------------------------------------


def test_role_request_creates_both_reviews_at_once(idm):
    instance = start(idm, "roleRequest", role="auditor", justification="audit")["_id"]
    reviews = by_key(tasks(idm, processInstanceId=instance))
    assert set(reviews) == {"securityReview", "managerReview"}
    security, manager = reviews["securityReview"], reviews["managerReview"]
    assert security["executionId"] != manager["executionId"]
    assert waiting_at(idm, instance) == {"securityReview", "managerReview"}

    assert security["_id"] in task_ids(idm, taskCandidateGroup="security")
    assert security["_id"] in task_ids(idm, taskCandidateGroup=ADMIN_ROLE)
    assert manager["_id"] in task_ids(idm, taskCandidateGroup="managers")
    assert manager["_id"] not in task_ids(idm, taskCandidateGroup="security")
    assert manager["_id"] in task_ids(idm, taskCandidateUser=ADMIN)
    assert task_ids(idm, processInstanceId=instance, taskCandidateUser="nobody") == set()
    assert task_ids(idm, processInstanceId=instance, taskCandidateGroup="security,managers") == {
        security["_id"], manager["_id"]}
    assert read_task(idm, manager["_id"])["candidates"] == {
        "candidateUsers": [ADMIN], "candidateGroups": ["managers"]}


def test_role_request_one_review_leaves_it_waiting_at_the_join(idm):
    instance = start(idm, "roleRequest", role="auditor")["_id"]
    reviews = by_key(tasks(idm, processInstanceId=instance))
    claim(idm, reviews["securityReview"]["_id"])
    complete(idm, reviews["securityReview"]["_id"], {"securityDecision": "approve"})

    assert [t["_id"] for t in tasks(idm, processInstanceId=instance)] == [
        reviews["managerReview"]["_id"]]
    assert waiting_at(idm, instance) == {"managerReview", "reviewsDone"}
    assert instance in running_ids(idm)
    running = history(idm, instance)
    assert running["endTime"] is None and running["endActivityId"] is None
    done = {t["taskDefinitionKey"]: t for t in task_history(idm, instance)}
    assert done["securityReview"]["deleteReason"] is None
    assert done["managerReview"]["endTime"] is None
    # The manager's form sees the security decision only as a variable, not as its own field.
    read = read_task(idm, reviews["managerReview"]["_id"])
    assert read["formProperties"] == [{"managerDecision": None}]
    assert read["variables"] == {"role": "auditor", "securityDecision": "approve"}


@pytest.mark.parametrize(("security", "manager", "first", "end"), [
    ("approve", "approve", "securityReview", "roleGranted"),
    ("approve", "approve", "managerReview", "roleGranted"),
    ("approve", "reject", "securityReview", "roleDenied"),
    ("reject", "approve", "managerReview", "roleDenied"),
    ("reject", "reject", "securityReview", "roleDenied"),
])
def test_role_request_is_granted_only_if_both_approve(idm, security, manager, first, end):
    instance = start(idm, "roleRequest", role="auditor", requester="ann")["_id"]
    reviews = by_key(tasks(idm, processInstanceId=instance))
    decisions = {"securityReview": {"securityDecision": security},
                 "managerReview": {"managerDecision": manager}}
    second = next(k for k in decisions if k != first)
    complete(idm, reviews[first]["_id"], decisions[first])
    assert history(idm, instance)["endTime"] is None  # the outcome needs both
    complete(idm, reviews[second]["_id"], decisions[second])
    # The script task `grantRole` runs nothing in the mock: the token passes through it.
    assert_ended(idm, instance, end, ["securityReview", "managerReview"])


def test_role_request_outcome_on_a_missing_decision_fails_and_rolls_back_the_join(idm):
    instance = start(idm, "roleRequest", role="auditor")["_id"]
    reviews = by_key(tasks(idm, processInstanceId=instance))
    complete(idm, reviews["securityReview"]["_id"], {"securityDecision": "approve"})
    before = read_task(idm, reviews["managerReview"]["_id"])

    response = idm.request("POST", f"{TI}/{reviews['managerReview']['_id']}?_action=complete",
                           json={"note": "no decision"})
    assert_error(response, 500, "Unknown property used in expression: ${securityDecision == "
                                "&#39;approve&#39; &amp;&amp; managerDecision == "
                                "&#39;approve&#39;}")
    # Both branches are as they were: one token at the join, one in the manager's task.
    assert waiting_at(idm, instance) == {"managerReview", "reviewsDone"}
    assert read_task(idm, reviews["managerReview"]["_id"]) == before
    assert history(idm, instance)["endTime"] is None

    complete(idm, reviews["managerReview"]["_id"], {"managerDecision": "approve"})
    assert_ended(idm, instance, "roleGranted", ["securityReview", "managerReview"])


def test_role_request_rejected_by_security_needs_no_manager_decision(idm):
    # `&&` stops at a false left side, so the missing managerDecision is never looked up.
    instance = start(idm, "roleRequest", role="auditor")["_id"]
    reviews = by_key(tasks(idm, processInstanceId=instance))
    complete(idm, reviews["securityReview"]["_id"], {"securityDecision": "reject"})
    complete(idm, reviews["managerReview"]["_id"], {})
    assert_ended(idm, instance, "roleDenied", ["securityReview", "managerReview"])


# accountActivation ---------------------------------------------------------------------------


def test_account_activation_waits_for_its_message_then_welcomes(idm):
    created = start(idm, "accountActivation", email="ann@example.com")
    instance = created["_id"]
    assert created["status"] == "suspended"
    assert tasks(idm, processInstanceId=instance) == []
    execution = execution_at(idm, instance, "waitForConfirmation")
    filtered = ok(idm.request("GET", f"{EX}?_queryId=filtered-query&activityId="
                                     f"waitForConfirmation&processInstanceId={instance}"))
    assert [e["_id"] for e in filtered["result"]] == [execution]

    response = act(idm, "message", {"messageName": "activationConfirmed",
                                    "executionId": execution,
                                    "processVariables": {"confirmedBy": "ann"}})
    assert ok(response) == {"Execution action performed": "message"}

    welcome = only_task(idm, instance)
    assert welcome["taskDefinitionKey"] == "welcome"
    assert welcome["assignee"] == ADMIN
    assert welcome["_id"] in task_ids(idm, assignee=ADMIN)
    assert welcome["_id"] not in task_ids(idm, taskCandidateUser=ADMIN)  # assigned, no candidates
    read = read_task(idm, welcome["_id"])
    assert read["variables"] == {"email": "ann@example.com", "confirmedBy": "ann"}
    assert read["candidates"] == {"candidateUsers": [], "candidateGroups": []}
    assert waiting_at(idm, instance) == {"welcome"}

    complete(idm, welcome["_id"], {})
    assert_ended(idm, instance, "activated", ["welcome"])


def test_account_activation_refuses_a_wrong_message_name(idm):
    instance = start(idm, "accountActivation")["_id"]
    execution = execution_at(idm, instance, "waitForConfirmation")
    response = act(idm, "message", {"messageName": "activationCancelled",
                                    "executionId": execution})
    assert_error(response, 500, f"Execution with id &#39;{execution}&#39; does not have a "
                                "subscription to a message event with name "
                                "&#39;activationCancelled&#39;")
    assert waiting_at(idm, instance) == {"waitForConfirmation"}
    assert tasks(idm, processInstanceId=instance) == []


def test_account_activation_refuses_a_signal_where_it_waits_for_a_message(idm):
    instance = start(idm, "accountActivation")["_id"]
    execution = execution_at(idm, instance, "waitForConfirmation")
    response = act(idm, "signal", {"signalName": "activationConfirmed",
                                   "executionId": execution})
    assert_error(response, 500, f"Execution &#39;{execution}&#39; has not subscribed to a "
                                "signal event with name &#39;activationConfirmed&#39;.")
    assert waiting_at(idm, instance) == {"waitForConfirmation"}
    assert tasks(idm, processInstanceId=instance) == []


def test_account_activation_user_task_cannot_be_triggered_or_messaged(idm):
    instance = start(idm, "accountActivation")["_id"]
    execution = execution_at(idm, instance, "waitForConfirmation")
    ok(act(idm, "message", {"messageName": "activationConfirmed", "executionId": execution}))
    welcome = only_task(idm, instance)
    at_task = execution_at(idm, instance, "welcome")

    assert_error(act(idm, "trigger", {"executionId": at_task}), 500,
                 "UserTask should not be signalled before complete")
    assert_error(act(idm, "message", {"messageName": "activationConfirmed",
                                      "executionId": at_task}), 500,
                 f"Execution with id &#39;{at_task}&#39; does not have a subscription to a "
                 "message event with name &#39;activationConfirmed&#39;")
    # The message was consumed: the task is still there and still the only wait.
    assert only_task(idm, instance)["_id"] == welcome["_id"]
    assert waiting_at(idm, instance) == {"welcome"}


def test_account_activation_message_wait_can_be_triggered(idm):
    # Flowable's message catch event is triggerable: `trigger` moves the token on as the
    # message would (IntermediateCatchMessageEventActivityBehavior.trigger).
    instance = start(idm, "accountActivation")["_id"]
    execution = execution_at(idm, instance, "waitForConfirmation")
    assert ok(act(idm, "trigger", {"executionId": execution})) == {
        "Execution action performed": "trigger"}
    assert only_task(idm, instance)["taskDefinitionKey"] == "welcome"
    assert waiting_at(idm, instance) == {"welcome"}


# definitions and task definitions --------------------------------------------------------------


def _form(pid: str, name: str, kind: str = "string", *, required: bool = False,
          pattern: str | None = None, default: str | None = None) -> dict[str, Any]:
    return {"_id": pid, "name": name, "defaultExpression": default, "variableExpression": None,
            "variableName": None, "type": {"name": kind, "values": None, "datePattern": pattern},
            "readable": True, "required": required, "writable": True}


CONTRACTOR_NAME = _form("contractorName", "Contractor name", required=True)
START_DATE = _form("startDate", "Start date", "date", pattern="dd/MM/yyyy")


@pytest.mark.parametrize(("key", "version", "expected"), [
    ("contractorOnboarding", 1, [CONTRACTOR_NAME, START_DATE]),
    ("contractorOnboarding", 2, [CONTRACTOR_NAME, START_DATE,
                                 _form("department", "Department", default="Engineering")]),
    ("roleRequest", 1, [_form("role", "Role", required=True), _form("justification", "Why")]),
    ("accountActivation", 1, []),
])
def test_definition_read_shows_the_start_form(idm, key, version, expected):
    definition = definition_id(idm, key, version)
    body = ok(idm.request("GET", f"{PD}/{definition}"))
    assert body["_id"] == definition
    assert body["key"] == key and body["version"] == version
    assert body["formProperties"] == expected
    # The raw handlers carry `id`, not `_id` (IDM's UI reads both).
    handlers = body["startFormHandler"]["formPropertyHandlers"]
    assert [{("_id" if k == "id" else k): v for k, v in h.items()} for h in handlers] == expected
    assert body["hasStartFormKey"] is False
    assert "formGenerationTemplate" not in body
    assert body["resourceName"].endswith(".bpmn20.xml")
    assert body["category"] == "https://mockidm.dev/samples"


def test_query_definitions_lists_every_sample_version_without_forms(idm):
    items = ok(idm.request("GET", f"{PD}?_queryId=query-all-ids"))["result"]
    assert sorted((d["key"], d["version"]) for d in items) == [
        ("accountActivation", 1), ("contractorOnboarding", 1), ("contractorOnboarding", 2),
        ("roleRequest", 1)]
    assert all("formProperties" not in d for d in items)


def _expressions(*texts: str) -> list[dict[str, str]]:
    return [{"expressionText": text} for text in texts]


@pytest.mark.parametrize(("key", "version", "expected"), [
    ("contractorOnboarding", 1, {"managerApproval": ([ADMIN_ROLE], [], None)}),
    ("contractorOnboarding", 2, {"managerApproval": ([ADMIN_ROLE, "managers"], [], None),
                                 "hrSetup": (["hr"], [], None)}),
    ("roleRequest", 1, {"securityReview": ([ADMIN_ROLE, "security"], [], None),
                        "managerReview": (["managers"], [ADMIN], None)}),
    ("accountActivation", 1, {"welcome": ([], [], ADMIN)}),
])
def test_task_definitions_show_candidates_as_expressions(idm, key, version, expected):
    definition = definition_id(idm, key, version)
    items = ok(idm.request("GET", f"{PD}/{definition}/taskdefinition?_queryId=query-all-ids"))
    found = {t["_id"]: t for t in items["result"]}
    assert set(found) == set(expected)  # user tasks only: no gateways, events, script tasks
    for task_key, (groups, users, assignee) in expected.items():
        for body in (found[task_key],
                     ok(idm.request("GET", f"{PD}/{definition}/taskdefinition/{task_key}"))):
            assert body["_id"] == task_key
            assert body["taskCandidateGroup"] == _expressions(*groups)
            assert body["taskCandidateUser"] == _expressions(*users)
            assert body["assignee"] == (None if assignee is None else _expressions(assignee)[0])
            assert body["formResourceKey"] is None


def test_task_definition_shows_the_task_form(idm):
    definition = definition_id(idm, "contractorOnboarding", 2)
    body = ok(idm.request("GET", f"{PD}/{definition}/taskdefinition/managerApproval"))
    assert body["name"] == {"expressionText": "Approve the contractor"}
    handlers = body["formProperties"]["formPropertyHandlers"]
    assert [(h["_id"], h["name"], h["type"], h["required"]) for h in handlers] == [
        ("decision", "Decision", DECISION, True),
        ("comment", "Comment", {"name": "string", "values": None, "datePattern": None}, False)]
    hr = ok(idm.request("GET", f"{PD}/{definition}/taskdefinition/hrSetup"))
    assert [(h["_id"], h["required"]) for h in hr["formProperties"]["formPropertyHandlers"]] == [
        ("accountName", True)]


@pytest.mark.parametrize(("key", "activity"), [
    ("roleRequest", "grantRole"), ("roleRequest", "reviews"), ("roleRequest", "nope"),
    ("accountActivation", "waitForConfirmation"), ("accountActivation", "sendActivationMail"),
])
def test_task_definition_read_of_something_else_is_404(idm, key, activity):
    definition = definition_id(idm, key, 1)
    response = idm.request("GET", f"{PD}/{definition}/taskdefinition/{activity}")
    assert_error(response, 404, f"Task definition for {activity} was not found")


def test_task_read_before_and_after_a_decision(idm):
    instance = start(idm, "contractorOnboarding", contractorName="Eve")["_id"]
    approval = only_task(idm, instance)
    read = read_task(idm, approval["_id"])
    assert read["formProperties"] == [{"decision": None}, {"comment": None}]
    assert read["variables"] == {"contractorName": "Eve"}
    assert read["candidates"] == {"candidateUsers": [],
                                  "candidateGroups": [ADMIN_ROLE, "managers"]}
    assert read["assignee"] is None
    # A PUT that only changes the assignee leaves the form and the variables alone.
    response = idm.request("PUT", f"{TI}/{approval['_id']}", headers={"If-Match": "*"},
                           json={"assignee": "someone"})
    assert ok(response) == {"_id": approval["_id"], "Task updated": approval["_id"]}
    again = read_task(idm, approval["_id"])
    assert again["assignee"] == "someone"
    assert again["formProperties"] == read["formProperties"]
    assert again["variables"] == read["variables"]
