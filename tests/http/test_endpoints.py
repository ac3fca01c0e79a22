"""IDM's script endpoints for the workflow UIs: `endpoint/getprocessesforuser` and
`endpoint/gettasksview` (reference 3.1-3.3), over HTTP against the BPMN samples.

Users and process-access rules are set on the mock's identity through its server loop, as
tests/http/test_auth.py does.
"""

from __future__ import annotations

from typing import Any

import pytest
from idm_client import Idm, ok

from mockidm.http.app import STATE
from mockidm.identity import ProcessAccessRule, User
from mockidm.samples import deploy_samples

PROCESSES = "endpoint/getprocessesforuser"
VIEW = "endpoint/gettasksview"
VIEW_QUERY = f"{VIEW}?_queryId=gettasksview"
DEFINITIONS = deploy_samples  # conftest's `idm` and `idm65` deploy the BPMN samples
PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ADMIN = "openidm-admin"
ADMIN_ROLE = "internal/role/openidm-admin"
FORBIDDEN = {"code": 403, "reason": "Forbidden", "message": "Access denied"}
NO_SESSION = {"X-OpenIDM-NoSession": "true"}
# The fields gettasksview adds to each task read.
VIEW_EXTRAS = ("businessKey", "startTime", "startUserId", "startUserDisplayable",
               "processDefinitionId", "taskDefinition", "usersToAssign")


# helpers ---------------------------------------------------------------------------------------



def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert {k: body[k] for k in ("code", "reason", "message")} == FORBIDDEN


def identity(idm: Idm) -> Any:
    return idm.server.app[STATE].identity


def add_user(idm: Idm, name: str, roles: list[str]) -> None:
    """A user through the identity's own rules (bare role names get the profile's prefix)."""
    idm.server.call(lambda: identity(idm).add_user(name, "pw", roles))


def put_user(idm: Idm, name: str, roles: tuple[str, ...]) -> None:
    """A user with exactly these role names, e.g. a group name used as is by a BPMN file."""
    idm.server.call(lambda: identity(idm).users.__setitem__(name, User(name, "pw", roles)))


def set_process_access(idm: Idm, rules: list[ProcessAccessRule]) -> None:
    idm.server.call(lambda: setattr(identity(idm), "process_access", rules))


def as_user(idm: Idm, name: str, method: str, path: str, **kwargs: Any) -> Any:
    headers = {"X-OpenIDM-Username": name, "X-OpenIDM-Password": "pw", **NO_SESSION,
               **kwargs.pop("headers", {})}
    return idm.request(method, path, headers=headers, auth=False, **kwargs)


def processes(response: Any) -> list[tuple[str, int]]:
    body = ok(response)
    assert list(body) == ["processes"]
    return [(d["key"], d["version"]) for d in body["processes"]]


def start(idm: Idm, key: str, **variables: Any) -> str:
    return ok(idm.start({"_key": key, **variables}), 201)["_id"]


def tasks_of(idm: Idm, instance_id: str) -> dict[str, str]:
    """Task definition key -> task id, for the active tasks of an instance."""
    body = ok(idm.request("GET", f"{TI}?_queryId=filtered-query&processInstanceId={instance_id}"))
    return {t["taskDefinitionKey"]: t["_id"] for t in body["result"]}


def act(idm: Idm, task_id: str, action: str, body: dict[str, Any]) -> None:
    ok(idm.request("POST", f"{TI}/{task_id}?_action={action}", json=body))


def view(response: Any) -> dict[str, Any]:
    """The one item of a gettasksview answer: task id -> {name, tasks}."""
    body = ok(response)
    assert body["resultCount"] == 1
    [item] = body["result"]
    return item


def view_ids(response: Any) -> set[str]:
    return set(view(response))


