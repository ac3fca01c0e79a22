"""The pytest plugin, exercised the way users meet it: test files run by pytester."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
# Installed mockidm metadata with the pytest11 entry point loads the plugin by itself (and pytest
# refuses it twice); an older installation needs it named.
PLUGIN = () if entry_points(group="pytest11", name="mockidm") else ("-p", "mockidm.pytest_plugin")

HEADER = """
import pytest
import requests

DEFINITIONS = "workflow/processdefinition?_queryId=query-all-ids"
INSTANCES = "workflow/processinstance?_queryId=query-all-ids"

def get(mock, path, **kwargs):
    kwargs.setdefault("headers", mock.admin_headers)
    return requests.get(f"{mock.url}/{path}", **kwargs)

def keys(mock):
    return sorted(d["key"] for d in get(mock, DEFINITIONS).json()["result"])
"""

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL"
             xmlns:activiti="http://activiti.org/bpmn" targetNamespace="https://example.com">
  <process id="{key}" name="{key}" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review" activiti:candidateGroups="internal/role/openidm-admin"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>
"""


@pytest.fixture
def run(pytester: pytest.Pytester):
    """Run a test file (the shared HEADER first) with the plugin; the RunResult."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")

    def run(source: str, *args: str) -> pytest.RunResult:
        pytester.makepyfile(test_it=HEADER + source)
        return pytester.runpytest(*PLUGIN, "-p", "no:cacheprovider", *args)
    return run


# the fixture ------------------------------------------------------------------------------------


def test_url_and_admin_headers_are_ready_in_a_sync_test(run):
    result = run("""
def test_it(mockidm):
    assert mockidm.url.startswith("http://127.0.0.1:") and mockidm.url.endswith("/openidm")
    assert get(mockidm, DEFINITIONS).status_code == 200
    assert get(mockidm, DEFINITIONS, headers={}).status_code == 401
""")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("mode", "mark"), [("strict", "@pytest.mark.asyncio"), ("auto", "")])
def test_the_fixture_serves_async_tests(run, pytester, mode, mark):
    pytester.makeini(f"[pytest]\nasyncio_mode = {mode}\n"
                     "asyncio_default_fixture_loop_scope = function\n")
    result = run(f"""
import aiohttp

{mark}
async def test_it(mockidm):
    mockidm.start_process  # the fixture is a plain MockIDM in async tests too
    async with aiohttp.ClientSession(headers=mockidm.admin_headers) as http:
        async with http.get(f"{{mockidm.url}}/{{DEFINITIONS}}") as response:
            assert response.status == 200
            assert (await response.json())["resultCount"] == 0
""")
    result.assert_outcomes(passed=1)


def test_each_test_starts_from_a_new_mock_on_the_same_server(run):
    result = run("""
PORTS = []

@pytest.mark.mockidm(definitions="samples")
def test_first(mockidm):
    PORTS.append(mockidm.url)
    first = mockidm.start_process("contractorOnboarding")
    assert len(get(mockidm, INSTANCES).json()["result"]) == 1
    mockidm.fault(operation="readProcessInstance", status=500)
    mockidm.add_user("bob", "Passw0rd")
    pytest.first_id = first.id

def test_second(mockidm):
    PORTS.append(mockidm.url)
    assert get(mockidm, INSTANCES).json()["result"] == []
    assert keys(mockidm) == []
    assert get(mockidm, DEFINITIONS, headers={"X-OpenIDM-Username": "bob",
                                              "X-OpenIDM-Password": "Passw0rd"}).status_code == 401
    assert len(mockidm.journal.entries()) == 3  # this test's requests only

@pytest.mark.mockidm(definitions="samples")
def test_third(mockidm):
    PORTS.append(mockidm.url)
    assert mockidm.start_process("contractorOnboarding").id == pytest.first_id  # ids from 1 again
    assert len(set(PORTS)) == 1, PORTS  # one server for the session
""", "--mockidm-profile", "8.1")
    # test_first leaves a fault it never used: reported at its teardown (see below), not later.
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_first*"])


# the marker --------------------------------------------------------------------------------------


def test_marker_deploys_files_folders_archives_text_models_and_samples(run, pytester):
    pytester.makefile(".bpmn20.xml", one=BPMN.format(key="fromFile"))
    folder = pytester.mkdir("workflows")
    (folder / "a.bpmn20.xml").write_text(BPMN.format(key="inFolderA"))
    (folder / "b.bpmn20.xml").write_text(BPMN.format(key="inFolderB"))
    (folder / "notes.txt").write_text("not a workflow")
    import zipfile
    with zipfile.ZipFile(pytester.path / "bundle.bar", "w") as archive:
        archive.writestr("inArchive.bpmn20.xml", BPMN.format(key="inArchive"))
    result = run(f"""
