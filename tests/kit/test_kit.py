"""The contract kit against live servers: the mock passes every rule, and each deliberately
broken server fails exactly the rule it breaks.

The example-based rules only: the schema-driven ones (`fuzz-*`, a schemathesis session each
time) have their own tests in test_checks.py, with few examples."""

from __future__ import annotations

import ast
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from broken_servers import BROKEN, Broken, Journal, mock_app, recording

import mockidm.contract
from mockidm import Engine
from mockidm.contract import PASSED, SKIPPED, Report, Rule, Skip, Target, catalogue, run, select
from mockidm.contract.checks import PREFIX
from mockidm.samples import SAMPLES_DIR
from mockidm.server import ThreadedServer

CONTRACT_DIR = Path(mockidm.contract.__file__).parent
EXAMPLE_RULES: list[Rule] = [r for r in catalogue() if not r.id.startswith(PREFIX)]
FUZZ_RULES: list[Rule] = [r for r in catalogue() if r.id.startswith(PREFIX)]
EXAMPLE_BROKEN = [b for b in BROKEN if not b.rule.startswith(PREFIX)]


@contextmanager
def serve(factory: Callable[[], web.Application]) -> Iterator[ThreadedServer]:
    with ThreadedServer(factory) as server:
        yield server


def check(server: ThreadedServer, rules: list[Rule] = EXAMPLE_RULES,
          **options: Any) -> tuple[Report, Target]:
    target = Target(server.url, **options)
    return run(target, rules), target


def statuses(report: Report) -> dict[str, str]:
    return {r.rule_id: r.status for r in report.results}


# The unbroken mock ------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["8.1", "6.5"])
def test_the_mock_passes_every_rule(profile: str) -> None:
    with serve(lambda: mock_app(profile=profile)) as server:
        started = time.perf_counter()
        report, _ = check(server, profile=profile)
        seconds = time.perf_counter() - started
    print(f"\nthe example-based rules ({len(report.results)}) against the mock, profile "
          f"{profile}: {seconds:.2f} s")
    # 6.5 neither pages nor has executions: those rules say so and skip.
    unmet = {"paging-when-paged", "execution-event-filters"} if profile == "6.5" else set()
    assert statuses(report) == {r.id: SKIPPED if r.id in unmet else PASSED
                                for r in EXAMPLE_RULES}, [
        r.message for r in report.results if r.status != PASSED]
    assert seconds < 10


def test_the_cleanup_leaves_no_instance_the_kit_started() -> None:
    engine = Engine()
    with serve(lambda: mock_app(engine)) as server:
        report, target = check(server)
        running = server.call(lambda: list(engine.store.running))
        runs = server.call(lambda: {i.variables.get("mockidmContractRun")
                                    for i in engine.store.instances.values()})
    assert target.created and report.cleanup.created == len(target.created)
    assert report.cleanup.leftovers == []
    assert running == []
    assert runs == {target.run_id}  # every instance is marked with the run that started it


def test_the_cleanup_lists_what_it_could_not_delete() -> None:
    broken = next(b for b in BROKEN if b.name == "delete-keeps-running")
    with serve(broken.app) as server:
        report, target = check(server)
    assert {instance for instance, _ in report.cleanup.leftovers} == set(target.created)
    assert all("still runs" in why for _, why in report.cleanup.leftovers)


def test_an_instance_deleted_by_its_history_path_counts_as_deleted() -> None:
    """DELETE processinstance/history/<id> cancels a running instance as
    DELETE processinstance/<id> does (schemathesis sends both): the cleanup finds it gone, and
    counts it deleted, not ended on its own."""
    with serve(mock_app) as server:
        target = Target(server.url)
        ids = [target.started(target.start({"_key": "roleRequest"}), "start")["_id"]
               for _ in range(2)]
        for path in (f"workflow/processinstance/history/{ids[0]}",
                     f"workflow/processinstance/{ids[1]}"):
            assert target.request("DELETE", path).status_code == 200
        report = target.cleanup()
    assert (report.deleted, report.ended, report.leftovers) == (ids, [], [])


