"""`workflow/processdefinition[/{id}[/taskdefinition[/{key}]]]` over HTTP (reference 5.1-5.3, 6.1,
6.2, 8)."""

import base64
import re

import pytest

from mockidm import UserTask, linear_process

DEFS = "workflow/processdefinition"
REASONS = {400: "Bad Request", 404: "Not Found", 409: "Conflict",
           500: "Internal Server Error", 501: "Not Implemented"}
ENVELOPE = {"pagedResultsCookie": None, "totalPagedResultsPolicy": "NONE",
            "totalPagedResults": -1, "remainingPagedResults": -1}


def assert_error(response, status, message):
    assert response.status_code == status, response.text
    assert response.json() == {"code": status, "reason": REASONS[status], "message": message}


def query(idm, params):
    response = idm.request("GET", f"{DEFS}?{params}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resultCount"] == len(body["result"])
    return body["result"]


def ids(items):
    return [item["_id"] for item in items]


def sample_ids(idm):
    """(key, version) -> definition id, as deployed by the fixture."""
    return idm.server.call(lambda: {(d.key, d.version): d.id for d in idm.engine.definitions()})


@pytest.fixture
def v1(idm):
    return sample_ids(idm)[("contractorOnboarding", 1)]


@pytest.fixture
def v2(idm):
    return sample_ids(idm)[("contractorOnboarding", 2)]


@pytest.fixture
def role(idm):
    return sample_ids(idm)[("roleRequest", 1)]


def deploy(idm, *models, name=None):
    return idm.server.call(lambda: idm.engine.deploy(list(models), name=name))


def start(idm, definition_id):
    response = idm.start({"_processDefinitionId": definition_id})
    assert response.status_code == 201, response.text
    return response.json()["_id"]


# 5.1 the collection ------------------------------------------------------------------------------


def test_query_all_ids_lists_every_version_of_every_key(idm, v1, v2, role):
    response = idm.request("GET", f"{DEFS}?_queryId=query-all-ids")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ENVELOPE} == ENVELOPE
    assert body["resultCount"] == 3
    assert ids(body["result"]) == [v1, v2, role]
    assert [(d["key"], d["version"]) for d in body["result"]] == [
        ("contractorOnboarding", 1), ("contractorOnboarding", 2), ("roleRequest", 1)]


def test_query_items_have_no_form_properties(idm):
    for item in query(idm, "_queryId=query-all-ids"):
        assert "formProperties" not in item


@pytest.mark.parametrize(("params", "expected"), [
    ("_id={v1}", ["v1"]),
    ("key=contractorOnboarding", ["v1", "v2"]),
    ("key=contractor", []),
    ("keyLike=contractor%25", ["v1", "v2"]),
    ("keyLike=%25Request", ["role"]),
    ("keyLike=roleReques_", ["role"]),
    ("keyLike=contractor", []),
    ("name=Role%20request", ["role"]),
    ("name=Role", []),
    ("nameLike=%25onboarding", ["v1", "v2"]),
    ("category=mockidm.samples", ["v1", "v2", "role"]),
    ("category=mockidm", []),
    ("categoryLike=mockidm.%25", ["v1", "v2", "role"]),
    ("processDefinitionResourceName=roleRequest.bpmn20.xml", ["role"]),
    ("processDefinitionResourceNameLike=contractor%25.xml", ["v1", "v2"]),
    ("key=contractorOnboarding&name=Role%20request", []),
    ("key=contractorOnboarding&_id={v2}", ["v2"]),
])
def test_filtered_query_parameters(idm, v1, v2, role, params, expected):
    named = {"v1": v1, "v2": v2, "role": role}
    items = query(idm, "_queryId=filtered-query&" + params.format(**named))
    assert ids(items) == [named[n] for n in expected]


def test_filtered_query_by_deployment_id(idm, v1, v2, role):
    deployment = query(idm, f"_queryId=filtered-query&_id={role}")[0]["deploymentId"]
    items = query(idm, f"_queryId=filtered-query&deploymentId={deployment}")
    assert ids(items) == [v2, role]  # the samples deploy these two together


def test_filtered_query_by_a_category_of_its_own(idm):
    [other] = deploy(idm, linear_process("misc", "Misc", [UserTask("t")], category="Examples"))
    assert ids(query(idm, "_queryId=filtered-query&category=Examples")) == [other.id]
    assert ids(query(idm, "_queryId=filtered-query&categoryLike=Ex%25")) == [other.id]


def test_filtered_query_without_filters_lists_everything(idm, v1, v2, role):
    assert ids(query(idm, "_queryId=filtered-query")) == [v1, v2, role]


