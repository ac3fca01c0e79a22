"""`workflow/taskinstance[/history][/{id}]` over HTTP (reference 5.7-5.9, 6.4-6.6)."""

from datetime import UTC, datetime, timedelta

import pytest

from mockidm import UserTask, linear_process
from mockidm.engine import TaskQuery

TASKS = "workflow/taskinstance"
HISTORY = "workflow/taskinstance/history"
INSTANCES = "workflow/processinstance"
ADMIN_GROUP = "internal/role/openidm-admin"
REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
           501: "Not Implemented"}
T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def assert_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.json() == {"code": status, "reason": REASONS[status], "message": message}


def start(idm, key, **variables):
    response = idm.start({"_key": key, **variables})
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def task_of(idm, instance_id):
    """The one active task of an instance."""
    [task] = idm.server.call(lambda: idm.engine.query_tasks(TaskQuery(instance_id=instance_id)))
    return task.id


def query(idm, params, path=TASKS):
    return idm.query(path, params)


def ids(items):
    return [item["_id"] for item in items]


def found(idm, params, path=TASKS):
    return idm.found(path, params)


def action(idm, task_id, name, body=None):
    return idm.request("POST", f"{TASKS}/{task_id}?_action={name}",
                       **({} if body is None else {"json": body}))


def claim(idm, task_id, user):
    response = action(idm, task_id, "claim", {"userId": user})
    assert response.status_code == 200, response.text


def complete(idm, task_id, variables=None):
    response = action(idm, task_id, "complete", variables or {})
    assert response.status_code == 200, response.text


def read(idm, task_id):
    response = idm.request("GET", f"{TASKS}/{task_id}")
    assert response.status_code == 200, response.text
    return response.json()


def update(idm, task_id, body, if_match="*"):
    return idm.request("PUT", f"{TASKS}/{task_id}", headers={"If-Match": if_match}, json=body)


def deploy(idm, model):
    return idm.server.call(lambda: idm.engine.deploy(model))


@pytest.fixture
def tasks(idm):
    """A contractorOnboarding v2 task (candidate group) and a roleRequest task (candidate user)."""
    approval = task_of(idm, start(idm, "contractorOnboarding"))
    review = task_of(idm, start(idm, "roleRequest"))
    return approval, review


# 5.7 query ---------------------------------------------------------------------------------------


def test_query_all_ids_lists_active_tasks(idm, tasks):
    approval, review = tasks
    done = task_of(idm, start(idm, "roleRequest"))
    complete(idm, done)
    items = query(idm, "_queryId=query-all-ids")
    assert ids(items) == [approval, review]
    assert [i["taskDefinitionKey"] for i in items] == ["managerApproval", "reviewRequest"]


def test_query_items_have_the_task_fields(idm, tasks):
    approval, _ = tasks
    item = query(idm, "_queryId=query-all-ids")[0]
    assert list(item)[:2] == ["_id", "_rev"]
    assert item["_id"] == approval
    assert isinstance(item["_rev"], str)
    assert "assignee" in item and item["assignee"] is None
    assert (item["name"], item["priority"], item["owner"]) == (
        "Approve the contractor", 50, None)
    assert item["processDefinitionId"].startswith("contractorOnboarding:2:")
    assert item["executionId"] == item["processInstanceId"]
    assert isinstance(item["createTime"], str)
    assert "formProperties" not in item and "candidates" not in item


def test_query_all_ids_honours_sort_keys(idm, tasks):
    approval, review = tasks
    assert ids(query(idm, "_queryId=query-all-ids&_sortKeys=-name")) == [review, approval]
    assert ids(query(idm, "_queryId=query-all-ids&_sortKeys=name")) == [approval, review]


def test_filter_by_assignee(idm, tasks):
    _, review = tasks
    claim(idm, review, "bob")
    assert found(idm, "assignee=bob") == [review]
    assert found(idm, "assignee=openidm-admin") == []
    assert found(idm, "assignee=Bob") == []


def test_filter_unassigned(idm, tasks):
    approval, review = tasks
    claim(idm, review, "bob")
    assert found(idm, "unassigned=true") == [approval]
    assert found(idm, "unassigned=false") == [approval, review]


