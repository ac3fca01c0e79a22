"""`workflow/execution` and `workflow/job` over HTTP (reference 5.10, 5.11; IDM 7 and later).

IDM documents these endpoints only in outline; the action bodies (`executionId`, `messageName`,
`signalName`) and the execution item shape are the mock's own choices.
"""

import pytest

from mockidm.engine import TaskQuery

EXECUTIONS = "workflow/execution"
JOBS = "workflow/job"
REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
ENVELOPE = {"result": [], "resultCount": 0, "pagedResultsCookie": None,
            "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1,
            "remainingPagedResults": -1}


def assert_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.json() == {"code": status, "reason": REASONS[status], "message": message}


def start(idm, key, business_key=None):
    body = {"_key": key} if business_key is None else {"_key": key, "_businessKey": business_key}
    response = idm.start(body)
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def task_of(idm, instance_id):
    [task] = idm.server.call(lambda: idm.engine.query_tasks(TaskQuery(instance_id=instance_id)))
    return task.id


def complete(idm, task_id):
    response = idm.request("POST", f"workflow/taskinstance/{task_id}?_action=complete", json={})
    assert response.status_code == 200, response.text


def query(idm, params, path=EXECUTIONS):
    response = idm.request("GET", f"{path}?{params}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resultCount"] == len(body["result"])
    return body["result"]


def act(idm, action, body):
    return idm.request("POST", f"{EXECUTIONS}?_action={action}", json=body)


@pytest.fixture
def waiting(idm):
    """A contractorOnboarding instance at managerApproval, a roleRequest one at reviewRequest,
    and a finished roleRequest instance."""
    onboarding = start(idm, "contractorOnboarding", "on")
    role = start(idm, "roleRequest", "ro")
    complete(idm, task_of(idm, start(idm, "roleRequest")))
    return onboarding, role


# queries -----------------------------------------------------------------------------------------


def test_query_filter_true_lists_the_waiting_executions(idm, waiting):
    onboarding, role = waiting
    items = query(idm, "_queryFilter=true")
    assert [(i["processInstanceId"], i["activityId"]) for i in items] == [
        (onboarding, "managerApproval"), (role, "reviewRequest")]
    assert all(isinstance(i["_id"], str) for i in items)
    assert items[0]["processDefinitionId"].startswith("contractorOnboarding:2:")
    assert items[1]["businessKey"] == "ro"


def test_an_execution_moves_with_its_process(idm, waiting):
    onboarding, _ = waiting
    complete(idm, task_of(idm, onboarding))
    items = query(idm, f"_queryId=filtered-query&processInstanceId={onboarding}")
    assert [i["activityId"] for i in items] == ["hrSetup"]
    complete(idm, task_of(idm, onboarding))
    assert query(idm, f"_queryId=filtered-query&processInstanceId={onboarding}") == []


def test_deleted_instances_have_no_execution(idm, waiting):
    onboarding, role = waiting
    assert idm.request("DELETE", f"workflow/processinstance/{role}").status_code == 200
    assert [i["processInstanceId"] for i in query(idm, "_queryFilter=true")] == [onboarding]


@pytest.mark.parametrize(("params", "expected"), [
    ("processInstanceId={role}", ["role"]),
    ("processDefinitionKey=contractorOnboarding", ["onboarding"]),
    ("processDefinitionKey=contractor", []),
    ("processInstanceBusinessKey=on", ["onboarding"]),
    ("activityId=reviewRequest", ["role"]),
    ("executionId={onboarding}", ["onboarding"]),
    ("processInstanceId=999", []),
    ("bogus=1", ["onboarding", "role"]),
    ("", ["onboarding", "role"]),
])
def test_filtered_query(idm, waiting, params, expected):
    named = dict(zip(("onboarding", "role"), waiting, strict=True))
    items = query(idm, "_queryId=filtered-query&" + params.format(**named))
    assert [i["processInstanceId"] for i in items] == [named[n] for n in expected]


def test_only_query_filter_true_is_supported(idm, waiting):
    response = idm.request("GET", EXECUTIONS, params={"_queryFilter": 'activityId eq "x"'})
    assert_error(response, 400, "Only _queryFilter=true is supported")


def test_other_query_ids_are_unknown(idm):
    assert_error(idm.request("GET", f"{EXECUTIONS}?_queryId=query-all-ids"), 400,
                 "Unknown query-id")