@pytest.mark.parametrize("params", ["bogus=1", "Key=roleRequest", "KEY=roleRequest",
                                    "businessKey=x"])
def test_filtered_query_ignores_unknown_and_miscased_parameters(idm, v1, v2, role, params):
    assert ids(query(idm, f"_queryId=filtered-query&{params}")) == [v1, v2, role]


def test_filtered_query_with_version_fails_as_idm_does(idm):
    response = idm.request("GET", f"{DEFS}?_queryId=filtered-query&version=1")
    assert_error(response, 500, "version is null")


@pytest.mark.parametrize("query_id", ["query-all-ids", "filtered-query"])
@pytest.mark.parametrize("sort", ["-_id", "-key", "-version", "bogus"])
def test_sort_keys_are_ignored_for_query_ids(idm, v1, v2, role, query_id, sort):
    assert ids(query(idm, f"_queryId={query_id}&_sortKeys={sort}")) == [v1, v2, role]


def test_query_filter_true_lists_every_definition(idm, v1, v2, role):
    assert ids(query(idm, "_queryFilter=true")) == [v1, v2, role]


def test_query_filter_true_with_descending_id_as_idm7_scripts_ask(idm, v1, v2, role):
    assert ids(query(idm, "_queryFilter=true&_sortKeys=-_id")) == [role, v2, v1]


def test_query_filter_is_an_unknown_query_id_in_6_5(idm65):
    response = idm65.request("GET", f"{DEFS}?_queryFilter=true")
    assert_error(response, 400, "Unknown query-id")


@pytest.mark.parametrize("query_id", ["gettasksview", "query-all", "Query-All-Ids"])
def test_other_query_ids_are_unknown(idm, query_id):
    assert_error(idm.request("GET", f"{DEFS}?_queryId={query_id}"), 400, "Unknown query-id")


def test_get_without_query_is_a_read_of_the_collection(idm):
    assert_error(idm.request("GET", DEFS), 400, "The resource collection  cannot be read")


@pytest.mark.parametrize("path", [f"{DEFS}?_action=create", DEFS, f"{DEFS}?_action=CREATE"])
def test_definitions_cannot_be_created_over_rest(idm, path):
    response = idm.request("POST", path, json={"key": "x"})
    assert_error(response, 501, "The CREATE operations are not supported")
    assert len(query(idm, "_queryId=query-all-ids")) == 3


def test_actions_on_the_collection_are_not_supported(idm):
    response = idm.request("POST", f"{DEFS}?_action=deploy", json={})
    assert_error(response, 501, "The ACTION operations are not supported")


def test_delete_on_the_collection_is_refused(idm):
    assert_error(idm.request("DELETE", DEFS), 400, "The resource collection  cannot be deleted")
    assert len(query(idm, "_queryId=query-all-ids")) == 3


# 6.1 shape and 8 ids -----------------------------------------------------------------------------


def test_items_have_the_core_fields_with_their_types(idm):
    for item in query(idm, "_queryId=query-all-ids"):
        assert list(item)[:2] == ["_id", "_rev"]
        assert isinstance(item["_rev"], str)
        assert isinstance(item["version"], int) and not isinstance(item["version"], bool)
        assert isinstance(item["deploymentId"], str)
        assert item["suspended"] is False
        assert item["suspensionState"] == 1
        assert item["tenantId"] == ""
        assert item["hasStartFormKey"] is False
        assert item["graphicalNotationDefined"] is False
        for key in ("key", "name", "category", "description", "resourceName",
                    "processDiagramResourceName"):
            assert key in item
        assert item["resourceName"] == f"{item['key']}.bpmn20.xml"


def test_sample_fields(idm, role):
    [item] = query(idm, f"_queryId=filtered-query&_id={role}")
    assert (item["key"], item["name"], item["category"], item["version"]) == (
        "roleRequest", "Role request", "mockidm.samples", 1)
    assert item["description"] == "A user asks for a role; an administrator reviews the request."


def test_definition_ids_are_key_version_and_a_counter_value(idm):
    items = query(idm, "_queryId=query-all-ids")
    numbers = []
    for item in items:
        match = re.fullmatch(r"(.+):(\d+):(\d+)", item["_id"])
        assert match, item["_id"]
        assert match.group(1) == item["key"]
        assert int(match.group(2)) == item["version"]
        numbers.append(int(match.group(3)))
        # the deployment takes a counter value before its definitions do
        assert int(item["deploymentId"]) < int(match.group(3))
    assert len(set(numbers)) == len(numbers)