def test_filter_by_candidate_user(idm, tasks):
    approval, review = tasks
    # The approval is offered to openidm-admin's group (role), the review to the user itself.
    assert found(idm, "taskCandidateUser=openidm-admin") == [approval, review]
    assert found(idm, "taskCandidateUser=bob") == []


def test_candidate_queries_skip_claimed_tasks(idm, tasks):
    approval, review = tasks
    claim(idm, review, "openidm-admin")
    assert found(idm, "taskCandidateUser=openidm-admin") == [approval]
    assert found(idm, f"taskCandidateGroup={ADMIN_GROUP}") == [approval]


def test_filter_by_candidate_group_list(idm, tasks):
    approval, review = tasks
    deploy(idm, linear_process("groupB", "Group B", [UserTask("t", "T",
                                                               candidate_groups=["groupB"])]))
    other = task_of(idm, start(idm, "groupB"))
    assert found(idm, f"taskCandidateGroup={ADMIN_GROUP}") == [approval, review]
    assert found(idm, "taskCandidateGroup=groupB") == [other]
    assert found(idm, f"taskCandidateGroup=groupB,{ADMIN_GROUP}") == [approval, review, other]
    assert found(idm, "taskCandidateGroup=groupA,groupB") == [other]
    assert found(idm, "taskCandidateGroup=groupA") == []


def test_filter_by_process_instance(idm, tasks):
    _, review = tasks
    instance = read(idm, review)["processInstanceId"]
    assert found(idm, f"processInstanceId={instance}") == [review]
    assert found(idm, "processInstanceId=999") == []


def test_filter_by_process_variable(idm):
    blue = task_of(idm, start(idm, "roleRequest", color="blue", n=1))
    task_of(idm, start(idm, "roleRequest", color="red"))
    assert found(idm, "var-color=blue") == [blue]
    assert found(idm, "var-n=1") == []
    assert found(idm, "var-color=green") == []


def test_filter_by_id_definition_and_name(idm, tasks):
    approval, review = tasks
    definition = read(idm, approval)["processDefinitionId"]
    assert found(idm, f"_id={review}") == [review]
    assert found(idm, f"processDefinitionId={definition}") == [approval]
    assert found(idm, "processDefinitionKey=roleRequest") == [review]
    assert found(idm, "name=Review%20the%20role%20request") == [review]


def test_unknown_filter_parameters_are_ignored(idm, tasks):
    assert found(idm, "bogus=1&Assignee=bob") == list(tasks)


@pytest.mark.parametrize("key", ["_id", "name", "description", "priority", "assignee",
                                 "createTime", "processInstanceId", "executionId", "dueDate",
                                 "tenantId"])
def test_every_documented_sort_key_is_accepted(idm, tasks, key):
    assert sorted(found(idm, f"_sortKeys={key}")) == sorted(tasks)
    assert sorted(found(idm, f"_sortKeys=-{key}")) == sorted(tasks)


def test_sort_by_assignee(idm, tasks):
    approval, review = tasks
    claim(idm, approval, "zoe")
    claim(idm, review, "amy")
    assert found(idm, "_sortKeys=assignee") == [review, approval]
    assert found(idm, "_sortKeys=-assignee") == [approval, review]


def test_sort_by_create_time(idm):
    idm.server.call(lambda: idm.engine.clock.freeze(T0))
    late = task_of(idm, start(idm, "roleRequest"))
    idm.server.call(lambda: idm.engine.clock.freeze(T0 - timedelta(minutes=5)))
    early = task_of(idm, start(idm, "roleRequest"))
    assert found(idm, "_sortKeys=createTime") == [early, late]
    assert found(idm, "_sortKeys=-createTime") == [late, early]