from mockidm import linear_process, UserTask

TEXT = '''{BPMN.format(key="fromText")}'''
MODEL = linear_process("fromPython", tasks=[UserTask("review", "Review")])

@pytest.mark.mockidm(definitions=["one.bpmn20.xml", "workflows", "bundle.bar", TEXT, MODEL])
def test_all(mockidm):
    assert keys(mockidm) == ["fromFile", "fromPython", "fromText", "inArchive", "inFolderA",
                             "inFolderB"]
    names = sorted(d.deployment_id for d in mockidm.engine.definitions())
    assert len(names) == 6  # one deployment each, as IDM deploys its workflow folder

@pytest.mark.mockidm(definitions="samples")
def test_samples(mockidm):
    assert keys(mockidm) == ["accountActivation", "contractorOnboarding",
                             "contractorOnboarding", "roleRequest"]

@pytest.mark.mockidm(definitions="missing.bpmn20.xml")
def test_missing_file(mockidm):
    pass
""")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*no such file or folder*missing.bpmn20.xml*"])


def test_a_file_is_parsed_once_per_session(run, pytester, monkeypatch):
    import mockidm.engine.bpmn as bpmn

    calls = []
    real = bpmn.load_bpmn
    monkeypatch.setattr(bpmn, "load_bpmn", lambda *a: calls.append(a[1]) or real(*a))
    pytester.makefile(".bpmn20.xml", one=BPMN.format(key="fromFile"))
    result = run("""
@pytest.mark.parametrize("n", range(5))
@pytest.mark.mockidm(definitions="one.bpmn20.xml")
def test_it(mockidm, n):
    assert keys(mockidm) == ["fromFile"]
    assert mockidm.engine.definitions()[0].version == 1
""", "-p", "no:randomly")
    result.assert_outcomes(passed=5)
    assert calls == ["one.bpmn20.xml"]


def test_marker_users_as_dicts_and_tuples(run):
    result = run("""
@pytest.mark.mockidm(users=[{"name": "alice", "password": "A1", "roles": ["openidm-admin"]},
                            ("bob", "B2", ["openidm-authorized"]), ("carol", "C3")])
def test_it(mockidm):
    for name, password in (("alice", "A1"), ("bob", "B2"), ("carol", "C3")):
        headers = {"X-OpenIDM-Username": name, "X-OpenIDM-Password": password}
        assert get(mockidm, DEFINITIONS, headers=headers).status_code != 401, name
    assert get(mockidm, DEFINITIONS, headers={"X-OpenIDM-Username": "alice",
                                              "X-OpenIDM-Password": "A1"}).status_code == 200
    wrong = {"X-OpenIDM-Username": "bob", "X-OpenIDM-Password": "nope"}
    assert get(mockidm, DEFINITIONS, headers=wrong).status_code == 401
    roles = mockidm.state.identity.users["alice"].roles
    assert "internal/role/openidm-admin" in roles
""")
    result.assert_outcomes(passed=1)


def test_marker_profile_serves_that_test_from_a_server_of_that_profile(run):
    result = run("""
URLS = {}

def test_default(mockidm):
    URLS["8.1"] = mockidm.url
    assert mockidm.profile.name == "8.1"

@pytest.mark.mockidm(profile="6.5", definitions="samples")
def test_old(mockidm):
    assert mockidm.profile.name == "6.5"
    assert mockidm.url != URLS["8.1"]
    # 6.5 knows no _queryFilter on workflow collections
    answer = get(mockidm, "workflow/processdefinition?_queryFilter=true")
    assert answer.status_code == 400, answer.text
    assert len(keys(mockidm)) == 4

def test_back(mockidm):
    assert mockidm.profile.name == "8.1" and mockidm.url == URLS["8.1"]
    assert get(mockidm, "workflow/processdefinition?_queryFilter=true").status_code == 200
""")
    result.assert_outcomes(passed=3)


def test_the_closest_marker_wins_argument_by_argument(run):
    result = run("""
pytestmark = pytest.mark.mockidm(definitions="samples", allow_unserved=True)

