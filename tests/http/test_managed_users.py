"""Managed users are `managed/user` objects: whoever makes one (the facade, a fixture file, a
workflow script), it logs in over HTTP with its userName and password and gets
openidm-authorized plus its authzRoles; scripts find it; a read never shows its password."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockidm.facade import MockIDM
from mockidm.identity import ProcessAccessRule
from mockidm.scenario import ScenarioError, load_scenario

PI = "workflow/processinstance"
TI = "workflow/taskinstance"
PROCESSES = "endpoint/getprocessesforuser"
INSTANCES = f"{PI}?_queryId=query-all-ids"  # IDM's default rules: administrators only

# A script creates a managed user who is an administrator, then looks up one a test added.
SCRIPTED = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="t">
  <process id="provision" name="Provision" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="create"/>
    <scriptTask id="create" scriptFormat="groovy">
      <script>
openidm.create('managed/user', null, [userName: 'carol', password: 'Carol-pw1',
    givenName: 'Carol', authzRoles: [[_ref: 'internal/role/openidm-admin']]])
def found = openidm.query('managed/user', [_queryFilter: 'userName eq "erin"']).result
def ids = found.collect { it._id }
def keys = found ? found[0].keySet().sort() : []
execution.setVariable('foundIds', ids)
execution.setVariable('foundKeys', keys)
      </script>
    </scriptTask>
    <sequenceFlow id="f2" sourceRef="create" targetRef="review"/>
    <userTask id="review" name="Review" activiti:assignee="erin"/>
    <sequenceFlow id="f3" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


def login(user: str, password: str) -> dict[str, str]:
    return {"X-OpenIDM-Username": user, "X-OpenIDM-Password": password,
            "X-OpenIDM-NoSession": "true"}


def get(mock: MockIDM, path: str, headers: dict[str, str]) -> requests.Response:
    return requests.get(f"{mock.url}/{path}", headers=headers, timeout=10)


@pytest.fixture
def idm() -> Iterator[MockIDM]:
    mock = MockIDM()
    mock.add_managed_user("erin", "Erin-pw1", ["reviewers"])
    mock.deploy_bpmn(SCRIPTED, "provision.bpmn20.xml")
    with mock.serve():
        yield mock


def test_a_managed_user_the_facade_added_logs_in_with_its_roles(idm: MockIDM) -> None:
    assert idm.idm_object("managed/user/erin") == {
        "_id": "erin", "userName": "erin", "authzRoles": [{"_ref": "internal/role/reviewers"}],
        "accountStatus": "active", "_rev": "1"}  # the password stays hidden
    assert get(idm, PROCESSES, login("erin", "Erin-pw1")).status_code == 200
    # openidm-authorized, not an administrator: IDM's rules refuse it the instance list.
    assert get(idm, INSTANCES, login("erin", "Erin-pw1")).status_code == 403
    wrong = get(idm, PROCESSES, login("erin", "erin-pw1"))
    assert wrong.status_code == 401 and wrong.json()["message"] == "Access Denied"
    assert get(idm, PROCESSES, login("nobody", "Erin-pw1")).status_code == 401
    assert idm.user("erin").roles == ("internal/role/openidm-authorized",
                                      "internal/role/reviewers")


def test_a_managed_user_a_script_created_logs_in_and_the_script_found_erin(
        idm: MockIDM) -> None:
    started = requests.post(f"{idm.url}/{PI}?_action=create", json={"_key": "provision"},
                            headers=idm.admin_headers, timeout=10)
    assert started.status_code == 201, started.text
    carol = idm.idm_object(next(f"managed/user/{o['_id']}"
                                for o in idm.idm_objects()["managed/user"]
                                if o["userName"] == "carol"))
    assert carol is not None and carol["accountStatus"] == "active"  # IDM's default
    assert "password" not in carol
    # Her authzRoles make her an administrator: the instance list is hers to read.
    assert get(idm, INSTANCES, login("carol", "Carol-pw1")).status_code == 200
    assert get(idm, INSTANCES, login("carol", "carol-pw1")).status_code == 401
    variables = idm.instance(started.json()["_id"]).variables
    assert variables["foundIds"] == ["erin"]
    assert "password" not in variables["foundKeys"] and "userName" in variables["foundKeys"]
    [query] = idm.idm_calls("query")
    assert "Erin-pw1" not in repr(query["answer"])  # nor does the IDM journal show it
    [create] = idm.idm_calls("create")
    assert "password" not in create["answer"]


def test_managed_users_of_a_fixture_file_log_in(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text("""
managedUsers:
  - {userName: bob, password: Bob-pw1, authzRoles: [openidm-admin]}
idmObjects:
  managed/user:
    - {_id: u-dana, userName: dana, password: Dana-pw1}
    - {_id: u-eve, userName: eve, password: Eve-pw1, accountStatus: inactive}
    - {_id: u-fay, userName: fay}