def test_tasks_created_in_the_same_millisecond_sort_as_if_created_in_turn(idm):
    """A tie keeps creation order in the sort's direction, so that a client's newest-first
    list does not depend on whether two commands fell in the same millisecond."""
    idm.server.call(lambda: idm.engine.clock.freeze(T0))
    first = task_of(idm, start(idm, "roleRequest"))
    second = task_of(idm, start(idm, "roleRequest"))
    assert found(idm, "_sortKeys=createTime") == [first, second]
    assert found(idm, "_sortKeys=-createTime") == [second, first]
    assert found(idm, "_sortKeys=-createTime,name") == [second, first]


def test_sort_by_id_and_instance_is_lexicographic(idm):
    idm.server.call(lambda: setattr(idm.engine.ids, "next_value", 97))
    first = task_of(idm, start(idm, "roleRequest"))  # instance 97, task 98
    second = task_of(idm, start(idm, "roleRequest"))  # instance 99, task 100
    assert (first, second) == ("98", "100")
    assert found(idm, "_sortKeys=_id") == [second, first]
    assert found(idm, "_sortKeys=-_id") == [first, second]
    assert found(idm, "_sortKeys=-processInstanceId") == [second, first]


@pytest.mark.parametrize("query_id", ["query-all-ids", "filtered-query"])
@pytest.mark.parametrize("key", ["x", "taskName", "-bogus"])
def test_unknown_sort_key_is_501(idm, tasks, query_id, key):
    response = idm.request("GET", f"{TASKS}?_queryId={query_id}&_sortKeys={key}")
    assert_error(response, 501, f"Sort key: {key.lstrip('-')} is not valid")


@pytest.mark.parametrize("query_id", ["gettasksview", "bogus", "Query-All-Ids"])
def test_other_query_ids_are_unknown(idm, query_id):
    assert_error(idm.request("GET", f"{TASKS}?_queryId={query_id}"), 400, "Unknown query-id")


def test_query_filter_true_in_8_1(idm, tasks):
    assert ids(query(idm, "_queryFilter=true")) == list(tasks)


def test_query_filter_with_fields_as_in_the_sync_sample(idm, tasks):
    definition = read(idm, tasks[0])["processDefinitionId"]
    items = query(idm, "_queryFilter=true&_fields=_id,processDefinitionId")
    assert items[0] == {"_id": tasks[0], "processDefinitionId": definition}
    assert all(set(item) == {"_id", "processDefinitionId"} for item in items)


def test_query_filter_is_an_unknown_query_id_in_6_5(idm65):
    start(idm65, "roleRequest")
    assert_error(idm65.request("GET", f"{TASKS}?_queryFilter=true"), 400, "Unknown query-id")


def test_get_without_query_is_a_read_of_the_collection(idm):
    assert_error(idm.request("GET", TASKS), 400, "The resource collection  cannot be read")


def test_a_priority_that_is_not_a_number_is_500(idm, tasks):
    response = idm.request("GET", f"{TASKS}?_queryId=filtered-query&priority=abc")
    assert response.status_code == 500
    assert response.json()["reason"] == "Internal Server Error"


# 5.8 read ----------------------------------------------------------------------------------------


def test_read_adds_form_properties_variables_and_candidates(idm):
    task = task_of(idm, start(idm, "contractorOnboarding", contractorName="Ann", n=2))
    response = idm.request("GET", f"{TASKS}/{task}")
    assert response.status_code == 200
    assert "ETag" not in response.headers
    body = response.json()
    assert isinstance(body["_rev"], str)
    assert body["_id"] == task
    assert body["assignee"] is None
    assert body["formProperties"] == [{"decision": None}]
    assert body["variables"] == {"contractorName": "Ann", "n": 2}
    assert body["candidates"] == {"candidateUsers": [], "candidateGroups": [ADMIN_GROUP]}
    assert body["taskDefinitionKey"] == "managerApproval"


def test_read_shows_candidate_users(idm, tasks):
    _, review = tasks
    assert read(idm, review)["candidates"] == {"candidateUsers": ["openidm-admin"],
                                               "candidateGroups": [ADMIN_GROUP]}


def test_read_shows_the_form_value_once_the_variable_exists(idm):
    task = task_of(idm, start(idm, "roleRequest", decision="approve"))
    assert read(idm, task)["formProperties"] == [{"decision": "approve"}]