# Broken servers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("broken", EXAMPLE_BROKEN, ids=str)
def test_each_broken_server_fails_exactly_its_rule(broken: Broken) -> None:
    with serve(broken.app) as server:
        report, target = check(server)
        # The schema-driven rules that would report the same fault again wait for its rule:
        # they are skipped, and say why, without a schemathesis session.
        waiting = [r for r in FUZZ_RULES if broken.rule in r.after]
        fuzzed = run(target, waiting)
    failed = {r.rule_id: r.message for r in report.failed}
    assert set(failed) == {broken.rule}, failed
    message = failed[broken.rule]
    assert "expected:" in message and "got:" in message and "reproduce: curl" in message
    reasons = {r.rule_id: r.message for r in fuzzed.results if r.status == SKIPPED}
    assert set(reasons) == {r.id for r in waiting}, fuzzed.results
    assert all(f"the server breaks {broken.rule}, and" in why for why in reasons.values()), \
        reasons


@pytest.mark.parametrize("broken", [b for b in EXAMPLE_BROKEN
                                    if not select([b.rule])[0].writes], ids=str)
def test_read_only_mode_still_catches_what_reads_can_see(broken: Broken) -> None:
    with serve(broken.app) as server:
        report, _ = check(server, read_only=True)
    assert {r.rule_id for r in report.failed} == {broken.rule}


def test_every_rule_has_a_broken_server() -> None:
    rules = {r.id for r in catalogue()}
    caught = {b.rule for b in BROKEN}
    assert rules - caught == set(), "rules no broken server proves can fail"
    assert caught - rules == set(), "broken servers for rules that do not exist"
    assert len({b.name for b in BROKEN}) == len(BROKEN)


# Read-only mode ---------------------------------------------------------------------------------

def test_read_only_mode_writes_nothing() -> None:
    engine = Engine()
    journal: Journal = []
    with serve(lambda: mock_app(engine, middleware=recording(journal))) as server:
        report, target = check(server, read_only=True)
        instances = server.call(lambda: len(engine.store.instances))
    assert instances == 0 and not target.created and report.cleanup.created == 0
    writes = [(m, p, s) for m, p, s in journal
              if m in ("PUT", "DELETE", "PATCH") or (m == "POST" and s < 300)]
    assert writes == []
    assert not any("_action=claim" in p or "_action=complete" in p for _, p, _ in journal)
    by_rule = {r.id: r for r in EXAMPLE_RULES}
    for result in report.results:
        expected = SKIPPED if by_rule[result.rule_id].writes else PASSED
        assert result.status == expected, (result.rule_id, result.message)


def test_read_only_refuses_to_send_a_write() -> None:
    """The guard sits in the HTTP client itself, under every scenario."""
    target = Target("http://127.0.0.1:9/openidm", read_only=True)  # nothing listens there
    for method, path in (("POST", "workflow/processinstance"), ("DELETE", "workflow/x/1"),
                         ("PUT", "workflow/taskinstance/1"), ("PATCH", "workflow/x")):
        with pytest.raises(Skip, match="read-only mode"):
            target.request(method, path, json={})
    with pytest.raises(Skip, match="read-only mode"):
        target.start({"_key": "anything"})


# Servers that lack what a rule needs ------------------------------------------------------------

def test_a_rule_that_cannot_run_says_why_and_is_skipped() -> None:
    """Only one version of each key: `key-starts-latest` has nothing to check."""
    def one_version_each() -> web.Application:
        engine = Engine()
        for name in ("02-contractor-onboarding.bpmn20.xml", "03-role-request.bpmn20.xml"):
            engine.deploy_file(SAMPLES_DIR / name)
        return mock_app(engine, samples=False)

    with serve(one_version_each) as server:
        report, _ = check(server)
    skipped = {r.rule_id: r.message for r in report.results if r.status == SKIPPED}
    assert set(skipped) == {"key-starts-latest"}
    assert "two or more versions" in skipped["key-starts-latest"]
    assert report.ok


