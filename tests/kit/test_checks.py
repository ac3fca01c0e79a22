"""The schema-driven rules of the contract kit (`fuzz-*`, `mockidm.contract.checks`):
schemathesis over openapi.yaml against a live mock, the kit's custom checks one by one, each
rule's broken server, read-only mode and the cleanup of what schemathesis created.

A schemathesis session costs seconds, so these tests run few examples (`FEW`); the whole kit at
its default settings is timed against `mockidm serve` in test_end_to_end.py.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from broken_servers import (
    BROKEN,
    EXAMPLES_TO_SHOW_EVERY_BREAK,
    Broken,
    Journal,
    mock_app,
    recording,
)
from schemathesis.checks import CHECKS
from schemathesis.core.failures import FailureGroup
from schemathesis.errors import IncorrectUsage

from mockidm import Engine
from mockidm.contract import (
    FAILED,
    PASSED,
    RULES,
    SKIPPED,
    Report,
    Rule,
    Target,
    catalogue,
    checks,
    fuzz,
    run,
)
from mockidm.contract.cli import main
from mockidm.contract.runner import run_rule
from mockidm.server import ThreadedServer
from mockidm.spec_files import spec_path

# The fewest examples per operation with which every broken server below is caught (the
# sessions are derandomised: the same examples every time).
FEW = 3
FUZZ_RULES: list[Rule] = [r for r in catalogue() if r.id.startswith(checks.PREFIX)]
FUZZ_BROKEN = [b for b in BROKEN if b.rule.startswith(checks.PREFIX)]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


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

@pytest.mark.slow  # schemathesis runs
def test_the_fuzz_rules_pass_against_the_6_5_profile_and_write_only_their_own() -> None:
    """No Content-API-Version, which openapi.yaml documents as optional. And on a shared server
    a generated id may be someone else's: every write names an instance the run started, or an
    id that does not exist."""
    journal: Journal = []
    with serve(lambda: mock_app(profile="6.5", middleware=recording(journal))) as server:
        target = Target(server.url, profile="6.5", max_examples=2)
        run(target, [r for r in catalogue() if not r.id.startswith(checks.PREFIX)])
        del journal[:]  # from here on, the schemathesis session only
        report = run(target, FUZZ_RULES)
    assert statuses(report) == {r.id: PASSED for r in FUZZ_RULES}, [
        (r.rule_id, r.message) for r in report.results if r.status != PASSED]
    named = [(method, _named_id(path), status) for method, path, status in journal
             if method in WRITES and _named_id(path)]
    assert any(method == "DELETE" for method, _, _ in named)
    foreign = [(m, i, s) for m, i, s in named
               if i not in target.created and not i.startswith("mockidm-contract-")]
    assert foreign == []


def _named_id(path: str) -> str | None:
    """The id in `.../workflow/processinstance[/history]/<id>` (and the like), if any."""
    parts = path.split("?")[0].split("/workflow/", 1)[-1].strip("/").split("/")
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
        # It waits for targeted rules only (which run before it).
        assert all(i in RULES and not i.startswith(checks.PREFIX) for i in rule.after), rule
    checks.register_checks()  # as the first fuzz-* rule to run does
    for check_function in checks.KIT_CHECKS:  # registered with schemathesis, in our namespace
        assert check_function.__name__.startswith("mockidm_")
        assert CHECKS.get_one(check_function.__name__) is check_function


def test_the_check_names_leave_yours_free() -> None:
    """Registered with schemathesis globally, the kit's checks must not take a name of yours;
    and a name of theirs that another module took is an error, not silently someone else's
    check run in their place."""
    def no_etag(ctx: Any, response: Any, case: Any) -> None:
        return None

    def mockidm_no_etag(ctx: Any, response: Any, case: Any) -> None:
        return None

    for yours in (no_etag, mockidm_no_etag):
        yours.__module__ = "your_tests"
    checks.register_checks()
    try:
        schemathesis.check(no_etag)  # free: the kit's is mockidm_no_etag
        CHECKS.unregister("mockidm_no_etag")
        schemathesis.check(mockidm_no_etag)
        with pytest.raises(IncorrectUsage, match="mockidm_no_etag"):
            checks._register(checks.mockidm_no_etag)
    finally:
        CHECKS.unregister("no_etag")
        CHECKS.register(checks.mockidm_no_etag)


# Each rule's broken server ------------------------------------------------------------------

# What each broken server's failure report must show, beyond expected/got/curl.
REPORTED = {
    "definition-read-without-start-form": [
        "Response violates schema [ST108, check response_schema_conformance, conformance run] "
        "on GET /openidm/workflow/processdefinition/{processDefinitionId}",
        '"startFormHandler" is a required property', "got:      HTTP 200 OK"],
    "oldest-for-typed-variables": ["check mockidm_latest_version_for_key,",
                                   "expected processDefinitionId 'contractorOnboarding:2:4'"],
    "key-wins-with-business-key": ["check mockidm_definition_id_wins,", "must win over _key"],
    "business-key-filter-dropped-if-unusual": ["check mockidm_business_key_query_",
                                               "with another business"],
    "business-key-read-as-latin-1": ["check mockidm_business_key_kept,",
                                     "expected businessKey"],
    "history-knows-finished-only": [
        "check mockidm_created_instance_is_reachable, stateful run] on GET "
        "/openidm/workflow/processinstance/history/{processInstanceId}", "answered 404"],
}


@pytest.mark.slow  # a schemathesis run per broken server
@pytest.mark.parametrize("broken", FUZZ_BROKEN, ids=str)
def test_each_broken_server_fails_exactly_its_rule(broken: Broken) -> None:
    """The targeted rules all pass (their fault shows only for generated inputs), and of the
    schema-driven rules only its own fails, with schemathesis's message and a curl line."""
    with serve(broken.app) as server:
        report, _ = check(server, max_examples=EXAMPLES_TO_SHOW_EVERY_BREAK)
    failed = {r.rule_id: r.message for r in report.failed}
    assert set(failed) == {broken.rule}, failed
    message = failed[broken.rule]
    assert f"schemathesis, {EXAMPLES_TO_SHOW_EVERY_BREAK} examples per operation: " in message
    assert "expected: " in message and "got: " in message and "reproduce: curl" in message
    assert "$MOCKIDM_CONTRACT_PASSWORD" in message and "openidm-admin\"" not in message
    for text in REPORTED[broken.name]:
        assert text in message, message