def test_read_an_unknown_task_is_a_bare_404(idm):
    assert_error(idm.request("GET", f"{TASKS}/999"), 404, "Not Found")


def test_read_a_completed_task_is_404(idm, tasks):
    _, review = tasks
    complete(idm, review)
    assert_error(idm.request("GET", f"{TASKS}/{review}"), 404, "Not Found")


# 5.8 update --------------------------------------------------------------------------------------


@pytest.mark.parametrize("if_match", ["*", '"*"', "1", '"1"', "anything"])
def test_put_with_if_match_updates_the_assignee(idm, tasks, if_match):
    approval, _ = tasks
    response = update(idm, approval, {"assignee": "bob"}, if_match)
    assert response.status_code == 200
    assert response.json() == {"_id": approval, "Task updated": approval}
    assert read(idm, approval)["assignee"] == "bob"
    assert found(idm, "assignee=bob") == [approval]


def test_put_updates_name_description_and_owner(idm, tasks):
    approval, _ = tasks
    response = update(idm, approval, {"name": "New name", "description": "Some text",
                                      "owner": "olga"})
    assert response.status_code == 200
    body = read(idm, approval)
    assert (body["name"], body["description"], body["owner"], body["assignee"]) == (
        "New name", "Some text", "olga", None)


def test_put_changes_only_the_keys_present(idm, tasks):
    approval, _ = tasks
    update(idm, approval, {"assignee": "bob", "owner": "olga"})
    update(idm, approval, {"name": "Renamed"})
    body = read(idm, approval)
    assert (body["assignee"], body["owner"], body["name"]) == ("bob", "olga", "Renamed")


def test_put_with_a_null_assignee_unassigns(idm, tasks):
    approval, _ = tasks
    claim(idm, approval, "bob")
    assert update(idm, approval, {"assignee": None}).status_code == 200
    assert read(idm, approval)["assignee"] is None
    assert found(idm, "unassigned=true") == list(tasks)


def test_put_ignores_other_keys(idm, tasks):
    approval, _ = tasks
    before = read(idm, approval)
    response = update(idm, approval, {"priority": 99, "dueDate": "2030-01-01T00:00:00.000Z",
                                      "category": "x", "taskDefinitionKey": "other",
                                      "variables": {"decision": "approve"}})
    assert response.status_code == 200
    assert read(idm, approval) == before


def test_put_of_the_whole_read_document_changes_only_the_assignee(idm, tasks):
    approval, _ = tasks
    document = read(idm, approval)
    expected = {**document, "assignee": "bob"}
    document.update(assignee="bob", priority=1, variables={"x": "y"},
                    candidates={"candidateUsers": ["eve"], "candidateGroups": []})
    assert update(idm, approval, document, if_match=document["_rev"]).status_code == 200
    assert read(idm, approval) == expected


def test_put_without_if_match_is_an_unsupported_create(idm, tasks):
    approval, _ = tasks
    response = idm.request("PUT", f"{TASKS}/{approval}", json={"assignee": "bob"})
    assert_error(response, 501, "The CREATE operations are not supported")
    assert read(idm, approval)["assignee"] is None


def test_put_an_unknown_task_is_a_bare_404(idm):
    assert_error(update(idm, "999", {"assignee": "bob"}), 404, "Not Found")


# 5.8 actions -------------------------------------------------------------------------------------


def test_claim(idm, tasks):
    approval, _ = tasks
    response = action(idm, approval, "claim", {"userId": "manager1"})
    assert response.status_code == 200
    assert response.json() == {"Task action performed": "claim"}
    assert read(idm, approval)["assignee"] == "manager1"


def test_claim_of_a_task_claimed_by_someone_else_is_500(idm, tasks):
    approval, _ = tasks
    claim(idm, approval, "bob")
    assert_error(action(idm, approval, "claim", {"userId": "carol"}), 500,
                 f"Task &#39;{approval}&#39; is already claimed by someone else.")
    assert read(idm, approval)["assignee"] == "bob"