def test_a_new_deployment_gets_the_next_version_and_a_higher_counter(idm, v2, role):
    [v3] = deploy(idm, linear_process("contractorOnboarding", "Contractor onboarding v3"))
    [item] = query(idm, f"_queryId=filtered-query&_id={v3.id}")
    assert item["version"] == 3
    key, version, n = item["_id"].split(":")
    assert (key, version) == ("contractorOnboarding", "3")
    assert int(n) > max(int(v2.split(":")[2]), int(role.split(":")[2]))


def test_a_definition_id_over_64_characters_is_just_the_counter_value(idm):
    key = "averyveryverylongprocessdefinitionkeythatgoesonandonandonforever"
    deploy(idm, linear_process(key, "Long"))
    [item] = query(idm, f"_queryId=filtered-query&key={key}")
    assert item["_id"].isdigit()
    assert idm.request("GET", f"{DEFS}/{item['_id']}").json()["key"] == key


# 5.2 one definition ------------------------------------------------------------------------------


def test_read_returns_the_definition_with_form_properties(idm, v1):
    response = idm.request("GET", f"{DEFS}/{v1}")
    assert response.status_code == 200
    assert "ETag" not in response.headers
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.headers["Cache-Control"] == "no-cache"
    body = response.json()
    assert body["_id"] == v1
    assert [p["_id"] for p in body["formProperties"]] == ["contractorName", "startDate"]
    name, date = body["formProperties"]
    assert set(name) == {"_id", "name", "defaultExpression", "variableExpression",
                         "variableName", "type", "readable", "required", "writable"}
    assert (name["name"], name["required"], name["type"]["name"]) == (
        "Contractor name", True, "string")
    assert date["type"] == {"name": "date", "values": None, "datePattern": "dd/MM/yyyy"}
    assert "formResourceKey" not in body
    assert "formGenerationTemplate" not in body


def test_read_has_the_query_fields_too(idm, v2):
    [item] = query(idm, f"_queryId=filtered-query&_id={v2}")
    body = idm.request("GET", f"{DEFS}/{v2}").json()
    for key in ("_rev", "key", "name", "version", "category", "deploymentId", "resourceName",
                "suspended", "suspensionState", "tenantId", "hasStartFormKey"):
        assert body[key] == item[key]


def test_read_exposes_the_start_form_handler_and_task_definitions(idm, v2):
    body = idm.request("GET", f"{DEFS}/{v2}").json()
    handlers = body["startFormHandler"]["formPropertyHandlers"]
    assert [h["id"] for h in handlers] == ["contractorName", "startDate"]
    assert handlers[1]["type"]["name"] == "date"
    assert set(body["taskDefinitions"]) == {"managerApproval", "hrSetup"}


def test_read_of_a_definition_with_a_start_form_key_adds_the_form(idm):
    [form] = deploy(idm, linear_process("withForm", "With form", [UserTask("t")],
                                        start_form_key="start.html"))

    def add_resource():
        resources = idm.engine.store.deployments[form.deployment_id].resources
        resources["start.html"] = b"<form>hi</form>"
    idm.server.call(add_resource)
    body = idm.request("GET", f"{DEFS}/{form.id}").json()
    assert body["hasStartFormKey"] is True
    assert body["formResourceKey"] == "start.html"
    assert body["formGenerationTemplate"] == "<form>hi</form>"


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


def add_diagram(idm, definition_id):
    def run():
        definition = idm.engine.definition(definition_id)
        definition.diagram_resource_name = f"{definition.key}.{definition.key}.png"
        resources = idm.engine.store.deployments[definition.deployment_id].resources
        resources[definition.diagram_resource_name] = PNG
    idm.server.call(run)


def test_read_with_fields_diagram_adds_the_base64_diagram(idm, role):
    add_diagram(idm, role)
    response = idm.request("GET", f"{DEFS}/{role}?_fields=formProperties,"
                                  "formGenerationTemplate,diagram")
    assert response.status_code == 200
    body = response.json()
    assert body["_id"] == role
    assert body["diagram"].startswith("iVBORw")
    assert base64.b64decode(body["diagram"]) == PNG
    assert body["formProperties"] == []
    assert "key" not in body


def test_read_without_diagram_field_has_no_diagram(idm, role):
    add_diagram(idm, role)
    body = idm.request("GET", f"{DEFS}/{role}").json()
    assert "diagram" not in body
    assert body["graphicalNotationDefined"] is False  # a picture is not diagram data (DI)
    assert body["processDiagramResourceName"] == "roleRequest.roleRequest.png"


def test_read_the_diagram_as_an_image(idm, role):
    add_diagram(idm, role)
    response = idm.request("GET", f"{DEFS}/{role}?_fields=/diagram&_mimeType=image/png")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("image/png")
    assert response.content == PNG