# Each rule waits for its own prerequisites ----------------------------------------------------

def test_fuzz_rules_alone_against_a_broken_server_exit_1(tmp_path: Path) -> None:
    """`--rules 'fuzz-*'` against a server with an ETag: no-etag, which fuzz-conformance waits
    for, is run unselected (read-only), and its failure is fuzz-conformance's, so the run exits
    1 (not 0 with every rule skipped). The writing rules the others wait for are not run
    unasked (no claim, no complete): those rules are skipped, naming them. fuzz-stateful-links
    waits for nothing the ETag breaks: it runs, and passes (the ETag is not its business)."""
    broken = next(b for b in BROKEN if b.name == "etag-added")
    journal: Journal = []
    xml = tmp_path / "contract.xml"
    with serve(lambda: _with_journal(broken.app(), journal)) as server:
        code = main(["--url", server.url, "--rules", "fuzz-*", "--max-examples", "1",
                     "--junit-xml", str(xml), "--quiet"])
    assert code == 1
    cases = {c.get("name"): c for c in ET.parse(xml).getroot().iter("testcase")}
    failure = cases.pop("fuzz-conformance").find("failure")
    assert failure is not None and (failure.text or "").startswith(
        "not run: the server breaks no-etag, which this rule waits for (no-etag was not "
        "selected")
    assert "expected: no ETag header" in (failure.text or "")  # no-etag's own failure
    passed = cases.pop("fuzz-stateful-links")
    assert [passed.find(t) for t in ("failure", "error", "skipped")] == [None] * 3
    for rule_id, testcase in cases.items():
        skipped = testcase.find("skipped")
        assert skipped is not None and (skipped.text or "").startswith(
            f"needs {', '.join(RULES[rule_id].after)}, not selected"), rule_id
    assert journal
    assert not [p for _, p, _ in journal if "_action=claim" in p or "_action=complete" in p]