@pytest.mark.mockidm(users=[("bob", "B2")])
def test_merged(mockidm):
    assert len(keys(mockidm)) == 4
    get(mockidm, "workflow/nonsense")  # allowed by the module's marker
    assert "bob" in mockidm.state.identity.users

@pytest.mark.mockidm(definitions=None)
def test_overridden(mockidm):
    assert keys(mockidm) == []
""")
    result.assert_outcomes(passed=2)


def test_a_wrong_marker_is_an_error_at_setup_without_a_traceback(run):
    result = run("""
@pytest.mark.mockidm(definition="samples")
def test_typo(mockidm):
    pass

@pytest.mark.mockidm("samples")
def test_positional(mockidm):
    pass

@pytest.mark.mockidm(profile="7.0")
def test_profile(mockidm):
    pass

@pytest.mark.mockidm(definitions="<definitions/>")
def test_bad_bpmn(mockidm):
    pass

@pytest.mark.mockidm(users=[("bob",)])
def test_bad_user(mockidm):
    pass
""")
    result.assert_outcomes(errors=5)
    result.stdout.fnmatch_lines([
        "*_ ERROR at setup of test_typo _*",
        "@pytest.mark.mockidm: no argument 'definition'; did you mean 'definitions'? (its "
        "arguments: definitions, users, fixtures, profile, paging, allow_unserved, "
        "allow_unused_faults, allow_skipped_files)",
        "*_ ERROR at setup of test_positional _*",
        "@pytest.mark.mockidm takes keywords only",
        "*_ ERROR at setup of test_profile _*",
        "@pytest.mark.mockidm: unknown profile '7.0'; choose one of 8.1, 6.5, wren",
        "*_ ERROR at setup of test_bad_bpmn _*",
        "mockidm: process.bpmn20.xml*",
        "*_ ERROR at setup of test_bad_user _*",
        "mockidm: *missing 1 required positional argument: 'password'",
    ])
    assert "mockidm journal" not in result.stdout.str()  # nothing was asked of the mock


SCENARIO = """
users:
  - {name: alice, password: secret, roles: [openidm-authorized]}
definitions:
  - file: review.bpmn20.xml
instances:
  - {key: review, businessKey: from-scenario}
"""


def test_marker_fixtures_apply_scenario_files(run, pytester):
    pytester.makefile(".bpmn20.xml", review=BPMN.format(key="review"))
    pytester.makefile(".yaml", team=SCENARIO)
    pytester.makefile(".yaml", broken="faults:\n  - {operation: createProcessInstance, "
                                      "status: 503}\n")
    result = run("""
@pytest.mark.mockidm(fixtures="team.yaml")
def test_one(mockidm):
    [instance] = get(mockidm, INSTANCES).json()["result"]
    assert keys(mockidm) == ["review"]
    alice = {"X-OpenIDM-Username": "alice", "X-OpenIDM-Password": "secret"}
    assert get(mockidm, DEFINITIONS, headers=alice).status_code != 401

@pytest.mark.mockidm(fixtures=["team.yaml", "broken.yaml"], allow_unused_faults=True)
def test_two(mockidm):
    assert len(mockidm.tasks()) == 1 and len(mockidm.state.faults.routes) == 1

@pytest.mark.mockidm(fixtures="broken.yaml")
def test_its_fault_is_never_used(mockidm):
    pass
""")
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_its_fault_is_never_used*",
                                 "*scripted failure never used*createProcessInstance*"])


def test_the_fixtures_option_applies_a_scenario_to_every_test_before_the_marker(
        run, pytester, monkeypatch):
    import mockidm.scenario

    parsed = []
    real = mockidm.scenario.parse_scenario
    monkeypatch.setattr(mockidm.scenario, "parse_scenario",
                        lambda path: parsed.append(path) or real(path))
    pytester.makefile(".bpmn20.xml", review=BPMN.format(key="review"))
    pytester.makefile(".yaml", team=SCENARIO)
    result = run("""
@pytest.mark.parametrize("n", range(3))
def test_each(mockidm, n):
    [instance] = get(mockidm, "workflow/processinstance?_queryId=filtered-query").json()["result"]
    assert instance["businessKey"] == "from-scenario"
    assert instance["_id"] == IDS.setdefault("first", instance["_id"])  # a new mock each time
    assert "alice" in mockidm.state.identity.users

IDS = {}