def test_a_text_field_read_as_bytes_is_an_error_not_a_crash(idm, role):
    response = idm.request("GET", f"{DEFS}/{role}?_fields=name&_mimeType=image/png")
    assert_error(response, 500, "Field name is not base64-encoded content")


def test_fields_select_query_item_fields(idm, v1, v2, role):
    items = query(idm, "_queryId=query-all-ids&_fields=_id,key")
    assert items == [{"_id": v1, "key": "contractorOnboarding"},
                     {"_id": v2, "key": "contractorOnboarding"},
                     {"_id": role, "key": "roleRequest"}]


def test_paging_parameters_are_ignored_in_6_5(idm65):
    response = idm65.request("GET", f"{DEFS}?_queryId=query-all-ids&_pageSize=1"
                                    "&_pagedResultsOffset=1&_totalPagedResultsPolicy=EXACT")
    assert response.status_code == 200
    body = response.json()
    assert body["resultCount"] == 3
    assert {k: body[k] for k in ENVELOPE} == ENVELOPE


@pytest.mark.parametrize("definition_id", ["nope:1:1", "contractorOnboarding:9:9", "42"])
def test_read_of_an_unknown_definition_is_404(idm, definition_id):
    assert_error(idm.request("GET", f"{DEFS}/{definition_id}"), 404,
                 f"no deployed process definition found with id &#39;{definition_id}&#39;")


def test_delete_with_running_instances_is_a_conflict(idm, v1):
    start(idm, v1)
    response = idm.request("DELETE", f"{DEFS}/{v1}")
    assert_error(response, 409, "The process definition has running instances, can not be deleted")
    assert idm.request("GET", f"{DEFS}/{v1}").status_code == 200


def test_delete_answers_the_definition_and_removes_its_whole_deployment(idm, v1, v2, role):
    [before] = query(idm, f"_queryId=filtered-query&_id={v2}")
    response = idm.request("DELETE", f"{DEFS}/{v2}")
    assert response.status_code == 200
    assert response.json() == before
    assert ids(query(idm, "_queryId=query-all-ids")) == [v1]  # roleRequest came with v2
    assert_error(idm.request("GET", f"{DEFS}/{v2}"), 404,
                 f"no deployed process definition found with id &#39;{v2}&#39;")


def test_after_deleting_the_latest_version_a_key_starts_the_previous_one(idm, v1, v2):
    assert idm.request("DELETE", f"{DEFS}/{v2}").status_code == 200
    response = idm.start({"_key": "contractorOnboarding"})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"] == v1


def test_delete_after_the_instances_ended_succeeds(idm, v1):
    instance = start(idm, v1)
    assert idm.request("DELETE", f"workflow/processinstance/{instance}").status_code == 200
    assert idm.request("DELETE", f"{DEFS}/{v1}").status_code == 200


def test_delete_accepts_if_match(idm, v1):
    response = idm.request("DELETE", f"{DEFS}/{v1}", headers={"If-Match": "*"})
    assert response.status_code == 200
    assert response.json()["_id"] == v1


def test_delete_of_an_unknown_definition_is_404(idm):
    assert_error(idm.request("DELETE", f"{DEFS}/nope:1:1"), 404,
                 "no deployed process definition found with id &#39;nope:1:1&#39;")


def test_put_with_if_match_is_an_unsupported_update(idm, v1):
    response = idm.request("PUT", f"{DEFS}/{v1}", headers={"If-Match": "*"}, json={"name": "x"})
    assert_error(response, 501, "The UPDATE operations are not supported")
    assert idm.request("GET", f"{DEFS}/{v1}").json()["name"] == "Contractor onboarding"


def test_put_without_if_match_is_an_unsupported_create(idm, v1):
    response = idm.request("PUT", f"{DEFS}/{v1}", json={"name": "x"})
    assert_error(response, 501, "The CREATE operations are not supported")


def test_actions_on_a_definition_are_not_supported(idm, v1):
    response = idm.request("POST", f"{DEFS}/{v1}?_action=suspend", json={})
    assert_error(response, 501, "The ACTION operations are not supported")


def test_a_definition_cannot_be_queried(idm, v1):
    response = idm.request("GET", f"{DEFS}/{v1}?_queryId=query-all-ids")
    assert_error(response, 400, "The resource instance  cannot be queried")


# 5.3 task definitions ----------------------------------------------------------------------------