def test_an_empty_server_skips_what_needs_a_definition_and_checks_the_rest() -> None:
    with serve(lambda: mock_app(samples=False)) as server:
        report, _ = check(server)
    needs_definition = {r.id for r in EXAMPLE_RULES if r.writes} | {
        "rev-is-string", "no-etag", "paging-when-paged"}
    skipped = {r.rule_id: r.message for r in report.results if r.status == SKIPPED}
    assert set(skipped) == needs_definition
    assert all(any(why in m for why in ("no process definition is deployed", "two or more "
                                        "versions", "declares a user task",
                                        "nothing to page through"))
               for m in skipped.values()), skipped
    assert report.ok


def test_process_keys_limit_what_the_kit_starts() -> None:
    engine = Engine()
    with serve(lambda: mock_app(engine)) as server:
        report, _ = check(server, process_keys=["roleRequest"])
        keys = server.call(lambda: {i.definition.key for i in engine.store.instances.values()})
    assert keys == {"roleRequest"}
    assert statuses(report)["key-starts-latest"] == SKIPPED  # roleRequest has one version
    assert report.ok


# Failure messages -------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_curl_line_of_a_failure_reproduces_it(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = next(b for b in BROKEN if b.name == "unknown-key-500")
    with serve(broken.app) as server:
        report, _ = check(server)
        message = next(r.message for r in report.failed)
        line = next(s for s in message.splitlines() if "reproduce:" in s).split("reproduce: ")[1]
        assert "$MOCKIDM_CONTRACT_PASSWORD" in line and "openidm-admin\"" not in line
        monkeypatch.setenv("MOCKIDM_CONTRACT_PASSWORD", "openidm-admin")
        out = subprocess.run(["sh", "-c", line], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("HTTP/1.1 500")
    assert "no processes deployed with key" in out.stdout


# The one rule ---------------------------------------------------------------------------------

KIT_MAY_IMPORT = ("mockidm.contract", "mockidm.spec_files")  # the leaf that finds the spec


def imported_modules(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """The modules that the code of `module` imports, relative imports made absolute (with
    `from package import name`, both the package and package.name: name may be a module)."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                name = ".".join([*base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            found += [name, *(f"{name}.{alias.name}" for alias in node.names)]
    return found


def outside_the_kit(names: list[str]) -> list[str]:
    """The names the kit must not import: aiohttp, and any of mockidm but its own."""
    def allowed(name: str) -> bool:
        # `mockidm` itself is the parent package: Python imports it first in any case.
        return name == "mockidm" or any(name == kit or name.startswith(kit + ".")
                                        for kit in KIT_MAY_IMPORT)

    return [name for name in names if name.split(".")[0] == "aiohttp"
            or (name.split(".")[0] == "mockidm" and not allowed(name))]


def test_the_kit_talks_http_only() -> None:
    """It must work the same against a real IDM: of mockidm it imports only itself and the leaf
    that finds the spec's files (no engine, HTTP layer, spec loader, facade or server)."""
    for path in CONTRACT_DIR.rglob("*.py"):
        parts = path.relative_to(CONTRACT_DIR.parent.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        names = imported_modules(path.read_text(encoding="utf-8"), module,
                                 is_package=is_package)
        assert outside_the_kit(names) == [], path


def test_the_import_check_sees_every_way_to_import_the_mock() -> None:
    def imports(source: str, module: str = "mockidm.contract.scenarios.start") -> list[str]:
        return outside_the_kit(imported_modules(source, module))

    assert imports("from mockidm.spec import spec_path") == [
        "mockidm.spec", "mockidm.spec.spec_path"]
    assert imports("from ...spec import load_spec") == ["mockidm.spec", "mockidm.spec.load_spec"]
    assert imports("from ... import facade") == ["mockidm.facade"]
    assert imports("import mockidm.engine.model") == ["mockidm.engine.model"]
    assert imports("from aiohttp import web") == ["aiohttp", "aiohttp.web"]
    assert imports("from .. import expect\nfrom ..target import Target\n"
                   "from ...spec_files import spec_path\nimport mockidm") == []


def test_two_scenarios_cannot_claim_one_rule_id() -> None:
    catalogue()
    with pytest.raises(ValueError, match="registered twice"):
        mockidm.contract.rule("no-etag", "another", "1.4")(lambda target: None)
    assert [r.id for r in select(["*-404", "no-etag"])] == [
        "unknown-key-404", "unknown-definition-id-404", "no-etag"]