@pytest.mark.mockidm(definitions="review.bpmn20.xml")
def test_marker_after_scenario(mockidm):
    assert [d.version for d in mockidm.engine.definitions()] == [1, 2]
""", "--mockidm-fixtures", "team.yaml")
    result.assert_outcomes(passed=4)
    assert [p.name for p in parsed] == ["team.yaml"]  # parsed once for the session


def test_a_broken_fixtures_file_is_a_usage_error(run, pytester):
    pytester.makefile(".yaml", bad="users:\n  - {name: alice, roles: admin}\n")
    result = run("def test_it(mockidm): pass", "--mockidm-fixtures", "bad.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mockidm-fixtures bad.yaml: *bad.yaml, line 2, users?0?: "
                                 "'password' is a required property"])


# command-line options -----------------------------------------------------------------------------


def test_profile_option(run):
    result = run("""
def test_it(mockidm):
    assert mockidm.profile.name == "6.5"
    assert get(mockidm, "workflow/processdefinition?_queryFilter=true").status_code == 400

@pytest.mark.mockidm(profile="8.1")
def test_newer(mockidm):
    assert mockidm.profile.name == "8.1"
""", "--mockidm-profile", "6.5")
    result.assert_outcomes(passed=2)


def test_an_unknown_profile_is_a_usage_error(run):
    result = run("def test_it(mockidm): pass", "--mockidm-profile", "9.9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mockidm-profile*unknown profile '9.9'*"])


def test_a_missing_fixtures_file_is_a_usage_error(run):
    result = run("def test_it(mockidm): pass", "--mockidm-fixtures", "nowhere.yaml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--mockidm-fixtures nowhere.yaml*no such file*"])


def test_the_options_are_in_the_help(run):
    result = run("", "--help")
    result.stdout.fnmatch_lines(["*--mockidm-profile*", "*--mockidm-fixtures*"])
    markers = run("", "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.mockidm(definitions=None, users=None, *"])


# failing loud -------------------------------------------------------------------------------------


def test_a_failed_test_shows_its_journal(run, pytester):
    result = run("""
def test_fails(mockidm):
    get(mockidm, DEFINITIONS)
    requests.post(f"{mockidm.url}/workflow/processinstance?_action=create",
                  json={"_key": "onbording"}, headers=mockidm.admin_headers)
    assert False, "the client broke"

def test_passes(mockidm):
    get(mockidm, INSTANCES)
""", "-rA")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([
        "*_ test_fails _*",
        "*AssertionError: the client broke*",
        "*- mockidm journal -*",
        "#* GET /openidm/workflow/processdefinition?_queryId=query-all-ids -> 200 "
        "queryProcessDefinitions as openidm-admin",
        "#* POST /openidm/workflow/processinstance?_action=create -> 404 "
        "createProcessInstance as openidm-admin",
        '    request: {"_key": "onbording"}',
    ])
    assert "processinstance?_queryId" not in result.stdout.str()  # only the failed test's


def test_the_journal_is_a_section_of_the_failed_report_only(pytester):
    pytester.makepyfile("""
import requests

def test_fails(mockidm):
    requests.get(f"{mockidm.url}/workflow/nonsense", headers=mockidm.admin_headers)
    assert False

def test_passes(mockidm):
    pass

def test_fails_without_requests(mockidm):
    assert False
""")
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    recorder = pytester.inline_run(*PLUGIN)
    sections = {r.nodeid.split("::")[-1]: dict(r.sections)
                for r in recorder.getreports("pytest_runtest_logreport") if r.when == "call"}
    journal = sections["test_fails"]["mockidm journal"]
    assert "GET /openidm/workflow/nonsense -> 404" in journal
    assert "request not served (no such path in the spec)" in journal  # no teardown error
    assert "mockidm journal" not in sections["test_passes"]
    assert sections["test_fails_without_requests"]["mockidm journal"] == (
        "(the mock received no request)")
    recorder.assertoutcome(passed=1, failed=2)


def test_an_unserved_request_fails_its_test_at_teardown(run):
    result = run("""
def test_unserved(mockidm):
    assert get(mockidm, "workflow/nonsense").status_code == 404

def test_rejected_by_the_spec(mockidm):
    requests.post(f"{mockidm.url}/workflow/processinstance?_action=create", json={"_key": 5},
                  headers=mockidm.admin_headers)

@pytest.mark.mockidm(allow_unserved=True)
def test_allowed(mockidm):
    get(mockidm, "workflow/nonsense")