def _with_journal(app: web.Application, journal: Journal) -> web.Application:
    app.middlewares.append(web.middleware(recording(journal)))
    return app


def test_a_rule_waits_for_its_own_prerequisites_only() -> None:
    """With no-etag failing, fuzz-conformance is skipped (no-etag reports the fault), while
    fuzz-key-starts-latest runs: it waits for key-starts-latest only. Had fuzz-conformance not
    waited, its mockidm_no_etag check would have reported the ETag again: why it waits."""
    broken = next(b for b in BROKEN if b.name == "etag-added")
    with serve(broken.app) as server:
        report, target = check(server, [RULES[i] for i in (
            "key-starts-latest", "no-etag", "fuzz-conformance", "fuzz-key-starts-latest")],
            max_examples=1)
        got = {r.rule_id: r for r in report.results}
        assert {i: r.status for i, r in got.items()} == {
            "key-starts-latest": PASSED, "no-etag": FAILED, "fuzz-conformance": SKIPPED,
            "fuzz-key-starts-latest": PASSED}, report.results
        assert got["fuzz-conformance"].message.startswith(
            "not run: the server breaks no-etag, and this rule would report the same fault")
        # The same session, judged by fuzz-conformance without waiting.
        eager = run_rule(target, dataclasses.replace(RULES["fuzz-conformance"], after=()))
    assert eager.status == FAILED and "check mockidm_no_etag, conformance run]" in eager.message


def test_a_fuzz_rule_runs_no_writing_rule_unasked() -> None:
    """`--rules fuzz-conformance` on a writable server: create-response-shape, which it waits
    for, starts processes; the kit does not run it unasked, and writes nothing at all (the
    prerequisites that read run read-only)."""
    engine = Engine()
    journal: Journal = []
    with serve(lambda: mock_app(engine, middleware=recording(journal))) as server:
        report, target = check(server, [RULES["fuzz-conformance"]])
        instances = server.call(lambda: len(engine.store.instances))
    (result,) = report.results
    assert result.status == SKIPPED
    assert result.message.startswith("needs create-response-shape, not selected")
    assert instances == 0 and not target.created
    assert journal and not [(m, p, s) for m, p, s in journal if m in WRITES and s < 400]


# Skipped, never passed, when it cannot run ---------------------------------------------------

def test_an_empty_server_skips_what_needs_a_start() -> None:
    with serve(lambda: mock_app(samples=False)) as server:
        report, target = check(server, max_examples=1)
    got = {r.rule_id: r for r in report.results if r.rule_id.startswith(checks.PREFIX)}
    assert got.pop("fuzz-conformance").status == PASSED  # starts fed an unknown key: 404
    assert {i: r.status for i, r in got.items()} == dict.fromkeys(got, SKIPPED)
    assert all(m in r.message for r, m in zip(got.values(), (
        "no generated start by _key", "no generated start with _processDefinitionId",
        "no query by business key alone", "no generated start with a _businessKey",
        "no link was followed"), strict=True)), got
    assert not target.created


def test_fuzz_conformance_that_judged_nothing_is_skipped(
        monkeypatch: pytest.MonkeyPatch, live: ThreadedServer) -> None:
    monkeypatch.setattr(fuzz.Run, "operations", lambda self: [])
    report, _ = check(live, [RULES["fuzz-conformance"]], read_only=True)
    (result,) = report.results
    assert result.status == SKIPPED
    assert result.message.startswith("no generated request was answered"), result.message