def test_task_definitions_are_the_user_tasks(idm, v2):
    response = idm.request("GET", f"{DEFS}/{v2}/taskdefinition?_queryId=query-all-ids")
    assert response.status_code == 200
    items = response.json()["result"]
    assert ids(items) == ["managerApproval", "hrSetup"]
    approval, setup = items
    assert "formResourceKey" in approval and approval["formResourceKey"] is None
    assert approval["name"] == {"expressionText": "Approve the contractor"}
    assert approval["taskCandidateGroup"] == [{"expressionText": "internal/role/openidm-admin"}]
    assert approval["taskCandidateUser"] == []
    assert approval["assignee"] is None
    [decision] = approval["formProperties"]["formPropertyHandlers"]
    assert decision["_id"] == "decision"
    assert decision["type"]["name"] == "enum"
    assert decision["type"]["values"] == {"approve": "Approve", "reject": "Reject"}
    assert setup["assignee"] == {"expressionText": "openidm-admin"}


def test_task_definitions_of_version_1(idm, v1):
    response = idm.request("GET", f"{DEFS}/{v1}/taskdefinition?_queryId=query-all-ids")
    assert ids(response.json()["result"]) == ["managerApproval"]


@pytest.mark.parametrize("params", ["_queryId=filtered-query", "_queryId=bogus"])
def test_task_definitions_know_only_query_all_ids(idm, v2, params):
    response = idm.request("GET", f"{DEFS}/{v2}/taskdefinition?{params}")
    assert_error(response, 400, "Unknown query-id")


def test_task_definitions_query_filter_is_unknown_in_6_5(idm65):
    v2 = sample_ids(idm65)[("contractorOnboarding", 2)]
    response = idm65.request("GET", f"{DEFS}/{v2}/taskdefinition?_queryFilter=true")
    assert_error(response, 400, "Unknown query-id")


def test_task_definitions_of_an_unknown_definition_are_a_500(idm):
    response = idm.request("GET", f"{DEFS}/nope:1:1/taskdefinition?_queryId=query-all-ids")
    assert_error(response, 500, "no deployed process definition found with id &#39;nope:1:1&#39;")


def test_read_a_task_definition(idm, v2):
    response = idm.request("GET", f"{DEFS}/{v2}/taskdefinition/hrSetup")
    assert response.status_code == 200
    body = response.json()
    assert body["_id"] == "hrSetup"
    assert body["name"] == {"expressionText": "Prepare the contractor's account"}
    assert body["assignee"] == {"expressionText": "openidm-admin"}
    assert body["formResourceKey"] is None


def test_read_a_task_definition_with_a_form_key_adds_the_form(idm):
    [form] = deploy(idm, linear_process("taskForm", "Task form",
                                        [UserTask("fill", "Fill", form_key="fill.html")]))

    def add_resource():
        idm.engine.store.deployments[form.deployment_id].resources.update({"fill.html": b"<form/>"})
    idm.server.call(add_resource)
    body = idm.request("GET", f"{DEFS}/{form.id}/taskdefinition/fill").json()
    assert body["formResourceKey"] == "fill.html"
    assert body["formGenerationTemplate"] == "<form/>"


@pytest.mark.parametrize("key", ["x", "start", "end", "managerapproval"])
def test_read_an_unknown_task_definition_is_404(idm, v2, key):
    response = idm.request("GET", f"{DEFS}/{v2}/taskdefinition/{key}")
    assert_error(response, 404, f"Task definition for {key} was not found")


def test_read_a_task_definition_of_an_unknown_definition_is_404(idm):
    response = idm.request("GET", f"{DEFS}/nope:1:1/taskdefinition/managerApproval")
    assert_error(response, 404, "no deployed process definition found with id &#39;nope:1:1&#39;")


@pytest.mark.parametrize(("method", "suffix", "headers", "operation"), [
    ("POST", "taskdefinition?_action=create", {}, "CREATE"),
    ("POST", "taskdefinition", {}, "CREATE"),
    ("PUT", "taskdefinition/managerApproval", {"If-Match": "*"}, "UPDATE"),
    ("PUT", "taskdefinition/managerApproval", {}, "CREATE"),
    ("DELETE", "taskdefinition/managerApproval", {}, "DELETE"),
    ("POST", "taskdefinition/managerApproval?_action=run", {}, "ACTION"),
    ("POST", "taskdefinition?_action=run", {}, "ACTION"),
    ("PATCH", "taskdefinition/managerApproval", {}, "PATCH"),
])
def test_task_definitions_support_nothing_else(idm, v2, method, suffix, headers, operation):
    body = [] if method == "PATCH" else {}
    response = idm.request(method, f"{DEFS}/{v2}/{suffix}", headers=headers, json=body)
    assert_error(response, 501, f"The {operation} operations are not supported")
