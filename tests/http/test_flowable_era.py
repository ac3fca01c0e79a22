"""Flowable-era details that differ between the profiles (issue 18, item 3), over HTTP in each
profile: a completed task's `deleteReason`, `taskCandidateUser` and the user's groups, and the
`processVariables` of instances (the same in both)."""

from __future__ import annotations

from typing import Any

import pytest
from idm_client import ok

from mockidm import UserTask, linear_process
from mockidm.http.app import STATE

TASKS = "workflow/taskinstance"
HISTORY = "workflow/taskinstance/history"
INSTANCES = "workflow/processinstance"
DELETED = "Deleted by Openidm"


@pytest.fixture(params=["8.1", "6.5"])
def profiled(request: pytest.FixtureRequest) -> Any:
    """The served mock in each profile."""
    return request.getfixturevalue("idm" if request.param == "8.1" else "idm65")



def start(idm: Any, key: str, **variables: Any) -> str:
    response = idm.start({"_key": key, **variables})
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def task_of(idm: Any, instance: str) -> str:
    [task] = idm.query(TASKS, f"_queryId=filtered-query&processInstanceId={instance}")
    return task["_id"]


def complete(idm: Any, task: str) -> None:
    ok(idm.request("POST", f"{TASKS}/{task}?_action=complete", json={"decision": "approve"}))


def profile(idm: Any) -> Any:
    return idm.server.app[STATE].profile


# deleteReason of a completed task -------------------------------------------------------------


@pytest.mark.parametrize(("name", "reason"), [("8.1", None), ("6.5", "completed")])
def test_a_completed_task_records_the_releases_delete_reason(request, name, reason):
    idm = request.getfixturevalue("idm" if name == "8.1" else "idm65")
    done = start(idm, "roleRequest")
    completed = task_of(idm, done)
    complete(idm, completed)
    deleted = start(idm, "roleRequest")
    dropped = task_of(idm, deleted)
    ok(idm.request("DELETE", f"{INSTANCES}/{deleted}"))

    [item] = idm.query(HISTORY, f"_queryId=filtered-query&taskId={completed}")
    assert item["endTime"] is not None and item["deleteReason"] == reason
    tasks = ok(idm.request("GET", f"{INSTANCES}/history/{done}"))["tasks"]
    assert [(t["_id"], t["deleteReason"]) for t in tasks] == [(completed, reason)]
    # A deleted instance's task keeps the deletion's reason in both releases.
    [gone] = idm.query(HISTORY, f"_queryId=filtered-query&taskId={dropped}")
    assert gone["deleteReason"] == DELETED


@pytest.mark.parametrize(("name", "found_by_completed"), [("8.1", False), ("6.5", True)])
def test_the_delete_reason_filter_compares_what_the_release_records(request, name,
                                                                     found_by_completed):
    idm = request.getfixturevalue("idm" if name == "8.1" else "idm65")
    completed = task_of(idm, instance := start(idm, "roleRequest"))
    complete(idm, completed)
    deleted = start(idm, "roleRequest")
    dropped = task_of(idm, deleted)
    ok(idm.request("DELETE", f"{INSTANCES}/{deleted}"))
    start(idm, "roleRequest")  # a running task: no reason in either release

    assert idm.found(HISTORY, "deleteReason=completed") == (
        [completed] if found_by_completed else [])
    assert idm.found(HISTORY, "deleteReason=Deleted%20by%20Openidm") == [dropped]
    assert idm.found(HISTORY, f"processInstanceId={instance}") == [completed]


# taskCandidateUser and the user's groups ------------------------------------------------------


def _offer(idm: Any) -> dict[str, str]:
    """Four running tasks: offered to carol, to a group she is in, to a group she is not in,
    and to her group but already claimed. Carol's roles get the profile's prefix."""
    group = profile(idm).role("reviewers")
    models = {
        "user": linear_process("toCarol", "To Carol", [
            UserTask("review", "Review", candidate_users=["carol"])]),
        "group": linear_process("toReviewers", "To reviewers", [
            UserTask("review", "Review", candidate_groups=[group])]),
        "other": linear_process("toAuditors", "To auditors", [
            UserTask("review", "Review", candidate_groups=[profile(idm).role("auditors")])]),
        "claimed": linear_process("toReviewersClaimed", "Claimed", [
            UserTask("review", "Review", candidate_groups=[group])]),
    }
    idm.server.call(lambda: [idm.engine.deploy(m) for m in models.values()])
    idm.server.call(lambda: idm.server.app[STATE].identity.add_user(
        "carol", "pw", ["openidm-authorized", "reviewers"]))
    tasks = {name: task_of(idm, start(idm, m.key)) for name, m in models.items()}
    ok(idm.request("POST", f"{TASKS}/{tasks['claimed']}?_action=claim",
                   json={"userId": "dave"}))
    return tasks


@pytest.mark.parametrize(("name", "with_groups"), [("8.1", True), ("6.5", False)])
def test_candidate_user_finds_tasks_offered_to_the_users_groups_in_8_1(request, name,
                                                                      with_groups):
    idm = request.getfixturevalue("idm" if name == "8.1" else "idm65")
    tasks = _offer(idm)
    expected = [tasks["user"], tasks["group"]] if with_groups else [tasks["user"]]
    assert idm.found(TASKS, "taskCandidateUser=carol") == expected
    assert idm.found(TASKS, "taskCandidateUser=nobody") == []  # an unknown user: no groups
    # The history ignores claiming: the claimed group task is carol's there too (8.1).
    history = [tasks["user"], tasks["group"], tasks["claimed"]] if with_groups else [
        tasks["user"]]
    assert idm.found(HISTORY, "taskCandidateUser=carol") == history


def test_an_explicit_candidate_group_is_not_widened_by_the_users_groups(idm):
    tasks = _offer(idm)
    group = profile(idm).role("auditors")
    # With taskCandidateGroup as well, the user's own groups are not added (the mock's choice:
    # both filters must hold, as before).
    assert idm.found(TASKS, f"taskCandidateUser=carol&taskCandidateGroup={group}") == []
    assert idm.found(TASKS, f"taskCandidateGroup={group}") == [tasks["other"]]


def test_the_query_body_of_a_group_task_is_the_task(idm):
    tasks = _offer(idm)
    response = idm.request("GET", f"{TASKS}?_queryId=filtered-query&taskCandidateUser=carol")
    body = ok(response)
    assert body["resultCount"] == 2
    assert [(t["_id"], t["assignee"], t["taskDefinitionKey"]) for t in body["result"]] == [
        (tasks["user"], None, "review"), (tasks["group"], None, "review")]


# processVariables of instances ----------------------------------------------------------------


def test_instances_show_no_process_variables_in_either_profile(profiled):
    instance = start(profiled, "roleRequest", color="blue")
    read = ok(profiled.request("GET", f"{INSTANCES}/{instance}"))
    assert (read["_id"], read["processVariables"]) == (instance, {})
    [item] = profiled.query(INSTANCES, f"_queryId=filtered-query&processInstanceId={instance}")
    assert (item["_id"], item["processVariables"]) == (instance, {})
    history = ok(profiled.request("GET", f"{INSTANCES}/history/{instance}"))
    assert history["processVariables"] == {}