# The custom checks, one crafted answer each -------------------------------------------------

@pytest.fixture(scope="module")
def live() -> Iterator[ThreadedServer]:
    with serve() as server:
        yield server


@pytest.fixture
def kit(live: ThreadedServer) -> Iterator[fuzz.Run]:
    target = Target(live.url)
    session = fuzz.session(target)
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
    message = fires(checks.mockidm_latest_version_for_key, kit, "createProcessInstance",
                    answer(201, CREATED), body=body)
    assert "'contractorOnboarding:2:4' (version 2 of [1, 2])" in message
    assert "got 'contractorOnboarding:1:2'" in message and "'count': 3" in message
    latest = {**CREATED, "processDefinitionId": "contractorOnboarding:2:4"}
    assert checks.mockidm_latest_version_for_key(
        None, answer(201, latest), case(kit, "createProcessInstanceHistory", body=body)) is None
    # `_processDefinitionId` wins: then an older version is right (definition_id_wins judges).
    assert checks.mockidm_latest_version_for_key(None, answer(201, CREATED), case(
        kit, "createProcessInstance",
        body={**body, "_processDefinitionId": "contractorOnboarding:1:2"})) is None
    message = fires(checks.mockidm_latest_version_for_key, kit, "createProcessInstance",
                    answer(201, CREATED), body={"_key": "noSuchKey"})
    assert "lists no process definition with that key" in message
    assert kit.judged["latest_version_for_key"] == 2  # contractorOnboarding has two versions


def test_definition_id_wins(kit: fuzz.Run) -> None:
    body = {"_processDefinitionId": "roleRequest:1:6", "_key": "contractorOnboarding"}
    message = fires(checks.mockidm_definition_id_wins, kit, "createProcessInstance",
                    answer(201, CREATED), body=body)
    assert "_processDefinitionId 'roleRequest:1:6' must win over _key 'contractorOnboarding'" \
           in message and "got 'contractorOnboarding:1:2'" in message
    right = {**CREATED, "processDefinitionId": "roleRequest:1:6"}
    assert checks.mockidm_definition_id_wins(
        None, answer(201, right), case(kit, "createProcessInstance", body=body)) is None
    assert checks.mockidm_definition_id_wins(  # by key alone: latest_version_for_key's business
        None, answer(201, CREATED), case(kit, "createProcessInstance",
                                         body={"_key": "contractorOnboarding"})) is None
    assert kit.judged["definition_id_wins"] == 2  # the two whose _key names another definition
    # By id alone, or with its own key whose latest version it is: nothing to win over. Right
    # or wrong, such a start is not counted as judging the rule.
    for alone in ({"_processDefinitionId": "roleRequest:1:6"},
                  {"_processDefinitionId": "roleRequest:1:6", "_key": "roleRequest"}):
        fires(checks.mockidm_definition_id_wins, kit, "createProcessInstance",
              answer(201, CREATED), body=alone)
        assert checks.mockidm_definition_id_wins(
            None, answer(201, right), case(kit, "createProcessInstance", body=alone)) is None
    assert kit.judged["definition_id_wins"] == 2
    # Its own key, where a later version exists: the key names another definition.
    older = {"_processDefinitionId": "contractorOnboarding:1:2", "_key": "contractorOnboarding"}
    assert checks.mockidm_definition_id_wins(
        None, answer(201, CREATED), case(kit, "createProcessInstance", body=older)) is None
    assert kit.judged["definition_id_wins"] == 3