@pytest.fixture
def work(idm: Idm) -> dict[str, str]:
    """One waiting task of every kind: candidate groups, a candidate user, a group the admin
    is not in (hr), and a task assigned to the admin by its definition (welcome)."""
    onboarding = start(idm, "contractorOnboarding", _businessKey="c-1", contractorName="Ann")
    hr_instance = start(idm, "contractorOnboarding", contractorName="Bea")
    act(idm, tasks_of(idm, hr_instance)["managerApproval"], "complete", {"decision": "approve"})
    role = start(idm, "roleRequest", _businessKey="r-1", role="auditor")
    activation = start(idm, "accountActivation")
    executions = ok(idm.request("GET", "workflow/execution?_queryFilter=true"))["result"]
    [waiting] = [e["_id"] for e in executions if e["processInstanceId"] == activation]
    ok(idm.request("POST", "workflow/execution?_action=message",
                   json={"messageName": "activationConfirmed", "executionId": waiting}))
    return {"onboarding": onboarding, "role": role,
            "managerApproval": tasks_of(idm, onboarding)["managerApproval"],
            "hrSetup": tasks_of(idm, hr_instance)["hrSetup"],
            **tasks_of(idm, role),
            "welcome": tasks_of(idm, activation)["welcome"]}


# getprocessesforuser ---------------------------------------------------------------------------


def test_processes_for_admin_are_the_latest_versions_sorted_by_name(idm):
    assert processes(idm.request("GET", PROCESSES)) == [
        ("accountActivation", 1), ("contractorOnboarding", 2), ("roleRequest", 1)]
    body = ok(idm.request("GET", PROCESSES))
    assert [d["name"] for d in body["processes"]] == [
        "Account activation", "Contractor onboarding", "Role request"]
    item = body["processes"][1]
    assert item["_id"].startswith("contractorOnboarding:2:")
    assert "formProperties" not in item  # query items, not reads


def test_processes_follow_a_new_version(idm):
    bpmn = """<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
      targetNamespace="t"><process id="roleRequest" name="A role request">
      <startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/>
      </process></definitions>"""
    idm.server.call(lambda: idm.engine.deploy_bpmn(bpmn, "role.bpmn20.xml"))
    # The new version of roleRequest replaces the old one, and its new name sorts it first.
    assert processes(idm.request("GET", PROCESSES)) == [
        ("roleRequest", 2), ("accountActivation", 1), ("contractorOnboarding", 2)]


def test_processes_in_6_5_list_every_version(idm65):
    found = processes(idm65.request("GET", PROCESSES))
    assert sorted(found) == [("accountActivation", 1), ("contractorOnboarding", 1),
                             ("contractorOnboarding", 2), ("roleRequest", 1)]


def test_processes_in_6_5_keep_the_order_of_query_all_ids(idm65):
    # IDM <= 6: every definition of `query-all-ids`, filtered by process-access; only IDM 7
    # keeps the latest versions and sorts them by name.
    every = ok(idm65.request("GET", f"{PD}?_queryId=query-all-ids"))["result"]
    assert ok(idm65.request("GET", PROCESSES))["processes"] == every


def test_processes_for_an_authorized_user_with_the_default_rules(idm):
    add_user(idm, "bob", ["openidm-authorized"])
    assert processes(as_user(idm, "bob", "GET", PROCESSES)) == processes(
        idm.request("GET", PROCESSES))


@pytest.mark.parametrize(("roles", "expected"), [
    (["openidm-authorized", "employee"], [("roleRequest", 1)]),
    (["openidm-authorized", "manager"], [("contractorOnboarding", 2)]),
    (["openidm-authorized", "employee", "manager"],
     [("contractorOnboarding", 2), ("roleRequest", 1)]),
    (["openidm-authorized"], []),
])
def test_processes_for_a_user_follow_process_access(idm, roles, expected):
    set_process_access(idm, [
        # `matches` is unanchored (String.prototype.match): "Role" matches "Role request".
        ProcessAccessRule("name", "Role", "employee"),
        ProcessAccessRule("_id", "^contractorOnboarding:", "internal/role/manager"),
    ])
    add_user(idm, "bob", roles)
    assert processes(as_user(idm, "bob", "GET", PROCESSES)) == expected


