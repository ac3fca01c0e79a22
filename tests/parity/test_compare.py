"""`mockidm compare`: a recording replayed against a fresh mock, each answer compared.

The end-to-end walk of issue 20: a client walks a workflow through the recorder in front of the
6.5 mock; compared with the 6.5 mock nothing differs, with the 8.1 mock exactly what the two
profiles make differ (`Content-API-Version`, written from 7 on, and a completed task's history
`deleteReason`) and nothing else."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from recorder import ADMIN, recording
from walk import walk

from mockidm import MockIDM
from mockidm.cli import main
from mockidm.contract.har import read_har
from mockidm.parity.compare import DIFFERENT, NOT_COMPARABLE, SAME, Comparison, compare
from mockidm.parity.normalise import Rules, RulesError, load_rules, matches, parse_pointer

ROOT = Path(__file__).resolve().parents[2]
WALK_STATUSES = [201, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]
# The walk's exchanges (1-based) that read a history with the two completed tasks in it.
HISTORY = {11: "/tasks/{}/deleteReason", 12: "/result/{}/deleteReason"}


def served(profile: str = "8.1", *, before: int = 0) -> MockIDM:
    """A mock as `mockidm serve` makes it, with `before` instances started already (so that
    its ids are not a fresh mock's)."""
    mock = MockIDM(profile)
    mock.deploy_samples()
    for _ in range(before):
        mock.start_process("roleRequest")
    return mock


def record_walk(tmp_path: Path, profile: str = "6.5", *, before: int = 0,
                name: str = "walk.har", **options: bool) -> Path:
    har = tmp_path / name
    mock = served(profile, before=before)
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har, **options) as proxy:
        assert walk(proxy.url) == WALK_STATUSES
    return har


def compared(har: Path, profile: str, rules: Rules | None = None) -> Comparison:
    return compare(read_har(har), served(profile), rules or Rules(), har=str(har))


def differences(comparison: Comparison) -> set[tuple[int, str, str, str]]:
    return {(e.index, d.where, d.at, d.kind) for e in comparison.exchanges
            for d in e.differences}


def expected_6_5_vs_8_1() -> set[tuple[int, str, str, str]]:
    header = {(i, "header", "content-api-version", "extra") for i in range(1, 13)}
    history = {(i, "body", at.format(n), "different") for i, at in HISTORY.items()
               for n in (0, 1)}
    return header | history


def test_the_walk_recorded_against_6_5_is_the_same_on_6_5_and_differs_only_as_8_1_does(
        tmp_path: Path) -> None:
    har = record_walk(tmp_path)
    same = compared(har, "6.5")
    assert [e.verdict for e in same.exchanges] == [SAME] * 12, differences(same)
    other = compared(har, "8.1")
    assert differences(other) == expected_6_5_vs_8_1()
    history = other.exchanges[10].differences
    assert {(d.recorded, d.mock) for d in history if d.where == "body"} == {("completed", None)}


def test_ids_the_recorded_server_assigned_are_learned_and_mapped(tmp_path: Path) -> None:
    # Recorded against a server that had started three instances already: every id it gave
    # differs from a fresh mock's, and the walk's later requests name those ids.
    har = record_walk(tmp_path, "8.1", before=3)
    comparison = compared(har, "8.1")
    assert [e.verdict for e in comparison.exchanges] == [SAME] * 12, differences(comparison)
    recorded = read_har(har)[0].response_json()["_id"]
    assert comparison.ids[recorded] != recorded
    task = comparison.exchanges[3]
    assert task.recorded.target != task.sent  # replayed with the mock's own task id
    recorded_task = task.recorded.path.split("/")[-1]
    assert task.sent == f"/openidm/workflow/taskinstance/{comparison.ids[recorded_task]}"


