"""schemathesis over the project's own openapi.yaml against the live mock.

Every operation is run by schemathesis' engine (what its CLI runs; `fuzzing.py`) twice: with
valid data (examples, coverage and 100 fuzzing examples) and with invalid data, until each
operation has had at least 100 distinct invalid requests (coverage and fuzzing phase). Then a
stateful run creates, reads, queries and deletes. Configured so that it cannot pass by accident:
- valid requests must succeed (2xx, or 404 for the random ids a generator invents): a run in
  which every call was refused fails;
- no 5xx but the documented ones, and no answer the spec does not describe;
- a `$ref` that does not resolve fails the run;
- an operation with fewer than 100 distinct invalid requests fails, and so does any record of
  level ERROR or with a traceback in the server's log (aiohttp refusing a malformed request
  with its 400 aside);
- creates are fed keys that exist, so the stateful phase really creates, reads and deletes.
Where a generator cannot know a rule of IDM's (one query id at a time, a sort key the endpoint
accepts, `If-Match` on a task update), the positive cases are mended by the hook below, so a
refusal of a valid request is a real failure.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from definitions import deploy_definitions
from fuzzing import PARSER_REFUSAL, ErrorLog, Fuzzer, describe, format_record

from mockidm import Engine, create_app
from mockidm.contract.fuzz import make_valid, schemathesis_config
from mockidm.http.operations import HANDLERS
from mockidm.server import ThreadedServer

# Minutes of schemathesis runs: `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

SPEC = Path(__file__).parents[2] / "openapi.yaml"
ADMIN = "openidm-admin"
CREDENTIALS = {"X-OpenIDM-Username": ADMIN, "X-OpenIDM-Password": ADMIN}
# The contract kit's configuration (valid requests must succeed, documented 5xx only, ...),
# with one addition for this run: generators draw the spec's example id
# (contractorOnboarding:2:4) too, and once the run has started instances of it, IDM refuses
# the delete with its documented 409.
SETTINGS: dict[str, Any] = schemathesis_config(max_examples=100)
SETTINGS["operations"].append(
    {"include-operation-id": "deleteProcessDefinition",
     "checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404", "409"]}}})
CONFIG = schemathesis.Config.from_dict(SETTINGS)
# The API descriptors are left out, as the contract kit leaves them out: they answer any
# `_api` value, repeated or not, which schemathesis counts as invalid; test_descriptors.py
# checks them. The IDM objects are left out as the kit leaves them out (their valid requests
# need what the spec cannot say: a `_ref` in a relationship, a list of patch operations);
# tests/http/test_idm_objects_rest.py checks them.
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG).exclude(
    tag="descriptor").exclude(tag="object")
OPERATIONS = sorted(op.ok().definition.raw["operationId"] for op in schema.get_all_operations())
EXAMPLES = 100  # per operation: fuzzing-phase examples, and distinct negative requests

DEFINITION_IDS = ("contractorOnboarding:1:2", "contractorOnboarding:2:4", "roleRequest:1:5")


def mend(case: Any) -> None:
    """The contract kit's own hook: every case loses `_fields` (answers would be partial), and
    a valid one is fitted to IDM's rules across parameters."""
    make_valid(case, user=ADMIN, definition_id=DEFINITION_IDS[1],
               task_definition_id="managerApproval", start={"_key": "contractorOnboarding"})


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, ErrorLog]]:
    """The mock, and the failure records of its log (it runs in this process)."""
    engine = Engine()
    deployed = deploy_definitions(engine)
    assert tuple(d.id for d in deployed) == DEFINITION_IDS  # the hook relies on these ids
    log = ErrorLog()
    logging.getLogger().addHandler(log)
    try:
        with ThreadedServer(lambda: create_app(engine, validate_responses=True)) as running:
            yield running.origin, log
    finally:
        logging.getLogger().removeHandler(log)


def _fuzz(server: tuple[str, ErrorLog], mode: str) -> Fuzzer:
    seed = int(os.environ.get("MOCKIDM_FUZZ_SEED") or random.randrange(1 << 32))
    fuzzer = Fuzzer(SETTINGS, SPEC, base_url=server[0], headers=CREDENTIALS, mend=mend,
                    seed=seed, errors=server[1].take, only=OPERATIONS)
    started = time.monotonic()
    fuzzer.run(mode, EXAMPLES)
    # Shown by `pytest -rP` (the first test's setup): the counts, and the seed that repeats
    # them (MOCKIDM_FUZZ_SEED=...).
    print(f"{mode} run, seed {seed}, {time.monotonic() - started:.0f} s\n{fuzzer.table()}")
    return fuzzer


