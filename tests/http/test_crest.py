"""The Common REST layer over HTTP (reference sections 1, 4, 5.0 and 13.1).

Every test makes real HTTP requests against a live mock and checks the status and IDM's exact
message (HTML-escaped, as IDM sends it), plus the envelope keys and headers where they matter.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

JSON_TYPE = "application/json; charset=UTF-8"
REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict",
           412: "Precondition Failed", 500: "Internal Server Error", 501: "Not Implemented"}
QUERY_KEYS = ["result", "resultCount", "pagedResultsCookie", "totalPagedResultsPolicy",
              "totalPagedResults", "remainingPagedResults"]

PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ALL = "_queryId=query-all-ids"
JSON_HEADER = {"Content-Type": "application/json"}
START_BODY = b'{"_key":"roleRequest"}'


def assert_error(response: requests.Response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.json() == {"code": status, "reason": REASONS[status], "message": message}


def definition_id(idm: Any, key: str = "contractorOnboarding", version: int = 2) -> str:
    result = idm.request("GET", f"{PD}?_queryId=filtered-query&key={key}").json()["result"]
    return next(d["_id"] for d in result if d["version"] == version)


def start_task(idm: Any) -> tuple[str, str]:
    """Start contractorOnboarding; the ids of the instance and of its first task."""
    instance_id = idm.start({"_key": "contractorOnboarding"}).json()["_id"]
    tasks = idm.request("GET", f"{TI}?_queryId=filtered-query&processInstanceId={instance_id}")
    return instance_id, tasks.json()["result"][0]["_id"]


# --- 1.2 HTTP method -> CREST operation -------------------------------------------------------

@pytest.mark.parametrize("query", ["_queryId=query-all-ids", "_queryFilter=true"])
def test_get_with_a_query_parameter_is_a_query(idm, query):
    response = idm.request("GET", f"{PD}?{query}")
    assert response.status_code == 200
    assert list(response.json()) == QUERY_KEYS


def test_get_with_query_expression_is_a_query(idm):
    # If-None-Match (not `*`) is refused on a query only: a read would accept it.
    response = idm.request("GET", f"{PI}?_queryExpression=select",
                           headers={"If-None-Match": '"1"'})
    assert_error(response, 412, "If-None-Match not supported for GET requests")


def test_get_with_crestapi_answers_the_api_descriptor(idm):
    # CREST's request type API (tests/http/test_descriptors.py checks the descriptor itself).
    response = idm.request("GET", f"{PI}?_crestapi")
    assert response.status_code == 200
    assert response.json()["id"] == "frapi:openidm"
    assert "/workflow/processinstance" in response.json()["paths"]


def test_get_without_query_parameters_is_a_read(idm):
    response = idm.request("GET", f"{PD}/{definition_id(idm)}")
    assert response.status_code == 200
    assert response.json()["_id"] == definition_id(idm)


@pytest.mark.parametrize("action", ["create", "CREATE", "Create"])
def test_post_with_action_create_in_any_case_is_a_create(idm, action):
    response = idm.request("POST", f"{PI}?_action={action}", json={"_key": "roleRequest"})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"].startswith("roleRequest:1:")


@pytest.mark.parametrize("version", [None, "protocol=2.1", "protocol=2.1,resource=1.0"])
def test_post_without_action_is_a_create_in_protocol_2_1(idm, version):
    headers = {} if version is None else {"Accept-API-Version": version}
    response = idm.request("POST", PI, headers=headers, json={"_key": "roleRequest"})
    assert response.status_code == 201
    assert response.json()["processDefinitionId"].startswith("roleRequest:1:")


def test_post_without_action_in_protocol_1_is_refused(idm):
    response = idm.request("POST", PI, headers={"Accept-API-Version": "protocol=1.0"},
                           json={"_key": "roleRequest"})
    assert_error(response, 400, "No values provided for the request parameter &#39;_action&#39;")


def test_post_with_another_action_is_an_action(idm):
    response = idm.request("POST", f"{PI}?_action=bogus", json={})
    assert_error(response, 501, "The ACTION operations are not supported")


def test_put_with_if_none_match_star_is_a_create(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={"If-None-Match": "*"},
                           json={"assignee": "openidm-admin"})
    assert_error(response, 501, "The CREATE operations are not supported")


def test_put_without_if_match_is_a_create_which_tasks_refuse(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", json={"assignee": "openidm-admin"})
    assert_error(response, 501, "The CREATE operations are not supported")
    assert idm.request("GET", f"{TI}/{task_id}").json()["assignee"] is None


@pytest.mark.parametrize("if_match", ["*", '"*"', "1"])
def test_put_with_if_match_is_an_update(idm, if_match):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={"If-Match": if_match},
                           json={"assignee": "openidm-admin"})
    assert response.status_code == 200
    assert response.json() == {"_id": task_id, "Task updated": task_id}
    assert idm.request("GET", f"{TI}/{task_id}").json()["assignee"] == "openidm-admin"


def test_put_without_if_match_in_protocol_1_is_an_update(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={"Accept-API-Version": "protocol=1.0"},
                           json={"assignee": "openidm-admin"})
    assert response.status_code == 200
    assert response.json() == {"_id": task_id, "Task updated": task_id}


def test_put_with_another_if_none_match_is_refused(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={"If-None-Match": "abc"},
                           json={"assignee": "openidm-admin"})
    assert_error(response, 400,
                 "&quot;abc&quot; is not a supported value for If-None-Match on PUT")


def test_delete_is_a_delete(idm):
    instance_id = idm.start({"_key": "roleRequest"}).json()["_id"]
    response = idm.request("DELETE", f"{PI}/{instance_id}")
    assert response.status_code == 200
    assert response.json()["_id"] == instance_id
    assert idm.request("GET", f"{PI}?{ALL}").json()["resultCount"] == 0


def test_patch_is_a_patch(idm):
    instance_id = idm.start({"_key": "roleRequest"}).json()["_id"]
    response = idm.request("PATCH", f"{PI}/{instance_id}",
                           json=[{"operation": "replace", "field": "/x", "value": 1}])
    assert_error(response, 501, "The PATCH operations are not supported")


def test_method_override_get_turns_a_post_into_a_read(idm):
    definition = definition_id(idm)
    response = idm.request("POST", f"{PD}/{definition}",
                           headers={"X-HTTP-Method-Override": "GET"})
    assert response.status_code == 200
    assert response.json()["_id"] == definition


def test_method_override_put_turns_a_post_into_an_update(idm):
    _, task_id = start_task(idm)
    response = idm.request("POST", f"{TI}/{task_id}",
                           headers={"X-HTTP-Method-Override": "PUT", "If-Match": "*"},
                           json={"assignee": "openidm-admin"})
    assert response.status_code == 200
    assert response.json() == {"_id": task_id, "Task updated": task_id}


def test_method_override_delete_turns_a_post_into_a_delete(idm):
    instance_id = idm.start({"_key": "roleRequest"}).json()["_id"]
    response = idm.request("POST", f"{PI}/{instance_id}",
                           headers={"X-HTTP-Method-Override": "DELETE"})
    assert response.status_code == 200
    assert response.json()["_id"] == instance_id


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
def test_other_methods_are_not_supported(idm, method):
    response = idm.request(method, PI)
    assert_error(response, 501, f"Method {method} not supported")


def test_head_is_not_supported(idm):
    assert idm.request("HEAD", f"{PD}/{definition_id(idm)}").status_code == 501


# --- 1.3 request validation -------------------------------------------------------------------

def test_non_json_content_type_is_refused(idm):
    response = idm.request("POST", f"{PI}?_action=create",
                           headers={"Content-Type": "text/plain"}, data=START_BODY)
    assert_error(response, 400,
                 "The request could not be processed because it specified the content-type "
                 "&#39;text/plain&#39; when only the content-type &#39;application/json&#39; and "
                 "&#39;multipart/form-data&#39; are supported")


def test_non_json_content_type_is_refused_on_delete(idm):
    instance_id = idm.start({"_key": "roleRequest"}).json()["_id"]
    response = idm.request("DELETE", f"{PI}/{instance_id}",
                           headers={"Content-Type": "text/plain"})
    assert_error(response, 400,
                 "The request could not be processed because it specified the content-type "
                 "&#39;text/plain&#39; when only the content-type &#39;application/json&#39; and "
                 "&#39;multipart/form-data&#39; are supported")


@pytest.mark.parametrize("content_type", ["application/json", "APPLICATION/JSON",
                                          "application/json;charset=utf-8",
                                          "Application/Json ; Charset=UTF-8"])
def test_json_content_type_is_case_insensitive_and_allows_spaces(idm, content_type):
    response = idm.request("POST", f"{PI}?_action=create",
                           headers={"Content-Type": content_type}, data=START_BODY)
    assert response.status_code == 201


def test_any_content_type_is_harmless_on_get(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200


NO_CONTENT_TYPE = ("The request could not be processed because the  content-type was not "
                   "specified and is required")


def test_create_without_content_type_is_refused(idm):
    response = idm.request("POST", f"{PI}?_action=create", data=START_BODY)
    assert_error(response, 400, NO_CONTENT_TYPE)


def test_update_without_content_type_is_refused(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={"If-Match": "*"},
                           data=b'{"assignee":"openidm-admin"}')
    assert_error(response, 400, NO_CONTENT_TYPE)


def test_patch_without_content_type_is_refused(idm):
    response = idm.request("PATCH", f"{PI}/1",
                           data=b'[{"operation":"replace","field":"/x","value":1}]')
    assert_error(response, 400, NO_CONTENT_TYPE)


def test_invalid_json_is_refused_with_a_string_detail(idm):
    response = idm.request("POST", f"{PI}?_action=create", headers=JSON_HEADER,
                           data=b'{"_key":')
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["code", "reason", "message", "detail"]
    assert body["message"] == ("The request could not be processed because the provided "
                               "content is not valid JSON")
    assert isinstance(body["detail"], str) and body["detail"]


@pytest.mark.parametrize("data", [b'{"_key":"roleRequest"} x', b'{"_key":"roleRequest"}{}',
                                  b"null null"])
def test_trailing_data_after_the_json_is_refused(idm, data):
    response = idm.request("POST", f"{PI}?_action=create", headers=JSON_HEADER, data=data)
    assert_error(response, 400, "The request could not be processed because there is trailing "
                                "data after the JSON content")


def test_create_with_an_empty_body_is_refused(idm):
    response = idm.request("POST", f"{PI}?_action=create", headers=JSON_HEADER, data=b"")
    assert_error(response, 400, "The request could not be processed because it did not contain "
                                "any JSON content")


def test_update_with_an_empty_body_is_refused(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={**JSON_HEADER, "If-Match": "*"},
                           data=b"")
    assert_error(response, 400, "The request could not be processed because it did not contain "
                                "any JSON content")


NOT_AN_OBJECT = ("The request could not be processed because the provided content is not a "
                 "JSON object")


@pytest.mark.parametrize("data", [b'[{"_key":"roleRequest"}]', b'"roleRequest"', b"5",
                                  b"true"])
def test_create_with_a_body_that_is_not_an_object_is_refused(idm, data):
    response = idm.request("POST", f"{PI}?_action=create", headers=JSON_HEADER, data=data)
    assert_error(response, 400, NOT_AN_OBJECT)


def test_update_with_a_body_that_is_not_an_object_is_refused(idm):
    _, task_id = start_task(idm)
    response = idm.request("PUT", f"{TI}/{task_id}", headers={**JSON_HEADER, "If-Match": "*"},
                           data=b'["openidm-admin"]')
    assert_error(response, 400, NOT_AN_OBJECT)


def test_create_with_a_literal_null_body_is_an_empty_object(idm):
    response = idm.request("POST", f"{PI}?_action=create", headers=JSON_HEADER, data=b"null")
    assert_error(response, 500, "processDefinitionKey and processDefinitionId are null")


@pytest.mark.parametrize("headers", [JSON_HEADER, {}])
def test_action_with_an_empty_body_is_allowed(idm, headers):
    _, task_id = start_task(idm)
    response = idm.request("POST", f"{TI}/{task_id}?_action=complete", headers=headers,
                           data=b"")
    assert response.status_code == 200
    assert response.json() == {"Task action performed": "complete"}
    assert idm.request("GET", f"{TI}/{task_id}").status_code == 404


@pytest.mark.parametrize("header", ["If-Modified-Since", "If-Unmodified-Since"])
def test_time_conditionals_are_not_supported(idm, header):
    response = idm.request("GET", f"{PD}/{definition_id(idm)}",
                           headers={header: "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert_error(response, 409, f"Header {header} not supported")


@pytest.mark.parametrize("path", [f"{PI}?_action=create", f"{PI}?_action=bogus"])
@pytest.mark.parametrize("header", ["If-Match", "If-None-Match"])
def test_conditionals_are_refused_on_post(idm, path, header):
    response = idm.request("POST", path, headers={header: "*"}, json={"_key": "roleRequest"})
    assert_error(response, 412, f"{header} not supported for POST requests")


@pytest.mark.parametrize("query", ["", f"?{ALL}"])
def test_if_match_is_refused_on_get(idm, query):
    path = f"{PD}/{definition_id(idm)}" if not query else f"{PD}{query}"
    response = idm.request("GET", path, headers={"If-Match": "*"})
    assert_error(response, 412, "If-Match not supported for GET requests")


def test_if_none_match_is_refused_on_a_query(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"If-None-Match": '"1"'})
    assert_error(response, 412, "If-None-Match not supported for GET requests")


def test_if_none_match_star_is_refused_on_a_read(idm):
    response = idm.request("GET", f"{PD}/{definition_id(idm)}", headers={"If-None-Match": "*"})
    assert_error(response, 412, "If-None-Match * not appropriate for GET requests")


@pytest.mark.parametrize(("method", "path", "name"), [
    ("GET", f"{PD}?_queryId=query-all-ids&_queryId=filtered-query", "_queryId"),
    ("GET", f"{PD}?{ALL}&_pageSize=1&_pageSize=2", "_pageSize"),
    ("GET", f"{PD}?{ALL}&_prettyPrint=true&_prettyPrint=true", "_prettyPrint"),
    ("POST", f"{PI}?_action=create&_action=create", "_action"),
])
def test_a_repeated_single_valued_parameter_is_refused(idm, method, path, name):
    response = idm.request(method, path, json={"_key": "roleRequest"})
    assert_error(response, 400, "Multiple values provided for the single-valued request "
                                f"parameter &#39;{name}&#39;")


@pytest.mark.parametrize("name", ["_pageSize", "_pagedResultsOffset"])
def test_a_paging_parameter_that_is_not_an_integer_is_refused(idm, name):
    response = idm.request("GET", f"{PD}?{ALL}&{name}=abc")
    assert_error(response, 400, f"The value &#39;abc&#39; for parameter &#39;{name}&#39; could "
                                "not be parsed as a valid integer")


def test_an_unparsable_query_filter_is_refused(idm):
    response = idm.request("GET", PD, params={"_queryFilter": "name eq"})
    assert_error(response, 400, "The value &#39;name eq&#39; for parameter &#39;_queryFilter&#39; "
                                "could not be parsed as a valid query filter")


def test_unparsable_sort_keys_are_refused(idm):
    response = idm.request("GET", f"{PI}?{ALL}&_sortKeys=startTime,,endTime")
    assert_error(response, 400, "The value &#39;startTime,,endTime&#39; for parameter "
                                "&#39;_sortKeys&#39; could not be parsed as a comma separated "
                                "list of sort keys")


def test_unparsable_fields_are_refused(idm):
    """A malformed percent escape: IDM's JsonPointer decodes each token as a URI fragment."""
    response = idm.request("GET", f"{PD}/{definition_id(idm)}?_fields=name,na%25zme")
    assert_error(response, 400, "The value &#39;name,na%zme&#39; for parameter &#39;_fields&#39; "
                                "could not be parsed as a comma separated list of JSON pointers")