@pytest.mark.parametrize("params", ["_queryFilter=true", "_queryId=filtered-query",
                                    "_queryId=filtered-query&timersOnly=true"])
def test_job_queries_are_empty(idm, waiting, params):
    response = idm.request("GET", f"{JOBS}?{params}")
    assert response.status_code == 200
    assert response.json() == ENVELOPE


def test_jobs_cannot_be_timers_and_messages_at_once(idm):
    response = idm.request("GET", f"{JOBS}?_queryId=filtered-query&timersOnly=true"
                                  "&messagesOnly=true")
    assert_error(response, 500,
                 "Cannot combine onlyTimers() with onlyMessages() in the same query")


def test_other_job_query_ids_are_unknown(idm):
    assert_error(idm.request("GET", f"{JOBS}?_queryId=bogus"), 400, "Unknown query-id")


@pytest.mark.parametrize("path", [EXECUTIONS, JOBS])
@pytest.mark.parametrize("params", ["_queryFilter=true", "_queryId=filtered-query"])
def test_executions_and_jobs_do_not_exist_in_6_5(idm65, path, params):
    # The workflow service routes the request and finds no such resource below it, so the
    # message names the path below `workflow` (reference 1.1: `workflow/foo` -> 'foo').
    response = idm65.request("GET", f"{path}?{params}")
    assert_error(response, 404, f"Resource &#39;{path.removeprefix('workflow/')}&#39; not found")


def test_execution_actions_do_not_exist_in_6_5(idm65):
    response = idm65.request("POST", f"{EXECUTIONS}?_action=signal", json={"signalName": "s"})
    assert_error(response, 404, "Resource &#39;execution&#39; not found")


# actions on a user-task execution ----------------------------------------------------------------


def test_message_to_a_user_task_execution_has_no_subscription(idm, waiting):
    onboarding, _ = waiting
    response = act(idm, "message", {"executionId": onboarding, "messageName": "go"})
    assert_error(response, 500, f"Execution with id &#39;{onboarding}&#39; does not have a "
                                "subscription to a message event with name &#39;go&#39;")
    assert query(idm, f"_queryId=filtered-query&processInstanceId={onboarding}")[0][
        "activityId"] == "managerApproval"


def test_signal_to_a_user_task_execution_has_no_subscription(idm, waiting):
    _, role = waiting
    response = act(idm, "signal", {"executionId": role, "signalName": "alarm"})
    assert_error(response, 500, f"Execution &#39;{role}&#39; has not subscribed to a signal "
                                "event with name &#39;alarm&#39;.")


def test_trigger_on_a_user_task_execution_is_refused(idm, waiting):
    _, role = waiting
    response = act(idm, "trigger", {"executionId": role, "processVariables": {"a": "b"}})
    assert_error(response, 500, "UserTask should not be signalled before complete")
    assert task_of(idm, role)  # the task is still there


def test_a_broadcast_signal_nothing_waits_for_is_accepted(idm, waiting):
    response = act(idm, "signal", {"signalName": "alarm"})
    assert response.status_code == 200
    assert response.json() == {"Execution action performed": "signal"}
    assert len(query(idm, "_queryFilter=true")) == 2


@pytest.mark.parametrize(("action", "body", "message"), [
    ("message", {"executionId": "1"}, "messageName is null"),
    ("message", {"messageName": "go"}, "executionId is null"),
    ("signal", {"executionId": "1"}, "signalName is null"),
    ("signal", {}, "signalName is null"),
    ("trigger", {}, "executionId is null"),
    ("trigger", {"transientVariables": {"a": 1}}, "executionId is null"),
])
def test_missing_action_arguments_are_500(idm, action, body, message):
    assert_error(act(idm, action, body), 500, message)


@pytest.mark.parametrize(("action", "body"), [
    ("message", {"executionId": "999", "messageName": "go"}),
    ("signal", {"executionId": "999", "signalName": "alarm"}),
    ("trigger", {"executionId": "999"}),
])
def test_an_unknown_execution_is_404(idm, action, body):
    assert_error(act(idm, action, body), 404, "execution 999 doesn&#39;t exist")


def test_a_finished_instance_has_no_execution(idm):
    instance = start(idm, "roleRequest")
    complete(idm, task_of(idm, instance))
    assert_error(act(idm, "trigger", {"executionId": instance}), 404,
                 f"execution {instance} doesn&#39;t exist")


def test_unknown_action_is_400(idm, waiting):
    assert_error(act(idm, "bogus", {}), 400, "Unknown action")