""")
    mock = MockIDM()
    load_scenario(mock, tmp_path / "team.yaml")
    with mock.serve():
        assert get(mock, INSTANCES, login("bob", "Bob-pw1")).status_code == 200
        assert get(mock, PROCESSES, login("dana", "Dana-pw1")).status_code == 200
        assert get(mock, INSTANCES, login("dana", "Dana-pw1")).status_code == 403
        # IDM's credential-query finds active users only; a user without a password has
        # nothing to log in with.
        assert get(mock, PROCESSES, login("eve", "Eve-pw1")).status_code == 401
        assert get(mock, PROCESSES, login("fay", "")).status_code == 401
    assert [u.name for u in mock.users()] == ["openidm-admin", "anonymous", "bob", "dana"]


def test_a_fixture_file_cannot_give_two_users_one_name(tmp_path: Path) -> None:
    mock = MockIDM()
    clash = {"managedUsers": [{"userName": "bob", "password": "pw"}],
             "idmObjects": {"managed/user": [{"_id": "u-bob", "userName": "bob"}]}}
    with pytest.raises(ScenarioError, match=r"idmObjects\['managed/user'\]: .*userName 'bob'"):
        load_scenario(mock, clash)
    assert mock.idm_objects() == {}
    with pytest.raises(ScenarioError, match="'openidm-admin' is an internal user"):
        load_scenario(mock, {"managedUsers": [{"userName": "openidm-admin", "password": "x"}]})
    with pytest.raises(ValueError, match="IDM keeps user names unique"):
        mock.seed_objects("managed/user", [{"_id": "a", "userName": "x"},
                                           {"_id": "b", "userName": "x"}])


def test_the_session_cookie_and_a_bearer_token_of_a_managed_user(idm: MockIDM) -> None:
    first = get(idm, PROCESSES, {"X-OpenIDM-Username": "erin", "X-OpenIDM-Password": "Erin-pw1"})
    assert first.status_code == 200
    with_cookie = requests.get(f"{idm.url}/{PROCESSES}", cookies=first.cookies, timeout=10)
    assert with_cookie.status_code == 200
    started = requests.post(f"{idm.url}/{PI}?_action=create", json={"_key": "provision"},
                            headers=idm.admin_headers, timeout=10)
    [task] = idm.tasks(started.json()["_id"])
    # The task is erin's: she reads it with her password, and so does a token for her.
    assert get(idm, f"{TI}/{task.id}", login("erin", "Erin-pw1")).status_code == 200
    idm.add_token("erin-token", "erin")
    bearer = get(idm, f"{TI}/{task.id}", {"Authorization": "Bearer erin-token"})
    assert bearer.status_code == 200
    idm.add_managed_user("gus", "Gus-pw1")  # neither assignee nor administrator
    assert get(idm, f"{TI}/{task.id}", login("gus", "Gus-pw1")).status_code == 403
    # carol, whom the script made an administrator, may; gus may not.
    assert idm.may_update(task) == ["openidm-admin", "erin", "carol"]


def test_process_access_judges_a_managed_user_by_its_authz_roles(idm: MockIDM) -> None:
    idm.add_managed_user("gus", "Gus-pw1")
    idm.set_process_access([ProcessAccessRule("key", "^provision$", "reviewers")])

    def visible(user: str, password: str) -> list[str]:
        answer = get(idm, PROCESSES, login(user, password))
        assert answer.status_code == 200, answer.text
        return [p["key"] for p in answer.json()["processes"]]

    assert visible("erin", "Erin-pw1") == ["provision"]
    assert visible("gus", "Gus-pw1") == []


def test_a_script_that_updates_a_user_keeps_its_password(idm: MockIDM) -> None:
    idm.deploy_bpmn(SCRIPTED.replace('id="provision" name="Provision"', 'id="rename"')
                    .replace(SCRIPTED[SCRIPTED.index("openidm.create"):
                                      SCRIPTED.index("      </script>")],
                             "def u = openidm.read('managed/user/erin')\n"
                             "u.givenName = 'Erin'\n"
                             "openidm.update('managed/user/erin', u._rev, u)\n"),
                    "rename.bpmn20.xml")
    started = requests.post(f"{idm.url}/{PI}?_action=create", json={"_key": "rename"},
                            headers=idm.admin_headers, timeout=10)
    assert started.status_code == 201, started.text
    assert idm.idm_object("managed/user/erin")["givenName"] == "Erin"
    assert get(idm, PROCESSES, login("erin", "Erin-pw1")).status_code == 200


def test_a_deleted_or_disabled_managed_user_no_longer_logs_in(idm: MockIDM) -> None:
    idm.seed_objects("managed/user", [{"_id": "erin", "userName": "erin",
                                       "password": "Erin-pw1", "accountStatus": "inactive"}])
    assert get(idm, PROCESSES, login("erin", "Erin-pw1")).status_code == 401
    assert [u.name for u in idm.users()] == ["openidm-admin", "anonymous"]
    with pytest.raises(KeyError):
        idm.user("erin")


def test_snapshots_and_reset_keep_the_one_fact(idm: MockIDM) -> None:
    saved = idm.snapshot()
    assert [u["name"] for u in saved["identity"]["users"]] == ["openidm-admin", "anonymous"]
    [erin] = saved["idmObjects"]["managed/user"]
    assert erin["password"] == "Erin-pw1"  # a snapshot must let her log in again
    idm.reset()
    assert get(idm, PROCESSES, login("erin", "Erin-pw1")).status_code == 401
    idm.restore(saved)
    assert get(idm, PROCESSES, login("erin", "Erin-pw1")).status_code == 200
