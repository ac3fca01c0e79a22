"""The Wren:IDM profile (`wren`, issue 22 item 3), over HTTP: each difference from PingIDM 8.1
that Wren:IDM's own Flowable port makes, tested against the Wren source it comes from
(WrenSecurity/wrenidm `wrenidm-workflow-flowable/src/main/java/org/wrensecurity/wrenidm/
workflow/flowable/impl/resource/`, named below by file) and, where its end-to-end suite
(orchitech/wrenidm-test `WorkflowTest`, `workflow/*.sh`) drives it, in the calls that suite
makes. Each test also shows the 8.1 answer, so that it fails if the profile stops mattering."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from idm_client import Idm, ok, start

from mockidm import Engine
from mockidm.engine.model import ProcessDefinition

INSTANCES = "workflow/processinstance"
HISTORY = "workflow/processinstance/history"
TASKS = "workflow/taskinstance"
TASK_HISTORY = "workflow/taskinstance/history"
WORKFLOW = Path(__file__).parent / "wren_workflows" / "access_approval.bpmn20.xml"


def DEFINITIONS(engine: Engine) -> list[ProcessDefinition]:  # conftest deploys these
    return engine.deploy_file(str(WORKFLOW))


@pytest.fixture(params=["wren", "8.1"])
def profiled(request: pytest.FixtureRequest) -> tuple[str, Idm]:
    return request.param, request.getfixturevalue("wren" if request.param == "wren" else "idm")


def the_task(idm: Idm, instance: str) -> dict[str, Any]:
    # As the e2e suite asks: taskDefinitionKey is sent but neither release filters on it.
    [task] = idm.query(TASKS, f"_queryId=filtered-query&processInstanceId={instance}"
                              "&taskDefinitionKey=approval")
    return task


def test_deleted_instance_records_wrens_reason_ProcessInstanceResource(
        profiled: tuple[str, Idm]) -> None:
    """ProcessInstanceResource.java deleteInstance: the reason passed to Flowable is
    "Deleted by Wren:IDM." (WorkflowTest.testDeletedProcessInstanceHistory reads it back)."""
    name, idm = profiled
    instance = start(idm, "accessApproval")
    task = the_task(idm, instance)["_id"]
    deleted = ok(idm.request("DELETE", f"{INSTANCES}/{instance}"))
    assert deleted["_id"] == instance and deleted["deleteReason"] is None  # as read before
    reason = "Deleted by Wren:IDM." if name == "wren" else "Deleted by Openidm"
    assert ok(idm.request("GET", f"{HISTORY}/{instance}"))["deleteReason"] == reason
    [old] = idm.query(TASK_HISTORY, f"_queryId=filtered-query&taskId={task}")
    assert old["deleteReason"] == reason


def test_instances_show_their_variables_ProcessInstanceResource(
        profiled: tuple[str, Idm]) -> None:
    """ProcessInstanceResource.java readInstance / queryCollection: `setQueryVariables` with
    the instance's historic variables (without `openidmcontext`) before serialising, so
    `processVariables` holds them on reads and queries, running and history; the delete
    answer serialises the instance unloaded (WorkflowTest.testProcessInstanceCrud reads
    `processVariables.userName`)."""
    name, idm = profiled
    instance = start(idm, "accessApproval", userName="onboarding-3")
    expected = {"userName": "onboarding-3"} if name == "wren" else {}
    assert ok(idm.request("GET", f"{INSTANCES}/{instance}"))["processVariables"] == expected
    assert ok(idm.request("GET", f"{HISTORY}/{instance}"))["processVariables"] == expected
    for path in (INSTANCES, HISTORY):
        [item] = idm.query(path, f"_queryId=filtered-query&processInstanceId={instance}")
        assert item["processVariables"] == expected
    assert ok(idm.request("DELETE", f"{INSTANCES}/{instance}"))["processVariables"] == {}


def test_completed_variables_stay_on_the_task_TaskInstanceResource(wren: Idm) -> None:
    """TaskInstanceResource.java actionInstance: `taskService.complete(id, content, true)`,
    Flowable's localScope: the submitted `result` is a task-local variable, which the
    instance read shows as the task's `taskLocalVariables` (ProcessInstanceResource.java
    getTasksForProcess), and which a process gateway does not see: the listener of the
    workflow hands it over as `decision` (WorkflowTest.testUserRole and
    testTaskInstanceClaimCompleteAndHistoryRejectPath)."""
    instance = start(wren, "accessApproval", userName="onboarding-4")
    task = the_task(wren, instance)
    assert ok(wren.request("POST", f"{TASKS}/{task['_id']}?_action=claim",
                           json={"userId": "openidm-admin"})) == {"Task action performed": "claim"}
    assert ok(wren.request("POST", f"{TASKS}/{task['_id']}?_action=complete",
                           json={"result": "reject"})) == {"Task action performed": "complete"}
    history = ok(wren.request("GET", f"{HISTORY}/{instance}"))
    assert history["processVariables"] == {"userName": "onboarding-4", "decision": "reject"}
    assert history["endActivityId"] == "denied"
    [done] = history["tasks"]
    assert done["taskLocalVariables"] == {"result": "reject"} and done["processVariables"] == {}
    # The task-history resource serialises its tasks unloaded (TaskInstanceHistoryResource).
    [item] = wren.query(TASK_HISTORY, f"_queryId=filtered-query&processInstanceId={instance}")
    assert item["endTime"] is not None and item["taskLocalVariables"] == {}


def test_a_gateway_does_not_see_completed_variables_TaskInstanceResource(
        profiled: tuple[str, Idm]) -> None:
    """TaskInstanceResource.java: complete with localScope=true. A process that reads the
    submitted variable directly fails in Wren (the variable is the task's, gone with it),
    and moves on in 8.1, whose completion writes the process."""
    name, idm = profiled
    instance = start(idm, "plainApproval")
    task = the_task(idm, instance)["_id"]
    answer = idm.request("POST", f"{TASKS}/{task}?_action=complete",
                         json={"decision": "approve"})
    if name == "wren":
        assert answer.status_code == 500, answer.text
        assert idm.query(TASKS, f"_queryId=filtered-query&processInstanceId={instance}")
    else:
        ok(answer)
        assert ok(idm.request("GET", f"{HISTORY}/{instance}"))["endActivityId"] == "plainYes"


@pytest.mark.parametrize(("path", "wrens"), [
    (INSTANCES, "Unknown query &#39;{}&#39; to get process instances."),
    (HISTORY, "Unknown query &#39;{}&#39; to get process instances."),
    (TASKS, "Unknown query &#39;{}&#39; to get task instances."),
    (TASK_HISTORY, "Unknown query &#39;{}&#39; to get historic task instances."),
])
def test_unknown_queries_name_the_resource(profiled: tuple[str, Idm], path: str,
                                           wrens: str) -> None:
    """ProcessInstanceResource.java, TaskInstanceResource.java, TaskInstanceHistoryResource
    .java queryCollection: any query id but query-all-ids and filtered-query is a 400 naming
    the id and the resource; a `_queryFilter` has no query id, so the port says 'null'
    (IDM's CREST escapes the quotes in the message)."""
    name, idm = profiled
    unknown = idm.request("GET", f"{path}?_queryId=everything")
    assert unknown.status_code == 400
    expected = wrens.format("everything") if name == "wren" else "Unknown query-id"
    assert unknown.json()["message"] == expected
    by_filter = idm.request("GET", f"{path}?_queryFilter=true")
    if name == "wren":
        assert by_filter.status_code == 400
        assert by_filter.json()["message"] == wrens.format("null")
    else:
        assert by_filter.status_code == 200


def test_an_unknown_task_action_is_named_TaskInstanceResource(profiled: tuple[str, Idm]) -> None:
    """TaskInstanceResource.java actionInstance: an action other than claim and complete is a
    400 naming it (the task must exist first: an unknown task is 404)."""
    name, idm = profiled
    task = the_task(idm, start(idm, "accessApproval"))["_id"]
    answer = idm.request("POST", f"{TASKS}/{task}?_action=approve", json={})
    assert answer.status_code == 400
    expected = "Unknown action &#39;approve&#39;." if name == "wren" else "Unknown action"
    assert answer.json()["message"] == expected


def test_bare_role_names_make_candidate_groups_TaskInstanceResource(
        profiled: tuple[str, Idm]) -> None:
    """The e2e suite's onboarding task is offered to the group `openidm-admin` and the admin
    finds it (WorkflowTest reads `candidates.candidateGroups == ["openidm-admin"]`): Wren
    names its roles without 8.1's `internal/role/` prefix, and its `taskCandidateUser` asks
    IDM for the user's groups (TaskInstanceResource.java maps it to Flowable's
    taskCandidateUser; impl/identity/IdmGroupQuery.java answers the groups)."""
    name, idm = profiled
    instance = start(idm, "accessApproval")
    task = ok(idm.request("GET", f"{TASKS}/{the_task(idm, instance)['_id']}"))
    assert task["candidates"] == {"candidateUsers": [], "candidateGroups": ["openidm-admin"]}
    found = idm.found(TASKS, "taskCandidateUser=openidm-admin")
    assert found == ([task["_id"]] if name == "wren" else [])


def test_running_queries_do_not_page_ProcessInstanceResource(profiled: tuple[str, Idm]) -> None:
    """ProcessInstanceResource.java and TaskInstanceResource.java list every match and answer
    `newQueryResponse()`: `_pageSize` is ignored (8.1 pages: the mock's choice)."""
    name, idm = profiled
    for _ in range(3):
        start(idm, "accessApproval")
    body = ok(idm.request("GET", f"{INSTANCES}?_queryId=query-all-ids&_pageSize=1"))
    assert body["resultCount"] == (3 if name == "wren" else 1)
    assert body["pagedResultsCookie"] is None if name == "wren" else body["pagedResultsCookie"]


def test_the_task_history_pages_by_offset_TaskInstanceHistoryResource(wren: Idm) -> None:
    """TaskInstanceHistoryResource.java queryCollection: `listPage(offset, pageSize)` when a
    page size is given; the cookie is the next offset but never read back (the offset decides);
    with a count policy other than NONE the total is counted (EXACT) and the cookie is null on
    the last page, without one the cookie follows any full page. The running queries do not
    page (test_running_queries_do_not_page_ProcessInstanceResource)."""
    for _ in range(3):
        start(wren, "accessApproval")

    def page(params: str) -> dict[str, Any]:
        return ok(wren.request("GET", f"{TASK_HISTORY}?_queryId=query-all-ids&{params}"))

    first = page("_pageSize=2")
    assert first["resultCount"] == 2 and first["pagedResultsCookie"] == "2"
    assert (first["totalPagedResultsPolicy"], first["totalPagedResults"]) == ("NONE", -1)
    assert page("_pageSize=2&_pagedResultsCookie=2")["result"] == first["result"]  # not read
    last = page("_pageSize=2&_pagedResultsOffset=2")
    assert last["resultCount"] == 1 and last["pagedResultsCookie"] is None
    full = page("_pageSize=1&_pagedResultsOffset=2")  # a full page: a cookie past the end
    assert full["pagedResultsCookie"] == "3" and page("_pageSize=1&_pagedResultsOffset=3")[
        "result"] == []
    counted = page("_pageSize=2&_pagedResultsOffset=2&_totalPagedResultsPolicy=ESTIMATE")
    assert (counted["totalPagedResultsPolicy"], counted["totalPagedResults"]) == ("EXACT", 3)
    assert counted["pagedResultsCookie"] is None
    assert page("_pageSize=2&_totalPagedResultsPolicy=EXACT")["pagedResultsCookie"] == "2"
    assert ok(wren.request("GET", f"{TASKS}?_queryId=query-all-ids&_pageSize=1"))[
        "resultCount"] == 3
