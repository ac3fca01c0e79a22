"""Authentication and authorization over HTTP (reference sections 2 and 3).

Every test makes real HTTP requests against a live mock and checks the status and IDM's exact
message; users and process-access rules are set on the mock's identity through its server loop.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from mockidm.engine import linear_process
from mockidm.engine.model import UserTask
from mockidm.http.app import STATE
from mockidm.identity import ProcessAccessRule

PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ALL = "_queryId=query-all-ids"

UNAUTHORIZED = '{"code":401,"reason":"Unauthorized","message":"Access Denied"}'
FORBIDDEN = {"code": 403, "reason": "Forbidden", "message": "Access denied"}
NO_SESSION = {"X-OpenIDM-NoSession": "true"}


def credentials(name: str, password: str, *, session: bool = False) -> dict[str, str]:
    headers = {"X-OpenIDM-Username": name, "X-OpenIDM-Password": password}
    return headers if session else {**headers, **NO_SESSION}


BOB = credentials("bob", "pw")


def assert_unauthorized(response: requests.Response) -> None:
    assert response.status_code == 401
    assert response.text == UNAUTHORIZED
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"


def assert_forbidden(response: requests.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert {k: body[k] for k in ("code", "reason", "message")} == FORBIDDEN


def identity(idm: Any) -> Any:
    return idm.server.app[STATE].identity


def add_user(idm: Any, name: str, password: str, roles: list[str]) -> None:
    idm.server.call(lambda: identity(idm).add_user(name, password, roles))


def set_process_access(idm: Any, rules: list[ProcessAccessRule]) -> None:
    idm.server.call(lambda: setattr(identity(idm), "process_access", rules))


def as_bob(idm: Any, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {**BOB, **kwargs.pop("headers", {})}
    return idm.request(method, path, headers=headers, auth=False, **kwargs)


def definition_id(idm: Any, key: str, version: int = 1) -> str:
    result = idm.request("GET", f"{PD}?_queryId=filtered-query&key={key}").json()["result"]
    return next(d["_id"] for d in result if d["version"] == version)


def task_of(idm: Any, instance_id: str) -> str:
    tasks = idm.request("GET", f"{TI}?_queryId=filtered-query&processInstanceId={instance_id}")
    return tasks.json()["result"][0]["_id"]


@pytest.fixture
def bob(idm):
    """A managed user with openidm-authorized and a `reviewer` role."""
    add_user(idm, "bob", "pw", ["openidm-authorized", "reviewer"])
    return idm


@pytest.fixture
def review_task(bob):
    """A task whose candidate group is bob's `reviewer` role (not assigned to anyone)."""
    role = identity(bob).profile.role("reviewer")
    model = linear_process("review", "Review", [UserTask("check", "Check",
                                                         candidate_groups=[role])])
    bob.server.call(lambda: bob.engine.deploy(model, name="review"))
    return task_of(bob, bob.start({"_key": "review"}).json()["_id"])


@pytest.fixture
def admin_task(bob):
    """contractorOnboarding's first task: candidate group openidm-admin only."""
    return task_of(bob, bob.start({"_key": "contractorOnboarding"}).json()["_id"])


# --- 2.3 authentication failures --------------------------------------------------------------

def test_no_credentials_is_401_access_denied(idm):
    response = idm.request("GET", f"{PD}?{ALL}", auth=False)
    assert_unauthorized(response)
    assert "WWW-Authenticate" not in response.headers
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(("name", "password"), [("openidm-admin", "wrong"),
                                                ("nobody", "openidm-admin"),
                                                ("openidm-admin", ""),
                                                ("OPENIDM-ADMIN", "openidm-admin")])
def test_bad_credentials_are_401_access_denied(idm, name, password):
    response = idm.request("GET", f"{PD}?{ALL}", headers=credentials(name, password),
                           auth=False)
    assert_unauthorized(response)


def test_username_without_password_is_401(idm):
    response = idm.request("GET", f"{PD}?{ALL}",
                           headers={"X-OpenIDM-Username": "openidm-admin"}, auth=False)
    assert_unauthorized(response)


def test_credential_headers_authenticate(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers=credentials("openidm-admin",
                                                                     "openidm-admin"),
                           auth=False)
    assert response.status_code == 200


def _basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode(), **NO_SESSION}


def test_basic_auth_authenticates(idm):
    response = idm.request("GET", f"{PD}?{ALL}", headers=_basic("openidm-admin:openidm-admin"),
                           auth=False)
    assert response.status_code == 200
    assert response.json()["resultCount"] == 3