def test_a_redacted_recording_replays_with_the_mocks_credentials(tmp_path: Path) -> None:
    har = tmp_path / "r.har"
    mock = served()
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har) as proxy:
        base = proxy.url + "/workflow/processdefinition?_queryId=query-all-ids"
        logged_in = requests.get(base, headers={"X-OpenIDM-Username": "openidm-admin",
                                                "X-OpenIDM-Password": "openidm-admin"},
                                 timeout=10)
        assert logged_in.status_code == 200
        requests.get(base, cookies=logged_in.cookies, timeout=10,
                     headers={"X-Requested-With": "x"})
        wrong = requests.get(base, headers={"X-OpenIDM-Username": "openidm-admin",
                                            "X-OpenIDM-Password": "nope"}, timeout=10)
        assert wrong.status_code == 401
        requests.get(base, headers={"Authorization": "Basic b3BlbmlkbS1hZG1pbjpvcGVuaWRtLWFkbWlu"},
                     timeout=10)
        mock.add_token("tok", "openidm-admin", roles=["openidm-admin"])
        requests.get(base, headers={"Authorization": "Bearer tok"}, timeout=10)
        requests.get(proxy.url + "/system/ldap/account?_queryFilter=true", headers=ADMIN,
                     timeout=10)
    assert "openidm-admin\"" not in har.read_text().replace('"openidm-admin"}', "")
    comparison = compared(har, "8.1")
    verdicts = [e.verdict for e in comparison.exchanges]
    # The mock's 404 for a connector is what IDM says of a path it does not have: the same.
    assert verdicts == [SAME, SAME, SAME, SAME, NOT_COMPARABLE, SAME], differences(comparison)
    assert "bearer token was redacted" in comparison.exchanges[4].reason
    # A real IDM has connectors: what it answered there, the mock cannot judge.
    entries = read_har(har)
    entries[5].status = 200
    entries[5].response_body = b'{"result": [], "resultCount": 0}'
    judged = compare(entries, served(), Rules(), har="edited").exchanges[5]
    assert judged.verdict == NOT_COMPARABLE
    assert judged.reason == ("the mock does not serve this request (no such path in the "
                             "spec)")


def test_a_users_rule_removes_a_difference_and_a_bad_file_is_refused(tmp_path: Path) -> None:
    har = record_walk(tmp_path)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n"
                     "  - {pointer: /**/deleteReason, rule: ignore, where: 'GET */history*'}\n"
                     "  - {header: Content-API-Version, rule: ignore}\n")
    assert differences(compared(har, "8.1", load_rules([rules]))) == set()
    for text, error in (("rules: [{pointer: x, rule: ignore}]", "starts with '/'"),
                        ("[{pointer: /a, rule: compare}]", "must be one of"),
                        ("[{header: a, pointer: /a, rule: ignore}]", "either"),
                        ("[{pointer: /a, rule: ignore, when: x}]", "unknown key")):
        rules.write_text(text)
        with pytest.raises(RulesError, match=error):
            load_rules([rules])


def test_pointer_patterns() -> None:
    assert parse_pointer("/a~1b/~0c") == ("a/b", "~c")
    assert matches(parse_pointer("/**/x"), ["x"])
    assert matches(parse_pointer("/**/x"), ["a", "0", "x"])
    assert not matches(parse_pointer("/**/x"), ["x", "y"])
    assert matches(parse_pointer("/result/*/x"), ["result", "3", "x"])
    assert not matches(parse_pointer("/result/*/x"), ["result", "x"])


def test_missing_extra_and_different_fields_and_a_status(tmp_path: Path) -> None:
    har = record_walk(tmp_path, "8.1")
    entries = read_har(har)
    body = entries[0].response_json()
    body.pop("businessKey")
    body["surprise"] = 1
    body["status"] = "ended"
    entries[0].response_body = json.dumps(body).encode()
    entries[1].status = 203
    comparison = compare(entries, served("8.1"), Rules(), har="edited")
    assert differences(comparison) == {
        (1, "body", "/businessKey", "extra"), (1, "body", "/surprise", "missing"),
        (1, "body", "/status", "different"), (2, "status", "", "different")}
    assert comparison.exchanges[1].verdict == DIFFERENT