def test_processes_for_a_user_decide_what_they_may_start(idm):
    set_process_access(idm, [ProcessAccessRule("key", "^roleRequest$", "employee")])
    add_user(idm, "bob", ["openidm-authorized", "employee"])
    allowed = as_user(idm, "bob", "POST", f"{PI}?_action=create",
                      json={"_key": "roleRequest", "role": "auditor"})
    assert allowed.status_code == 201, allowed.text
    assert_forbidden(as_user(idm, "bob", "POST", f"{PI}?_action=create",
                             json={"_key": "contractorOnboarding"}))


@pytest.mark.parametrize(("method", "path"), [
    ("POST", f"{PROCESSES}?_action=create"),
    ("POST", f"{PROCESSES}?_action=run"),
    ("DELETE", PROCESSES),
    ("PUT", PROCESSES),  # with If-Match: an update (without, a create of `endpoint/...`)
    ("GET", f"{PROCESSES}?_queryId=query-all-ids"),
])
def test_processes_only_answers_reads(idm, method, path):
    add_user(idm, "bob", ["openidm-authorized"])
    headers = {"If-Match": "*"} if method == "PUT" else {}
    assert_forbidden(idm.request(method, path, json={}, headers=headers))
    assert_forbidden(as_user(idm, "bob", method, path, json={}, headers=headers))


def test_processes_refuse_a_user_without_openidm_authorized(idm):
    response = idm.request("GET", PROCESSES, headers={
        "X-OpenIDM-Username": "anonymous", "X-OpenIDM-Password": "anonymous"}, auth=False)
    assert_forbidden(response)


# gettasksview ----------------------------------------------------------------------------------


def test_tasks_view_lists_candidate_tasks_by_user_and_by_role(idm, work):
    found = view_ids(idm.request("GET", f"{VIEW_QUERY}&userId={ADMIN}"))
    # managerApproval and securityReview by the admin role, managerReview as candidate user;
    # not hrSetup (group hr), not welcome (already assigned).
    assert found == {work["managerApproval"], work["securityReview"], work["managerReview"]}


def test_tasks_view_entries_are_task_reads_with_process_details(idm, work):
    entries = view(idm.request("GET", f"{VIEW_QUERY}&userId={ADMIN}"))
    entry = entries[work["managerReview"]]
    assert entry["name"] == "Manager review"
    [task] = entry["tasks"]
    assert task["_id"] == work["managerReview"]
    assert task["taskDefinitionKey"] == "managerReview"
    for key in VIEW_EXTRAS:
        assert key in task, key
    instance = ok(idm.request("GET", f"{PI}/{work['role']}"))
    assert task["businessKey"] == "r-1"
    assert task["startTime"] == instance["startTime"]
    assert task["startUserId"] == ADMIN
    assert isinstance(task["startUserDisplayable"], str) and task["startUserDisplayable"]
    assert task["processDefinitionId"] == instance["processDefinitionId"]
    assert task["taskDefinition"]["_id"] == "managerReview"
    assert task["taskDefinition"]["taskCandidateUser"] == [{"expressionText": ADMIN}]
    assert task["taskDefinition"]["taskCandidateGroup"] == [{"expressionText": "managers"}]
    assert isinstance(task["usersToAssign"], dict)
    # Everything a task read has is there too.
    read = ok(idm.request("GET", f"{TI}/{work['managerReview']}"))
    assert {k: task[k] for k in read} == read
    assert task["formProperties"] == [{"managerDecision": None}]
    assert task["variables"] == {"role": "auditor"}
    assert task["candidates"] == {"candidateUsers": [ADMIN], "candidateGroups": ["managers"]}