def test_next(mockidm):
    pass
""")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_unserved*",
        "mockidm:",
        "  request not served (no such path in the spec): GET /openidm/workflow/nonsense",
        "*allow_unserved=True*",
        "mockidm journal:",
        "#1 GET /openidm/workflow/nonsense -> 404 *",
        "*ERROR at teardown of test_rejected_by_the_spec*",
        "  request not served (the spec rejects it*",
    ])
    assert "teardown of test_allowed" not in result.stdout.str()
    assert "teardown of test_next" not in result.stdout.str()


def test_an_unused_scripted_failure_fails_its_test_at_teardown(run):
    result = run("""
def test_unused(mockidm):
    mockidm.fault(operation="createProcessInstance", status=503)

def test_unused_auth_failure(mockidm):
    mockidm.fail_auth()

def test_used(mockidm):
    mockidm.fault(operation="queryProcessDefinitions", status=503)
    assert get(mockidm, DEFINITIONS).status_code == 503

@pytest.mark.mockidm(allow_unused_faults=True)
def test_allowed(mockidm):
    mockidm.fault(operation="createProcessInstance", status=503)
""")
    result.assert_outcomes(passed=4, errors=2)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_unused *",
        "  scripted failure never used: fault #* (operation='createProcessInstance' -> "
        "answer 503)",
        "*ERROR at teardown of test_unused_auth_failure*",
        "  scripted failure never used: refuse the next 1 request(s) with 401*",
    ])


def test_a_misspelled_fault_operation_fails_where_it_is_written(run, pytester):
    pytester.makefile(".yaml", team="faults:\n  - {operation: queryProcesInstances, status: 503}\n")
    result = run("""
def test_typo(mockidm):
    mockidm.fault(operation="createProcesInstance", status=503)

@pytest.mark.mockidm(fixtures="team.yaml")
def test_file_typo(mockidm):
    pass
""")
    # In the test's call or its setup, not as "never used" at teardown.
    result.assert_outcomes(failed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at setup of test_file_typo*",
        "mockidm: *team.yaml, line 2, faults[[]0[]].operation: unknown operation "
        "'queryProcesInstances'; did you mean 'queryProcessInstances'?",
        "*= FAILURES =*",
        "*_ test_typo _*",
        '>       mockidm.fault(operation="createProcesInstance", status=503)',
        "E       ValueError: unknown operation 'createProcesInstance'; "
        "did you mean 'createProcessInstance'?"])
    out = result.stdout.str()
    assert "never used" not in out
    # Neither mockidm's source nor the exception the plugin handled is shown.
    assert "faults.py" not in out and "facade.py" not in out and "During handling" not in out


def test_a_refused_request_is_found_by_its_operation(run):
    result = run("""
def test_refused(mockidm):
    mockidm.fail_auth(times=1)
    create = f"{mockidm.url}/workflow/processinstance?_action=create"
    assert requests.post(create, json={"_key": "x"},
                         headers=mockidm.admin_headers).status_code == 401
    mockidm.assert_called("createProcessInstance", status=401)
""")
    result.assert_outcomes(passed=1)


def test_a_failed_assertion_shows_the_test_not_mockidm(run):
    result = run("""
def test_called(mockidm):
    get(mockidm, DEFINITIONS)
    mockidm.assert_called("createProcessInstance")

def test_not_called(mockidm):
    get(mockidm, DEFINITIONS)
    mockidm.assert_not_called("queryProcessDefinitions")
""")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        '>       mockidm.assert_called("createProcessInstance")',
        "E       AssertionError: expected a request operation='createProcessInstance' at least "
        "once, found 0.",
        '>       mockidm.assert_not_called("queryProcessDefinitions")',
        "E       AssertionError: expected no queryProcessDefinitions, found 1:"])
    # Neither mockidm's source nor its file appears in the tracebacks.
    assert "facade.py" not in out and "candidates = self.requests" not in out


# packaging and the example project ---------------------------------------------------------------


def test_the_plugin_is_a_pytest11_entry_point():
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.entry-points.pytest11]\nmockidm = "mockidm.pytest_plugin"' in text


@pytest.mark.slow  # a pytest run of the example project in a subprocess
def test_the_example_project_passes():
    example = ROOT / "examples" / "workflow-client"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(ROOT), str(example), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "pytest", *PLUGIN, "-q", str(example)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " passed" in done.stdout