def test_business_key_query_only_matches(kit: fuzz.Run) -> None:
    query = {"_queryId": "filtered-query", "processInstanceBusinessKey": "order-1"}
    items = [{"_id": "1", "businessKey": "order-1"}, {"_id": "2", "businessKey": "order-2"}]
    message = fires(checks.mockidm_business_key_query_only_matches, kit,
                    "queryProcessInstances", answer(200, {"result": items}), query=query)
    assert "got 1 of 2 with another" in message and "('2', 'order-2')" in message
    assert checks.mockidm_business_key_query_only_matches(
        None, answer(200, {"result": items[:1]}),
        case(kit, "queryProcessInstanceHistory", query=query)) is None
    assert kit.judged["business_key_query"] == 2
    # With another filter too (or without the business key), anything goes.
    for other in ({**query, "startUserId": "bob"}, {"_queryId": "filtered-query"}):
        assert checks.mockidm_business_key_query_only_matches(
            None, answer(200, {"result": items}),
            case(kit, "queryProcessInstances", query=other)) is None
    # Executions are not instances: a real IDM answers their businessKey null, whatever the
    # query named.
    executions = [{"_id": "7", "businessKey": None}]
    assert checks.mockidm_business_key_query_only_matches(
        None, answer(200, {"result": executions}),
        case(kit, "queryExecutions", query=query)) is None
    # An empty answer shows nothing about the filter: not judged.
    assert checks.mockidm_business_key_query_only_matches(
        None, answer(200, {"result": []}), case(kit, "queryProcessInstances", query=query)) \
        is None
    assert kit.judged["business_key_query"] == 2


def test_business_key_query_finds_start(kit: fuzz.Run) -> None:
    """After a start with a business key, the check asks the server itself."""
    key = kit.target.unique("bk é")
    body = {"_key": "roleRequest", "_businessKey": key}
    created = kit.target.started(kit.target.start(body), "start")
    assert kit.target.created[created["_id"]].business_key == key  # the target's record
    start = case(kit, "createProcessInstance", body=body)
    assert checks.mockidm_business_key_query_finds_start(
        None, answer(201, created), start) is None
    # The same start, as a server that does not find it would answer the query.
    query = {"_queryId": "filtered-query", "processInstanceBusinessKey": key}
    message = fires(checks.mockidm_business_key_query_finds_start, kit, "queryProcessInstances",
                    answer(200, {"result": [{"_id": "x", "businessKey": "other"}]}), query=query)
    assert f"missing: ['{created['_id']}']" in message and "('x', 'other')" in message
    assert kit.judged["business_key_query"] == 2
    kit.target.created[created["_id"]].deleted = True  # once deleted, its absence is right...
    assert checks.mockidm_business_key_query_finds_start(
        None, answer(200, {"result": []}), case(kit, "queryProcessInstances",
                                                query=query)) is None
    assert kit.judged["business_key_query"] == 2  # ...and, nothing there, nothing judged


def test_business_key_kept(kit: fuzz.Run) -> None:
    key = kit.target.unique("bk ☃")
    body = {"_key": "roleRequest", "_businessKey": key}
    created = kit.target.started(kit.target.start(body), "start")
    start = case(kit, "createProcessInstance", body=body)
    assert checks.mockidm_business_key_kept(None, answer(201, created), start) is None  # reads
    message = fires(checks.mockidm_business_key_kept, kit, "createProcessInstance",
                    answer(201, {**created, "businessKey": "?"}), body=body)
    assert f"expected businessKey {key!r}, got '?'" in message
    path = {"processInstanceId": created["_id"]}
    message = fires(checks.mockidm_business_key_kept, kit, "readProcessInstanceHistory",
                    answer(200, {"_id": created["_id"], "businessKey": None}),
                    path_parameters=path)
    assert f"started by this run with _businessKey {key!r}" in message


def test_idm_error_envelope(kit: fuzz.Run) -> None:
    op = "readProcessInstance"
    right = {"code": 404, "reason": "Not Found", "message": "Not Found"}
    for wrong in ({"code": 404, "error": "Not Found", "message": "Not Found"},
                  {"reason": "Not Found", "code": 404, "message": "Not Found"},
                  {**right, "stack": "at org.forgerock..."}):
        message = fires(checks.mockidm_idm_error_envelope, kit, op, answer(404, wrong))
        assert "expected code, reason, message in that order" in message
    message = fires(checks.mockidm_idm_error_envelope, kit, op,
                    answer(404, {**right, "code": 500}))
    assert "expected code 404; got code 500" in message
    assert checks.mockidm_idm_error_envelope(None, answer(404, right), case(kit, op)) is None
    assert checks.mockidm_idm_error_envelope(
        None, answer(404, {**right, "detail": {}}), case(kit, op)) is None
    assert checks.mockidm_idm_error_envelope(  # not JSON: not judged
        None, answer(502, "bad gateway", **{"Content-Type": "text/html"}), case(kit, op)) is None


