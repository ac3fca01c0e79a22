"""The API descriptors, over HTTP: `?_api` (OpenAPI 2.0) and `?_crestapi` (CREST's
ApiDescription), generated from openapi.yaml, behind authentication and, in 8.1, authorization.
docs/common-rest.md and docs/fidelity.md say what IDM does and where the mock's differ."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests

from mockidm.http.app import STATE
from mockidm.spec import HTTP_METHODS, load_spec

JSON_TYPE = "application/json; charset=UTF-8"
PI = "workflow/processinstance"
DESCRIPTOR_OPERATIONS = {"describeApi", "describeCrestApi"}
PROCESS_INSTANCE_PATHS = ["/workflow/processinstance",
                          "/workflow/processinstance/{processInstanceId}",
                          "/workflow/processinstance/history",
                          "/workflow/processinstance/history/{processInstanceId}"]


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "X-OpenIDM-NoSession": "true"}


def add_user(idm: Any, name: str, password: str, roles: list[str]) -> None:
    def add() -> None:
        state = idm.server.app[STATE]
        state.identity.add_user(name, password, [state.profile.role(r) for r in roles])
    idm.server.call(add)


def spec_operations(*, executions_and_jobs: bool) -> set[tuple[str, str, str]]:
    """(path below /openidm, method, operationId) of what a profile serves, from the spec."""
    served = set()
    for path, item in load_spec().document["paths"].items():
        for method in HTTP_METHODS:
            raw = item.get(method)
            if raw is None or raw["operationId"] in DESCRIPTOR_OPERATIONS:
                continue
            if executions_and_jobs or "x-idm-since" not in raw:
                served.add((path.removeprefix("/openidm"), method, raw["operationId"]))
    return served


def unresolved_refs(document: dict[str, Any]) -> list[str]:
    """Every `$ref` of the document that does not point inside it."""
    bad, pending = [], [document]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                target: Any = document
                for part in ref.removeprefix("#/").split("/"):
                    target = target.get(part) if ref.startswith("#/") and isinstance(
                        target, dict) else None
                if target is None:
                    bad.append(ref)
            pending.extend(node.values())
    return bad


# --- ?_api: OpenAPI 2.0, the whole API, on any path ----------------------------------------

def test_api_answers_an_openapi_2_document_of_every_operation_served(idm):
    response = idm.request("GET", "?_api")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    document = response.json()
    assert document["swagger"] == "2.0" and document["basePath"] == "/openidm"
    described = {(path, method, op["operationId"])
                 for path, item in document["paths"].items() for method, op in item.items()}
    assert described == spec_operations(executions_and_jobs=True)
    assert unresolved_refs(document) == []


def test_api_describes_a_create_with_its_body_and_answers(idm):
    create = idm.request("GET", "?_api").json()["paths"]["/workflow/processinstance"]["post"]
    body = next(p for p in create["parameters"] if p["in"] == "body")
    assert body["schema"] == {"$ref": "#/definitions/processinstance-create-request"}
    assert create["responses"]["201"]["schema"] == {
        "$ref": "#/definitions/processinstance-created"}
    assert create["responses"]["404"]["schema"] == {"$ref": "#/definitions/error/$defs/notFound"}


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_api_is_the_same_document_on_any_path_and_method(idm, method):
    whole = idm.request("GET", "?_api").json()
    response = idm.request(method, f"{PI}/123?_api&_queryId=bogus", data=b"not json")
    assert response.status_code == 200, response.text
    assert response.json() == whole
    assert "Content-API-Version" not in response.headers  # CHF answers, not Common REST


def test_a_request_for_protocol_0_is_no_descriptor_request(idm):
    # The descriptors' answers have no protocol; a query asking for protocol 0.0 has one.
    response = idm.request("GET", "workflow/processdefinition?_queryId=query-all-ids",
                           headers={"Accept-API-Version": "protocol=0.0"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["Content-API-Version"] == "protocol=0.0,resource=1.0"


def test_api_parameter_is_case_sensitive(idm):
    response = idm.request("GET", f"{PI}?_API")
    assert response.status_code == 400
    assert response.json()["message"] == "Unrecognized request parameter &#39;_API&#39;"


def test_api_in_6_5_leaves_out_executions_and_jobs(idm65):
    document = idm65.request("GET", "?_api").json()
    described = {(path, method, op["operationId"])
                 for path, item in document["paths"].items() for method, op in item.items()}
    assert described == spec_operations(executions_and_jobs=False)
    assert "/workflow/execution" not in document["paths"]


# --- ?_crestapi: CREST's descriptor of the resources at and below the path ------------------

def test_crestapi_describes_the_resources_below_the_path(idm):
    response = idm.request("GET", f"{PI}?_crestapi")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == JSON_TYPE
    document = response.json()
    assert document["id"] == "frapi:openidm"
    assert list(document["paths"]) == PROCESS_INSTANCE_PATHS
    collection = document["paths"]["/workflow/processinstance"]["1.0"]
    assert collection["mvccSupported"] is False
    assert collection["create"]["mode"] == "ID_FROM_SERVER"
    assert collection["resourceSchema"] == {"$ref": "#/definitions/processinstance-created"}
    queries = {(q["type"], q.get("queryId")) for q in collection["queries"]}
    assert queries == {("ID", "query-all-ids"), ("ID", "filtered-query"), ("FILTER", None)}
    assert all(q["pagingModes"] == ["COOKIE", "OFFSET"] for q in collection["queries"])
    instance = document["paths"]["/workflow/processinstance/{processInstanceId}"]["1.0"]
    assert set(instance) >= {"read", "delete", "resourceSchema"} and "update" not in instance
    assert instance["parameters"][0]["name"] == "processInstanceId"
    assert unresolved_refs(document) == []


def test_crestapi_names_each_action_the_spec_documents(idm):
    document = idm.request("GET", "workflow/taskinstance/42?_crestapi").json()
    assert list(document["paths"]) == ["/workflow/taskinstance/{taskInstanceId}"]
    task = document["paths"]["/workflow/taskinstance/{taskInstanceId}"]["1.0"]
    assert [a["name"] for a in task["actions"]] == ["claim", "complete"]
    assert task["actions"][0]["response"] == {"$ref": "#/definitions/task-action-result"}


def test_crestapi_on_a_literal_path_is_not_an_instance(idm):
    # `history` is the history collection, not the instance with id `history`.
    document = idm.request("GET", f"{PI}/history?_crestapi").json()
    assert list(document["paths"]) == ["/workflow/processinstance/history",
                                       "/workflow/processinstance/history/{processInstanceId}"]


def test_crestapi_on_the_root_describes_every_resource(idm):
    document = idm.request("GET", "?_crestapi").json()
    assert set(document["paths"]) == {path for path, _, _ in
                                      spec_operations(executions_and_jobs=True)}


def test_crestapi_in_6_5_has_no_filter_query_and_no_paging(idm65):
    collection = idm65.request("GET", f"{PI}?_crestapi").json()[
        "paths"]["/workflow/processinstance"]["1.0"]
    assert {q["type"] for q in collection["queries"]} == {"ID"}
    assert not any("pagingModes" in q for q in collection["queries"])


def test_crestapi_below_no_resource_is_404(idm):
    response = idm.request("GET", "workflow/nothing?_crestapi")
    assert response.status_code == 404
    assert response.json() == {"code": 404, "reason": "Not Found",
                               "message": "Resource &#39;workflow/nothing&#39; not found"}


def test_crestapi_with_a_query_id_is_a_query(idm):
    response = idm.request("GET", f"{PI}?_crestapi&_queryId=query-all-ids")
    assert response.status_code == 200
    assert list(response.json())[:2] == ["result", "resultCount"]


def test_crestapi_pretty_prints_when_asked(idm):
    response = idm.request("GET", f"{PI}?_crestapi&_prettyPrint=true")
    assert response.status_code == 200
    assert response.text.startswith('{\n  "id" : "frapi:openidm",')


def test_crestapi_looks_at_no_other_parameter_or_header(idm):
    response = idm.request("GET", f"{PI}?_crestapi&_bogus=1",
                           headers={"Accept-API-Version": "resource=9.0", "If-Match": "1"})
    assert response.status_code == 200, response.text


# --- authentication and authorization -------------------------------------------------------

@pytest.mark.parametrize("query", ["_api", "_crestapi"])
def test_descriptors_need_credentials(idm, query):
    response = idm.request("GET", f"{PI}?{query}", auth=False)
    assert response.status_code == 401
    assert response.json() == {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}
    operation = "describeApi" if query == "_api" else "describeCrestApi"
    entry = idm.server.call(lambda: idm.server.app[STATE].journal.entries()[-1])
    assert (entry.operation, entry.status) == (operation, 401)


@pytest.mark.parametrize("query", ["_api", "_crestapi"])
def test_descriptors_are_for_administrators_in_8_1(idm, query):
    add_user(idm, "bob", "pw", ["openidm-authorized"])
    response = requests.get(f"{idm.url}/{PI}?{query}", headers=_basic("bob", "pw"))
    assert response.status_code == 403
    assert response.json() == {"code": 403, "reason": "Forbidden", "message": "Access denied"}


@pytest.mark.parametrize("query", ["_api", "_crestapi"])
def test_descriptors_are_for_any_authenticated_user_in_6_5(idm65, query):
    add_user(idm65, "bob", "pw", ["openidm-authorized"])
    response = requests.get(f"{idm65.url}/{PI}?{query}", headers=_basic("bob", "pw"))
    assert response.status_code == 200, response.text
    assert response.json()["paths"]