@pytest.mark.parametrize("text", ["openidm-admin:wrong", "nobody:openidm-admin"])
def test_basic_auth_with_bad_credentials_is_401(idm, text):
    assert_unauthorized(idm.request("GET", f"{PD}?{ALL}", headers=_basic(text), auth=False))


@pytest.mark.parametrize("value", ["Basic !!!not-base64!!!", "Basic " + base64.b64encode(
    b"openidm-admin").decode(), "Basic", "Bearer abc"])
def test_malformed_basic_auth_is_401(idm, value):
    response = idm.request("GET", f"{PD}?{ALL}", headers={"Authorization": value, **NO_SESSION},
                           auth=False)
    assert_unauthorized(response)


# The docs' example: a password with a pound sign, sent RFC 5987 encoded.
CAROL_PASSWORD = "Passw\u00a3rd123"


@pytest.fixture
def carol(idm):
    add_user(idm, "c\u00e9line", CAROL_PASSWORD, ["openidm-admin", "openidm-authorized"])
    return idm


def test_rfc_5987_encoded_credentials_authenticate(carol):
    headers = credentials("UTF-8''c%C3%A9line", "UTF-8''Passw%C2%A3rd123")
    response = carol.request("GET", f"{PD}?{ALL}", headers=headers, auth=False)
    assert response.status_code == 200


def test_rfc_5987_encoded_wrong_password_is_401(carol):
    headers = credentials("UTF-8''c%C3%A9line", "UTF-8''Passw%C2%A3rd124")
    assert_unauthorized(carol.request("GET", f"{PD}?{ALL}", headers=headers, auth=False))


def test_iso_8859_1_credentials_authenticate(carol):
    headers = {"X-OpenIDM-Username": "c\u00e9line".encode("latin-1"),
               "X-OpenIDM-Password": CAROL_PASSWORD.encode("latin-1"), **NO_SESSION}
    response = carol.request("GET", f"{PD}?{ALL}", headers=headers, auth=False)
    assert response.status_code == 200


def test_utf_8_credentials_authenticate(carol):
    headers = {"X-OpenIDM-Username": "c\u00e9line".encode(),
               "X-OpenIDM-Password": CAROL_PASSWORD.encode(), **NO_SESSION}
    response = carol.request("GET", f"{PD}?{ALL}", headers=headers, auth=False)
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", f"{PI}?{ALL}", None),
    ("GET", f"{PD}/DEFINITION", None),
    ("POST", f"{PI}?_action=create", {"_key": "roleRequest"}),
])
def test_anonymous_user_authenticates_but_is_forbidden_on_workflow(idm, method, path, body):
    path = path.replace("DEFINITION", definition_id(idm, "roleRequest"))
    response = idm.request(method, path, headers=credentials("anonymous", "anonymous"),
                           auth=False, json=body)
    assert_forbidden(response)


# --- 2.1 the session-jwt cookie ---------------------------------------------------------------

def _session_cookie(idm: Any, name: str = "openidm-admin", password: str = "openidm-admin") -> str:
    """A session token, from a read that any authorized user may make."""
    path = f"{PD}/{definition_id(idm, 'roleRequest')}"
    response = requests.get(f"{idm.url}/{path}", headers=credentials(name, password,
                                                                     session=True), timeout=5)
    assert response.status_code == 200
    return response.cookies["session-jwt"]