def test_query_envelope(kit: fuzz.Run) -> None:
    op = "queryTaskInstances"
    right = {"result": [{}], "resultCount": 1, "pagedResultsCookie": None,
             "totalPagedResultsPolicy": "NONE", "totalPagedResults": -1,
             "remainingPagedResults": -1}
    assert checks.mockidm_query_envelope(None, answer(200, right), case(kit, op)) is None
    old = {k: v for k, v in right.items() if k != "totalPagedResults"}
    assert "six keys" in fires(checks.mockidm_query_envelope, kit, op, answer(200, old))
    assert "resultCount" in fires(checks.mockidm_query_envelope, kit, op,
                                  answer(200, {**right, "resultCount": 2}))
    assert checks.mockidm_query_envelope(
        None, answer(200, {}), case(kit, "readTaskInstance")) is None


def test_no_etag(kit: fuzz.Run) -> None:
    message = fires(checks.mockidm_no_etag, kit, "queryProcessDefinitions",
                    answer(200, {"result": []}, ETag='"1"'))
    assert 'ETag: "1"' in message
    assert checks.mockidm_no_etag(None, answer(200, {"result": []}),
                                  case(kit, "queryProcessDefinitions")) is None


def test_rev_is_string(kit: fuzz.Run) -> None:
    fires(checks.mockidm_rev_is_string, kit, "readProcessDefinition", answer(200, {"_rev": 1}))
    fires(checks.mockidm_rev_is_string, kit, "queryTaskInstances",
          answer(200, {"result": [{"_rev": "1"}, {"_rev": 2}]}))
    assert checks.mockidm_rev_is_string(
        None, answer(200, {"_rev": "1", "variables": {"_rev": 1}}),
        case(kit, "readProcessDefinition")) is None


def test_created_instance_is_reachable(kit: fuzz.Run) -> None:
    created = kit.target.started(kit.target.start({"_key": "roleRequest"}), "start")
    path = {"processInstanceId": created["_id"]}
    gone = {"code": 404, "reason": "Not Found", "message": "Not Found"}
    message = fires(checks.mockidm_created_instance_is_reachable, kit,
                    "readProcessInstanceHistory", answer(404, gone), path_parameters=path)
    assert f"instance '{created['_id']}', which this run created" in message
    fires(checks.mockidm_created_instance_is_reachable, kit, "deleteProcessInstance",
          answer(404, gone), path_parameters=path)
    # Once this run deleted it, a 404 of the delete is right; a read still finds it (IDM reads
    # deleted instances from the history).
    kit.target.created[created["_id"]].deleted = True
    assert checks.mockidm_created_instance_is_reachable(
        None, answer(404, gone), case(kit, "deleteProcessInstance", path_parameters=path)) is None
    fires(checks.mockidm_created_instance_is_reachable, kit, "readProcessInstance",
          answer(404, gone), path_parameters=path)


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
        assert checks.mockidm_no_etag(None, bad, foreign) is None
        assert checks.mockidm_rev_is_string(None, bad, foreign) is None
        with pytest.raises(AssertionError):
            checks.mockidm_no_etag(None, bad, ours)
    # Through schemathesis's own validation, with every registered check: not ours.
    with pytest.raises(FailureGroup) as caught:
        foreign.validate_response(bad)
    titles = " ".join(f.title for f in caught.value.exceptions)
    assert "no_etag" not in titles and "rev_is_string" not in titles


