"""Multi-instance user tasks walked over HTTP, with three BPMN files of our own
(tests/http/multi_instance_workflows/, each modelled on a public Activiti test workflow named
in its header and in docs/fidelity.md):

all_approvers.bpmn20.xml: every approver of a list approves in parallel (collection variable,
element variable as the assignee); one rejection ends the rest (completionCondition), and
a gateway after it takes the granted or the rejected path. sign_off_chain.bpmn20.xml: the
signers of a collection expression sign one after the other (sequential). quorum_review.bpmn20.xml:
loopCardinality reviews of which half suffice (`nrOfCompletedInstances/nrOfInstances >= 0.5`:
EL arithmetic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from idm_client import Idm, ok, start, tasks

from mockidm import Engine

WORKFLOWS = Path(__file__).parent / "multi_instance_workflows"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"


def DEFINITIONS(engine: Engine) -> None:  # conftest's `idm` deploys what this deploys
    engine.deploy_folder(WORKFLOWS, strict=True)


def read(idm: Idm, task_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{TI}/{task_id}"))  # type: ignore[no-any-return]


def complete(idm: Idm, task_id: str, **body: Any) -> None:
    ok(idm.request("POST", f"{TI}/{task_id}?_action=complete", json=body))


def history(idm: Idm, instance_id: str) -> dict[str, Any]:
    return ok(idm.request("GET", f"{PI}/history/{instance_id}"))  # type: ignore[no-any-return]


def task_history(idm: Idm, instance_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(idm.request(
        "GET", f"{TI}/history?_queryId=filtered-query&processInstanceId={instance_id}"))["result"]
    return sorted(found, key=lambda t: int(t["_id"]))


def approval(idm: Idm, approvers: list[str]) -> tuple[str, list[dict[str, Any]]]:
    instance = start(idm, "roleApproval", approvers=approvers, roleName="auditor")
    return instance, sorted(tasks(idm, processInstanceId=instance), key=lambda t: int(t["_id"]))


# --- parallel: every approver of a list --------------------------------------------------------


def test_every_approver_gets_a_task_at_once_named_and_assigned_from_their_element(
        idm: Idm) -> None:
    instance, found = approval(idm, ["ann", "ben", "cy"])
    assert [(t["name"], t["assignee"]) for t in found] == [
        ("Approve auditor (1 of 3)", "ann"), ("Approve auditor (2 of 3)", "ben"),
        ("Approve auditor (3 of 3)", "cy")]
    assert [t["description"] for t in found] == ["Requested by openidm-admin"] * 3
    assert len({t["executionId"] for t in found}) == 3  # an execution per instance
    assert instance not in {t["executionId"] for t in found}
    assert [t["_id"] for t in tasks(idm, assignee="ben")] == [found[1]["_id"]]


def test_a_task_read_shows_its_element_loop_counter_and_the_counters(idm: Idm) -> None:
    _, found = approval(idm, ["ann", "ben"])
    second = read(idm, found[1]["_id"])
    assert second["variables"] == {
        "startUserId": "openidm-admin", "approvers": ["ann", "ben"], "roleName": "auditor",
        "nrOfInstances": 2, "nrOfCompletedInstances": 0, "nrOfActiveInstances": 2,
        "approver": "ben", "loopCounter": 1}
    assert second["formProperties"] == [{"decision": None}]
    complete(idm, found[0]["_id"], decision="approve")
    left = read(idm, found[1]["_id"])["variables"]
    assert (left["nrOfCompletedInstances"], left["nrOfActiveInstances"]) == (1, 1)
    assert (left["approver"], left["decision"]) == ("ben", "approve")


def test_the_executions_show_the_arriving_one_waiting_and_each_instance_under_the_root(
        idm: Idm) -> None:
    instance, found = approval(idm, ["ann", "ben"])
    executions = ok(idm.request("GET", "workflow/execution?_queryFilter=true"))["result"]
    mine = {e["_id"]: e for e in executions if e["processInstanceId"] == instance}
    assert set(mine) == {instance, *(t["executionId"] for t in found)}
    assert {e["activityId"] for e in mine.values()} == {"approve"}
    roots = {mine[t["executionId"]]["parentId"] for t in found}
    assert len(roots) == 1 and roots != {instance}  # the loop's root, which waits in nothing


def test_when_every_approver_approved_the_grant_path_is_taken(idm: Idm) -> None:
    instance, found = approval(idm, ["ann", "ben", "cy"])
    for task in found[:2]:
        complete(idm, task["_id"], decision="approve")
        assert history(idm, instance)["endTime"] is None  # the others still wait
    assert [t["_id"] for t in tasks(idm, processInstanceId=instance)] == [found[2]["_id"]]
    complete(idm, found[2]["_id"], decision="approve")
    assert tasks(idm, processInstanceId=instance) == []
    assert history(idm, instance)["endActivityId"] == "granted"
    assert [t["deleteReason"] for t in task_history(idm, instance)] == [None] * 3


def test_one_rejection_ends_the_other_approvals_and_the_reject_path_is_taken(idm: Idm) -> None:
    instance, found = approval(idm, ["ann", "ben", "cy", "dee"])
    complete(idm, found[1]["_id"], decision="approve")
    complete(idm, found[2]["_id"], decision="reject")
    assert tasks(idm, processInstanceId=instance) == []
    ended = history(idm, instance)
    assert ended["endActivityId"] == "rejected"
    assert [(t["assignee"], t["deleteReason"]) for t in task_history(idm, instance)] == [
        ("ann", "MI_END"), ("ben", None), ("cy", None), ("dee", "MI_END")]
    cut = ok(idm.request("GET", f"{TI}/history?_queryId=filtered-query"
                                f"&processInstanceId={instance}&deleteReason=MI_END"))
    assert [t["assignee"] for t in cut["result"]] == ["ann", "dee"]


def test_the_same_walk_on_6_5_records_completed_tasks_as_completed(idm65: Idm) -> None:
    instance, found = approval(idm65, ["ann", "ben"])
    complete(idm65, found[0]["_id"], decision="reject")
    assert [t["deleteReason"] for t in task_history(idm65, instance)] == [
        "completed", "deleted"]


def test_an_empty_list_of_approvers_creates_no_task_and_nobody_decided(idm: Idm) -> None:
    """No instance: the token leaves at once, and the gateway after it finds no `decision`
    (as the engine would: the workflow does not guard against an empty list)."""
    refused = idm.start({"_key": "roleApproval", "approvers": [], "roleName": "auditor"})
    assert refused.status_code == 500
    assert refused.json()["message"] == ("Unknown property used in expression: "
                                         "${decision == &#39;reject&#39;}")
    assert ok(idm.request("GET", f"{TI}?_queryId=query-all-ids"))["result"] == []


def test_no_review_at_all_ends_the_review_at_once(idm: Idm) -> None:
    instance = start(idm, "quorumReview", reviewerCount=0)
    assert tasks(idm, processInstanceId=instance) == []
    assert history(idm, instance)["endActivityId"] == "closed"


@pytest.mark.parametrize(("body", "message"), [
    ({}, "Variable &#39;approvers&#39; is not found"),
    ({"approvers": None}, "Variable &#39;approvers&#39; is not found"),
    ({"approvers": "ann"}, "Variable &#39;approvers&#39;:ann is not a Collection"),
    ({"approvers": {"ann": True}}, "Variable &#39;approvers&#39;:{ann=true} is not a Collection"),
])
def test_approvers_that_are_not_a_list_fail_the_start_as_the_engine_does(
        idm: Idm, body: dict[str, Any], message: str) -> None:
    refused = idm.start({"_key": "roleApproval", "roleName": "auditor", **body})
    assert refused.status_code == 500, refused.text
    assert refused.json()["message"] == message
    assert ok(idm.request("GET", f"{PI}?_queryId=query-all-ids"))["result"] == []


# --- sequential: a chain ----------------------------------------------------------------------


def test_signers_sign_one_after_the_other_then_the_change_is_archived(idm: Idm) -> None:
    instance = start(idm, "signOffChain", change={"signers": ["xia", "yan", "zoe"]})
    seen = []
    for signer in ("xia", "yan", "zoe"):
        [task] = tasks(idm, processInstanceId=instance)
        variables = read(idm, task["_id"])["variables"]
        seen.append((task["name"], task["assignee"], task["executionId"],
                     variables["loopCounter"], variables["nrOfCompletedInstances"],
                     variables["nrOfActiveInstances"]))
        assert variables["signer"] == signer
        complete(idm, task["_id"])
    execution = seen[0][2]
    assert seen == [("Sign-off 1: xia", "xia", execution, 0, 0, 1),
                    ("Sign-off 2: yan", "yan", execution, 1, 1, 1),
                    ("Sign-off 3: zoe", "zoe", execution, 2, 2, 1)]
    [archive] = tasks(idm, processInstanceId=instance)
    assert (archive["name"], archive["executionId"]) == ("Archive the change", instance)
    assert "signer" not in read(idm, archive["_id"])["variables"]  # gone with its execution
    complete(idm, archive["_id"])
    assert history(idm, instance)["endActivityId"] == "done"


def test_a_collection_expression_that_is_not_a_collection_fails_the_start(idm: Idm) -> None:
    refused = idm.start({"_key": "signOffChain", "change": {"signers": 3}})
    assert refused.status_code == 500
    assert refused.json()["message"] == ("Couldn&#39;t resolve collection expression, "
                                         "variable reference or string")


# --- loopCardinality with a completion condition: a quorum -------------------------------------


@pytest.mark.parametrize(("count", "needed"), [(4, 2), (3, 2), (2, 1), (1, 1)])
def test_half_the_reviews_complete_the_review(idm: Idm, count: int, needed: int) -> None:
    instance = start(idm, "quorumReview", reviewerCount=count)
    found = sorted(tasks(idm, processInstanceId=instance), key=lambda t: int(t["_id"]))
    assert [t["name"] for t in found] == [f"Review {n}" for n in range(count)]
    assert {t["_id"] for t in tasks(idm, taskCandidateGroup="reviewers")} >= {
        t["_id"] for t in found}
    for done, task in enumerate(found[:needed], start=1):
        assert history(idm, instance)["endTime"] is None
        complete(idm, task["_id"])
        assert len(tasks(idm, processInstanceId=instance)) == (
            0 if done == needed else count - done)
    assert history(idm, instance)["endActivityId"] == "closed"
    assert [t["deleteReason"] for t in task_history(idm, instance)] == (
        [None] * needed + ["MI_END"] * (count - needed))


@pytest.mark.parametrize(("count", "message"), [
    ("2", None),
    (2.9, None),
    ("two", "For input string: &quot;two&quot;"),
    (-1, "Invalid number of instances: must be non-negative integer value, but was -1"),
    (True, "Could not resolve loopCardinality expression &#39;${reviewerCount}&#39;: not a "
           "number nor number String"),
])
def test_the_loop_cardinality_is_read_as_the_engine_reads_it(idm: Idm, count: Any,
                                                             message: str | None) -> None:
    answer = idm.start({"_key": "quorumReview", "reviewerCount": count})
    if message is None:
        instance = ok(answer, 201)["_id"]
        assert len(tasks(idm, processInstanceId=instance)) == 2
    else:
        assert answer.status_code == 500, answer.text
        assert answer.json()["message"] == message
