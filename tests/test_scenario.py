"""Fixture files (mockidm.scenario): what a scenario sets up, and how a bad one is reported."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator

from mockidm.facade import MockIDM
from mockidm.samples import SAMPLES_DIR
from mockidm.scenario import ScenarioError, load_scenario, parse_scenario, schema

SCENARIOS = Path(__file__).parent / "scenarios"
REVIEW_BPMN = SCENARIOS / "workflow" / "review.bpmn20.xml"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(source: Path | dict[str, object], mock: MockIDM | None = None) -> str:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(mock or MockIDM(), source)
    return str(caught.value)


def definitions(mock: MockIDM) -> list[tuple[str, int]]:
    return sorted((d.key, d.version) for d in mock.engine.definitions())


def by_business_key(mock: MockIDM) -> dict[str | None, object]:
    return {i.business_key: i for i in mock.engine.store.instances.values()}


# the two scenario files ------------------------------------------------------------------------

def test_the_yaml_scenario_sets_everything_up(mock: MockIDM) -> None:
    started = parse_scenario(SCENARIOS / "team.yaml").apply(mock)
    identity = mock.state.identity
    alice = identity.authenticate("alice", "secret")
    assert alice is not None and "internal/role/manager" in alice.roles
    assert identity.authenticate("alice", "wrong") is None
    bob = identity.authenticate("bob", "pw")
    assert bob is not None
    assert bob.roles == ("internal/role/openidm-authorized", "internal/role/hr")
    assert identity.authenticate("mallory", "no") is not None  # "no" stays a string
    assert identity.authenticate("openidm-admin", "openidm-admin") is not None  # defaults kept
    assert [(r.property, r.matches) for r in identity.process_access] == [
        ("key", "^accessReview$"), ("_id", ".*")]

    # The unchanged file listed twice is deployed once; samples: 2 versions of onboarding.
    assert definitions(mock) == [("accessReview", 1), ("accountActivation", 1),
                                 ("contractorOnboarding", 1), ("contractorOnboarding", 2),
                                 ("roleRequest", 1)]
    frozen = datetime(2026, 1, 1, 9, tzinfo=UTC)
    assert mock.engine.clock.now() == frozen
    assert all(d.time == frozen for d in mock.engine.store.deployments.values())

    instances = by_business_key(mock)
    req1, req2, ctr1 = instances["req-1"], instances["req-2"], instances["ctr-1"]
    assert req1.start_user == "alice" and req1.start_time == frozen
    assert req1.variables == {"resource": "vpn", "on": "2026-01-02", "decision": "approve"}
    assert req2.variables == {"resource": "vpn", "on": "2026-01-02"}  # the alias
    assert req2.start_user == "openidm-admin"
    assert ctr1.definition.id == "contractorOnboarding:2:6"  # the latest version
    tasks = {(t.instance_id, t.key): t for t in mock.tasks()}
    assert set(tasks) == {(req1.id, "hrReview"), (req2.id, "managerReview"),
                          (ctr1.id, "managerApproval")}
    assert tasks[req1.id, "hrReview"].assignee == "bob"
    assert tasks[req2.id, "managerReview"].assignee is None
    history = mock.engine.tasks_of(req1.id)
    assert [(t.key, t.assignee, t.delete_reason) for t in history] == [
        ("managerReview", "alice", "completed"), ("hrReview", "bob", None)]
    assert [i.business_key for i in started] == ["req-1", "req-2", "ctr-1"]

    # The script task's outputs: set when the token passes it.
    mock.complete(tasks[req1.id, "hrReview"].id)
    assert req1.ended and req1.variables["provisioned"] is True

    faults = mock.state.faults
    assert [(f.operation, f.status, f.message, f.times) for f in faults.routes] == [
        ("createProcessInstance", 503, "maintenance", 1), (None, None, None, None)]
    assert (faults.routes[1].method, faults.routes[1].path, faults.routes[1].latency,
            faults.routes[1].nth) == ("GET", "workflow/taskinstance*", 0.01, 2)
    assert faults.auth.refuse_next == 1
    assert list(faults.auth.rejected_passwords) == ["mallory"]
    assert list(faults.auth.locked_out) == ["eve"]
    assert faults.auth.sessions_expired


def test_the_json_scenario_sets_everything_up(mock: MockIDM) -> None:
    scenario = load_scenario(mock, SCENARIOS / "team.json")
    assert scenario.source == str(SCENARIOS / "team.json")
    carol = mock.state.identity.authenticate("carol", "pw")
    assert carol is not None and "internal/role/manager" in carol.roles
    assert [(r.property, r.matches, r.requires_role)
            for r in mock.state.identity.process_access] == [("key", "notice|inline", "manager")]
    # The folder in file-name order (notice.bpmn first), then the inline document.
    deployed = sorted(mock.engine.definitions(), key=lambda d: int(d.deployment_id))
    assert [(d.id, d.model.resource_name) for d in deployed] == [
        ("notice:1:2", "notice.bpmn"), ("accessReview:1:4", "review.bpmn20.xml"),
        ("inline:1:6", "inline.bpmn20.xml")]
    assert mock.engine.resource(deployed[2].deployment_id, "inline.bpmn20.xml").startswith(
        b"<definitions")
    assert mock.engine.clock.now() == datetime(2026, 3, 1, 11, tzinfo=UTC)  # +01:00 -> UTC

    instances = by_business_key(mock)
    rejected = instances["json-1"]
    assert rejected.ended and rejected.end_activity == "rejected"
    assert rejected.variables == {"resource": "wiki", "weight": 1000.0, "decision": "reject"}
    assert instances["json-2"].start_user == "carol"
    assert [t.key for t in mock.tasks(instances["json-2"].id)] == ["acknowledge"]
    assert [t.key for t in mock.tasks(instances[None].id)] == ["wait"]
    (fault,) = mock.state.faults.routes
    assert (fault.path, fault.drop, fault.seconds, fault.status) == (
        "workflow/processdefinition/*", True, 60, None)
    assert mock.state.faults.auth.refuse_next == 0


def test_data_already_parsed_is_a_scenario_too(mock: MockIDM) -> None:
    data = {"users": [{"name": "dave", "password": "pw"}],
            "definitions": [{"file": "workflow/review.bpmn20.xml"}],
            "instances": [{"key": "accessReview", "variables": {"tags": ["a"]}}]}
    scenario = load_scenario(mock, data, base_dir=SCENARIOS)
    data["users"][0]["name"] = "changed"  # the scenario holds a copy
    assert scenario.data["users"][0]["name"] == "dave"
    assert mock.state.identity.authenticate("dave", "pw").roles == (
        "internal/role/openidm-authorized",)
    assert definitions(mock) == [("accessReview", 1)]


def test_tokens_authenticate_over_http_and_expire_on_the_mock_clock(mock: MockIDM) -> None:
    load_scenario(mock, {
        "clock": {"freeze": "2026-01-01T00:00:00Z"},
        "tokens": [{"token": "carol-token", "subject": "carol", "expiresIn": 600},
                   {"token": "am-admin", "subject": "amAdmin",
                    "roles": ["openidm-admin", "openidm-authorized"]}]})

    def status(token: str, path: str) -> int:
        return requests.get(f"{mock.url}/{path}", headers={"Authorization": f"Bearer {token}"},
                            timeout=10).status_code

    assert status("carol-token", "endpoint/getprocessesforuser") == 200
    assert status("carol-token", "workflow/processinstance?_queryId=query-all-ids") == 403
    assert status("am-admin", "workflow/processinstance?_queryId=query-all-ids") == 200
    mock.advance_time(600)
    assert status("carol-token", "endpoint/getprocessesforuser") == 401
    assert status("am-admin", "endpoint/getprocessesforuser") == 200  # no expiry: never


@pytest.mark.parametrize("token", [{"token": "two words", "subject": "x"},
                                   {"token": "t"}, {"token": "t", "subject": "x", "ttl": 1}])
def test_a_bad_token_entry_is_a_scenario_error(token: dict[str, object]) -> None:
    with pytest.raises(ScenarioError, match=r"tokens\[0\]"):
        load_scenario(MockIDM(), {"tokens": [token]})


def test_files_deployed_before_and_unchanged_give_no_new_version(mock: MockIDM) -> None:
    mock.deploy_folder(SAMPLES_DIR)  # as `mockidm serve` does before its --fixtures
    load_scenario(mock, {"definitions": [{"samples": True}, {"folder": str(SAMPLES_DIR)}]})
    assert definitions(mock) == [("accountActivation", 1), ("contractorOnboarding", 1),
                                 ("contractorOnboarding", 2), ("roleRequest", 1)]
    mock.deploy_file(REVIEW_BPMN.parent / "notice.bpmn")
    load_scenario(mock, {"definitions": [{"bpmn": (REVIEW_BPMN.parent / "notice.bpmn")
                                          .read_text(), "name": "notice.bpmn"}]})
    assert ("notice", 2) in definitions(mock)  # inline text is always a new deployment


def test_the_schema_is_the_contract_and_accepts_the_examples() -> None:
    contract = json.loads((Path(__file__).parents[1] / "contracts" / "fixture-file.json")
                          .read_text(encoding="utf-8"))
    assert schema() == contract
    validator = Draft202012Validator(contract)
    validator.check_schema(contract)
    assert validator.is_valid(json.loads((SCENARIOS / "team.json").read_text()))
    assert not validator.is_valid({"user": []})
    assert not validator.is_valid({"definitions": [{"file": "a.bpmn", "bpmn": "<x/>"}]})


# parse once, apply many times ------------------------------------------------------------------

def test_parse_once_apply_after_every_reset(tmp_path: Path) -> None:
    folder = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, folder)
    scenario = parse_scenario(folder / "team.yaml")
    # Files are read at parse time: changing or removing them afterwards changes nothing.
    (folder / "workflow" / "review.bpmn20.xml").unlink()
    shutil.rmtree(folder / "conf")

    mock = MockIDM()
    scenario.apply(mock)
    first = mock.snapshot()
    # A test changes the state, nested variables included...
    task = next(t for t in mock.tasks() if t.key == "managerReview")
    mock.complete(task.id, {"decision": "reject"})
    by_business_key(mock)["req-1"].variables["resource"] = "changed"
    mock.add_user("intruder", "pw")
    mock.reset()
    # ...and the next one starts from the same state again.
    scenario.apply(mock)
    assert mock.snapshot() == first
    assert mock.state.identity.authenticate("intruder", "pw") is None
    assert len(mock.state.faults.routes) == 2  # reset cleared them; apply armed them again
    assert all(f.fired == 0 for f in mock.state.faults.routes)

    other = MockIDM()  # and in another mock, independently
    scenario.apply(other)
    assert other.snapshot() == first


# errors: the file, the line and the key --------------------------------------------------------

def test_a_misspelt_key(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", (
        "users:\n"
        "  - name: alice\n"
        "    password: secret\n"
        "  - name: bob\n"
        "    pasword: pw\n"
        "definitons: []\n"))
    assert error_of(path) == (
        f"{path}, line 5, users[1].pasword: unknown key 'pasword'; did you mean 'password'?\n"
        f"{path}, line 6, definitons: unknown key 'definitons'; did you mean 'definitions'?")


def test_a_wrong_type(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", (
        "# a team\n"
        "users:\n"
        "  - name: alice\n"
        "    password: secret\n"
        "  - name: bob\n"
        "    password: pw\n"
        "    roles: manager\n"))
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(path)
    assert str(caught.value) == f"{path}, line 7, users[1].roles: 'manager' is not of type 'array'"
    assert (caught.value.file, caught.value.line, caught.value.path) == (
        str(path), 7, "users[1].roles")


def test_schema_problems_in_a_json_file_have_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "team.json", json.dumps({
        "users": [{"name": "alice", "password": "x"}],
        "definitions": [{"fil": "a.bpmn"}, {"file": "a.bpmn", "bpmn": "<x/>"}, {"samples": False}],
        "clock": {"freeze": "yesterday"},
        "instances": [{"businessKey": "b", "complete": [{"task": "t", "claimedBy": 3}]}],
    }, indent="\t"))
    assert error_of(path).splitlines() == [
        f"{path}, line 10, definitions[0].fil: unknown key 'fil'; did you mean 'file'?",
        f"{path}, line 12, definitions[1]: has 'file' and 'bpmn': keep only one",
        f"{path}, line 17, definitions[2].samples: must be true",
        f"{path}, line 21, clock.freeze: 'yesterday' is not a 'date-time'",
        f"{path}, line 24, instances[0]: needs one of 'key' or 'definitionId'",
        f"{path}, line 29, instances[0].complete[0].claimedBy: 3 is not of type 'string'"]


def test_a_missing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", (
        "definitions:\n"
        "  - samples: true\n"
        "  - file: workflow/missing.bpmn20.xml\n"))
    assert error_of(path) == (f"{path}, line 3, definitions[1].file: no such file: "
                              f"{tmp_path / 'workflow' / 'missing.bpmn20.xml'}")
    assert error_of(tmp_path / "nowhere.yaml") == f"{tmp_path / 'nowhere.yaml'}: no such file"
    folder = write(tmp_path, "folder.yaml", "definitions: [{folder: flows}]\n")
    assert error_of(folder) == (f"{folder}, line 1, definitions[0].folder: no such folder: "
                                f"{tmp_path / 'flows'}")
    access = write(tmp_path, "access.yaml", "users: []\nprocessAccess: conf/access.json\n")
    assert error_of(access) == (f"{access}, line 2, processAccess: no such file: "
                                f"{tmp_path / 'conf' / 'access.json'}")


def test_a_bad_bpmn_file_names_both_lines(tmp_path: Path) -> None:
    write(tmp_path, "broken.bpmn20.xml", REVIEW_BPMN.read_text().replace(
        'targetRef="hrReview"', 'targetRef="nowhere"'))
    path = write(tmp_path, "team.yaml", "definitions:\n  - file: broken.bpmn20.xml\n")
    message = error_of(path)
    assert message.startswith(f"{path}, line 2, definitions[0].file: broken.bpmn20.xml")
    assert "nowhere" in message
    inline = write(tmp_path, "inline.yaml", 'definitions:\n\n  - bpmn: "<definitions"\n')
    assert error_of(inline).startswith(
        f"{inline}, line 3, definitions[0].bpmn: process.bpmn20.xml, line 1: ")


def test_an_unknown_task_to_complete(tmp_path: Path) -> None:
    shutil.copy(REVIEW_BPMN, tmp_path)
    path = write(tmp_path, "team.yaml", (
        "definitions: [{file: review.bpmn20.xml}]\n"
        "instances:\n"
        "  - key: accessReview\n"
        "    complete:\n"
        "      - task: managerReview\n"
        "        variables: {decision: approve}\n"
        "      - task: hrReveiw\n"))
    assert error_of(path) == (f"{path}, line 7, instances[0].complete[1].task: process "
                              "'accessReview' has no task 'hrReveiw'; did you mean 'hrReview'?")
    inactive = write(tmp_path, "inactive.yaml", path.read_text().replace(
        "hrReveiw", "managerReview"))
    assert error_of(inactive) == (
        f"{inactive}, line 7, instances[0].complete[1].task: task 'managerReview' is not "
        "active in instance 3; active: hrReview")
    ended = write(tmp_path, "ended.yaml", path.read_text().replace(
        "hrReveiw", "hrReview") + "      - {task: hrReview, claimedBy: bob}\n")
    assert error_of(ended) == (f"{ended}, line 8, instances[0].complete[2].task: instance 3 "
                               "has ended: task 'hrReview' is not active")


def test_an_unknown_process_key(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", (
        "definitions: [{samples: true}]\n"
        "instances:\n"
        "  - {key: roleRequest}\n"
        "  - {key: contractorOnbaording}\n"))
    assert error_of(path) == (f"{path}, line 4, instances[1].key: no processes deployed with key "
                              "'contractorOnbaording'; did you mean 'contractorOnboarding'?")


def test_an_unknown_fault_operation_or_a_fault_without_effect(tmp_path: Path) -> None:
    path = write(tmp_path, "team.yaml", (
        "faults:\n"
        "  - operation: createProcesInstance\n"
        "    status: 500\n"))
    assert error_of(path) == (f"{path}, line 2, faults[0].operation: unknown operation "
                              "'createProcesInstance'; did you mean 'createProcessInstance'?")
    idle = write(tmp_path, "idle.yaml", "faults:\n  - {path: workflow/*, times: 1}\n")
    assert error_of(idle) == (
        f"{idle}, line 2, faults[0]: a fault needs a status, drop: true or some latency")


def test_a_bad_process_access_file_names_its_own_line(tmp_path: Path) -> None:
    write(tmp_path, "access.json", (
        '{"workflowAccess": [\n'
        '  {"propertiesCheck": {"property": "key", "matches": ".*",\n'
        '                       "requiresRol": "manager"}}]}\n'))
    path = write(tmp_path, "team.yaml", "processAccess: access.json\n")
    assert error_of(path) == (
        f"{tmp_path / 'access.json'}, line 3, workflowAccess[0].propertiesCheck.requiresRol: "
        "unknown key 'requiresRol'; did you mean 'requiresRole'?")
    regex = write(tmp_path, "regex.yaml", (
        "processAccess:\n"
        "  workflowAccess:\n"
        "    - propertiesCheck: {property: key, matches: '(', requiresRole: x}\n"))
    assert error_of(regex).startswith(
        f"{regex}, line 3, processAccess.workflowAccess[0].propertiesCheck.matches: "
        "not a regular expression: ")


def test_yaml_that_is_not_json_data_is_refused(tmp_path: Path) -> None:
    syntax = write(tmp_path, "syntax.yaml", "users:\n  - name: a\n   password: b\n")
    assert error_of(syntax).startswith(f"{syntax}, line 3: ")
    unsafe = write(tmp_path, "unsafe.yaml", (
        "description: x\n"
        "instances:\n"
        "  - key: k\n"
        "    variables: {x: !!python/object/apply:os.system [echo unsafe]}\n"))
    assert error_of(unsafe) == (f"{unsafe}, line 4, instances[0].variables.x: the tag "
                                "!!python/object/apply:os.system is not allowed: a scenario "
                                "holds JSON values only")
    binary = write(tmp_path, "binary.yaml", "description: !!binary aGk=\n")
    assert "line 1, description: the tag !!binary is not allowed" in error_of(binary)
    duplicate = write(tmp_path, "duplicate.yaml", "users: []\nauth: {}\nusers: []\n")
    assert error_of(duplicate) == (
        f"{duplicate}, line 3, users: duplicate key (first at line 1)")
    key = write(tmp_path, "key.yaml", "outputs:\n  - {activity: a, variables: {1: one}}\n")
    assert error_of(key) == (
        f"{key}, line 2, outputs[0].variables: a key must be a string (quote it)")
    loop = write(tmp_path, "loop.yaml", "outputs:\n  - {activity: a, variables: &v {v: *v}}\n")
    assert "an alias refers to a node that contains it" in error_of(loop)
    bomb = "a: &a [" + ",".join(["x"] * 20) + "]\n" + "".join(
        f"{n}: &{n} [" + ",".join([f"*{p}"] * 20) + "]\n"
        for p, n in zip("abcde", "bcdef", strict=True))
    laughs = write(tmp_path, "laughs.yaml", "outputs:\n  - activity: a\n    variables:\n"
                   + "".join(f"      {line}\n" for line in bomb.splitlines()))
    assert "values once aliases are expanded" in error_of(laughs)
    assert error_of({"outputs": [{"activity": "a", "variables": {"at": datetime.now(UTC)}}]}) \
        == "outputs[0].variables.at: a datetime is not a JSON value"


def test_yaml_1_2_scalars_and_merge_keys(tmp_path: Path) -> None:
    assert parse_scenario(SCENARIOS / "team.yaml").data["users"][1]["password"] == "no"
    merged = parse_scenario(write(tmp_path, "merge.yaml", (
        "outputs:\n"
        "  - &d {activity: a,\n"
        "        variables: {n: 010, f: 1e3, b: yes, t: true, z: null, d: 2026-01-01}}\n"
        "  - {<<: *d, key: k}\n")))
    assert merged.data["outputs"][1] == {"activity": "a", "key": "k", "variables": {
        "n": 10, "f": 1000.0, "b": "yes", "t": True, "z": None, "d": "2026-01-01"}}
    assert parse_scenario(write(tmp_path, "empty.yaml", "# nothing yet\n")).data == {}


# nothing half-loaded ---------------------------------------------------------------------------

def test_a_failed_apply_leaves_the_mock_as_it_was(tmp_path: Path) -> None:
    shutil.copy(REVIEW_BPMN, tmp_path)
    path = write(tmp_path, "team.yaml", (
        "clock: {freeze: '2030-01-01T00:00:00Z'}\n"
        "users: [{name: alice, password: secret}]\n"
        "processAccess: {workflowAccess: []}\n"
        "definitions: [{file: review.bpmn20.xml}, {samples: true}]\n"
        "outputs: [{activity: provision, variables: {x: 1}}]\n"
        "instances:\n"
        "  - {key: accessReview, businessKey: fine}\n"
        "  - key: accessReview\n"
        "    complete: [{task: managerReview, variables: {decision: approve}},\n"
        "               {task: acknowledge}]\n"
        "auth: {failNext: 3, lockOut: [alice]}\n"
        "faults: [{status: 500}]\n"))
    scenario = parse_scenario(path)
    mock = MockIDM()
    mock.add_user("zoe", "pw")
    mock.fault(operation="readProcessInstance", status=404)
    mock.fail_auth(1)
    before = mock.snapshot()
    with pytest.raises(ScenarioError, match=r"line 10, instances\[1\]\.complete\[1\]\.task: "
                                            "process 'accessReview' has no task 'acknowledge'"):
        scenario.apply(mock)
    assert mock.snapshot() == before
    assert mock.engine.definitions() == [] and mock.tasks() == []
    assert mock.state.identity.authenticate("alice", "secret") is None
    assert mock.state.identity.authenticate("zoe", "pw") is not None
    assert [f.operation for f in mock.state.faults.routes] == ["readProcessInstance"]
    assert mock.state.faults.auth.refuse_next == 1 and not mock.state.faults.auth.locked_out
    # The mock still works, and the same scenario minus the bad step applies.
    path.write_text(path.read_text().replace(",\n               {task: acknowledge}", ""))
    load_scenario(mock, path)
    assert len(mock.engine.store.instances) == 2