def test_the_command_writes_its_reports_and_exits_as_the_contract_kit_does(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    har = record_walk(tmp_path)
    html, junit, report = tmp_path / "r.html", tmp_path / "r.xml", tmp_path / "r.json"
    assert main(["compare", str(har), "--profile", "6.5"]) == 0
    out = capsys.readouterr().out
    assert "[12/12] GET /openidm/workflow/taskinstance/history" in out
    assert "12 same, 0 different, 0 not comparable" in out
    assert main(["compare", str(har), "--html", str(html), "--junit", str(junit),
                 "--json", str(report), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "[1/12]" not in out and "0 same, 12 different" in out
    assert "body /tasks/0/deleteReason: recorded \"completed\", mock null" in out
    data = json.loads(report.read_text())
    assert data["summary"] == {"same": 0, "different": 12, "not comparable": 0}
    assert {(e["index"], d["where"], d["at"], d["kind"]) for e in data["exchanges"]
            for d in e["differences"]} == expected_6_5_vs_8_1()
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "12" and suite.get("failures") == "12"
    assert len(suite.findall("testcase/failure")) == 12
    page = html.read_text()
    assert page.count("<section id=") == 12 and "&quot;completed&quot;" in page
    (tmp_path / "empty.har").write_text('{"log": {"entries": []}}')
    assert main(["compare", str(tmp_path / "empty.har")]) == 2
    assert main(["compare", str(tmp_path / "nope.har")]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.slow
def test_end_to_end_through_the_commands(tmp_path: Path) -> None:
    """As an operator runs them: `mockidm serve --profile 6.5`, `mockidm record` in front of
    it, the client walking through the recorder, then `mockidm compare` on the file."""
    har = tmp_path / "walk.har"
    processes = []

    def start(*args: str, pattern: str) -> str:
        process = subprocess.Popen([sys.executable, "-m", "mockidm", *args], cwd=ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(pattern, line)
        assert found, line + (process.stderr.read() if process.stderr else "")
        return found.group(1)

    try:
        server = start("serve", "--profile", "6.5", "--port", "0", "--quiet",
                       pattern=r"serving (\S+/openidm)")
        proxy = start("record", "--upstream", server, "--port", "0", "--out", str(har),
                      pattern=r"forwarding (\S+/openidm)")
        assert walk(proxy) == WALK_STATUSES
    finally:
        for process in reversed(processes):
            process.terminate()
            process.communicate(timeout=10)
    runs = {profile: subprocess.run(
        [sys.executable, "-m", "mockidm", "compare", str(har), "--profile", profile,
         "--json", str(tmp_path / f"{profile}.json"), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=60) for profile in ("6.5", "8.1")}
    assert runs["6.5"].returncode == 0, runs["6.5"].stdout + runs["6.5"].stderr
    assert runs["8.1"].returncode == 1, runs["8.1"].stdout + runs["8.1"].stderr
    data = json.loads((tmp_path / "8.1.json").read_text())
    assert {(e["index"], d["where"], d["at"], d["kind"]) for e in data["exchanges"]
            for d in e["differences"]} == expected_6_5_vs_8_1()


@pytest.mark.slow  # four seeded mocks, and a fixture file's error explained (jsonschema)
def test_the_mock_is_seeded_as_the_user_says(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """Alice exists on the recorded server; the comparison knows her only from --fixtures."""
    har = tmp_path / "alice.har"
    mock = served()
    mock.add_user("alice", "her-secret", ["openidm-authorized", "openidm-admin"])
    with mock.serve(), recording(mock.url.removesuffix("/openidm"), har) as proxy:
        answer = requests.get(f"{proxy.url}/workflow/processdefinition?_queryId=query-all-ids",
                              headers={"X-OpenIDM-Username": "alice",
                                       "X-OpenIDM-Password": "her-secret",
                                       "X-OpenIDM-NoSession": "true"}, timeout=10)
        assert answer.status_code == 200
    assert "her-secret" not in har.read_text()
    fixtures = tmp_path / "users.yaml"
    fixtures.write_text("users: [{name: alice, password: another-secret, "
                        "roles: [openidm-authorized, openidm-admin]}]\n")
    assert main(["compare", str(har), "--quiet"]) == 1  # the mock does not know her: 401
    assert "status: recorded 200, mock 401" in capsys.readouterr().out
    assert main(["compare", str(har), "--quiet", "--fixtures", str(fixtures)]) == 0
    (tmp_path / "empty").mkdir()
    assert main(["compare", str(har), "--quiet", "--fixtures", str(fixtures),
                 "--workflow-dir", str(tmp_path / "empty")]) == 1  # no definitions
    fixtures.write_text("users: [{name: alice}]\n")
    assert main(["compare", str(har), "--fixtures", str(fixtures)]) == 2
