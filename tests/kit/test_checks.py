"""The schema-driven rules of the contract kit (`fuzz-*`, `mockidm.contract.checks`):
schemathesis over openapi.yaml against a live mock, the kit's custom checks one by one, each
rule's broken server, read-only mode and the cleanup of what schemathesis created.

A schemathesis session costs seconds, so these tests run few examples (`FEW`); the whole kit at
its default settings is timed against `mockidm serve` in test_end_to_end.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from aiohttp import web
from broken_servers import BROKEN, Broken, Handler, mock_app
from schemathesis.checks import CHECKS
from schemathesis.core.failures import FailureGroup

from mockidm import Engine
from mockidm.contract import (
    FAILED,
    PASSED,
    SKIPPED,
    Report,
    Rule,
    Target,
    catalogue,
    checks,
    fuzz,
    run,
)
from mockidm.server import ThreadedServer
from mockidm.spec import spec_path

# The fewest examples per operation with which every broken server below is caught (the
# sessions are derandomised: the same examples every time).
FEW = 3
FUZZ_RULES: list[Rule] = [r for r in catalogue() if r.id.startswith(checks.PREFIX)]
FUZZ_BROKEN = [b for b in BROKEN if b.rule.startswith(checks.PREFIX)]


@contextmanager
def serve(factory: Callable[[], web.Application] = mock_app) -> Iterator[ThreadedServer]:
    with ThreadedServer(factory) as server:
        yield server


def check(server: ThreadedServer, rules: list[Rule] | None = None,
          **options: Any) -> tuple[Report, Target]:
    target = Target(server.url, **{"max_examples": FEW, **options})
    return run(target, rules), target


def statuses(report: Report) -> dict[str, str]:
    return {r.rule_id: r.status for r in report.results}


# Against the unbroken mock (the whole kit at its defaults: test_end_to_end.py) ---------------

def test_the_fuzz_rules_pass_against_the_6_5_profile_and_write_only_their_own() -> None:
    """No Content-API-Version, which openapi.yaml documents as optional. And on a shared server
    a generated id may be someone else's: every write names an instance the run started, or an
    id that does not exist."""
    journal: list[tuple[str, str, int]] = []

    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        journal.append((request.method, request.path, response.status))
        return response

    with serve(lambda: mock_app(profile="6.5", middleware=record)) as server:
        target = Target(server.url, profile="6.5", max_examples=2)
        run(target, [r for r in catalogue() if not r.id.startswith(checks.PREFIX)])
        del journal[:]  # from here on, the schemathesis session only
        report = run(target, FUZZ_RULES)
    assert statuses(report) == {r.id: PASSED for r in FUZZ_RULES}, [
        (r.rule_id, r.message) for r in report.results if r.status != PASSED]
    named = [(method, _named_id(path), status) for method, path, status in journal
             if method in ("PUT", "DELETE", "PATCH", "POST") and _named_id(path)]
    assert any(method == "DELETE" for method, _, _ in named)
    foreign = [(m, i, s) for m, i, s in named
               if i not in target.created and not i.startswith("mockidm-contract-")]
    assert foreign == []


def _named_id(path: str) -> str | None:
    """The id in `.../workflow/processinstance[/history]/<id>` (and the like), if any."""
    parts = path.split("/workflow/", 1)[-1].strip("/").split("/")
    parts = [parts[0], *parts[2:]] if parts[1:2] == ["history"] else parts
    return parts[1] if len(parts) == 2 else None


def test_the_rules_are_in_the_catalogue() -> None:
    rules = {r.id: r for r in FUZZ_RULES}
    assert [r.id for r in catalogue()][-len(rules):] == list(rules)  # after the targeted ones
    # What reads can judge runs in read-only mode too.
    assert {i for i, r in rules.items() if not r.writes} == {"fuzz-conformance",
                                                             "fuzz-business-key-query"}
    for rule in rules.values():
        assert rule.statement and rule.section
    for check_function in checks.KIT_CHECKS:  # registered with schemathesis
        assert CHECKS.get_one(check_function.__name__) is check_function


# Each rule's broken server ------------------------------------------------------------------

# What each broken server's failure report must show, beyond expected/got/curl.
REPORTED = {
    "definition-read-without-start-form": [
        "Response violates schema [ST108, check response_schema_conformance, conformance run] "
        "on GET /openidm/workflow/processdefinition/{processDefinitionId}",
        '"startFormHandler" is a required property', "got:      HTTP 200 OK"],
    "oldest-for-typed-variables": ["check latest_version_for_key,",
                                   "expected processDefinitionId 'contractorOnboarding:2:4'"],
    "key-wins-with-business-key": ["check definition_id_wins,", "must win over _key"],
    "business-key-filter-dropped-if-unusual": ["check business_key_query_",
                                               "with another business"],
    "business-key-read-as-latin-1": ["check business_key_kept,", "expected businessKey"],
    "history-knows-finished-only": [
        "check created_instance_is_reachable, stateful run] on GET "
        "/openidm/workflow/processinstance/history/{processInstanceId}", "answered 404"],
}


@pytest.mark.parametrize("broken", FUZZ_BROKEN, ids=str)
def test_each_broken_server_fails_exactly_its_rule(broken: Broken) -> None:
    """The targeted rules all pass (their fault shows only for generated inputs), and of the
    schema-driven rules only its own fails, with schemathesis's message and a curl line."""
    with serve(broken.app) as server:
        report, _ = check(server)
    failed = {r.rule_id: r.message for r in report.failed}
    assert set(failed) == {broken.rule}, failed
    message = failed[broken.rule]
    assert f"schemathesis, {FEW} examples per operation: " in message
    assert "expected: " in message and "got: " in message and "reproduce: curl" in message
    assert "$MOCKIDM_CONTRACT_PASSWORD" in message and "openidm-admin\"" not in message
    for text in REPORTED[broken.name]:
        assert text in message, message