def test_fields_read_pointers_as_query_filters_do(idm):
    """One dialect (draft-pbryan-zyp-json-pointer-02, as IDM's JsonPointer): tokens are
    percent-decoded and `~` is an ordinary character, in `_fields` as in `_queryFilter`."""
    definition = definition_id(idm)
    for fields in ("na~2me", "n~0ame", "x~1name", "%252Fname"):
        response = idm.request("GET", f"{PD}/{definition}?_fields={fields}")
        assert response.status_code == 200, (fields, response.text)
        assert response.json() == {"_id": definition}, fields  # no such field, not `name`
    response = idm.request("GET", f"{PD}/{definition}?_fields=n%2561me")  # `%61` is `a`
    assert response.json() == {"_id": definition, "name": "Contractor onboarding"}


def test_an_unknown_count_policy_is_refused(idm):
    response = idm.request("GET", f"{PD}?{ALL}&_totalPagedResultsPolicy=SOMETIMES")
    assert_error(response, 400, "The value &#39;SOMETIMES&#39; for parameter "
                                "&#39;_totalPagedResultsPolicy&#39; could not be parsed as a "
                                "valid count policy")


@pytest.mark.parametrize(("other", "name"), [("_queryFilter=true", "_queryFilter"),
                                             ("_queryExpression=select", "_queryExpression")])
