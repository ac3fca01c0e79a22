"""schemathesis over the project's own openapi.yaml against the live mock.

Configured so that it cannot pass by accident:
- valid requests must succeed (2xx, or 404 for the random ids a generator invents): a run in
  which every call was refused fails;
- a `$ref` that does not resolve fails the run;
- creates are fed keys that exist, so the stateful phase really creates, reads and deletes.
Where a generator cannot know a rule of IDM's (one query id at a time, a sort key the endpoint
accepts, `If-Match` on a task update), the positive cases are mended by the hook below, so a
refusal of a valid request is a real failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from definitions import deploy_definitions
from schemathesis import GenerationMode

from mockidm import Engine, create_app
from mockidm.server import ThreadedServer

SPEC = Path(__file__).parents[2] / "openapi.yaml"
ADMIN = "openidm-admin"
CREDENTIALS = {"X-OpenIDM-Username": ADMIN, "X-OpenIDM-Password": ADMIN}
# Every workflow operation documents 500 (IDM's engine failures) and some document 501.
SERVER_ERRORS_DOCUMENTED = ["200", "201", "400", "401", "403", "404", "409", "412", "500", "501"]

CONFIG = schemathesis.Config.from_dict({
    "generation": {"max-examples": 100, "allow-extra-parameters": False},
    "warnings": {"fail-on": ["unresolvable_reference", "missing_auth"]},
    "checks": {
        "positive_data_acceptance": {"expected-statuses": ["2xx", "404"]},
        # Documented 5xx (status_code_conformance rejects undocumented ones).
        "not_a_server_error": {"expected-statuses": SERVER_ERRORS_DOCUMENTED},
        # IDM answers an undeclared method with 501 or 400, never 405 (reference 1.2, 5.0).
        "unsupported_method": {"enabled": False},
        # IDM reads a deleted instance from its history: still 200 after DELETE (reference 5.5).
        "use_after_free": {"enabled": False},
    },
    "operations": [
        # IDM routes this read but refuses it: 501 is the only answer to a valid request.
        {"include-operation-id": "readTaskInstanceHistory",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["501"]}}},
        # Every task belongs to a process, and IDM refuses to delete those (500).
        {"include-operation-id": "deleteTaskInstance",
         "checks": {"positive_data_acceptance": {"expected-statuses": ["404", "500"]}}},
    ],
})
schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)

DEFINITION_IDS = ("contractorOnboarding:1:2", "contractorOnboarding:2:4", "roleRequest:1:5")
QUERY_IDS = {"queryTaskDefinitions": "query-all-ids", "getTasksView": "gettasksview",
             "queryExecutions": None,
             "queryJobs": None}
# Sort keys each endpoint accepts (reference 5.4, 5.7, 5.9).
SORT_KEYS = {"queryProcessInstances": "-startTime", "queryProcessInstanceHistory": "endTime",
             "queryTaskInstances": "-createTime", "queryTaskInstanceHistory": "taskName"}


def _mend_positive(case: Any) -> None:
    """Make a valid-per-spec request valid for IDM's cross-parameter rules too."""
    op = case.operation.definition.raw["operationId"]
    query = case.query if isinstance(case.query, dict) else {}
    headers = case.headers if isinstance(case.headers, dict) else {}
    headers.pop("Accept-API-Version", None)  # a well-formed but unknown version is IDM's 400
    if "x-crest-operation" in case.operation.definition.raw and \
            case.operation.definition.raw["x-crest-operation"] == "query":
        for name in ("_queryFilter", "_pagedResultsCookie", "_sortKeys", "version"):
            query.pop(name, None)
        query["_queryId"] = QUERY_IDS.get(op, "filtered-query")
        if query["_queryId"] is None:
            del query["_queryId"]
            query["_queryFilter"] = "true"
        if op in SORT_KEYS:
            query["_sortKeys"] = SORT_KEYS[op]
        if op == "queryJobs":
            query.pop("messagesOnly", None)
    if op in ("queryTaskDefinitions", "readTaskDefinition", "readProcessDefinition"):
        case.path_parameters["processDefinitionId"] = DEFINITION_IDS[1]
    if op == "readTaskDefinition":
        case.path_parameters["taskDefinitionId"] = "managerApproval"
    if op in ("createProcessInstance", "createProcessInstanceHistory"):
        body = case.body if isinstance(case.body, dict) else {}
        body.pop("_processDefinitionId", None)
        body["_key"] = "contractorOnboarding"
        case.body = body
        query["_action"] = "create"
    if op == "updateTaskInstance":
        headers["If-Match"] = "*"
        case.body = case.body if isinstance(case.body, dict) else {}
    if op == "actOnTaskInstance":
        query["_action"] = "claim"
        case.body = {"userId": ADMIN}
    if op == "actOnExecutions":
        query["_action"] = "signal"
        case.body = {"signalName": "nobody-waits-for-this"}
    case.query, case.headers = query, headers


def mend(case: Any) -> None:
    # `_fields` makes answers partial, which the full-object contracts do not describe.
    if isinstance(case.query, dict):
        case.query.pop("_fields", None)
        case.query.pop("_mimeType", None)
    # Explicit examples carry no generation metadata: they are valid requests.
    if case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE:
        _mend_positive(case)


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    engine = Engine()
    deployed = deploy_definitions(engine)
    assert tuple(d.id for d in deployed) == DEFINITION_IDS  # the hook relies on these ids
    with ThreadedServer(lambda: create_app(engine, validate_responses=True)) as server:
        yield server.origin


@schema.parametrize()
@hypothesis.settings(deadline=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_honours_the_spec(case: Any, base_url: str) -> None:
    mend(case)
    case.call_and_validate(base_url=base_url, headers=CREDENTIALS)


def test_stateful_create_read_query_delete(base_url: str) -> None:
    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            mend(case)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": base_url, "headers": CREDENTIALS}

    Workflow.run(settings=hypothesis.settings(max_examples=40, stateful_step_count=6,
                                              deadline=None))
