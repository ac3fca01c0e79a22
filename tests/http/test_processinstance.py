"""`workflow/processinstance[/history][/{id}]` over HTTP (reference 5.4-5.6, 6.3, 7)."""

from datetime import UTC, datetime, timedelta

import pytest

from mockidm import UserTask, linear_process
from mockidm.engine import TaskQuery
from mockidm.http.app import STATE

INSTANCES = "workflow/processinstance"
HISTORY = "workflow/processinstance/history"
REASONS = {400: "Bad Request", 404: "Not Found", 500: "Internal Server Error",
           501: "Not Implemented"}
CREATED_KEYS = {"_id", "processInstanceId", "status", "businessKey", "processDefinitionId"}
T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def assert_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.json() == {"code": status, "reason": REASONS[status], "message": message}


def definition_id(idm, key, version):
    return idm.server.call(lambda: next(d.id for d in idm.engine.definitions()
                                        if (d.key, d.version) == (key, version)))


def start(idm, body):
    response = idm.start(body)
    assert response.status_code == 201, response.text
    return response.json()["_id"]


def query(idm, params, path=INSTANCES):
    return idm.query(path, params)


def ids(items):
    return [item["_id"] for item in items]


def found(idm, params, path=INSTANCES):
    return idm.found(path, params)


def tasks_of(idm, instance_id):
    return idm.server.call(lambda: idm.engine.query_tasks(TaskQuery(instance_id=instance_id)))


def complete_all(idm, instance_id, variables=None):
    """Complete the instance's tasks over HTTP until it ends."""
    while tasks := tasks_of(idm, instance_id):
        for task in tasks:
            response = idm.request("POST", f"workflow/taskinstance/{task.id}?_action=complete",
                                   json=variables or {})
            assert response.status_code == 200, response.text


def add_user(idm, name):
    idm.server.call(lambda: idm.server.app[STATE].identity.add_user(name, "Passw0rd"))
    return {"X-OpenIDM-Username": name, "X-OpenIDM-Password": "Passw0rd",
            "X-OpenIDM-NoSession": "true"}


@pytest.fixture
def v1(idm):
    return definition_id(idm, "contractorOnboarding", 1)


@pytest.fixture
def v2(idm):
    return definition_id(idm, "contractorOnboarding", 2)


@pytest.fixture
def role(idm):
    return definition_id(idm, "roleRequest", 1)


# 5.4 create --------------------------------------------------------------------------------------


def test_create_by_key_answers_201_with_exactly_five_keys(idm, v2):
    response = idm.start({"_key": "contractorOnboarding"})
    assert response.status_code == 201
    assert "ETag" not in response.headers
    assert response.headers.get("Location")
    body = response.json()
    assert set(body) == CREATED_KEYS
    assert len(body) == 5
    assert body["_id"] == body["processInstanceId"]
    assert isinstance(body["_id"], str) and body["_id"].isdigit()
    assert body["status"] == "suspended"
    assert body["businessKey"] is None
    assert body["processDefinitionId"] == v2