def test_query_id_excludes_other_query_kinds(idm, other, name):
    response = idm.request("GET", f"{PI}?{ALL}&{other}")
    assert_error(response, 400, f"The parameters _queryId and {name} are mutually exclusive")


def test_offset_and_cookie_are_mutually_exclusive(idm):
    response = idm.request("GET", f"{PI}?{ALL}&_pagedResultsOffset=1&_pagedResultsCookie=abc")
    assert_error(response, 400, "The parameters _pagedResultsOffset and _pagedResultsCookie are "
                                "mutually exclusive")


@pytest.mark.parametrize("value", ["foo", "resource=abc", "protocol=2.1;resource=1.0"])
def test_a_malformed_api_version_is_refused(idm, value):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": value})
    assert_error(response, 400, f"Version string is in an invalid format: {value}")


def test_protocol_3_is_not_supported(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": "protocol=3.0"})
    assert_error(response, 400, "Unsupported major version: 3.0")


def test_pretty_print_other_than_true_is_compact(idm):
    response = idm.request("GET", f"{PD}/{definition_id(idm)}?_prettyPrint=yes")
    assert response.status_code == 200
    assert "\n" not in response.text


# --- 1.4 success responses --------------------------------------------------------------------

def test_create_answers_201_with_a_location(idm):
    response = idm.start({"_key": "roleRequest"})
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/{response.json()['_id']}")


def _success_requests(idm: Any) -> list[requests.Response]:
    _, task_id = start_task(idm)
    return [
        idm.request("GET", f"{PD}/{definition_id(idm)}"),
        idm.request("GET", f"{TI}/{task_id}"),
        idm.request("GET", f"{TI}?{ALL}"),
        idm.start({"_key": "roleRequest"}),
        idm.request("PUT", f"{TI}/{task_id}", headers={"If-Match": "*"}, json={"owner": "x"}),
        idm.request("POST", f"{TI}/{task_id}?_action=complete", json={}),
        idm.request("DELETE", f"{PI}/{idm.start({'_key': 'roleRequest'}).json()['_id']}"),
    ]


def test_successes_are_json_not_cached_and_have_no_etag(idm):
    for response in _success_requests(idm):
        assert response.status_code in (200, 201), response.text
        assert response.headers["Content-Type"] == JSON_TYPE
        assert response.headers["Cache-Control"] == "no-cache"
        assert "ETag" not in response.headers


def test_errors_have_no_etag(idm):
    response = idm.request("GET", f"{PD}/nope:1:1")
    assert response.status_code == 404
    assert "ETag" not in response.headers


def test_content_api_version_is_sent_in_8_1(idm):
    response = idm.request("GET", f"{PD}?{ALL}")
    assert response.headers["Content-API-Version"] == "protocol=2.1,resource=1.0"


def test_content_api_version_echoes_the_requested_protocol(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": "protocol=2.0"})
    assert response.status_code == 200
    assert response.headers["Content-API-Version"] == "protocol=2.0,resource=1.0"


def test_content_api_version_is_absent_in_6_5(idm65):
    response = idm65.request("GET", f"{PD}?{ALL}",
                             headers={"Accept-API-Version": "resource=1.0"})
    assert response.status_code == 200
    assert "Content-API-Version" not in response.headers


def test_id_comes_first_and_rev_second_as_a_string(idm):
    _, task_id = start_task(idm)
    for path in (f"{PD}/{definition_id(idm)}", f"{TI}/{task_id}"):
        body = idm.request("GET", path).json()
        assert list(body)[:2] == ["_id", "_rev"]
        assert isinstance(body["_rev"], str)
    for item in idm.request("GET", f"{PD}?{ALL}").json()["result"]:
        assert list(item)[:2] == ["_id", "_rev"]
        assert isinstance(item["_rev"], str)


def test_fields_keep_the_id(idm):
    body = idm.request("GET", f"{PD}/{definition_id(idm)}?_fields=name").json()
    assert body == {"_id": definition_id(idm), "name": "Contractor onboarding"}
    assert list(body) == ["_id", "name"]


def test_fields_apply_to_each_query_item(idm):
    instance_id, task_id = start_task(idm)
    body = idm.request("GET", f"{TI}?{ALL}&_fields=_id,processInstanceId").json()
    assert body["result"] == [{"_id": task_id, "processInstanceId": instance_id}]


@pytest.mark.parametrize("param", ["_prettyPrint", "_PRETTYPRINT"])
def test_pretty_print_is_jackson_style(idm, param):
    definition = definition_id(idm)
    response = idm.request("GET", f"{PD}/{definition}?_fields=name&{param}=true")
    assert response.status_code == 200
    assert response.text == ('{\n  "_id" : "' + definition + '",\n'
                             '  "name" : "Contractor onboarding"\n}')


# --- 1.5 error envelope -----------------------------------------------------------------------

def test_error_envelope_keys_are_in_order(idm):
    response = idm.request("GET", f"{PD}/nope:1:1")
    assert list(response.json()) == ["code", "reason", "message"]


def test_error_message_escapes_apostrophes(idm):
    response = idm.request("GET", f"{PD}/nope:1:1")
    assert_error(response, 404, "no deployed process definition found with id &#39;nope:1:1&#39;")


@pytest.mark.parametrize(("method", "path", "kwargs", "status"), [
    ("GET", PI, {}, 400),
    ("GET", f"{PI}?_queryExpression=select", {}, 403),
    ("GET", f"{PD}/nope:1:1", {}, 404),
    ("GET", f"{PD}?{ALL}", {"headers": {"If-Modified-Since": "x"}}, 409),
    ("GET", f"{PD}?{ALL}", {"headers": {"If-Match": "*"}}, 412),
    ("POST", f"{PI}?_action=create", {"json": {}}, 500),
    ("POST", f"{PI}?_action=bogus", {"json": {}}, 501),
])
def test_errors_carry_the_reason_phrase_and_the_json_headers(idm, method, path, kwargs, status):
    response = idm.request(method, path, **kwargs)
    assert response.status_code == status
    body = response.json()
    assert body["code"] == status
    assert body["reason"] == REASONS[status]
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.headers["Cache-Control"] == "no-cache"


def test_reading_a_collection_is_refused(idm):
    assert_error(idm.request("GET", PI), 400, "The resource collection  cannot be read")


def test_deleting_a_collection_is_refused(idm):
    assert_error(idm.request("DELETE", PI), 400, "The resource collection  cannot be deleted")


def test_updating_a_collection_is_refused(idm):
    response = idm.request("PUT", TI, headers={"If-Match": "*"}, json={"assignee": "x"})
    assert_error(response, 400, "The resource collection  cannot be updated")


def test_querying_an_instance_is_refused(idm):
    response = idm.request("GET", f"{PD}/{definition_id(idm)}?{ALL}")
    assert_error(response, 400, "The resource instance  cannot be queried")


def test_creating_on_an_instance_is_refused(idm):
    _, task_id = start_task(idm)
    response = idm.request("POST", f"{TI}/{task_id}", json={"assignee": "x"})
    assert_error(response, 400, "The resource instance  cannot be created")


# --- 1.6 query envelope -----------------------------------------------------------------------

def test_query_envelope_has_the_six_keys(idm):
    idm.start({"_key": "roleRequest"})
    idm.start({"_key": "roleRequest"})
    body = idm.request("GET", f"{PI}?{ALL}").json()
    assert list(body) == QUERY_KEYS
    assert body["resultCount"] == len(body["result"]) == 2
    assert body["pagedResultsCookie"] is None
    assert body["totalPagedResultsPolicy"] == "NONE"
    assert body["totalPagedResults"] == -1
    assert body["remainingPagedResults"] == -1


def test_empty_query_has_an_empty_result(idm):
    body = idm.request("GET", f"{PI}?{ALL}").json()
    assert body["result"] == []
    assert body["resultCount"] == 0


def test_unknown_query_id_is_refused(idm):
    assert_error(idm.request("GET", f"{PI}?_queryId=nope"), 400, "Unknown query-id")


def test_query_id_values_are_case_sensitive(idm):
    assert_error(idm.request("GET", f"{PI}?_queryId=QUERY-ALL-IDS"), 400, "Unknown query-id")


PAGING = "_pageSize=1&_pagedResultsOffset=1&_totalPagedResultsPolicy=EXACT"


def test_paging_parameters_are_accepted(idm):
    response = idm.request("GET", f"{PD}?{ALL}&{PAGING}")
    assert response.status_code == 200
    assert list(response.json()) == QUERY_KEYS


def test_paging_parameters_are_ignored_in_6_5(idm65):
    body = idm65.request("GET", f"{PD}?{ALL}&{PAGING}").json()
    assert body["resultCount"] == len(body["result"]) == 3
    assert body["pagedResultsCookie"] is None
    assert body["totalPagedResultsPolicy"] == "NONE"
    assert body["totalPagedResults"] == -1


# --- 1.1 routing ------------------------------------------------------------------------------

def test_trailing_slash_is_accepted_on_create(idm):
    response = idm.request("POST", f"{PI}/?_action=create", json={"_key": "roleRequest"})
    assert response.status_code == 201


def test_trailing_slash_is_accepted_on_read(idm):
    definition = definition_id(idm)
    response = idm.request("GET", f"{PD}/{definition}/")
    assert response.status_code == 200
    assert response.json()["_id"] == definition


def test_empty_path_element_is_refused(idm):
    response = idm.request("GET", f"workflow//processinstance?{ALL}")
    assert response.status_code == 400
    message = response.json()["message"]
    # The reference leaves open whether the quoted path keeps its leading slash.
    assert message.startswith("Resource path &#39;")
    assert message.endswith("workflow//processinstance&#39; contains empty path elements")


def test_unknown_workflow_path_is_not_found(idm):
    assert_error(idm.request("GET", "workflow/foo"), 404, "Resource &#39;foo&#39; not found")


def test_paths_are_case_sensitive(idm):
    response = idm.request("GET", f"workflow/processInstance?{ALL}")
    assert response.status_code == 404
    assert response.json()["reason"] == "Not Found"
    assert response.json()["message"].endswith("processInstance&#39; not found")


@pytest.mark.parametrize("name", ["_QUERYID", "_queryid", "_QueryId"])
def test_reserved_parameter_names_are_case_insensitive(idm, name):
    response = idm.request("GET", f"{PI}?{name}=query-all-ids")
    assert response.status_code == 200
    assert list(response.json()) == QUERY_KEYS


def test_action_parameter_name_is_case_insensitive(idm):
    response = idm.request("POST", f"{PI}?_ACTION=create", json={"_key": "roleRequest"})
    assert response.status_code == 201


def test_action_values_other_than_create_are_case_sensitive(idm):
    _, task_id = start_task(idm)
    response = idm.request("POST", f"{TI}/{task_id}?_action=Claim",
                           json={"userId": "openidm-admin"})
    assert_error(response, 400, "Unknown action")


def test_processinstance_history_is_the_history_collection(idm):
    idm.start({"_key": "roleRequest"})
    response = idm.request("GET", f"{PI}/history?{ALL}")
    assert response.status_code == 200
    assert response.json()["resultCount"] == 1
    assert_error(idm.request("GET", f"{PI}/history"), 400,
                 "The resource collection  cannot be read")


@pytest.mark.parametrize("path", ["", "foo", "openidmx/workflow/processinstance",
                                  "admin/index.html"])
def test_paths_outside_openidm_are_a_json_404(idm, path):
    response = requests.get(f"{idm.server.origin}/{path}", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == JSON_TYPE
    body = response.json()
    assert list(body) == ["code", "reason", "message"]
    assert (body["code"], body["reason"]) == (404, "Not Found")


# --- 4 API versioning -------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["resource=1.0", "resource=1", "protocol=2.1,resource=1.0",
                                   "resource=1.0 , protocol=2.1", "protocol=2.0"])
def test_supported_api_versions_are_accepted(idm, value):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": value})
    assert response.status_code == 200


def test_no_version_warning_by_default(idm):
    assert "Warning" not in idm.request("GET", f"{PD}?{ALL}").headers


def test_unsupported_resource_version_is_not_found_in_8_1(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": "resource=9.0"})
    assert_error(response, 404, "Resource&#39;&#39; not found")


def test_unsupported_resource_version_is_ignored_in_6_5(idm65):
    response = idm65.request("GET", f"{PD}?{ALL}",
                             headers={"Accept-API-Version": "resource=9.0"})
    assert response.status_code == 200
    assert response.json()["resultCount"] == 3


def test_protocol_2_2_is_refused_in_6_5(idm65):
    response = idm65.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": "protocol=2.2"})
    assert_error(response, 400, "Unsupported minor version: 2.2")


def test_protocol_1_5_is_refused_for_its_minor_version_in_6_5(idm65):
    response = idm65.request("GET", f"{PD}?{ALL}", headers={"Accept-API-Version": "protocol=1.5"})
    assert_error(response, 400, "Unsupported minor version: 1.5")


# --- 5.0 PATCH, 13.1 GET with _action ---------------------------------------------------------

@pytest.mark.parametrize("path", [PI, f"{PI}/1", f"{TI}/1", PD, f"{PD}/x:1:1/taskdefinition",
                                  "workflow/foo", "workflow/foo/bar/baz"])
def test_patch_anything_under_workflow_is_not_supported(idm, path):
    response = idm.request("PATCH", path,
                           json=[{"operation": "replace", "field": "/x", "value": 1}])
    assert_error(response, 501, "The PATCH operations are not supported")


@pytest.mark.parametrize("path", [f"{PI}?_action=create", f"{TI}/1?_action=complete"])
def test_get_with_action_is_refused(idm, path):
    assert_error(idm.request("GET", path), 400,
                 "Unrecognized request parameter &#39;_action&#39;")


def test_an_encoded_newline_in_an_id_is_still_routed(idm):
    response = idm.request("GET", "workflow/processinstance/a%0Ab")
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert response.json() == {"code": 404, "reason": "Not Found", "message": "Not Found"}