def test_claim_of_a_task_assigned_by_its_definition_is_500(idm, tasks):
    approval, _ = tasks
    complete(idm, approval)
    instance_tasks = query(idm, "_queryId=filtered-query&assignee=openidm-admin")
    [setup] = ids(instance_tasks)
    assert_error(action(idm, setup, "claim", {"userId": "carol"}), 500,
                 f"Task &#39;{setup}&#39; is already claimed by someone else.")


def test_claim_by_the_assignee_again_is_200(idm, tasks):
    approval, _ = tasks
    claim(idm, approval, "bob")
    response = action(idm, approval, "claim", {"userId": "bob"})
    assert response.status_code == 200
    assert response.json() == {"Task action performed": "claim"}
    assert read(idm, approval)["assignee"] == "bob"


@pytest.mark.parametrize("body", [{}, {"user": "bob"}, None])
def test_claim_without_user_id_is_500(idm, tasks, body):
    approval, _ = tasks
    response = action(idm, approval, "claim", body)
    assert response.status_code == 500
    assert response.json()["code"] == 500
    assert read(idm, approval)["assignee"] is None


def test_complete_answers_and_ends_the_task(idm, tasks):
    _, review = tasks
    response = action(idm, review, "complete", {"decision": "approve"})
    assert response.status_code == 200
    assert response.json() == {"Task action performed": "complete"}
    assert_error(idm.request("GET", f"{TASKS}/{review}"), 404, "Not Found")
    [item] = query(idm, f"_queryId=filtered-query&taskId={review}", HISTORY)
    assert item["endTime"] is not None
    assert item["deleteReason"] is None  # Flowable records no reason for a completion


def test_complete_stores_the_whole_body_as_process_variables(idm):
    instance = start(idm, "contractorOnboarding", color="blue")
    complete(idm, task_of(idm, instance), {"decision": "approve", "_key": "kept", "n": 3})
    assert ids(query(idm, "_queryId=filtered-query&var-decision=approve", INSTANCES)) == [
        instance]
    assert ids(query(idm, "_queryId=filtered-query&var-_key=kept", INSTANCES)) == [instance]
    next_task = task_of(idm, instance)
    assert read(idm, next_task)["variables"] == {"color": "blue", "decision": "approve",
                                                 "_key": "kept", "n": 3}


def test_complete_moves_the_process_to_its_next_task(idm):
    instance = start(idm, "contractorOnboarding")
    first = task_of(idm, instance)
    complete(idm, first, {"decision": "approve"})
    [item] = query(idm, f"_queryId=filtered-query&processInstanceId={instance}")
    assert item["_id"] != first
    assert item["taskDefinitionKey"] == "hrSetup"
    assert item["assignee"] == "openidm-admin"
    assert ids(query(idm, "_queryId=query-all-ids", INSTANCES)) == [instance]


def test_completing_the_last_task_ends_the_process(idm):
    instance = start(idm, "roleRequest")
    complete(idm, task_of(idm, instance), {"decision": "reject"})
    assert query(idm, "_queryId=query-all-ids", INSTANCES) == []
    body = idm.request("GET", f"{INSTANCES}/history/{instance}").json()
    assert body["endTime"] is not None
    assert body["endActivityId"] == "end"
    assert isinstance(body["durationInMillis"], int) and body["durationInMillis"] >= 0
    assert body["deleteReason"] is None


@pytest.mark.parametrize("body", [None, {}])
def test_complete_without_variables(idm, tasks, body):
    _, review = tasks
    response = action(idm, review, "complete", body)
    assert response.status_code == 200
    assert response.json() == {"Task action performed": "complete"}


@pytest.mark.parametrize("name", ["bogus", "Claim", "COMPLETE", "delegate"])
def test_unknown_action_on_an_existing_task_is_400(idm, tasks, name):
    approval, _ = tasks
    assert_error(action(idm, approval, name, {"userId": "bob"}), 400, "Unknown action")
    assert read(idm, approval)["assignee"] is None


@pytest.mark.parametrize("name", ["claim", "complete", "bogus"])
def test_any_action_on_an_unknown_task_is_404(idm, name):
    assert_error(action(idm, "999", name, {"userId": "bob"}), 404, "Not Found")