@pytest.mark.parametrize(("method", "path"), [
    ("POST", f"{INSTANCES}?_action=create"),
    ("POST", f"{INSTANCES}?_action=CREATE"),
    ("POST", f"{INSTANCES}?_action=Create"),
    ("POST", INSTANCES),
    ("POST", f"{INSTANCES}/?_action=create"),
    ("PUT", f"{INSTANCES}/client-chosen-id"),
])
def test_every_create_form_starts_a_process(idm, role, method, path):
    response = idm.request(method, path, json={"_key": "roleRequest", "_businessKey": "form"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == CREATED_KEYS
    assert body["processDefinitionId"] == role
    assert body["_id"] != "client-chosen-id"
    assert found(idm, "processInstanceBusinessKey=form") == [body["_id"]]


def test_create_by_definition_id_starts_that_version(idm, v1):
    response = idm.start({"_processDefinitionId": v1})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"] == v1


def test_definition_id_wins_over_a_key_naming_another_process(idm, v1):
    response = idm.start({"_key": "roleRequest", "_processDefinitionId": v1})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"] == v1


def test_definition_id_wins_over_an_unknown_key(idm, v1):
    response = idm.start({"_key": "doesNotExist", "_processDefinitionId": v1})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"] == v1


def test_key_starts_the_highest_version_after_a_new_deployment(idm, v2):
    assert idm.start({"_key": "contractorOnboarding"}).json()["processDefinitionId"] == v2
    idm.server.call(lambda: idm.engine.deploy(linear_process(
        "contractorOnboarding", "Contractor onboarding", [UserTask("only")])))
    listed = query(idm, "_queryId=filtered-query&key=contractorOnboarding",
                   "workflow/processdefinition")
    newest = max(listed, key=lambda d: d["version"])
    assert newest["version"] == 3
    response = idm.start({"_key": "contractorOnboarding"})
    assert response.json()["processDefinitionId"] == newest["_id"]


def test_business_key_is_kept(idm):
    response = idm.start({"_key": "roleRequest", "_businessKey": "newOrder"})
    assert response.json()["businessKey"] == "newOrder"
    [item] = query(idm, "_queryId=filtered-query&processInstanceBusinessKey=newOrder")
    assert item["_id"] == response.json()["_id"]
    assert item["businessKey"] == "newOrder"


def test_business_key_null_is_null(idm):
    response = idm.start({"_key": "roleRequest", "_businessKey": None})
    assert response.status_code == 201
    assert response.json()["businessKey"] is None


def test_other_body_keys_become_process_variables(idm):
    instance = start(idm, {"_key": "roleRequest", "_businessKey": "bk", "color": "blue",
                           "count": 1, "nested": {"a": [1, 2]}, "_action": "performAction"})
    [task] = tasks_of(idm, instance)
    variables = idm.request("GET", f"workflow/taskinstance/{task.id}").json()["variables"]
    assert variables == {"color": "blue", "count": 1, "nested": {"a": [1, 2]},
                         "_action": "performAction"}


def test_variables_are_found_by_string_equality(idm):
    instance = start(idm, {"_key": "roleRequest", "color": "blue", "x": 1, "flag": True,
                           "text": "1"})
    start(idm, {"_key": "roleRequest", "color": "red"})
    assert found(idm, "var-color=blue") == [instance]
    assert found(idm, "var-text=1") == [instance]
    assert found(idm, "var-x=1") == []
    assert found(idm, "var-flag=true") == []
    assert found(idm, "var-color=blue&var-text=1") == [instance]
    assert found(idm, "var-color=blue&var-text=2") == []
    assert found(idm, "var-missing=blue") == []


def test_the_caller_is_the_start_user(idm):
    alice = add_user(idm, "alice")
    response = idm.request("POST", f"{INSTANCES}?_action=create", auth=False, headers=alice,
                           json={"_key": "roleRequest"})
    assert response.status_code == 201, response.text
    by_alice = response.json()["_id"]
    by_admin = start(idm, {"_key": "roleRequest"})
    items = {item["_id"]: item for item in query(idm, "_queryId=query-all-ids")}
    assert items[by_alice]["startUserId"] == "alice"
    assert items[by_admin]["startUserId"] == "openidm-admin"
    assert found(idm, "startUserId=alice") == [by_alice]


def test_unknown_key_is_404(idm):
    assert_error(idm.start({"_key": "foo"}), 404, "no processes deployed with key &#39;foo&#39;")


def test_unknown_definition_id_is_404(idm):
    assert_error(idm.start({"_processDefinitionId": "foo:1:2"}), 404,
                 "no deployed process definition found with id &#39;foo:1:2&#39;")


@pytest.mark.parametrize("body", ["{}", "null", '{"_businessKey": "bk", "x": 1}',
                                  '{"_key": null}'])
def test_a_body_naming_no_definition_is_500(idm, body):
    response = idm.request("POST", f"{INSTANCES}?_action=create", data=body,
                           headers={"Content-Type": "application/json"})
    assert_error(response, 500, "processDefinitionKey and processDefinitionId are null")
    assert query(idm, "_queryId=query-all-ids") == []


@pytest.mark.parametrize("body", [{"_key": 1}, {"_key": ["roleRequest"]},
                                  {"_key": "roleRequest", "_businessKey": 7},
                                  {"_processDefinitionId": {"id": "x"}}, {"_key": True}])
def test_reserved_keys_that_are_not_strings_are_500(idm, body):
    response = idm.start(body)
    assert response.status_code == 500
    assert response.json()["code"] == 500
    assert response.json()["reason"] == "Internal Server Error"
    assert query(idm, "_queryId=query-all-ids") == []


def test_a_suspended_definition_cannot_be_started(idm, role):
    def suspend():
        idm.engine.definition(role).suspended = True
    idm.server.call(suspend)
    assert_error(idm.start({"_key": "roleRequest"}), 500,
                 f"Cannot start process instance. Process definition Role request "
                 f"(id = {role}) is suspended")


def test_a_process_that_ends_during_the_start_has_status_ended(idm):
    idm.server.call(lambda: idm.engine.deploy(linear_process("instant", "Instant")))
    response = idm.start({"_key": "instant"})
    assert response.status_code == 201
    assert response.json()["status"] == "ended"
    assert query(idm, "_queryId=query-all-ids") == []


@pytest.mark.parametrize(("data", "headers", "message"), [
    ("[1]", {"Content-Type": "application/json"},
     "The request could not be processed because the provided content is not a JSON object"),
    ('"roleRequest"', {"Content-Type": "application/json"},
     "The request could not be processed because the provided content is not a JSON object"),
    ('{"_key": "roleRequest"}', {},
     "The request could not be processed because the  content-type was not specified and is "
     "required"),
])
def test_bodies_that_are_not_json_objects_are_400(idm, data, headers, message):
    response = idm.request("POST", f"{INSTANCES}?_action=create", data=data, headers=headers)
    assert_error(response, 400, message)


def test_malformed_json_is_400_with_a_string_detail(idm):
    response = idm.request("POST", f"{INSTANCES}?_action=create", data='{"_key":',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert body["message"] == ("The request could not be processed because the provided content "
                               "is not valid JSON")
    assert isinstance(body["detail"], str)


def test_another_content_type_is_400(idm):
    response = idm.request("POST", f"{INSTANCES}?_action=create", data='{"_key":"roleRequest"}',
                           headers={"Content-Type": "text/plain"})
    assert_error(response, 400, "The request could not be processed because it specified the "
                                "content-type &#39;text/plain&#39; when only the content-type "
                                "&#39;application/json&#39; and &#39;multipart/form-data&#39; "
                                "are supported")


@pytest.mark.parametrize("action", ["bogus", "start", "createProcessInstance"])
def test_other_actions_are_not_supported(idm, action):
    response = idm.request("POST", f"{INSTANCES}?_action={action}", json={"_key": "roleRequest"})
    assert_error(response, 501, "The ACTION operations are not supported")
    assert query(idm, "_queryId=query-all-ids") == []


def test_get_with_action_create_is_400_and_starts_nothing(idm):
    response = idm.request("GET", f"{INSTANCES}?_action=create")
    assert response.status_code == 400
    # Reference 5.4 says `The resource collection  cannot be read`; 13.1 argues for
    # `Unrecognized request parameter '_action'`. Either is a 400 and starts nothing.
    assert response.json()["message"] in (
        "The resource collection  cannot be read",
        "Unrecognized request parameter &#39;_action&#39;")
    assert query(idm, "_queryId=query-all-ids") == []


@pytest.mark.parametrize(("method", "headers", "status", "message"), [
    ("DELETE", {}, 400, "The resource collection  cannot be deleted"),
    ("PUT", {"If-Match": "*"}, 400, "The resource collection  cannot be updated"),
    ("PATCH", {}, 501, "The PATCH operations are not supported"),
    ("OPTIONS", {}, 501, "Method OPTIONS not supported"),
])
def test_wrong_methods_on_the_collection(idm, method, headers, status, message):
    start(idm, {"_key": "roleRequest"})
    body = [] if method == "PATCH" else {"_key": "roleRequest"}
    response = idm.request(method, INSTANCES, headers=headers, json=body)
    assert_error(response, status, message)
    assert len(query(idm, "_queryId=query-all-ids")) == 1


# 5.4 query ---------------------------------------------------------------------------------------


def test_query_all_ids_shows_only_running_instances(idm):
    running = start(idm, {"_key": "roleRequest"})
    completed = start(idm, {"_key": "roleRequest"})
    deleted = start(idm, {"_key": "roleRequest"})
    complete_all(idm, completed)
    assert idm.request("DELETE", f"{INSTANCES}/{deleted}").status_code == 200
    items = query(idm, "_queryId=query-all-ids")
    assert ids(items) == [running]
    assert items[0]["processDefinitionResourceName"] == "Role request"
    assert items[0]["endTime"] is None


def test_query_items_have_the_instance_fields(idm, role):
    instance = start(idm, {"_key": "roleRequest", "_businessKey": "bk"})
    [item] = query(idm, "_queryId=query-all-ids")
    assert item["_id"] == item["processInstanceId"] == instance
    assert "_rev" not in item
    assert (item["businessKey"], item["processDefinitionId"], item["startUserId"]) == (
        "bk", role, "openidm-admin")
    assert (item["startActivityId"], item["endActivityId"], item["deleteReason"]) == (
        "start", None, None)
    assert item["durationInMillis"] is None
    assert item["superProcessInstanceId"] is None
    assert item["processVariables"] == {}
    assert item["tenantId"] == ""
    assert isinstance(item["startTime"], str) and "T" in item["startTime"]


@pytest.mark.parametrize("sort", ["-processInstanceId", "processDefinitionId", "bogus", "-_id"])
def test_query_all_ids_ignores_sort_keys(idm, v1, v2, sort):
    first = start(idm, {"_processDefinitionId": v2})
    second = start(idm, {"_processDefinitionId": v1})
    assert ids(query(idm, f"_queryId=query-all-ids&_sortKeys={sort}")) == [first, second]


def test_filter_by_definition_id(idm, v1, v2):
    old = start(idm, {"_processDefinitionId": v1})
    start(idm, {"_processDefinitionId": v2})
    assert found(idm, f"processDefinitionId={v1}") == [old]


def test_filter_by_definition_key_spans_versions(idm, v1):
    old = start(idm, {"_processDefinitionId": v1})
    new = start(idm, {"_key": "contractorOnboarding"})
    start(idm, {"_key": "roleRequest"})
    assert found(idm, "processDefinitionKey=contractorOnboarding") == [old, new]
    assert found(idm, "processDefinitionKey=contractor") == []


def test_filter_by_business_key_and_instance_id(idm):
    a = start(idm, {"_key": "roleRequest", "_businessKey": "a"})
    b = start(idm, {"_key": "roleRequest", "_businessKey": "b"})
    assert found(idm, "processInstanceBusinessKey=b") == [b]
    assert found(idm, "processInstanceBusinessKey=B") == []
    assert found(idm, f"processInstanceId={a}") == [a]
    assert found(idm, f"processInstanceId={a}&processInstanceBusinessKey=b") == []


def test_filter_by_super_process_instance(idm):
    parent = start(idm, {"_key": "roleRequest"})
    child = start(idm, {"_key": "roleRequest"})
    start(idm, {"_key": "roleRequest"})

    def link():
        idm.engine.instance(child).super_instance_id = parent
    idm.server.call(link)
    assert found(idm, f"superProcessInstanceId={parent}") == [child]
    [item] = query(idm, f"_queryId=filtered-query&processInstanceId={child}")
    assert item["superProcessInstanceId"] == parent


def test_filter_by_involved_user(idm):
    alice = add_user(idm, "alice")
    headers = {**alice, "Content-Type": "application/json"}
    by_alice = idm.request("POST", f"{INSTANCES}?_action=create", auth=False, headers=headers,
                           data='{"_key": "contractorOnboarding"}').json()["_id"]
    # roleRequest names openidm-admin as a candidate user of its task
    by_alice_role = idm.request("POST", f"{INSTANCES}?_action=create", auth=False,
                                headers=headers, data='{"_key": "roleRequest"}').json()["_id"]
    claimed = start(idm, {"_key": "contractorOnboarding"})
    [task] = tasks_of(idm, claimed)
    assert idm.request("POST", f"workflow/taskinstance/{task.id}?_action=claim",
                       json={"userId": "dave"}).status_code == 200
    assert found(idm, "involvedUserId=alice") == [by_alice, by_alice_role]
    assert found(idm, "involvedUserId=dave") == [claimed]  # assignee
    assert by_alice_role in found(idm, "involvedUserId=openidm-admin")  # candidate user
    assert by_alice not in found(idm, "involvedUserId=openidm-admin")
    assert found(idm, "involvedUserId=nobody") == []


def test_unfinished_true_on_the_running_view_changes_nothing(idm):
    running = start(idm, {"_key": "roleRequest"})
    complete_all(idm, start(idm, {"_key": "roleRequest"}))
    assert found(idm, "unfinished=true") == [running]


@pytest.mark.parametrize("params", ["bogus=1", "businessKey=a", "ProcessInstanceBusinessKey=a",
                                    "taskName=x", "finished=yes"])
def test_unknown_parameters_are_ignored(idm, params):
    a = start(idm, {"_key": "roleRequest", "_businessKey": "a"})
    b = start(idm, {"_key": "roleRequest", "_businessKey": "b"})
    assert found(idm, params) == [a, b]


def test_filtered_query_without_filters_lists_running_instances(idm):
    a = start(idm, {"_key": "roleRequest"})
    b = start(idm, {"_key": "contractorOnboarding"})
    complete_all(idm, start(idm, {"_key": "roleRequest"}))
    assert found(idm, "") == [a, b]


def test_sort_by_instance_id_is_lexicographic(idm):
    idm.server.call(lambda: setattr(idm.engine.ids, "next_value", 98))
    a = start(idm, {"_key": "roleRequest"})  # 98 (its task is 99)
    b = start(idm, {"_key": "roleRequest"})  # 100
    assert (a, b) == ("98", "100")
    assert found(idm, "_sortKeys=processInstanceId") == [b, a]
    assert found(idm, "_sortKeys=-processInstanceId") == [a, b]


def test_sort_by_definition_id(idm, v1, v2, role):
    x = start(idm, {"_processDefinitionId": role})
    y = start(idm, {"_processDefinitionId": v2})
    z = start(idm, {"_processDefinitionId": v1})
    assert found(idm, "_sortKeys=processDefinitionId") == [z, y, x]
    assert found(idm, "_sortKeys=-processDefinitionId") == [x, y, z]


def test_sort_by_business_key(idm):
    b = start(idm, {"_key": "roleRequest", "_businessKey": "b"})
    c = start(idm, {"_key": "roleRequest", "_businessKey": "c"})
    a = start(idm, {"_key": "roleRequest", "_businessKey": "a"})
    assert found(idm, "_sortKeys=processInstanceBusinessKey") == [a, b, c]
    assert found(idm, "_sortKeys=-processInstanceBusinessKey") == [c, b, a]
    assert found(idm, "_sortKeys=%2BprocessInstanceBusinessKey") == [a, b, c]


def test_sort_by_start_time(idm):
    idm.server.call(lambda: idm.engine.clock.freeze(T0))
    late = start(idm, {"_key": "roleRequest"})
    idm.server.call(lambda: idm.engine.clock.freeze(T0 - timedelta(hours=1)))
    early = start(idm, {"_key": "roleRequest"})
    assert found(idm, "_sortKeys=startTime") == [early, late]
    assert found(idm, "_sortKeys=-startTime") == [late, early]


def test_sort_by_several_keys(idm, v1, v2):
    a = start(idm, {"_processDefinitionId": v2, "_businessKey": "a"})
    b = start(idm, {"_processDefinitionId": v1, "_businessKey": "b"})
    c = start(idm, {"_processDefinitionId": v2, "_businessKey": "c"})
    assert found(idm, "_sortKeys=-processDefinitionId,processInstanceBusinessKey") == [a, c, b]


@pytest.mark.parametrize("key", ["endTime", "durationInMillis", "tenantId", "-tenantId"])
def test_sort_keys_without_differences_on_running_instances_are_accepted(idm, key):
    a = start(idm, {"_key": "roleRequest"})
    b = start(idm, {"_key": "roleRequest"})
    assert sorted(found(idm, f"_sortKeys={key}")) == sorted([a, b])


@pytest.mark.parametrize("key", ["x", "businessKey", "_id", "name"])
def test_unknown_sort_key_on_filtered_query_is_500(idm, key):
    start(idm, {"_key": "roleRequest"})
    response = idm.request("GET", f"{INSTANCES}?_queryId=filtered-query&_sortKeys={key}")
    assert_error(response, 500, f"Sort key: {key} is not valid")


@pytest.fixture
def three(idm, v1):
    """Three running instances and one finished one, for _queryFilter."""
    alpha = start(idm, {"_key": "contractorOnboarding", "_businessKey": "alpha"})
    beta = start(idm, {"_key": "roleRequest", "_businessKey": "beta"})
    plain = start(idm, {"_processDefinitionId": v1})
    complete_all(idm, start(idm, {"_key": "roleRequest", "_businessKey": "alphabet"}))
    return alpha, beta, plain


@pytest.mark.parametrize(("expression", "expected"), [
    ("true", ["alpha", "beta", "plain"]),
    ("false", []),
    ('businessKey eq "alpha"', ["alpha"]),
    ('businessKey co "et"', ["beta"]),
    ('businessKey sw "al"', ["alpha"]),
    ("businessKey pr", ["alpha", "beta"]),
    ("!(businessKey pr)", ["plain"]),
    ('processDefinitionId sw "contractorOnboarding" and businessKey pr', ["alpha"]),
    ('businessKey eq "beta" or businessKey eq "alpha"', ["alpha", "beta"]),
    ('!(processDefinitionId sw "roleRequest")', ["alpha", "plain"]),
    ('startUserId eq "openidm-admin" and !(businessKey eq "beta")', ["alpha", "plain"]),
    ('/processDefinitionResourceName eq "Role request"', ["beta"]),
])
def test_query_filter_on_instance_fields(idm, three, expression, expected):
    named = dict(zip(("alpha", "beta", "plain"), three, strict=True))
    response = idm.request("GET", INSTANCES, params={"_queryFilter": expression})
    assert response.status_code == 200, response.text
    assert ids(response.json()["result"]) == [named[n] for n in expected]


def test_query_filter_honours_sort_keys(idm, three):
    alpha, beta, plain = three
    items = query(idm, "_queryFilter=true&_sortKeys=-processInstanceBusinessKey")
    assert ids(items) == [beta, alpha, plain]


def test_query_filter_is_an_unknown_query_id_in_6_5(idm65):
    start(idm65, {"_key": "roleRequest"})
    response = idm65.request("GET", f"{INSTANCES}?_queryFilter=true")
    assert_error(response, 400, "Unknown query-id")


def test_query_ids_still_work_in_6_5(idm65):
    instance = start(idm65, {"_key": "roleRequest", "_businessKey": "x"})
    assert ids(query(idm65, "_queryId=query-all-ids")) == [instance]
    assert found(idm65, "processInstanceBusinessKey=x") == [instance]


@pytest.mark.parametrize("query_id", ["bogus", "Query-All-Ids", "gettasksview"])
def test_other_query_ids_are_unknown(idm, query_id):
    assert_error(idm.request("GET", f"{INSTANCES}?_queryId={query_id}"), 400, "Unknown query-id")


def test_get_without_query_is_a_read_of_the_collection(idm):
    assert_error(idm.request("GET", INSTANCES), 400, "The resource collection  cannot be read")


# 5.5 one instance --------------------------------------------------------------------------------


def test_read_a_running_instance_has_its_tasks(idm):
    instance = start(idm, {"_key": "roleRequest", "_businessKey": "bk"})
    [task] = tasks_of(idm, instance)
    response = idm.request("GET", f"{INSTANCES}/{instance}")
    assert response.status_code == 200
    body = response.json()
    assert (body["_id"], body["businessKey"], body["endTime"]) == (instance, "bk", None)
    assert body["processDefinitionResourceName"] == "Role request"
    [item] = body["tasks"]
    assert (item["_id"], item["taskDefinitionKey"], item["endTime"]) == (
        task.id, "reviewRequest", None)
    assert item["processInstanceId"] == instance


def test_read_a_finished_instance_has_every_task_it_had(idm, v2):
    instance = start(idm, {"_processDefinitionId": v2})
    complete_all(idm, instance, {"decision": "approve"})
    body = idm.request("GET", f"{INSTANCES}/{instance}").json()
    assert body["endTime"] is not None
    assert body["endActivityId"] == "end"
    assert isinstance(body["durationInMillis"], int)
    assert [t["taskDefinitionKey"] for t in body["tasks"]] == ["managerApproval", "hrSetup"]
    assert all(t["endTime"] is not None for t in body["tasks"])
    assert all(t["deleteReason"] is None for t in body["tasks"])  # Flowable: no reason


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def add_diagram(idm, definition_id):
    """Give a definition (one without diagram interchange) a diagram resource."""
    def run():
        definition = idm.engine.definition(definition_id)
        definition.diagram_resource_name = f"{definition.key}.{definition.key}.png"
        resources = idm.engine.store.deployments[definition.deployment_id].resources
        resources[definition.diagram_resource_name] = PNG
    idm.server.call(run)


def test_an_instance_diagram_is_generated_never_the_deployed_image(idm, role):
    # IDM draws an instance's diagram from the file's diagram interchange: the role request has
    # none, so an image in its deployment does not make one (tests/http/test_generated_diagrams.py
    # reads one that is drawn).
    add_diagram(idm, role)
    instance = start(idm, {"_key": "roleRequest"})
    response = idm.request("GET", f"{INSTANCES}/{instance}?_fields=diagram")
    assert response.status_code == 200
    assert response.json() == {"_id": instance}


def test_read_a_finished_instance_with_fields_diagram_is_500(idm, role):
    add_diagram(idm, role)
    instance = start(idm, {"_key": "roleRequest"})
    complete_all(idm, instance)
    assert_error(idm.request("GET", f"{INSTANCES}/{instance}?_fields=diagram"), 500,
                 f"Process instance with id{instance} could not be found")


@pytest.mark.parametrize("path", [f"{INSTANCES}/999", f"{HISTORY}/999"])
def test_read_an_unknown_instance_is_a_bare_404(idm, path):
    assert_error(idm.request("GET", path), 404, "Not Found")


def test_delete_a_running_instance(idm, role):
    instance = start(idm, {"_key": "roleRequest", "_businessKey": "bk", "v": "1"})
    [before] = query(idm, f"_queryId=filtered-query&processInstanceId={instance}")
    response = idm.request("DELETE", f"{INSTANCES}/{instance}")
    assert response.status_code == 200
    body = response.json()
    assert "tasks" not in body
    assert "processDefinitionResourceName" not in body
    assert body == {k: v for k, v in before.items() if k != "processDefinitionResourceName"}
    assert (body["_id"], body["processDefinitionId"], body["endTime"]) == (instance, role, None)
    assert query(idm, "_queryId=query-all-ids") == []
    history = idm.request("GET", f"{HISTORY}/{instance}").json()
    assert history["deleteReason"] == "Deleted by Openidm"
    assert history["endTime"] is not None
    assert found(idm, f"processInstanceId={instance}", HISTORY) == [instance]


def test_delete_ends_the_instances_tasks(idm):
    instance = start(idm, {"_key": "roleRequest"})
    [task] = tasks_of(idm, instance)
    idm.request("DELETE", f"{INSTANCES}/{instance}")
    assert idm.request("GET", f"workflow/taskinstance/{task.id}").status_code == 404


def test_delete_a_finished_instance_is_404(idm):
    instance = start(idm, {"_key": "roleRequest"})
    complete_all(idm, instance)
    assert_error(idm.request("DELETE", f"{INSTANCES}/{instance}"), 404,
                 f"No process instance found for id &#39;{instance}&#39;")


def test_delete_twice_is_404_the_second_time(idm):
    instance = start(idm, {"_key": "roleRequest"})
    assert idm.request("DELETE", f"{INSTANCES}/{instance}").status_code == 200
    assert_error(idm.request("DELETE", f"{INSTANCES}/{instance}"), 404,
                 f"No process instance found for id &#39;{instance}&#39;")


def test_delete_an_unknown_instance_is_a_bare_404(idm):
    assert_error(idm.request("DELETE", f"{INSTANCES}/999"), 404, "Not Found")


def test_put_with_if_match_is_an_unsupported_update(idm):
    instance = start(idm, {"_key": "roleRequest"})
    response = idm.request("PUT", f"{INSTANCES}/{instance}", headers={"If-Match": "*"},
                           json={"businessKey": "x"})
    assert_error(response, 501, "The UPDATE operations are not supported")


def test_actions_on_an_instance_are_not_supported(idm):
    instance = start(idm, {"_key": "roleRequest"})
    response = idm.request("POST", f"{INSTANCES}/{instance}?_action=suspend", json={})
    assert_error(response, 501, "The ACTION operations are not supported")


def test_an_instance_cannot_be_queried_or_created_in(idm):
    instance = start(idm, {"_key": "roleRequest"})
    assert_error(idm.request("GET", f"{INSTANCES}/{instance}?_queryId=query-all-ids"), 400,
                 "The resource instance  cannot be queried")
    assert_error(idm.request("POST", f"{INSTANCES}/{instance}", json={"_key": "roleRequest"}),
                 400, "The resource instance  cannot be created")


def test_patch_an_instance_is_not_supported(idm):
    instance = start(idm, {"_key": "roleRequest"})
    response = idm.request("PATCH", f"{INSTANCES}/{instance}", json=[])
    assert_error(response, 501, "The PATCH operations are not supported")


# 5.6 history -------------------------------------------------------------------------------------


@pytest.fixture
def mixed(idm):
    """One finished, one deleted and one running instance, in that order."""
    done = start(idm, {"_key": "roleRequest"})
    complete_all(idm, done)
    deleted = start(idm, {"_key": "roleRequest"})
    idm.request("DELETE", f"{INSTANCES}/{deleted}")
    running = start(idm, {"_key": "roleRequest"})
    return done, deleted, running


def test_history_query_all_ids_has_finished_and_running_instances(idm, mixed):
    items = query(idm, "_queryId=query-all-ids", HISTORY)
    assert ids(items) == list(mixed)
    done, deleted, _running = items
    assert done["endActivityId"] == "end" and done["deleteReason"] is None
    assert deleted["deleteReason"] == "Deleted by Openidm"


@pytest.mark.parametrize(("params", "expected"), [
    ("", [0, 1, 2]),
    ("finished=true", [0, 1]),
    ("unfinished=true", [2]),
    ("finished=yes", [0, 1, 2]),
    ("unfinished=false", [0, 1, 2]),
])
def test_history_finished_and_unfinished(idm, mixed, params, expected):
    assert found(idm, params, HISTORY) == [mixed[i] for i in expected]


def test_history_filters_like_the_running_view(idm, mixed):
    done, _deleted, running = mixed
    assert found(idm, f"processInstanceId={done}", HISTORY) == [done]
    assert found(idm, "startUserId=openidm-admin&finished=true", HISTORY) == list(mixed[:2])
    assert found(idm, "processDefinitionKey=roleRequest&unfinished=true", HISTORY) == [running]


def test_history_query_filter(idm, mixed):
    assert ids(query(idm, "_queryFilter=true", HISTORY)) == list(mixed)
    assert ids(query(idm, "_queryFilter=endTime%20pr", HISTORY)) == list(mixed[:2])


def test_history_query_all_ids_ignores_sort_keys(idm, mixed):
    assert ids(query(idm, "_queryId=query-all-ids&_sortKeys=-processInstanceId", HISTORY)) == \
        list(mixed)


def test_history_sort_by_end_time_and_duration(idm):
    idm.server.call(lambda: idm.engine.clock.freeze(T0))
    long = start(idm, {"_key": "roleRequest"})
    idm.server.call(lambda: idm.engine.clock.advance(timedelta(seconds=10)))
    short = start(idm, {"_key": "roleRequest"})
    idm.server.call(lambda: idm.engine.clock.advance(timedelta(seconds=2)))
    idm.request("DELETE", f"{INSTANCES}/{short}")  # 2 s, ends at T0+12
    idm.server.call(lambda: idm.engine.clock.advance(timedelta(seconds=5)))
    idm.request("DELETE", f"{INSTANCES}/{long}")  # 17 s, ends at T0+17
    assert found(idm, "_sortKeys=endTime", HISTORY) == [short, long]
    assert found(idm, "_sortKeys=-endTime", HISTORY) == [long, short]
    assert found(idm, "_sortKeys=durationInMillis", HISTORY) == [short, long]
    assert found(idm, "_sortKeys=-durationInMillis", HISTORY) == [long, short]
    items = {i["_id"]: i for i in query(idm, "_queryId=query-all-ids", HISTORY)}
    assert (items[short]["durationInMillis"], items[long]["durationInMillis"]) == (2000, 17000)


def test_history_unknown_sort_key_is_500(idm, mixed):
    response = idm.request("GET", f"{HISTORY}?_queryId=filtered-query&_sortKeys=x")
    assert_error(response, 500, "Sort key: x is not valid")


def test_history_unknown_query_id(idm):
    assert_error(idm.request("GET", f"{HISTORY}?_queryId=bogus"), 400, "Unknown query-id")


def test_history_read_of_running_and_finished_instances(idm, mixed):
    done, deleted, running = mixed
    for instance in mixed:
        response = idm.request("GET", f"{HISTORY}/{instance}")
        assert response.status_code == 200
        body = response.json()
        assert body["_id"] == instance
        assert len(body["tasks"]) == 1
        assert body["processDefinitionResourceName"] == "Role request"
    assert idm.request("GET", f"{HISTORY}/{running}").json()["endTime"] is None
    assert idm.request("GET", f"{HISTORY}/{done}").json()["tasks"][0]["deleteReason"] is None
    assert idm.request("GET", f"{HISTORY}/{deleted}").json()["tasks"][0]["deleteReason"] == \
        "Deleted by Openidm"


def test_history_read_equals_the_running_read(idm):
    instance = start(idm, {"_key": "roleRequest"})
    assert idm.request("GET", f"{HISTORY}/{instance}").json() == \
        idm.request("GET", f"{INSTANCES}/{instance}").json()


def test_create_on_the_history_collection_starts_a_process(idm, role):
    response = idm.request("POST", f"{HISTORY}?_action=create", json={"_key": "roleRequest"})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"] == role
    assert len(query(idm, "_queryId=query-all-ids")) == 1


def test_history_delete_of_a_running_instance(idm):
    instance = start(idm, {"_key": "roleRequest"})
    response = idm.request("DELETE", f"{HISTORY}/{instance}")
    assert response.status_code == 200
    assert response.json()["_id"] == instance
    assert query(idm, "_queryId=query-all-ids") == []
    assert_error(idm.request("DELETE", f"{HISTORY}/{instance}"), 404,
                 f"No process instance found for id &#39;{instance}&#39;")