@pytest.fixture(scope="module")
def negative_run(server: tuple[str, ErrorLog]) -> Fuzzer:
    return _fuzz(server, "negative")


@pytest.fixture(scope="module")
def positive_run(server: tuple[str, ErrorLog]) -> Fuzzer:
    return _fuzz(server, "positive")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_invalid_requests_are_refused(negative_run: Fuzzer, operation: str) -> None:
    tally = negative_run.results["negative"][operation]
    assert not tally.failures, "\n".join([f"MOCKIDM_FUZZ_SEED={negative_run.seed}",
                                          *tally.failures])
    assert len(tally.negative) >= EXAMPLES, (
        f"only {len(tally.negative)} distinct invalid requests "
        f"({tally.negative_by_phase['coverage']} coverage, "
        f"{tally.negative_by_phase['fuzzing']} fuzzing: {tally.fuzzed} new of {tally.drawn} "
        f"examples per round); "
        f"{tally.count('positive')} requests came out valid "
        f"(MOCKIDM_FUZZ_SEED={negative_run.seed})")


@pytest.mark.parametrize("operation", OPERATIONS)
def test_valid_requests_are_answered_as_the_spec_says(positive_run: Fuzzer,
                                                      operation: str) -> None:
    tally = positive_run.results["positive"][operation]
    assert not tally.failures, "\n".join([f"MOCKIDM_FUZZ_SEED={positive_run.seed}",
                                          *tally.failures])
    assert tally.sent["positive/fuzzing"] > 0


@pytest.mark.parametrize("mode", ["negative", "positive"])
def test_the_server_logged_no_error(request: pytest.FixtureRequest, mode: str) -> None:
    """Records that followed no request (the per-operation tests report the others)."""
    fuzzer: Fuzzer = request.getfixturevalue(f"{mode}_run")
    assert not fuzzer.unattributed, "\n".join(fuzzer.unattributed)


def test_a_crash_in_the_server_is_blamed_on_its_request(server: tuple[str, ErrorLog],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The log check is live: an exception that the server answers with a (documented) 500
    fails the operation, with the request and the traceback."""
    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("injected crash")

    monkeypatch.setitem(HANDLERS, "readTaskInstance", crash)
    server[1].take()
    fuzzer = Fuzzer(SETTINGS, SPEC, base_url=server[0], headers=CREDENTIALS, mend=mend, seed=1,
                    errors=server[1].take, only=["readTaskInstance"])
    fuzzer.run("positive", 5)
    blamed = [f for f in fuzzer.results["positive"]["readTaskInstance"].failures
              if f.startswith("server log after GET /openidm/workflow/taskinstance/")]
    assert blamed and "RuntimeError: injected crash" in blamed[0], blamed
    assert not fuzzer.unattributed


def test_aiohttp_refusing_a_malformed_request_is_no_failure() -> None:
    refused = logging.LogRecord("aiohttp.server.mockidm", logging.ERROR, __file__, 1,
                                f"Error handling request: 400, BadHttpMessage ({PARSER_REFUSAL}"
                                ": they may hold credentials)", None, None)
    crashed = logging.LogRecord("mockidm", logging.ERROR, __file__, 1, "unhandled error", None,
                                (RuntimeError, RuntimeError("x"), None))
    assert describe(refused)["parser"] and not describe(crashed)["parser"]  # type: ignore[index]
    assert describe(logging.LogRecord("mockidm", logging.WARNING, __file__, 1, "slow", None,
                                      None)) is None


def test_stateful_create_read_query_delete(server: tuple[str, ErrorLog]) -> None:
    base_url, log = server
    log.take()  # the fuzzing runs' records are theirs

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            mend(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": CREDENTIALS}

    Workflow.run(settings=hypothesis.settings(max_examples=40, stateful_step_count=6,
                                              deadline=None))
    errors = [format_record(r) for r in log.take() if not r["parser"]]
    assert not errors, "\n".join(errors)