def test_delete_a_task_of_a_running_process_is_500(idm, tasks):
    approval, _ = tasks
    assert_error(idm.request("DELETE", f"{TASKS}/{approval}"), 500,
                 "The task cannot be deleted because is part of a running process")
    assert read(idm, approval)["_id"] == approval


def test_delete_an_unknown_task_is_404(idm):
    assert_error(idm.request("DELETE", f"{TASKS}/999"), 404, "Task 999 not found.")


def test_a_task_cannot_be_queried(idm, tasks):
    approval, _ = tasks
    assert_error(idm.request("GET", f"{TASKS}/{approval}?_queryId=query-all-ids"), 400,
                 "The resource instance  cannot be queried")


# 5.9 history -------------------------------------------------------------------------------------


@pytest.fixture
def history(idm):
    """A completed task of a finished process, a completed and an active task of a running one,
    and an active task of another running process."""
    finished = start(idm, "roleRequest")
    done = task_of(idm, finished)
    claim(idm, done, "bob")
    complete(idm, done)
    running = start(idm, "contractorOnboarding")
    approval = task_of(idm, running)
    complete(idm, approval, {"decision": "approve"})
    setup = task_of(idm, running)
    other = task_of(idm, start(idm, "roleRequest"))
    return done, approval, setup, other


def test_history_query_all_ids_has_ended_and_active_tasks(idm, history):
    items = query(idm, "_queryId=query-all-ids", HISTORY)
    assert ids(items) == list(history)
    done = items[0]
    assert (done["assignee"], done["deleteReason"], done["taskDefinitionKey"]) == (
        "bob", None, "reviewRequest")
    assert done["endTime"] is not None and done["claimTime"] is not None
    assert isinstance(done["durationInMillis"], int)
    assert items[3]["endTime"] is None and items[3]["durationInMillis"] is None


def test_history_items_have_the_historic_task_fields(idm, history):
    item = query(idm, "_queryId=query-all-ids", HISTORY)[0]
    assert item["_id"] == history[0]
    for key in ("name", "description", "owner", "assignee", "taskDefinitionKey", "priority",
                "dueDate", "claimTime", "processInstanceId", "processDefinitionId",
                "executionId", "startTime", "endTime", "durationInMillis", "deleteReason"):
        assert key in item, key
    assert item["name"] == "Review the role request"
    assert item["processDefinitionId"].startswith("roleRequest:1:")
    assert item["startTime"] <= item["endTime"]


@pytest.mark.parametrize("sort", ["-_id", "-taskName", "bogus"])
def test_history_query_all_ids_ignores_sort_keys(idm, history, sort):
    assert ids(query(idm, f"_queryId=query-all-ids&_sortKeys={sort}", HISTORY)) == list(history)


@pytest.mark.parametrize(("params", "expected"), [
    ("", [0, 1, 2, 3]),
    ("finished=true", [0, 1]),
    ("unfinished=true", [2, 3]),
    ("processFinished=true", [0]),
    ("processUnfinished=true", [1, 2, 3]),
    ("finished=true&processUnfinished=true", [1]),
    ("finished=yes", [0, 1, 2, 3]),
    ("taskName=Approve%20the%20contractor", [1]),
    ("name=Approve%20the%20contractor", [0, 1, 2, 3]),
    ("taskDefinitionKey=hrSetup", [0, 1, 2, 3]),
    ("assignee=bob", [0]),
    ("assignee=openidm-admin", [2]),
    ("processDefinitionKey=roleRequest", [0, 3]),
    ("deleteReason=completed", []),  # completed tasks have no reason in 8.1
    ("var-decision=approve", [1, 2]),
    ("bogus=1", [0, 1, 2, 3]),
])
def test_history_filtered_query(idm, history, params, expected):
    assert found(idm, params, HISTORY) == [history[i] for i in expected]


def test_history_filter_by_task_id_not_id(idm, history):
    done = history[0]
    assert found(idm, f"taskId={done}", HISTORY) == [done]
    assert found(idm, f"_id={done}", HISTORY) == list(history)


