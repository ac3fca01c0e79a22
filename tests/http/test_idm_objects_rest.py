"""IDM objects over Common REST (`managed/...`, `internal/...`, relationship collections): a
test per operation and per refusal, over HTTP, and the walk a client's end-to-end suite
takes: seed a user and a role with PUT, run a role request whose Groovy assigns the role,
approve it, read the user's roles."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockidm.facade import MockIDM

ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
BJENSEN = {"X-OpenIDM-Username": "bjensen", "X-OpenIDM-Password": "Passw0rd-1",
           "X-OpenIDM-NoSession": "true"}
REFERENCE_KEYS = {"_id", "_rev", "_ref", "_refResourceCollection", "_refResourceId",
                  "_refProperties"}

# A role request: the script task adds the role the request names to the user's roles, as
# IDM's own samples do (a create on the relationship collection), once a reviewer approves.
ROLE_REQUEST = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="roleGrant" name="Role grant" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="approve"/>
    <userTask id="approve" name="Approve" activiti:candidateGroups="openidm-admin"/>
    <sequenceFlow id="f2" sourceRef="approve" targetRef="grant"/>
    <scriptTask id="grant" scriptFormat="groovy">
      <script>
openidm.create('managed/user/' + userId + '/roles', null, [_ref: 'managed/role/' + roleId])
      </script>
    </scriptTask>
    <sequenceFlow id="f3" sourceRef="grant" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


@pytest.fixture
def mock() -> Iterator[MockIDM]:
    served = MockIDM()
    served.deploy_bpmn(ROLE_REQUEST, "roleGrant.bpmn20.xml")
    with served.serve(validate_responses=True) as running:
        yield running


def call(mock: MockIDM, method: str, path: str, body: Any = None, *,
         headers: dict[str, str] | None = None, who: dict[str, str] = ADMIN
         ) -> requests.Response:
    sent = {**who, **(headers or {})}
    if body is not None:
        sent["Content-Type"] = "application/json"
    return requests.request(method, f"{mock.url}/{path}", json=body, headers=sent, timeout=10)


def answer(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: requests.Response, status: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status
    if message is not None:
        assert body["message"] == message


def seed(mock: MockIDM) -> None:
    answer(call(mock, "PUT", "managed/user/bjensen",
                {"userName": "bjensen", "password": "Passw0rd-1", "sn": "Jensen"}), 201)
    answer(call(mock, "PUT", "managed/role/employee", {"name": "employee"}), 201)


# create ---------------------------------------------------------------------------------------

def test_put_without_if_match_creates_with_the_path_id(mock: MockIDM) -> None:
    response = call(mock, "PUT", "managed/user/bjensen",
                    {"userName": "bjensen", "password": "Passw0rd-1"})
    created = answer(response, 201)
    assert created["_id"] == "bjensen" and created["_rev"] == "1"
    assert "password" not in created
    assert response.headers["Location"] == f"{mock.url}/managed/user/bjensen"
    assert mock.state.idm.get("managed/user/bjensen")["userName"] == "bjensen"


def test_post_action_create_makes_an_id_or_takes_the_contents(mock: MockIDM) -> None:
    made = answer(call(mock, "POST", "managed/role?_action=create", {"name": "x"}), 201)
    assert len(made["_id"]) == 36 and made["name"] == "x"
    named = call(mock, "POST", "managed/role?_action=create", {"_id": "auditor"})
    assert answer(named, 201)["_id"] == "auditor"
    assert named.headers["Location"] == f"{mock.url}/managed/role/auditor"


def test_put_with_if_none_match_star_refuses_an_existing_object(mock: MockIDM) -> None:
    seed(mock)
    refused(call(mock, "PUT", "managed/role/employee", {"name": "other"},
                 headers={"If-None-Match": "*"}), 412,
            "Create rejected as Object with same ID already exists. managed/role/employee")
    assert mock.state.idm.get("managed/role/employee")["name"] == "employee"


def test_put_without_if_none_match_replaces_an_existing_object(mock: MockIDM) -> None:
    seed(mock)
    replaced = answer(call(mock, "PUT", "managed/role/employee", {"name": "staff"}))
    assert replaced == {"name": "staff", "_id": "employee", "_rev": "2"}


def test_internal_objects_are_served_too(mock: MockIDM) -> None:
    answer(call(mock, "PUT", "internal/role/reviewers", {"name": "reviewers"}), 201)
    assert answer(call(mock, "GET", "internal/role/reviewers"))["name"] == "reviewers"


# read -----------------------------------------------------------------------------------------

def test_read_hides_the_password_and_the_relationships_unless_asked(mock: MockIDM) -> None:
    seed(mock)
    answer(call(mock, "POST", "managed/user/bjensen/roles?_action=create",
                {"_ref": "managed/role/employee"}), 201)
    read = answer(call(mock, "GET", "managed/user/bjensen"))
    assert read == {"userName": "bjensen", "sn": "Jensen", "accountStatus": "active",
                    "_id": "bjensen", "_rev": "1"}
    asked = answer(call(mock, "GET", "managed/user/bjensen?_fields=roles"))
    assert [r["_ref"] for r in asked["roles"]] == ["managed/role/employee"]
    assert set(asked["roles"][0]) == REFERENCE_KEYS


def test_read_of_an_unknown_object_is_404(mock: MockIDM) -> None:
    refused(call(mock, "GET", "managed/user/nobody"), 404,
            "Object nobody not found in managed/user")


def test_a_script_sees_what_a_client_wrote(mock: MockIDM) -> None:
    seed(mock)
    assert mock.state.idm.read("managed/user/bjensen")["sn"] == "Jensen"


# update ---------------------------------------------------------------------------------------

def test_put_with_if_match_replaces_and_checks_the_revision(mock: MockIDM) -> None:
    seed(mock)
    refused(call(mock, "PUT", "managed/user/bjensen", {"userName": "bjensen"},
                 headers={"If-Match": "7"}), 412)
    updated = answer(call(mock, "PUT", "managed/user/bjensen",
                          {"userName": "bjensen", "sn": "J", "accountStatus": "active"},
                          headers={"If-Match": '"1"'}))
    assert updated["_rev"] == "2" and updated["sn"] == "J"
    # The password the content left out stays: bjensen still logs in.
    answer(call(mock, "GET", "managed/user/bjensen", who=BJENSEN))


def test_update_of_an_unknown_object_is_404(mock: MockIDM) -> None:
    refused(call(mock, "PUT", "managed/user/nobody", {}, headers={"If-Match": "*"}), 404)


# patch ----------------------------------------------------------------------------------------

def test_patch_applies_idms_operations_and_checks_the_revision(mock: MockIDM) -> None:
    seed(mock)
    operations = [{"operation": "replace", "field": "/sn", "value": "Smith"},
                  {"operation": "add", "field": "/mail", "value": "b@example.com"}]
    refused(call(mock, "PATCH", "managed/user/bjensen", operations,
                 headers={"If-Match": "2"}), 412,
            "Update rejected as current Object revision 1 is different than expected by "
            "caller (2), the object has changed since retrieval.")
    patched = answer(call(mock, "PATCH", "managed/user/bjensen", operations,
                          headers={"If-Match": "1"}))
    assert (patched["sn"], patched["mail"], patched["_rev"]) == ("Smith", "b@example.com", "2")


def test_a_bad_patch_operation_is_400(mock: MockIDM) -> None:
    seed(mock)
    refused(call(mock, "PATCH", "managed/user/bjensen",
                 [{"operation": "frobnicate", "field": "/sn"}]), 400)
    # Through a string, past an array's end: refused, never a crash.
    refused(call(mock, "PATCH", "managed/user/bjensen",
                 [{"operation": "add", "field": "/sn/0/x", "value": 1}]), 400)
    refused(call(mock, "PATCH", "managed/user/bjensen", "not a list"), 400)


def test_sorting_by_a_field_of_objects_is_refused_not_a_crash(mock: MockIDM) -> None:
    for name in ("a", "b"):
        answer(call(mock, "PUT", f"managed/role/{name}", {"meta": {"n": name}}), 201)
    refused(call(mock, "GET", "managed/role?_queryFilter=true&_sortKeys=meta"), 400)


# delete ---------------------------------------------------------------------------------------

def test_delete_answers_the_object_and_checks_the_revision(mock: MockIDM) -> None:
    seed(mock)
    refused(call(mock, "DELETE", "managed/role/employee", headers={"If-Match": "3"}), 412)
    gone = answer(call(mock, "DELETE", "managed/role/employee"))
    assert gone["_id"] == "employee"
    refused(call(mock, "GET", "managed/role/employee"), 404)
    refused(call(mock, "DELETE", "managed/role/employee"), 404)


# query ----------------------------------------------------------------------------------------

def test_query_filter_sort_fields_and_paging(mock: MockIDM) -> None:
    for name in ("carol", "alice", "bob"):
        answer(call(mock, "PUT", f"managed/user/{name}", {"userName": name, "n": len(name)}),
               201)
    found = answer(call(mock, "GET", "managed/user?_queryFilter=n eq 5&_sortKeys=-userName"))
    assert [u["_id"] for u in found["result"]] == ["carol", "alice"]
    assert found["resultCount"] == 2
    fields = answer(call(mock, "GET", "managed/user?_queryFilter=true&_fields=n&_sortKeys=n"))
    assert fields["result"][0] == {"_id": "bob", "n": 3}
    page = answer(call(mock, "GET", "managed/user?_queryFilter=true&_sortKeys=userName"
                                    "&_pageSize=2&_totalPagedResultsPolicy=EXACT"))
    assert [u["_id"] for u in page["result"]] == ["alice", "bob"]
    assert (page["pagedResultsCookie"], page["totalPagedResults"]) == ("2", 3)


def test_query_all_ids(mock: MockIDM) -> None:
    seed(mock)
    found = answer(call(mock, "GET", "managed/user?_queryId=query-all-ids"))
    assert found["result"] == [{"_id": "bjensen", "_rev": "1"}]


def test_query_refusals(mock: MockIDM) -> None:
    refused(call(mock, "GET", "managed/user?_queryId=nope"), 400, "Unknown query id: nope")
    refused(call(mock, "GET", "managed/user?_queryFilter=bad filter"), 400)
    # Administrators may not send query expressions (IDM's disallowQueryExpression()).
    refused(call(mock, "GET", "managed/user?_queryExpression=select"), 403)


# relationships --------------------------------------------------------------------------------

def test_relationship_create_read_query_delete(mock: MockIDM) -> None:
    seed(mock)
    response = call(mock, "POST", "managed/user/bjensen/roles?_action=create",
                    {"_ref": "managed/role/employee", "_refProperties": {"why": "hired"}})
    made = answer(response, 201)
    assert made["_refResourceCollection"] == "managed/role"
    assert made["_refResourceId"] == "employee"
    assert made["_refProperties"] == {"why": "hired", "_id": made["_id"], "_rev": "1"}
    path = f"managed/user/bjensen/roles/{made['_id']}"
    assert response.headers["Location"] == f"{mock.url}/{path}"
    assert answer(call(mock, "GET", path)) == made
    found = answer(call(mock, "GET", "managed/user/bjensen/roles?_queryFilter="
                                     '_refResourceId eq "employee"'))
    assert found["result"] == [made]
    assert answer(call(mock, "DELETE", path)) == made
    refused(call(mock, "GET", path), 404)
    assert answer(call(mock, "GET", "managed/user/bjensen/roles?_queryFilter=true"))[
        "result"] == []


def test_authz_roles_written_with_the_user_are_a_collection(mock: MockIDM) -> None:
    answer(call(mock, "PUT", "managed/user/ann", {
        "userName": "ann", "authzRoles": [{"_ref": "internal/role/openidm-admin"}],
        "manager": {"_ref": "managed/user/bjensen"}}), 201)
    found = answer(call(mock, "GET", "managed/user/ann/authzRoles?_queryFilter=true"))
    [role] = found["result"]
    assert (role["_refResourceCollection"], role["_refResourceId"]) == (
        "internal/role", "openidm-admin")
    # The same relationship twice has one id.
    again = answer(call(mock, "GET", "managed/user/ann/authzRoles?_queryFilter=true"))
    assert again["result"][0]["_id"] == role["_id"]
    manager = answer(call(mock, "GET", "managed/user/ann?_fields=manager"))["manager"]
    assert manager["_ref"] == "managed/user/bjensen" and set(manager) == REFERENCE_KEYS


def test_relationship_refusals(mock: MockIDM) -> None:
    seed(mock)
    refused(call(mock, "POST", "managed/user/bjensen/roles?_action=create", {"name": "x"}),
            400)
    refused(call(mock, "GET", "managed/user/nobody/roles?_queryFilter=true"), 404,
            "Object nobody not found in managed/user")
    refused(call(mock, "GET", "managed/user/bjensen/friends?_queryFilter=true"), 404)
    refused(call(mock, "GET", "managed/user/bjensen/roles/nope"), 404)
    refused(call(mock, "PUT", "managed/user/bjensen/roles/x", {"_ref": "managed/role/y"}),
            501)


# access rules and authentication --------------------------------------------------------------

def test_without_credentials_401(mock: MockIDM) -> None:
    refused(call(mock, "GET", "managed/user?_queryFilter=true", who={}), 401)


def test_an_authorized_user_reads_and_changes_its_own_object_only(mock: MockIDM) -> None:
    seed(mock)
    answer(call(mock, "PUT", "managed/user/ann", {"userName": "ann", "password": "An-pw-1"}),
           201)
    assert answer(call(mock, "GET", "managed/user/bjensen", who=BJENSEN))["_id"] == "bjensen"
    answer(call(mock, "PATCH", "managed/user/bjensen",
                [{"operation": "replace", "field": "/sn", "value": "B"}], who=BJENSEN))
    refused(call(mock, "GET", "managed/user/ann", who=BJENSEN), 403, "Access denied")
    refused(call(mock, "GET", "managed/user?_queryFilter=true", who=BJENSEN), 403)
    refused(call(mock, "GET", "managed/role/employee", who=BJENSEN), 403)
    refused(call(mock, "GET", "managed/user/bjensen/roles?_queryFilter=true", who=BJENSEN),
            403)
    refused(call(mock, "PUT", "managed/user/zed", {"userName": "zed"}, who=BJENSEN), 403)


def test_requests_are_journaled_with_their_operation(mock: MockIDM) -> None:
    seed(mock)
    operations = [entry.operation for entry in mock.requests()]
    assert operations[-2:] == ["createManagedObject", "createManagedObject"]


def test_a_route_fault_takes_an_object_request_and_nothing_changes(mock: MockIDM) -> None:
    mock.fault(operation="createManagedObject", status=503, message="repo down", times=1)
    refused(call(mock, "PUT", "managed/role/employee", {"name": "employee"}), 503,
            "repo down")
    assert mock.state.idm.get("managed/role/employee") is None
    answer(call(mock, "PUT", "managed/role/employee", {"name": "employee"}), 201)


def test_the_6_5_profile_serves_objects_too() -> None:
    with MockIDM(profile="6.5").serve() as served:
        answer(call(served, "PUT", "managed/role/employee", {"name": "employee"}), 201)
        found = answer(call(served, "GET", "managed/role?_queryFilter=true"))
        assert [r["_id"] for r in found["result"]] == ["employee"]


# the walk -------------------------------------------------------------------------------------

def test_a_role_request_assigns_the_role_a_client_then_reads(mock: MockIDM) -> None:
    seed(mock)
    started = answer(call(mock, "POST", "workflow/processinstance?_action=create",
                          {"_key": "roleGrant", "userId": "bjensen", "roleId": "employee"}),
                     201)
    tasks = answer(call(mock, "GET", "workflow/taskinstance?_queryId=filtered-query"
                                     f"&processInstanceId={started['_id']}"))
    [task] = tasks["result"]
    answer(call(mock, "POST", f"workflow/taskinstance/{task['_id']}?_action=complete",
                {"decision": "approve"}))
    roles = answer(call(mock, "GET", "managed/user/bjensen/roles?_queryFilter=true"))
    [role] = roles["result"]
    assert (role["_ref"], role["_refResourceCollection"], role["_refResourceId"]) == (
        "managed/role/employee", "managed/role", "employee")