def _with_cookie(idm: Any, method: str, path: str, token: str,
                 headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
    return requests.request(method, f"{idm.url}/{path}", cookies={"session-jwt": token},
                            headers=headers or {}, timeout=5, **kwargs)


def test_authenticated_response_sets_an_http_only_session_cookie(idm):
    response = requests.get(f"{idm.url}/{PD}?{ALL}",
                            headers=credentials("openidm-admin", "openidm-admin", session=True),
                            timeout=5)
    assert response.status_code == 200
    set_cookie = response.headers["Set-Cookie"]
    assert set_cookie.startswith("session-jwt=")
    attributes = [a.strip().lower() for a in set_cookie.split(";")[1:]]
    assert "httponly" in attributes
    assert "path=/" in attributes
    assert response.cookies["session-jwt"]


def test_no_session_header_suppresses_the_cookie(idm):
    response = requests.get(f"{idm.url}/{PD}?{ALL}",
                            headers=credentials("openidm-admin", "openidm-admin"), timeout=5)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


def test_session_cookie_alone_authenticates_a_later_read(idm):
    token = _session_cookie(idm)
    response = _with_cookie(idm, "GET", f"{PD}/{definition_id(idm, 'roleRequest')}", token)
    assert response.status_code == 200
    assert response.json()["key"] == "roleRequest"


def test_session_cookie_takes_precedence_over_credential_headers(idm):
    token = _session_cookie(idm)
    response = _with_cookie(idm, "GET", f"{PD}/{definition_id(idm, 'roleRequest')}", token,
                            headers=credentials("openidm-admin", "wrong"))
    assert response.status_code == 200


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_tampered_session_cookie_is_401(bob):
    header, claims, signature = _session_cookie(bob, "bob", "pw").split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    forged = _b64(json.dumps({**decoded, "sub": "openidm-admin"}).encode())
    response = _with_cookie(bob, "GET", f"{PI}?{ALL}", f"{header}.{forged}.{signature}",
                            headers={"X-Requested-With": "XMLHttpRequest"})
    assert_unauthorized(response)


def test_garbage_session_cookie_is_401(idm):
    response = _with_cookie(idm, "GET", f"{PD}/{definition_id(idm, 'roleRequest')}", "abc.def")
    assert_unauthorized(response)


def test_cookie_only_create_without_requested_with_is_forbidden(idm):
    token = _session_cookie(idm)
    response = _with_cookie(idm, "POST", f"{PI}?_action=create", token,
                            json={"_key": "roleRequest"})
    assert_forbidden(response)
    assert idm.request("GET", f"{PI}?{ALL}").json()["resultCount"] == 0


def test_cookie_only_create_with_requested_with_passes(idm):
    token = _session_cookie(idm)
    response = _with_cookie(idm, "POST", f"{PI}?_action=create", token,
                            headers={"X-Requested-With": "XMLHttpRequest"},
                            json={"_key": "roleRequest"})
    assert response.status_code == 201


def test_cookie_only_query_without_requested_with_is_forbidden(idm):
    assert_forbidden(_with_cookie(idm, "GET", f"{PI}?{ALL}", _session_cookie(idm)))


def test_cookie_only_query_with_requested_with_passes(idm):
    response = _with_cookie(idm, "GET", f"{PI}?{ALL}", _session_cookie(idm),
                            headers={"X-Requested-With": "XMLHttpRequest"})
    assert response.status_code == 200


# --- 3.1 a non-admin (openidm-authorized) user ------------------------------------------------

def test_authorized_user_may_start_a_process_allowed_by_process_access(bob):
    response = as_bob(bob, "POST", f"{PI}?_action=create", json={"_key": "roleRequest"})
    assert response.status_code == 201
    instance = bob.request("GET", f"{PI}/{response.json()['_id']}").json()
    assert instance["startUserId"] == "bob"


def test_start_refused_by_process_access_is_403(bob):
    set_process_access(bob, [ProcessAccessRule("key", "^roleRequest$", "openidm-authorized")])
    refused = as_bob(bob, "POST", f"{PI}?_action=create", json={"_key": "contractorOnboarding"})
    assert_forbidden(refused)
    allowed = as_bob(bob, "POST", f"{PI}?_action=create", json={"_key": "roleRequest"})
    assert allowed.status_code == 201


def test_start_by_definition_id_follows_process_access(bob):
    set_process_access(bob, [ProcessAccessRule("key", "^roleRequest$", "openidm-authorized")])
    refused = as_bob(bob, "POST", f"{PI}?_action=create",
                     json={"_processDefinitionId": definition_id(bob, "contractorOnboarding", 2)})
    assert_forbidden(refused)
    allowed = as_bob(bob, "POST", f"{PI}?_action=create",
                     json={"_processDefinitionId": definition_id(bob, "roleRequest")})
    assert allowed.status_code == 201


def test_start_of_an_unknown_process_by_a_non_admin_is_403_not_404(bob):
    response = as_bob(bob, "POST", f"{PI}?_action=create", json={"_key": "doesNotExist"})
    assert_forbidden(response)


@pytest.mark.parametrize("path", [f"{PI}?{ALL}", f"{PI}/history?{ALL}", f"{TI}?{ALL}",
                                  f"{TI}/history?{ALL}", f"{PD}?{ALL}"])
def test_authorized_user_cannot_query_workflow_collections(bob, path):
    bob.start({"_key": "roleRequest"})
    assert_forbidden(as_bob(bob, "GET", path))


def test_authorized_user_may_read_a_definition_in_their_list(bob):
    set_process_access(bob, [ProcessAccessRule("key", "^roleRequest$", "openidm-authorized")])
    allowed = definition_id(bob, "roleRequest")
    response = as_bob(bob, "GET", f"{PD}/{allowed}")
    assert response.status_code == 200
    assert response.json()["_id"] == allowed


def test_authorized_user_cannot_read_a_definition_not_in_their_list(bob):
    set_process_access(bob, [ProcessAccessRule("key", "^roleRequest$", "openidm-authorized")])
    assert_forbidden(as_bob(bob, "GET", f"{PD}/{definition_id(bob, 'contractorOnboarding', 2)}"))


def test_candidate_may_read_a_task_of_their_group(bob, review_task):
    response = as_bob(bob, "GET", f"{TI}/{review_task}")
    assert response.status_code == 200
    assert response.json()["_id"] == review_task


def test_non_candidate_cannot_read_a_task(bob, admin_task):
    assert_forbidden(as_bob(bob, "GET", f"{TI}/{admin_task}"))


def test_candidate_may_update_a_task_of_their_group(bob, review_task):
    response = as_bob(bob, "PUT", f"{TI}/{review_task}", headers={"If-Match": "*"},
                      json={"assignee": "bob"})
    assert response.status_code == 200
    assert response.json() == {"_id": review_task, "Task updated": review_task}
    assert bob.request("GET", f"{TI}/{review_task}").json()["assignee"] == "bob"


def test_non_candidate_cannot_update_a_task(bob, admin_task):
    response = as_bob(bob, "PUT", f"{TI}/{admin_task}", headers={"If-Match": "*"},
                      json={"assignee": "bob"})
    assert_forbidden(response)
    assert bob.request("GET", f"{TI}/{admin_task}").json()["assignee"] is None


def test_candidate_cannot_complete_a_task_not_assigned_to_them(bob, review_task):
    response = as_bob(bob, "POST", f"{TI}/{review_task}?_action=complete", json={})
    assert_forbidden(response)


def test_assignee_may_complete_their_own_task(bob, review_task):
    bob.request("PUT", f"{TI}/{review_task}", headers={"If-Match": "*"},
                json={"assignee": "bob"})
    response = as_bob(bob, "POST", f"{TI}/{review_task}?_action=complete", json={})
    assert response.status_code == 200
    assert response.json() == {"Task action performed": "complete"}


def test_user_cannot_complete_a_task_assigned_to_someone_else(bob, review_task):
    bob.request("PUT", f"{TI}/{review_task}", headers={"If-Match": "*"},
                json={"assignee": "openidm-admin"})
    response = as_bob(bob, "POST", f"{TI}/{review_task}?_action=complete", json={})
    assert_forbidden(response)


def test_completing_an_unknown_task_as_non_admin_is_404_in_8_1(bob):
    response = as_bob(bob, "POST", f"{TI}/999999?_action=complete", json={})
    assert response.status_code == 404
    assert response.json()["message"] == "Task Not Found"


def test_authorized_user_cannot_claim_even_as_candidate(bob, review_task):
    response = as_bob(bob, "POST", f"{TI}/{review_task}?_action=claim", json={"userId": "bob"})
    assert_forbidden(response)
    assert bob.request("GET", f"{TI}/{review_task}").json()["assignee"] is None


@pytest.mark.parametrize("headers", [{}, BOB])
def test_query_expression_is_forbidden_even_for_admin(idm, headers):
    add_user(idm, "bob", "pw", ["openidm-authorized"])
    response = idm.request("GET", f"{PI}?_queryExpression=select", headers=headers)
    assert_forbidden(response)


# --- 3.2 role names per release ---------------------------------------------------------------

def test_admin_roles_are_prefixed_in_8_1(idm):
    assert identity(idm).users["openidm-admin"].roles == (
        "internal/role/openidm-admin", "internal/role/openidm-authorized")


def test_admin_roles_are_bare_in_6_5(idm65):
    assert identity(idm65).users["openidm-admin"].roles == ("openidm-admin",
                                                            "openidm-authorized")


@pytest.mark.parametrize("profile", ["idm", "idm65"])
def test_bare_required_role_matches_in_both_releases(request, profile):
    mock = request.getfixturevalue(profile)
    add_user(mock, "bob", "pw", ["openidm-authorized"])
    set_process_access(mock, [ProcessAccessRule("_id", ".*", "openidm-authorized")])
    response = as_bob(mock, "POST", f"{PI}?_action=create", json={"_key": "roleRequest"})
    assert response.status_code == 201


@pytest.mark.parametrize(("profile", "status"), [("idm", 201), ("idm65", 403)])
def test_prefixed_required_role_matches_only_in_8_1(request, profile, status):
    mock = request.getfixturevalue(profile)
    add_user(mock, "bob", "pw", ["openidm-authorized"])
    set_process_access(mock, [ProcessAccessRule("_id", ".*",
                                                "internal/role/openidm-authorized")])
    response = as_bob(mock, "POST", f"{PI}?_action=create", json={"_key": "roleRequest"})
    assert response.status_code == status