def test_history_filter_by_process_instance(idm, history):
    _, approval, setup, _ = history
    instance = query(idm, f"_queryId=filtered-query&taskId={setup}", HISTORY)[0][
        "processInstanceId"]
    assert found(idm, f"processInstanceId={instance}", HISTORY) == [approval, setup]
    assert found(idm, f"processInstanceId={instance}&finished=true", HISTORY) == [approval]


def test_history_candidate_queries_include_claimed_tasks(idm, history):
    done, approval, _, other = history
    assert found(idm, "taskCandidateUser=openidm-admin", HISTORY) == [done, approval, other]


def test_history_sort_by_task_name_and_id(idm, history):
    done, approval, setup, other = history
    assert found(idm, "_sortKeys=taskName", HISTORY) == [approval, setup, done, other]
    assert found(idm, "_sortKeys=-taskId", HISTORY) == sorted(history, reverse=True)


@pytest.mark.parametrize("key", ["taskId", "taskName", "description", "priority", "assignee",
                                 "processInstanceId", "executionId", "tenantId", "_id",
                                 "processDefinitionId", "durationInMillis", "startTime",
                                 "endTime", "owner", "dueDate", "deleteReason",
                                 "taskDefinitionKey"])
def test_history_accepts_every_documented_sort_key(idm, history, key):
    assert sorted(found(idm, f"_sortKeys={key}", HISTORY)) == sorted(history)


@pytest.mark.parametrize("key", ["x", "name", "createTime"])
def test_history_unknown_sort_key_is_500(idm, history, key):
    response = idm.request("GET", f"{HISTORY}?_queryId=filtered-query&_sortKeys={key}")
    assert_error(response, 500, f"Sort key: {key} is not valid")


def test_history_unknown_query_id(idm):
    assert_error(idm.request("GET", f"{HISTORY}?_queryId=bogus"), 400, "Unknown query-id")


def test_history_read_is_not_supported(idm, history):
    response = idm.request("GET", f"{HISTORY}/{history[0]}")
    assert_error(response, 501, "The READ operations are not supported")


@pytest.mark.parametrize(("method", "suffix", "headers", "operation"), [
    ("POST", "?_action=create", {}, "CREATE"),
    ("POST", "?_action=complete", {}, "ACTION"),
])
def test_history_collection_supports_nothing_but_queries(idm, method, suffix, headers,
                                                        operation):
    response = idm.request(method, HISTORY + suffix, headers=headers, json={})
    assert_error(response, 501, f"The {operation} operations are not supported")


@pytest.mark.parametrize(("method", "headers", "operation"), [
    ("PUT", {"If-Match": "*"}, "UPDATE"),
    ("DELETE", {}, "DELETE"),
    ("POST", {}, "ACTION"),
])
def test_history_items_support_nothing(idm, history, method, headers, operation):
    suffix = "?_action=complete" if method == "POST" else ""
    response = idm.request(method, f"{HISTORY}/{history[0]}{suffix}", headers=headers, json={})
    assert_error(response, 501, f"The {operation} operations are not supported")


# `taskDefinitionKey`: a sort key of the history, never a filter -------------------------------


def test_task_definition_key_does_not_filter_active_tasks(idm, tasks):
    # Neither OpenIDM's nor Wren:IDM's task resource reads it: every task matches.
    for key in ("managerApproval", "doesNotExist"):
        items = query(idm, f"_queryId=filtered-query&taskDefinitionKey={key}")
        assert ids(items) == list(tasks), key


def test_task_definition_key_does_not_filter_history(idm, history):
    for key in ("reviewRequest", "doesNotExist"):
        items = query(idm, f"_queryId=filtered-query&taskDefinitionKey={key}", HISTORY)
        assert ids(items) == list(history), key


def test_history_sorts_by_task_definition_key(idm, history):
    items = query(idm, "_queryId=filtered-query&_sortKeys=-taskDefinitionKey", HISTORY)
    keys = [i["taskDefinitionKey"] for i in items]
    assert sorted(ids(items)) == sorted(history)
    assert keys == sorted(keys, reverse=True) and len(set(keys)) > 1