# Skipped, never passed, when it cannot run ---------------------------------------------------

def test_a_server_that_breaks_a_targeted_rule_is_not_fuzzed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ETag a filter adds is no-etag's failure: the schema-driven rules are skipped and
    name it, whether or not no-etag ran before them. Without that prerequisite, fuzz-conformance
    would catch it too (its no_etag check), which is why it waits."""
    broken = next(b for b in BROKEN if b.name == "etag-added")
    with serve(broken.app) as server:
        alone, target = check(server, FUZZ_RULES)  # no-etag not selected: run unreported
        assert statuses(alone) == {r.id: SKIPPED for r in FUZZ_RULES}
        assert all("not run: the server breaks no-etag," in r.message for r in alone.results)
        assert target.created  # the targeted rules did run (and started instances)
        monkeypatch.setattr(checks, "_broken_rules", lambda target: [])
        report, _ = check(server, FUZZ_RULES[:1], max_examples=1)
    (result,) = report.results
    assert result.status == FAILED and "check no_etag, conformance run]" in result.message


def test_an_empty_server_skips_what_needs_a_start() -> None:
    with serve(lambda: mock_app(samples=False)) as server:
        report, target = check(server, FUZZ_RULES, max_examples=1)
    got = statuses(report)
    assert got.pop("fuzz-conformance") == PASSED  # starts fed an unknown key: 404, as documented
    assert got == {r.id: SKIPPED for r in FUZZ_RULES if r.id != "fuzz-conformance"}
    assert all("no process definition is deployed" in r.message or " succeeded" in r.message
               or "answered" in r.message for r in report.results[1:]), report.results
    assert target.created == []


# The custom checks, one crafted answer each -------------------------------------------------

@pytest.fixture(scope="module")
def live() -> Iterator[ThreadedServer]:
    with serve() as server:
        yield server


@pytest.fixture
def kit(live: ThreadedServer) -> Iterator[fuzz.Run]:
    target = Target(live.url)
    session = fuzz.Run(target)
    with session.activated():
        yield session
    target.cleanup()


def answer(status: int, body: Any = None, **headers: str) -> schemathesis.Response:
    sent = requests.Request("GET", "http://127.0.0.1:9/openidm/workflow").prepare()
    names = {"Content-Type": "application/json", **headers}
    return schemathesis.Response(status_code=status, content=json.dumps(body).encode(),
                                 headers={k.lower(): [v] for k, v in names.items()},
                                 request=sent, elapsed=0.0, verify=True)


def case(session: fuzz.Run, operation_id: str, **parts: Any) -> Any:
    return session.schema.find_operation_by_id(operation_id).Case(**parts)


def fires(check: Callable[..., Any], session: fuzz.Run, op: str, response: Any,
          **parts: Any) -> str:
    with pytest.raises(AssertionError) as caught:
        check(None, response, case(session, op, **parts))
    return str(caught.value)


CREATED = {"_id": "1", "processInstanceId": "1", "status": "suspended", "businessKey": None,
           "processDefinitionId": "contractorOnboarding:1:2"}


def test_latest_version_for_key(kit: fuzz.Run) -> None:
    body = {"_key": "contractorOnboarding", "count": 3}
    message = fires(checks.latest_version_for_key, kit, "createProcessInstance",
                    answer(201, CREATED), body=body)
    assert "'contractorOnboarding:2:4' (version 2 of [1, 2])" in message
    assert "got 'contractorOnboarding:1:2'" in message and "'count': 3" in message
    latest = {**CREATED, "processDefinitionId": "contractorOnboarding:2:4"}
    assert checks.latest_version_for_key(
        None, answer(201, latest), case(kit, "createProcessInstanceHistory", body=body)) is None
    # `_processDefinitionId` wins: then an older version is right (definition_id_wins judges).
    assert checks.latest_version_for_key(None, answer(201, CREATED), case(
        kit, "createProcessInstance",
        body={**body, "_processDefinitionId": "contractorOnboarding:1:2"})) is None
    message = fires(checks.latest_version_for_key, kit, "createProcessInstance",
                    answer(201, CREATED), body={"_key": "noSuchKey"})
    assert "lists no process definition with that key" in message
    assert kit.judged["latest_version_for_key"] == 2  # contractorOnboarding has two versions


def test_definition_id_wins(kit: fuzz.Run) -> None:
    body = {"_processDefinitionId": "roleRequest:1:6", "_key": "contractorOnboarding"}
    message = fires(checks.definition_id_wins, kit, "createProcessInstance",
                    answer(201, CREATED), body=body)
    assert "_processDefinitionId 'roleRequest:1:6' must win over _key 'contractorOnboarding'" \
           in message and "got 'contractorOnboarding:1:2'" in message
    right = {**CREATED, "processDefinitionId": "roleRequest:1:6"}
    assert checks.definition_id_wins(None, answer(201, right),
                                     case(kit, "createProcessInstance", body=body)) is None
    assert checks.definition_id_wins(  # by key alone: latest_version_for_key's business
        None, answer(201, CREATED), case(kit, "createProcessInstance",
                                         body={"_key": "contractorOnboarding"})) is None


def test_business_key_query_only_matches(kit: fuzz.Run) -> None:
    query = {"_queryId": "filtered-query", "processInstanceBusinessKey": "order-1"}
    items = [{"_id": "1", "businessKey": "order-1"}, {"_id": "2", "businessKey": "order-2"}]
    message = fires(checks.business_key_query_only_matches, kit, "queryProcessInstances",
                    answer(200, {"result": items}), query=query)
    assert "got 1 of 2 with another" in message and "('2', 'order-2')" in message
    assert checks.business_key_query_only_matches(
        None, answer(200, {"result": items[:1]}),
        case(kit, "queryProcessInstanceHistory", query=query)) is None
    # With another filter too (or without the business key), anything goes.
    for other in ({**query, "startUserId": "bob"}, {"_queryId": "filtered-query"}):
        assert checks.business_key_query_only_matches(
            None, answer(200, {"result": items}),
            case(kit, "queryProcessInstances", query=other)) is None


def test_business_key_query_finds_start(kit: fuzz.Run) -> None:
    """After a start with a business key, the check asks the server itself."""
    key = kit.target.unique("bk é")
    body = {"_key": "roleRequest", "_businessKey": key}
    created = kit.target.started(kit.target.start(body), "start")
    kit.created[created["_id"]] = created
    kit.business_keys[created["_id"]] = key
    start = case(kit, "createProcessInstance", body=body)
    assert checks.business_key_query_finds_start(None, answer(201, created), start) is None
    # The same start, as a server that does not find it would answer the query.
    query = {"_queryId": "filtered-query", "processInstanceBusinessKey": key}
    message = fires(checks.business_key_query_finds_start, kit, "queryProcessInstances",
                    answer(200, {"result": [{"_id": "x", "businessKey": "other"}]}), query=query)
    assert f"missing: ['{created['_id']}']" in message and "('x', 'other')" in message
    kit.deleted.add(created["_id"])  # once deleted, its absence is right
    assert checks.business_key_query_finds_start(
        None, answer(200, {"result": []}), case(kit, "queryProcessInstances",
                                                query=query)) is None


def test_business_key_kept(kit: fuzz.Run) -> None:
    key = kit.target.unique("bk ☃")
    body = {"_key": "roleRequest", "_businessKey": key}
    created = kit.target.started(kit.target.start(body), "start")
    kit.business_keys[created["_id"]] = key
    start = case(kit, "createProcessInstance", body=body)
    assert checks.business_key_kept(None, answer(201, created), start) is None  # it reads back
    message = fires(checks.business_key_kept, kit, "createProcessInstance",
                    answer(201, {**created, "businessKey": "?"}), body=body)
    assert f"expected businessKey {key!r}, got '?'" in message
    path = {"processInstanceId": created["_id"]}
    message = fires(checks.business_key_kept, kit, "readProcessInstanceHistory",
                    answer(200, {"_id": created["_id"], "businessKey": None}),
                    path_parameters=path)
    assert f"started by this run with _businessKey {key!r}" in message


def test_idm_error_envelope(kit: fuzz.Run) -> None:
    op = "readProcessInstance"
    renamed = {"code": 404, "error": "Not Found", "message": "Not Found"}
    assert "with code 404" in fires(checks.idm_error_envelope, kit, op, answer(404, renamed))
    wrong_code = {"code": 500, "reason": "Not Found", "message": "Not Found"}
    fires(checks.idm_error_envelope, kit, op, answer(404, wrong_code))
    right = {"code": 404, "reason": "Not Found", "message": "Not Found"}
    assert checks.idm_error_envelope(None, answer(404, right), case(kit, op)) is None
    assert checks.idm_error_envelope(  # not JSON: not judged
        None, answer(502, "bad gateway", **{"Content-Type": "text/html"}), case(kit, op)) is None


def test_query_envelope(kit: fuzz.Run) -> None:
    op = "queryTaskInstances"
    right = {"result": [{}], "resultCount": 1, "pagedResultsCookie": None,
             "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1,
             "remainingPagedResults": -1}
    assert checks.query_envelope(None, answer(200, right), case(kit, op)) is None
    old = {k: v for k, v in right.items() if k != "totalPagedResults"}
    assert "six keys" in fires(checks.query_envelope, kit, op, answer(200, old))
    assert "resultCount" in fires(checks.query_envelope, kit, op,
                                  answer(200, {**right, "resultCount": 2}))
    assert checks.query_envelope(None, answer(200, {}), case(kit, "readTaskInstance")) is None


def test_no_etag(kit: fuzz.Run) -> None:
    message = fires(checks.no_etag, kit, "queryProcessDefinitions",
                    answer(200, {"result": []}, ETag='"1"'))
    assert 'ETag: "1"' in message
    assert checks.no_etag(None, answer(200, {"result": []}),
                          case(kit, "queryProcessDefinitions")) is None


def test_rev_is_string(kit: fuzz.Run) -> None:
    fires(checks.rev_is_string, kit, "readProcessDefinition", answer(200, {"_rev": 1}))
    fires(checks.rev_is_string, kit, "queryTaskInstances",
          answer(200, {"result": [{"_rev": "1"}, {"_rev": 2}]}))
    assert checks.rev_is_string(None, answer(200, {"_rev": "1", "variables": {"_rev": 1}}),
                                case(kit, "readProcessDefinition")) is None


def test_created_instance_is_reachable(kit: fuzz.Run) -> None:
    created = kit.target.started(kit.target.start({"_key": "roleRequest"}), "start")
    kit.created[created["_id"]] = created
    path = {"processInstanceId": created["_id"]}
    gone = {"code": 404, "reason": "Not Found", "message": "Not Found"}
    message = fires(checks.created_instance_is_reachable, kit, "readProcessInstanceHistory",
                    answer(404, gone), path_parameters=path)
    assert f"instance '{created['_id']}', which this run created" in message
    fires(checks.created_instance_is_reachable, kit, "deleteProcessInstance",
          answer(404, gone), path_parameters=path)
    # Once this run deleted it, a 404 of the delete is right; a read still finds it (IDM reads
    # deleted instances from the history).
    kit.deleted.add(created["_id"])
    assert checks.created_instance_is_reachable(
        None, answer(404, gone), case(kit, "deleteProcessInstance", path_parameters=path)) is None
    fires(checks.created_instance_is_reachable, kit, "readProcessInstance", answer(404, gone),
          path_parameters=path)


def test_the_checks_do_nothing_outside_a_kit_run(live: ThreadedServer) -> None:
    """Registered with schemathesis globally, they must not act in another schemathesis run
    (the project's own tests/contract): not outside a kit run, and not on another schema."""
    session = fuzz.Run(Target(live.url))
    bad = answer(200, {"result": [{"_rev": 2}]}, ETag='"1"')
    ours = case(session, "queryProcessDefinitions")
    for kit_check in checks.KIT_CHECKS:
        assert kit_check(None, bad, ours) is None  # not activated
    foreign = schemathesis.openapi.from_path(spec_path()).find_operation_by_id(
        "queryProcessDefinitions").Case()
    with session.activated():
        assert checks.no_etag(None, bad, foreign) is None
        assert checks.rev_is_string(None, bad, foreign) is None
        with pytest.raises(AssertionError):
            checks.no_etag(None, bad, ours)
    # Through schemathesis's own validation, with every registered check: not ours.
    with pytest.raises(FailureGroup) as caught:
        foreign.validate_response(bad)
    titles = " ".join(f.title for f in caught.value.exceptions)
    assert "no_etag" not in titles and "rev_is_string" not in titles


# Read-only mode, --max-examples, another context path ----------------------------------------

def test_read_only_mode_sends_only_reads_and_refused_starts() -> None:
    engine = Engine()
    journal: list[tuple[str, str, int]] = []

    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        journal.append((request.method, request.path_qs, response.status))
        return response

    with serve(lambda: mock_app(engine, middleware=record)) as server:
        report, target = check(server, FUZZ_RULES, read_only=True)
        instances = server.call(lambda: len(engine.store.instances))
    writes = {r.id for r in FUZZ_RULES if r.writes}
    assert {i: s for i, s in statuses(report).items() if i in writes} == dict.fromkeys(
        writes, SKIPPED)
    assert statuses(report)["fuzz-conformance"] == PASSED
    assert "(read-only: reads, and invalid starts)" in report.results[0].message
    assert statuses(report)["fuzz-business-key-query"] in (PASSED, SKIPPED)  # judged or not
    assert instances == 0 and target.created == [] and report.cleanup.created == 0
    assert not [(m, p, s) for m, p, s in journal
                if m in ("PUT", "DELETE", "PATCH") or (m == "POST" and s < 300)]
    # The invalid starts went out, named no deployed key or id, and were refused.
    refused = [p for m, p, s in journal if m == "POST"]
    assert refused and {m for m, _, _ in journal} == {"GET", "POST"}
    assert all(s >= 400 for m, _, s in journal if m == "POST")


def test_max_examples_bounds_the_requests(live: ThreadedServer) -> None:
    report, _ = check(live, FUZZ_RULES[:1], max_examples=1)
    (result,) = report.results
    assert result.status == PASSED
    sent = int(result.message.split(": ")[1].split(" requests")[0])
    # One example per operation, and STARTS_WEIGHT more valid ones per create.
    assert 25 <= sent <= 25 + 2 * fuzz.STARTS_WEIGHT, result.message


def test_another_context_path_is_served_from_a_rewritten_spec() -> None:
    session = fuzz.Run(Target("http://127.0.0.1:9/idm"))
    labels = {op.label for op in session.operations()}
    assert "POST /idm/workflow/processinstance" in labels
    assert not any("/openidm/" in label for label in labels)
    assert session.origin == "http://127.0.0.1:9" and session.context == "/idm"


def test_without_schemathesis_the_rules_are_listed_and_skipped(live: ThreadedServer) -> None:
    """schemathesis comes with the `test` extra: without it the catalogue still loads, and the
    rules say what to install."""
    code = (
        "import sys\n"
        "sys.modules['schemathesis'] = None  # any import of it fails\n"
        "from mockidm.contract import Target, run, select\n"
        f"report = run(Target({live.url!r}), select(['fuzz-*']))\n"
        "print([(r.rule_id, r.status, r.message) for r in report.results])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("'skipped'") == len(FUZZ_RULES), done.stdout
    assert "needs schemathesis: pip install 'mockidm[test]'" in done.stdout
