"""The admin API, driven by `AdminClient` against a live server, each effect seen over IDM's API.

Also: its spec (valid OpenAPI, one handler per operation), request validation, the bearer
token, the reserved prefix (never under /openidm), and `mockidm serve` refusing to expose an
open admin API beyond loopback.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from openapi_spec_validator import validate as validate_openapi

from mockidm.admin.client import AdminClient, AdminError
from mockidm.admin.server import HANDLERS, add_admin_routes
from mockidm.facade import MockIDM
from mockidm.identity import ProcessAccessRule
from mockidm.server import ThreadedServer
from mockidm.spec import SpecError
from mockidm.spec_files import admin_spec_path

REPO = Path(__file__).resolve().parents[1]
PD = "workflow/processdefinition"
PI = "workflow/processinstance"
TI = "workflow/taskinstance"
ALL = "_queryId=query-all-ids"
ADMIN = {"X-OpenIDM-Username": "openidm-admin", "X-OpenIDM-Password": "openidm-admin",
         "X-OpenIDM-NoSession": "true"}
TOKEN = "s3cret-admin-token"
T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             targetNamespace="mockidm.tests.admin">
  <process id="adminReview" name="Admin review" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="assess"/>
    <scriptTask id="assess" scriptFormat="groovy"><script>risk = 'computed'</script></scriptTask>
    <sequenceFlow id="f1" sourceRef="assess" targetRef="review"/>
    <userTask id="review" name="Review"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


@dataclass
class Served:
    mock: MockIDM
    server: ThreadedServer
    admin: AdminClient

    @property
    def url(self) -> str:
        return self.server.url

    def idm(self, method: str, path: str, *, headers: dict[str, str] | None = None,
            auth: bool = True, **kwargs: Any) -> requests.Response:
        """A request to IDM's API; `path` relative to /openidm."""
        merged = {**(ADMIN if auth else {}), **(headers or {})}
        return requests.request(method, f"{self.url}/{path}", headers=merged, timeout=10,
                                **kwargs)

    def raw(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw request to the server's origin (for admin calls the client would not send)."""
        return requests.request(method, f"{self.server.origin}{path}", timeout=10, **kwargs)


def _serve(token: str | None) -> Iterator[Served]:
    mock = MockIDM()

    def factory():  # type: ignore[no-untyped-def]
        app = mock.app(validate_responses=True)
        add_admin_routes(app, mock, token=token, validate_responses=True)
        return app

    with ThreadedServer(factory) as server:
        yield Served(mock, server, AdminClient(server.url, token))


@pytest.fixture
def served() -> Iterator[Served]:
    """A mock with an open admin API (no token), on loopback, empty."""
    yield from _serve(None)


@pytest.fixture
def guarded() -> Iterator[Served]:
    """A mock whose admin API needs TOKEN."""
    yield from _serve(TOKEN)


def deploy(s: Served) -> str:
    [definition] = s.admin.deploy_bpmn(BPMN, "review.bpmn20.xml")
    return definition["id"]


def start_over_idm(s: Served, key: str = "adminReview", **extra: Any) -> requests.Response:
    return s.idm("POST", f"{PI}?_action=create", json={"_key": key, **extra})


def instance_ids(s: Served) -> list[str]:
    response = s.idm("GET", f"{PI}?{ALL}")
    assert response.status_code == 200, response.text
    return sorted(i["_id"] for i in response.json()["result"])


# --- the spec --------------------------------------------------------------------------------

def test_admin_spec_is_valid_openapi_with_ids_bodies_and_schemas():
    document = yaml.safe_load(admin_spec_path().read_text())
    validate_openapi(document, base_uri=admin_spec_path().as_uri())  # follows contracts/ refs
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["adminToken"]["scheme"] == "bearer"
    ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/__mockidm/"), path
        for method, op in item.items():
            if method == "parameters":
                continue
            ids.append(op["operationId"])
            assert "schema" in op["responses"]["default"].get("content", {}).get(
                "application/json", {}) or "$ref" in op["responses"]["default"]
            if method in ("post", "put"):
                assert "schema" in op["requestBody"]["content"]["application/json"], path
    assert sorted(ids) == sorted(HANDLERS)
    text = admin_spec_path().read_text()
    files = {ref.split("#")[0] for ref in re.findall(r'\$ref: "([^"#][^"]*)"', text)}
    assert files == {"contracts/fixture-file.json", "contracts/engine-snapshot.json"}
    assert all((admin_spec_path().parent / f).is_file() for f in files)


def test_routes_refuse_to_start_when_spec_and_handlers_disagree():
    mock = MockIDM()
    without_reset = {k: v for k, v in HANDLERS.items() if k != "reset"}
    with pytest.raises(SpecError, match="reset"):
        add_admin_routes(mock.app(), mock, token=None, handlers=without_reset)
    with pytest.raises(SpecError, match="extraOperation"):
        add_admin_routes(mock.app(), mock, token=None,
                         handlers={**HANDLERS, "extraOperation": HANDLERS["reset"]})


def test_an_empty_token_is_refused():
    mock = MockIDM()
    with pytest.raises(ValueError, match="empty"):
        add_admin_routes(mock.app(), mock, token="")


# --- each operation, seen over IDM's API -----------------------------------------------------

def test_deploy_then_start_over_idm(served):
    definition_id = deploy(served)
    assert definition_id.startswith("adminReview:1:")
    assert [d["key"] for d in served.admin.definitions()] == ["adminReview"]
    response = start_over_idm(served)
    assert response.status_code == 201, response.text
    assert response.json()["processDefinitionId"] == definition_id


def test_deploy_of_a_broken_document_is_400(served):
    with pytest.raises(AdminError) as caught:
        served.admin.deploy_bpmn("<definitions>not bpmn", "broken.bpmn20.xml")
    assert caught.value.status == 400
    assert served.admin.definitions() == []


def test_reset_forgets_definitions_and_instances(served):
    deploy(served)
    assert start_over_idm(served).status_code == 201
    served.admin.reset()
    assert instance_ids(served) == []
    assert start_over_idm(served).status_code == 404


def test_added_user_authenticates_over_idm(served):
    who = {"X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw",
           "X-OpenIDM-NoSession": "true"}
    assert served.idm("GET", "endpoint/getprocessesforuser", headers=who,
                      auth=False).status_code == 401
    user = served.admin.add_user("carol", "carol-pw", ["openidm-authorized"])
    assert user == {"name": "carol", "roles": ["internal/role/openidm-authorized"]}
    assert "carol-pw" not in str(user)
    assert served.idm("GET", "endpoint/getprocessesforuser", headers=who,
                      auth=False).status_code == 200
    as_admin = served.admin.add_user("dave", "dave-pw", ["openidm-admin"])
    assert as_admin["roles"] == ["internal/role/openidm-admin"]
    response = served.idm("GET", f"{PD}?{ALL}", auth=False, headers={
        "X-OpenIDM-Username": "dave", "X-OpenIDM-Password": "dave-pw"})
    assert response.status_code == 200


def test_added_token_authenticates_over_idm_until_it_expires_or_is_revoked(served):
    bearer = {"Authorization": "Bearer amadmin-access-token"}
    served.admin.freeze_time(T0)
    added = served.admin.add_token("amadmin-access-token", "amAdmin",
                                   ["openidm-admin", "openidm-authorized"], expires_in=30)
    assert added == {"subject": "amAdmin",
                     "roles": ["internal/role/openidm-admin", "internal/role/openidm-authorized"],
                     "expires": "2024-05-06T07:08:39+00:00"}
    assert served.idm("GET", f"{PD}?{ALL}", auth=False, headers=bearer).status_code == 200
    served.admin.advance_time(30)
    expired = served.idm("GET", f"{PD}?{ALL}", auth=False, headers=bearer)
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    # Scripted again, with the default role and no expiry; then revoked.
    assert served.admin.add_token("amadmin-access-token", "carol") == {
        "subject": "carol", "roles": ["internal/role/openidm-authorized"], "expires": None}
    listed = served.idm("GET", "endpoint/getprocessesforuser", auth=False, headers=bearer)
    assert listed.status_code == 200
    served.admin.revoke_token("amadmin-access-token")
    assert served.idm("GET", "endpoint/getprocessesforuser", auth=False,
                      headers=bearer).status_code == 401
    with pytest.raises(AdminError) as unknown:
        served.admin.revoke_token("amadmin-access-token")
    assert unknown.value.status == 404


def test_a_token_of_two_words_is_400(served):
    response = served.raw("POST", "/__mockidm/tokens", json={"token": "a b", "subject": "x"})
    assert response.status_code == 400
    assert "token" in response.json()["message"]


def test_managed_user_gets_authorized_plus_authz_roles(served):
    user = served.admin.add_managed_user("erin", "erin-pw", ["reviewers"])
    assert user["roles"] == ["internal/role/openidm-authorized", "internal/role/reviewers"]
    response = served.idm("GET", "endpoint/getprocessesforuser", auth=False, headers={
        "X-OpenIDM-Username": "erin", "X-OpenIDM-Password": "erin-pw"})
    assert response.status_code == 200
    # One fact: the managed user is a managed/user object, which shows no password.
    assert served.admin.idm_object("managed/user/erin") == {
        "_id": "erin", "userName": "erin", "authzRoles": [{"_ref": "internal/role/reviewers"}],
        "accountStatus": "active", "_rev": "1"}
    clash = served.raw("POST", "/__mockidm/managed-users",
                       json={"userName": "openidm-admin", "password": "x"})
    assert clash.status_code == 400 and "internal user" in clash.json()["message"]


def test_process_access_decides_what_a_user_sees(served):
    deploy(served)
    served.admin.add_user("carol", "carol-pw")
    who = {"X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"}

    def visible() -> list[str]:
        response = served.idm("GET", "endpoint/getprocessesforuser", headers=who, auth=False)
        assert response.status_code == 200, response.text
        return [p["key"] for p in response.json()["processes"]]

    assert visible() == ["adminReview"]
    answer = served.admin.set_process_access({"workflowAccess": [{"propertiesCheck": {
        "property": "key", "matches": "^nothing$", "requiresRole": "openidm-authorized"}}]})
    assert answer["workflowAccess"][0]["propertiesCheck"]["matches"] == "^nothing$"
    assert visible() == []
    served.admin.set_process_access([ProcessAccessRule("key", "^admin", "openidm-authorized")])
    assert visible() == ["adminReview"]


def test_start_process_then_read_it_over_idm(served):
    definition_id = deploy(served)
    instance = served.admin.start_process("adminReview", business_key="bk-1",
                                          variables={"color": "blue"}, user="carol")
    assert (instance["definitionId"], instance["businessKey"]) == (definition_id, "bk-1")
    assert instance["activities"] == ["review"]
    response = served.idm("GET", f"{PI}/{instance['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["businessKey"] == "bk-1"
    assert response.json()["startUserId"] == "carol"
    by_id = served.admin.start_process(definition_id=definition_id)
    assert instance_ids(served) == sorted([instance["id"], by_id["id"]])


def test_start_of_an_unknown_key_is_404(served):
    with pytest.raises(AdminError) as caught:
        served.admin.start_process("nope")
    assert caught.value.status == 404
    assert "nope" in str(caught.value)


def test_tasks_claim_and_complete_show_over_idm(served):
    deploy(served)
    instance = served.admin.start_process("adminReview")
    [task] = served.admin.tasks(instance["id"])
    assert (task["key"], task["assignee"]) == ("review", None)
    assert served.admin.claim(task["id"], "openidm-admin")["assignee"] == "openidm-admin"
    assert served.idm("GET", f"{TI}/{task['id']}").json()["assignee"] == "openidm-admin"
    served.admin.complete(task["id"], {"approved": True})
    assert served.admin.tasks(instance["id"]) == []
    history = served.idm("GET", f"{PI}/history/{instance['id']}")
    assert history.status_code == 200 and history.json()["endActivityId"] == "end"
    with pytest.raises(AdminError) as caught:
        served.admin.complete(task["id"])
    assert caught.value.status == 404


def test_route_fault_fails_the_idm_call_and_counts(served):
    deploy(served)
    fault = served.admin.fault(operation="createProcessInstance", status=503,
                               message="down for maintenance", times=1)
    assert fault["id"] >= 1 and (fault["matched"], fault["fired"]) == (0, 0)
    failed = start_over_idm(served)
    assert failed.status_code == 503
    assert failed.json() == {"code": 503, "reason": "Service Unavailable",
                             "message": "down for maintenance"}
    assert start_over_idm(served).status_code == 201  # times=1
    [listed] = served.admin.faults()["faults"]
    assert (listed["id"], listed["matched"], listed["fired"]) == (fault["id"], 2, 1)


def test_unused_fault_is_a_problem_until_cleared(served):
    served.admin.fault(path="workflow/taskinstance*", method="get", status=500)
    [problem] = served.admin.problems()
    assert "never used" in problem
    served.admin.clear_faults()
    assert served.admin.problems() == []
    assert served.admin.faults()["faults"] == []


def test_problems_report_an_unserved_request(served):
    assert served.idm("GET", "workflow/nothing-here").status_code == 404
    [problem] = served.admin.problems()
    assert "workflow/nothing-here" in problem


def test_fail_auth_refuses_the_next_idm_call(served):
    served.admin.fail_auth(1)
    assert served.admin.faults()["auth"]["failNext"] == 1
    assert served.idm("GET", f"{PD}?{ALL}").status_code == 401
    assert served.idm("GET", f"{PD}?{ALL}").status_code == 200
    assert served.admin.faults()["auth"]["refused"] == 1


def test_reject_password_and_lock_out(served):
    served.admin.add_user("carol", "carol-pw", ["openidm-admin"])
    served.admin.add_user("dave", "dave-pw", ["openidm-admin"])
    served.admin.reject_password("carol")
    served.admin.lock_out("dave")
    for name in ("carol", "dave"):
        response = served.idm("GET", f"{PD}?{ALL}", auth=False, headers={
            "X-OpenIDM-Username": name, "X-OpenIDM-Password": f"{name}-pw"})
        assert response.status_code == 401, name
    auth = served.admin.faults()["auth"]
    assert (auth["rejectPassword"], auth["lockOut"]) == ({"carol": 1}, {"dave": 1})


def test_expire_sessions_refuses_earlier_cookies(served):
    served.admin.freeze_time(T0)
    login = served.idm("GET", f"{PD}?{ALL}", headers={"X-OpenIDM-NoSession": "false"})
    cookie = login.cookies["session-jwt"]
    served.admin.advance_time(5)
    served.admin.expire_sessions()
    response = served.idm("GET", f"{PD}?{ALL}", auth=False, cookies={"session-jwt": cookie})
    assert response.status_code == 401
    auth = served.admin.faults()["auth"]
    assert (auth["sessionsExpired"], auth["expiredCookiesRefused"]) == (True, 1)


def test_journal_lists_idm_calls_without_passwords_and_clears(served):
    deploy(served)
    served.admin.add_user("carol", "carol-secret-pw", ["openidm-admin"])
    carol = {"X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-secret-pw"}
    assert start_over_idm(served).status_code == 201
    assert served.idm("GET", f"{PD}?{ALL}", auth=False, headers=carol).status_code == 200
    assert served.idm("GET", f"{PD}?{ALL}", auth=False, headers={
        "X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "wrong-pw"}).status_code == 401
    entries = served.admin.journal()
    assert [(e["method"], e["status"], e["user"]) for e in entries] == [
        ("POST", 201, "openidm-admin"), ("GET", 200, "carol"), ("GET", 401, None)]
    text = json.dumps(entries)
    assert "carol-secret-pw" not in text and "wrong-pw" not in text
    assert "session-jwt=" not in text
    assert all(e["headers"]["x-openidm-password"] == "********" for e in entries)
    [created] = served.admin.journal("createProcessInstance")
    assert created["body"] == {"_key": "adminReview"} and created["response"]["_id"]
    assert [e["status"] for e in served.admin.journal(method="get")] == [200, 401]
    assert [e["seq"] for e in served.admin.journal(status=401)] == [entries[2]["seq"]]
    assert [e["status"] for e in served.admin.journal(user="carol")] == [200]
    assert [e["method"] for e in served.admin.journal(path="processdefinition")] == [
        "GET", "GET"]
    served.admin.clear_journal()
    assert served.admin.journal() == []


def test_the_journal_shows_a_lone_surrogate_a_client_sent(served):
    """JSON may escape half a surrogate pair; the journal must still be readable."""
    deploy(served)
    response = served.idm("POST", f"{PI}?_action=create", data='{"_key": "adminReview", '
                          '"note": "\\ud800"}', headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    [entry] = served.admin.journal("createProcessInstance")
    assert entry["body"]["note"] == "\ud800"


def test_admin_calls_are_not_journaled(served):
    deploy(served)
    served.admin.start_process("adminReview")
    served.admin.problems()
    assert served.admin.journal() == []


def test_snapshot_reset_restore_gives_the_instances_back(served):
    deploy(served)
    started = [start_over_idm(served).json()["_id"] for _ in range(2)]
    served.admin.add_user("carol", "carol-pw", ["openidm-admin"])
    snapshot = served.admin.snapshot()
    served.admin.reset()
    assert instance_ids(served) == []
    served.admin.restore(snapshot)
    assert instance_ids(served) == sorted(started)
    response = served.idm("GET", f"{PD}?{ALL}", auth=False, headers={
        "X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"})
    assert response.status_code == 200


def test_restore_of_a_bad_snapshot_is_400_and_changes_nothing(served):
    deploy(served)
    start_over_idm(served)
    before = instance_ids(served)
    for bad in ({"engine": {}}, {"engine": {"version": "x"}, "identity": {"users": [],
                                                                          "processAccess": {}}}):
        with pytest.raises(AdminError) as caught:
            served.admin.restore(bad)
        assert caught.value.status == 400
    snapshot = served.admin.snapshot()
    with pytest.raises(AdminError, match="profile"):
        served.admin.restore({**snapshot, "profile": "6.5"})
    assert instance_ids(served) == before


def test_frozen_clock_shows_in_start_time(served):
    deploy(served)
    clock = served.admin.freeze_time(T0)
    assert clock == {"now": T0.isoformat(), "frozen": True, "fired": []}
    first = start_over_idm(served).json()["_id"]
    served.admin.advance_time(90)
    second = start_over_idm(served).json()["_id"]
    times = [served.idm("GET", f"{PI}/{i}").json()["startTime"] for i in (first, second)]
    assert times == ["2024-05-06T07:08:09.000Z", "2024-05-06T07:09:39.000Z"]
    assert served.admin.unfreeze_time()["frozen"] is False
    assert served.admin.clock()["now"] > "2025"


def test_freeze_without_a_moment_freezes_now(served):
    before = datetime.now(UTC)
    clock = served.admin.freeze_time()
    assert clock["frozen"] is True
    assert datetime.fromisoformat(clock["now"]) >= before
    assert served.admin.clock()["now"] == clock["now"]


def test_fixtures_document_is_applied_and_shows_over_idm(served):
    started = served.admin.load_fixtures({
        "clock": {"freeze": "2024-05-06T07:08:09Z"},
        "users": [{"name": "carol", "password": "carol-pw", "roles": ["openidm-admin"]}],
        "definitions": [{"bpmn": BPMN, "name": "review.bpmn20.xml"}],
        "instances": [{"key": "adminReview", "businessKey": "fx-1"}],
    })
    assert [(i["key"], i["businessKey"]) for i in started] == [("adminReview", "fx-1")]
    response = served.idm("GET", f"{PI}/{started[0]['id']}", auth=False, headers={
        "X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"})
    assert response.status_code == 200, response.text
    assert response.json()["startTime"] == "2024-05-06T07:08:09.000Z"


def test_fixtures_file_is_sent_with_its_files_inline(served, tmp_path):
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "review.bpmn20.xml").write_text(BPMN)
    (tmp_path / "access.json").write_text(
        '{"workflowAccess": [{"propertiesCheck": {"property": "key", "matches": "^none$",'
        ' "requiresRole": "openidm-authorized"}}]}')
    (tmp_path / "scenario.yaml").write_text(
        "users: [{name: carol, password: carol-pw}]\n"
        "processAccess: access.json\n"
        "definitions: [{folder: flows}]\n"
        "instances: [{key: adminReview}]\n")
    [instance] = served.admin.load_fixtures(tmp_path / "scenario.yaml")
    assert instance_ids(served) == [instance["id"]]
    response = served.idm("GET", "endpoint/getprocessesforuser", auth=False, headers={
        "X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "carol-pw"})
    assert response.status_code == 200 and response.json()["processes"] == []


@pytest.mark.parametrize("document", [
    {"definitions": [{"file": "/etc/hosts.bpmn20.xml"}]},
    {"definitions": [{"folder": "/etc"}]},
    {"processAccess": "/etc/passwd"},
])
def test_fixtures_over_http_read_no_server_file(served, document):
    response = served.raw("POST", "/__mockidm/fixtures", json=document)
    assert response.status_code == 400, response.text
    assert "reads no file of the server" in response.json()["message"]


def test_a_bad_fixtures_document_is_400_and_changes_nothing(served):
    deploy(served)
    with pytest.raises(AdminError) as caught:
        served.admin.request("POST", "fixtures", {"userz": []})
    assert caught.value.status == 400 and "userz" in str(caught.value)
    with pytest.raises(AdminError) as caught:
        served.admin.request("POST", "fixtures", {
            "users": [{"name": "carol", "password": "pw"}],
            "instances": [{"key": "adminReveiw"}]})
    assert caught.value.status == 400 and "adminReview" in str(caught.value)
    assert instance_ids(served) == []
    assert served.idm("GET", f"{PD}?{ALL}", auth=False, headers={
        "X-OpenIDM-Username": "carol", "X-OpenIDM-Password": "pw"}).status_code == 401


def test_set_outputs_shows_in_the_task_variables(served):
    deploy(served)
    served.admin.set_outputs("assess", {"risk": "low"}, key="adminReview")
    instance_id = start_over_idm(served).json()["_id"]
    [task] = served.admin.tasks(instance_id)
    response = served.idm("GET", f"{TI}/{task['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["variables"]["risk"] == "low"


# --- request validation ----------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "where"), [
    ("POST", "/__mockidm/faults", {"status": "x"}, "body /status"),
    ("POST", "/__mockidm/faults", {"status": 503, "colour": "red"}, "colour"),
    ("POST", "/__mockidm/faults", {"path": "workflow/*"}, "body /"),
    ("POST", "/__mockidm/users", {"name": "carol"}, "password"),
    ("POST", "/__mockidm/instances", {"businessKey": "b"}, "body /"),
    ("POST", "/__mockidm/clock", {"freeze": "yesterday"}, "freeze"),
    ("POST", "/__mockidm/clock", {"advance": -1}, "advance"),
    ("PUT", "/__mockidm/process-access", {"workflowAccess": [{}]}, "propertiesCheck"),
    ("POST", "/__mockidm/auth-faults", {"failNext": 0}, "failNext"),
])
def test_a_body_that_breaks_the_spec_is_400_with_the_violation(served, method, path, body,
                                                               where):
    response = served.raw(method, path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert (error["code"], error["reason"]) == (400, "Bad Request")
    assert where in error["message"]
    assert served.admin.faults()["faults"] == []


def test_a_query_parameter_that_breaks_the_spec_is_400(served):
    response = served.raw("GET", "/__mockidm/journal?status=teapot")
    assert response.status_code == 400
    assert "status" in response.json()["message"]


def test_a_missing_or_non_json_body_is_400(served):
    missing = served.raw("POST", "/__mockidm/faults")
    assert missing.status_code == 400 and "needs a JSON body" in missing.json()["message"]
    garbage = served.raw("POST", "/__mockidm/faults", data=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert garbage.status_code == 400 and "not JSON" in garbage.json()["message"]


def test_a_fault_the_client_gets_wrong_raises_a_clear_error(served):
    with pytest.raises(AdminError) as caught:
        served.admin.fault(operation="createProcessInstance")
    assert caught.value.status == 400
    assert "POST" in str(caught.value) and "/__mockidm/faults" in str(caught.value)


def test_wrong_method_is_405_and_unknown_admin_path_404(served):
    wrong = served.raw("DELETE", "/__mockidm/reset")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    unknown = served.raw("GET", "/__mockidm/nothing")
    assert unknown.status_code == 404 and unknown.json()["code"] == 404


def test_admin_errors_are_plain_text_not_html_escaped(served):
    # The admin API's messages are mockidm's own: none of IDM's HTML escaping.
    answer = served.raw("POST", "/__mockidm/faults", json={"status": "500"})
    assert answer.status_code == 400
    assert answer.json()["message"] == ('Invalid request for addFault, body /status: "500" is '
                                        'not of type "integer"')
    wrong = served.raw("DELETE", "/__mockidm/reset")
    assert wrong.json()["message"] == "DELETE is not allowed on /__mockidm/reset; use POST"


def test_a_misspelled_fault_operation_is_refused_with_a_suggestion(served):
    answer = served.raw("POST", "/__mockidm/faults",
                        json={"operation": "createProcesInstance", "status": 500})
    assert answer.status_code == 400
    assert answer.json()["message"] == ("addFault: unknown operation 'createProcesInstance'; "
                                        "did you mean 'createProcessInstance'?")
    assert served.admin.faults()["faults"] == [] and served.admin.problems() == []


def test_the_index_says_what_is_here_and_links_to_the_spec(served):
    index = served.raw("GET", "/__mockidm/")
    assert index.status_code == 200, index.text
    body = index.json()
    assert (body["name"], body["profile"], body["idm"]) == ("mockidm admin API", "8.1", "/openidm")
    listed = {(o["method"], o["path"]): o["operationId"] for o in body["operations"]}
    document = yaml.safe_load(admin_spec_path().read_text())
    assert listed == {(method.upper(), path): op["operationId"]
                      for path, item in document["paths"].items()
                      for method, op in item.items() if method != "parameters"}
    assert all(o["summary"] for o in body["operations"])
    spec = served.raw("GET", body["spec"])
    assert spec.status_code == 200 and spec.json() == document


def test_users_and_instances_can_be_listed(served):
    served.admin.add_user("bob", "bob-pw", ["approvers"])
    served.admin.add_managed_user("carol", "carol-pw", ["managers"])
    users = served.raw("GET", "/__mockidm/users")
    assert users.status_code == 200, users.text
    by_name = {u["name"]: u["roles"] for u in users.json()}
    assert {"openidm-admin", "bob", "carol"} <= by_name.keys()
    assert "bob-pw" not in users.text and "password" not in users.text
    assert served.admin.users() == users.json()

    deploy(served)
    first = start_over_idm(served, _businessKey="a").json()["_id"]
    second = start_over_idm(served, _businessKey="b").json()["_id"]
    [task] = served.admin.tasks(first)
    served.admin.complete(task["id"])  # the first instance ends
    listed = served.raw("GET", "/__mockidm/instances")
    assert listed.status_code == 200, listed.text
    assert [(i["id"], i["ended"]) for i in listed.json()] == [(first, True), (second, False)]
    assert [i["id"] for i in served.admin.instances(ended=False)] == [second]
    assert [i["id"] for i in served.admin.instances(ended=True)] == [first]
    assert [i["id"] for i in served.admin.instances(business_key="b")] == [second]
    assert [i["id"] for i in served.admin.instances("adminReview")] == [first, second]
    assert served.admin.instances("nothing") == []
    bad = served.raw("GET", "/__mockidm/instances?ended=maybe")
    assert bad.status_code == 400 and "ended" in bad.json()["message"]


# --- the prefix and the token ----------------------------------------------------------------

def test_admin_routes_never_appear_under_openidm(served):
    deploy(served)
    for method, path in (("POST", "reset"), ("GET", "journal"), ("GET", "snapshot")):
        response = served.idm(method, f"__mockidm/{path}",
                              json={} if method == "POST" else None)
        assert response.status_code == 404, response.text
        assert response.json() == {"code": 404, "reason": "Not Found",
                                   "message": "Resource &#39;__mockidm&#39; not found"}
    assert [d["key"] for d in served.admin.definitions()] == ["adminReview"]  # no reset


def test_without_a_token_on_loopback_the_api_is_open(served):
    assert served.raw("GET", "/__mockidm/problems").status_code == 200
    assert served.raw("GET", "/__mockidm/problems",
                      headers={"Authorization": "Bearer anything"}).status_code == 200


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
])
def test_with_a_token_requests_without_it_are_401(guarded, headers):
    for method, path in (("GET", "/__mockidm/problems"), ("POST", "/__mockidm/reset"),
                         ("DELETE", "/__mockidm/reset"), ("GET", "/__mockidm/nothing")):
        response = guarded.raw(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.json()["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_with_a_token_the_right_one_passes(guarded):
    response = guarded.raw("GET", "/__mockidm/problems",
                           headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.json() == []
    deploy(guarded)  # the client sends it
    with pytest.raises(AdminError) as caught:
        AdminClient(guarded.url).reset()
    assert caught.value.status == 401
    with pytest.raises(AdminError):
        AdminClient(guarded.url, token="wrong").reset()
    assert len(guarded.admin.definitions()) == 1


def test_a_refused_admin_call_changes_nothing(guarded):
    deploy(guarded)
    assert guarded.raw("POST", "/__mockidm/reset").status_code == 401
    assert len(guarded.admin.definitions()) == 1


def test_the_client_takes_the_origin_or_the_openidm_base(served):
    for url in (served.server.origin, served.server.origin + "/", served.url,
                served.url + "/"):
        client = AdminClient(url)
        assert client.url == served.server.origin + "/__mockidm"
        assert client.problems() == []
    assert TOKEN not in repr(AdminClient(served.url, TOKEN))
    with pytest.raises(ValueError):
        AdminClient("127.0.0.1:8080")


# --- mockidm serve -------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environment = {k: v for k, v in os.environ.items() if k != "MOCKIDM_ADMIN_TOKEN"}
    environment["PYTHONPATH"] = str(REPO)
    environment.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "mockidm.cli", "serve", *args],
                            cwd=REPO, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_port(process: subprocess.Popen[str], port: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited {process.returncode}: "
                                 f"{process.communicate()[1]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the server did not start listening")


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    return process.returncode, err


def test_serve_refuses_an_open_admin_api_beyond_loopback():
    process = _run("--host", "0.0.0.0", "--port", str(_free_port()))
    try:
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 2
    assert "without a token" in err and "--admin-token" in err and "0.0.0.0" in err


@pytest.mark.parametrize("how", ["flag", "env"])
def test_serve_beyond_loopback_starts_with_a_token(how):
    port = _free_port()
    if how == "flag":
        process = _run("--host", "0.0.0.0", "--port", str(port), "--admin-token", "x",
                       "--quiet")
    else:
        process = _run("--host", "0.0.0.0", "--port", str(port), "--quiet",
                       env={"MOCKIDM_ADMIN_TOKEN": "x"})
    try:
        _wait_for_port(process, port)
        origin = f"http://127.0.0.1:{port}"
        assert requests.get(f"{origin}/__mockidm/problems", timeout=5).status_code == 401
        admin = AdminClient(origin + "/openidm", token="x")
        startup = admin.definitions()
        assert {d["key"] for d in startup} >= {"contractorOnboarding"}
        admin.start_process("roleRequest")
        admin.reset()  # back to the server's startup state: the samples, no instance
        assert admin.definitions() == startup
        assert admin.journal() == []
    finally:
        code, err = _stop(process)
    assert code == 0, err
    assert "reachable from other machines" in err


def test_serve_applies_fixtures_and_no_admin_serves_no_admin_api(tmp_path):
    (tmp_path / "scenario.yaml").write_text(
        "definitions: [{samples: true}]\n"
        "instances: [{key: roleRequest, businessKey: from-fixtures}]\n")
    port = _free_port()
    process = _run("--port", str(port), "--no-admin", "--no-samples", "--quiet",
                   "--fixtures", str(tmp_path / "scenario.yaml"))
    try:
        _wait_for_port(process, port)
        origin = f"http://127.0.0.1:{port}"
        response = requests.get(f"{origin}/__mockidm/problems", timeout=5)
        assert response.status_code == 404
        assert response.json()["message"] == "Resource &#39;__mockidm/problems&#39; not found"
        instances = requests.get(f"{origin}/openidm/{PI}?{ALL}&_fields=businessKey",
                                 headers=ADMIN, timeout=5)
        assert [i["businessKey"] for i in instances.json()["result"]] == ["from-fixtures"]
    finally:
        code, err = _stop(process)
    assert code == 0, err


def test_serve_refuses_a_bad_fixtures_file(tmp_path):
    (tmp_path / "scenario.yaml").write_text("userz: []\n")
    process = _run("--port", str(_free_port()), "--no-samples",
                   "--fixtures", str(tmp_path / "scenario.yaml"))
    try:
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 2
    assert "userz" in err and "scenario.yaml" in err


def test_serve_help_explains_every_flag():
    result = subprocess.run([sys.executable, "-m", "mockidm.cli", "serve", "--help"],
                            cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--profile", "--workflow-dir", "--strict", "--no-samples",
                 "--fixtures", "--admin-token", "--no-admin", "--journal-limit", "--journal-max-mb",
                 "--quiet",
                 "MOCKIDM_ADMIN_TOKEN", "loopback"):
        assert flag in result.stdout, flag


def test_the_admin_api_is_a_host_that_calls_the_facade_only():
    """No handler reaches past MockIDM into what it holds: the facade takes the lock and
    keeps the state consistent (and `mockidm.AdminClient` is the client of this package)."""
    import mockidm
    import mockidm.admin

    package = Path(mockidm.admin.__file__).parent
    for path in package.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        reached = [f"{path.name}, line {node.lineno}: .{node.attr}" for node in ast.walk(tree)
                   if isinstance(node, ast.Attribute) and node.attr in ("state", "engine")]
        assert reached == []
    assert mockidm.AdminClient is AdminClient is mockidm.admin.AdminClient