def test_tasks_view_by_assignee(idm, work):
    act(idm, work["managerApproval"], "claim", {"userId": ADMIN})
    assigned = view(idm.request("GET", f"{VIEW_QUERY}&userId={ADMIN}&viewType=assignee"))
    assert set(assigned) == {work["managerApproval"], work["welcome"]}
    assert assigned[work["welcome"]]["name"] == "Welcome the new user"
    assert assigned[work["managerApproval"]]["tasks"][0]["assignee"] == ADMIN
    assert assigned[work["managerApproval"]]["tasks"][0]["businessKey"] == "c-1"
    # A claimed task is no longer offered as a candidate task.
    candidates = view_ids(idm.request("GET", f"{VIEW_QUERY}&userId={ADMIN}"))
    assert candidates == {work["securityReview"], work["managerReview"]}


def test_tasks_view_is_empty_for_a_user_with_nothing_to_do(idm, work):
    add_user(idm, "bob", ["openidm-authorized"])
    assert view(as_user(idm, "bob", "GET", f"{VIEW_QUERY}&userId=bob")) == {}
    assert view(as_user(idm, "bob", "GET", f"{VIEW_QUERY}&userId=bob&viewType=assignee")) == {}


def test_tasks_view_for_a_user_by_their_roles(idm, work):
    # Role names as the BPMN samples name their groups.
    put_user(idm, "hanna", ("internal/role/openidm-authorized", "hr"))
    put_user(idm, "mike", ("internal/role/openidm-authorized", "managers"))
    assert view_ids(as_user(idm, "hanna", "GET", f"{VIEW_QUERY}&userId=hanna")) == {
        work["hrSetup"]}
    assert view_ids(as_user(idm, "mike", "GET", f"{VIEW_QUERY}&userId=mike")) == {
        work["managerApproval"], work["managerReview"]}
    # Once claimed by mike it moves to his assignee view.
    act(idm, work["managerReview"], "claim", {"userId": "mike"})
    assert view_ids(as_user(idm, "mike", "GET", f"{VIEW_QUERY}&userId=mike")) == {
        work["managerApproval"]}
    assert view_ids(as_user(idm, "mike", "GET",
                            f"{VIEW_QUERY}&userId=mike&viewType=assignee")) == {
        work["managerReview"]}


def test_tasks_view_in_6_5_matches_bare_role_names(idm65):
    instance = start(idm65, "roleRequest", role="auditor")
    ids = tasks_of(idm65, instance)
    add_user(idm65, "sam", ["openidm-authorized", "security"])
    assert view_ids(as_user(idm65, "sam", "GET", f"{VIEW_QUERY}&userId=sam")) == {
        ids["securityReview"]}
    # The 6.5 admin role is `openidm-admin`, not the samples' `internal/role/openidm-admin`:
    # the admin is offered only the task naming it as a candidate user.
    assert view_ids(idm65.request("GET", f"{VIEW_QUERY}&userId={ADMIN}")) == {
        ids["managerReview"]}


def test_tasks_view_refuses_another_query_id(idm):
    response = idm.request("GET", f"{VIEW}?_queryId=query-all-ids&userId={ADMIN}")
    assert response.status_code == 400, response.text
    assert response.json() == {"code": 400, "reason": "Bad Request",
                               "message": "Unknown query-id"}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", f"{VIEW}?userId={ADMIN}"),  # a read
    ("GET", VIEW),
    ("POST", f"{VIEW}?_action=gettasksview"),
    ("POST", f"{VIEW}?_action=create"),
    ("DELETE", VIEW),
])
def test_tasks_view_only_answers_queries(idm, method, path):
    add_user(idm, "bob", ["openidm-authorized"])
    assert_forbidden(idm.request(method, path, json={}))
    assert_forbidden(as_user(idm, "bob", method, path, json={}))


def test_tasks_view_refuses_a_user_without_openidm_authorized(idm):
    response = idm.request("GET", f"{VIEW_QUERY}&userId=anonymous", headers={
        "X-OpenIDM-Username": "anonymous", "X-OpenIDM-Password": "anonymous"}, auth=False)
    assert_forbidden(response)