# Read-only mode, --max-examples, another context path ----------------------------------------

@pytest.mark.slow  # schemathesis runs
def test_read_only_mode_sends_only_reads_and_refused_starts() -> None:
    engine = Engine()
    journal: Journal = []
    with serve(lambda: mock_app(engine, middleware=recording(journal))) as server:
        report, target = check(server, FUZZ_RULES, read_only=True)
        instances = server.call(lambda: len(engine.store.instances))
    writes = {r.id for r in FUZZ_RULES if r.writes}
    assert {i: s for i, s in statuses(report).items() if i in writes} == dict.fromkeys(
        writes, SKIPPED)
    assert statuses(report)["fuzz-conformance"] == PASSED
    assert "(read-only: reads, and invalid starts)" in report.results[0].message
    # No instance on the server: nothing a query by business key answers can show whether it
    # filters (test_business_key_query_only_matches: an empty answer is not counted).
    business_key_query = report.results[3]
    assert business_key_query.rule_id == "fuzz-business-key-query"
    assert business_key_query.status == SKIPPED
    assert business_key_query.message.startswith("no query by business key alone answered")
    assert instances == 0 and not target.created and report.cleanup.created == 0
    assert not [(m, p, s) for m, p, s in journal
                if m in ("PUT", "DELETE", "PATCH") or (m == "POST" and s < 300)]
    # The invalid starts went out, named no deployed key or id, and were refused.
    refused = [p for m, p, s in journal if m == "POST"]
    assert refused and {m for m, _, _ in journal} == {"GET", "POST"}
    assert all(s >= 400 for m, _, s in journal if m == "POST")


def test_max_examples_bounds_the_requests(live: ThreadedServer) -> None:
    report, _ = check(live, [RULES["create-response-shape"], RULES["fuzz-conformance"]],
                      max_examples=1)
    result = report.results[-1]
    assert result.status == PASSED
    sent = int(result.message.split(": ")[1].split(" requests")[0])
    # One example per operation, and STARTS_WEIGHT more valid ones per create.
    assert 33 <= sent <= 33 + 2 * fuzz.STARTS_WEIGHT, result.message


def test_ctrl_c_during_the_session_still_cleans_up(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A KeyboardInterrupt in the middle of the schemathesis session, once it has started
    instances: the command exits 130, and what the run started is deleted all the same."""
    validate = fuzz.Run.validate

    def interrupted(self: fuzz.Run, case: Any, response: Any, *args: Any,
                    **kwargs: Any) -> None:
        if self.target.created:
            raise KeyboardInterrupt
        validate(self, case, response, *args, **kwargs)

    monkeypatch.setattr(fuzz.Run, "validate", interrupted)
    engine = Engine()
    with serve(lambda: mock_app(engine)) as server:
        code = main(["--url", server.url, "--rules", "fuzz-stateful-links", "--max-examples",
                     "1", "--quiet"])
        started = server.call(lambda: len(engine.store.instances))
        running = server.call(lambda: list(engine.store.running))
    assert code == 130 and "interrupted" in capsys.readouterr().err
    assert started and running == []


def test_generated_starts_carry_only_storable_text(live: ThreadedServer) -> None:
    """What a start stores (business key, variables) reaches a real server without NUL, lone
    surrogates or characters beyond the BMP."""
    assert fuzz.storable({"a\x00": ["x\U0001F600y", {"k": "\ud800"}], "n": 1}) == {
        "a": ["xy", {"k": ""}], "n": 1}
    session = fuzz.Run(Target(live.url))
    texts: list[str] = []

    @hypothesis.given(case=session.schema.find_operation_by_id(
        "createProcessInstance").as_strategy())
    @session.settings(max_examples=30)
    def generate(case: Any) -> None:
        texts.extend(_strings(case.body))

    generate()
    assert any(len(t) > 2 for t in texts)  # the generator did make up text
    assert [t for t in texts if fuzz.storable(t) != t] == []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


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
