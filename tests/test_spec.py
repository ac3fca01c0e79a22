"""Static checks of openapi.yaml and contracts/*.json (no server needed).

* the spec is valid OpenAPI 3.1 and every contract a valid JSON Schema 2020-12 document;
* every `$ref` (spec and contracts) points at an existing file and JSON pointer;
* the operation list is exactly the fixed one the server maps to handlers;
* the JSON shapes mockidm emits validate against their contracts, and wrong ones do not.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import jsonschema_rs
import pytest
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "openapi.yaml"
CONTRACTS = ROOT / "contracts"
CONTRACT_FILES = sorted(CONTRACTS.glob("*.json"))
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# operationId -> (method, path, x-crest-operation): the fixed list the server maps to handlers.
WF = "/openidm/workflow"
REL = "/openidm/managed/{objectType}/{objectId}/{relationshipField}"
OPERATIONS: dict[str, tuple[str, str, str]] = {
    "queryProcessDefinitions": ("get", f"{WF}/processdefinition", "query"),
    "readProcessDefinition": ("get", f"{WF}/processdefinition/{{processDefinitionId}}", "read"),
    "deleteProcessDefinition": (
        "delete",
        f"{WF}/processdefinition/{{processDefinitionId}}",
        "delete",
    ),
    "queryTaskDefinitions": (
        "get",
        f"{WF}/processdefinition/{{processDefinitionId}}/taskdefinition",
        "query",
    ),
    "readTaskDefinition": (
        "get",
        f"{WF}/processdefinition/{{processDefinitionId}}/taskdefinition/{{taskDefinitionId}}",
        "read",
    ),
    "createProcessInstance": ("post", f"{WF}/processinstance", "create"),
    "queryProcessInstances": ("get", f"{WF}/processinstance", "query"),
    "readProcessInstance": ("get", f"{WF}/processinstance/{{processInstanceId}}", "read"),
    "deleteProcessInstance": ("delete", f"{WF}/processinstance/{{processInstanceId}}", "delete"),
    "queryProcessInstanceHistory": ("get", f"{WF}/processinstance/history", "query"),
    "createProcessInstanceHistory": ("post", f"{WF}/processinstance/history", "create"),
    "readProcessInstanceHistory": (
        "get",
        f"{WF}/processinstance/history/{{processInstanceId}}",
        "read",
    ),
    "deleteProcessInstanceHistory": (
        "delete",
        f"{WF}/processinstance/history/{{processInstanceId}}",
        "delete",
    ),
    "queryTaskInstances": ("get", f"{WF}/taskinstance", "query"),
    "readTaskInstance": ("get", f"{WF}/taskinstance/{{taskInstanceId}}", "read"),
    "updateTaskInstance": ("put", f"{WF}/taskinstance/{{taskInstanceId}}", "update"),
    "actOnTaskInstance": ("post", f"{WF}/taskinstance/{{taskInstanceId}}", "action"),
    "deleteTaskInstance": ("delete", f"{WF}/taskinstance/{{taskInstanceId}}", "delete"),
    "queryTaskInstanceHistory": ("get", f"{WF}/taskinstance/history", "query"),
    "readTaskInstanceHistory": ("get", f"{WF}/taskinstance/history/{{taskInstanceId}}", "read"),
    "queryExecutions": ("get", f"{WF}/execution", "query"),
    "actOnExecutions": ("post", f"{WF}/execution", "action"),
    "queryJobs": ("get", f"{WF}/job", "query"),
    "readJob": ("get", f"{WF}/job/{{jobId}}", "read"),
    "actOnJob": ("post", f"{WF}/job/{{jobId}}", "action"),
    "queryDeadLetterJobs": ("get", f"{WF}/job/deadletter", "query"),
    "readDeadLetterJob": ("get", f"{WF}/job/deadletter/{{jobId}}", "read"),
    "actOnDeadLetterJob": ("post", f"{WF}/job/deadletter/{{jobId}}", "action"),
    "deleteDeadLetterJob": ("delete", f"{WF}/job/deadletter/{{jobId}}", "delete"),
    "getProcessesForUser": ("get", "/openidm/endpoint/getprocessesforuser", "read"),
    "getTasksView": ("get", "/openidm/endpoint/gettasksview", "query"),
    "readInfoPing": ("get", "/openidm/info/ping", "read"),
    "readInfoVersion": ("get", "/openidm/info/version", "read"),
    **{f"{verb}{kind.capitalize()}{noun}": (method, f"/openidm/{kind}/{{objectType}}{tail}", crest)
       for kind in ("managed", "internal")
       for verb, noun, method, tail, crest in (
           ("query", "Objects", "get", "", "query"),
           ("create", "Object", "post", "", "create"),
           ("read", "Object", "get", "/{objectId}", "read"),
           ("update", "Object", "put", "/{objectId}", "update"),
           ("patch", "Object", "patch", "/{objectId}", "patch"),
           ("delete", "Object", "delete", "/{objectId}", "delete"))},
    "queryRelationships": ("get", f"{REL}", "query"),
    "createRelationship": ("post", f"{REL}", "create"),
    "readRelationship": ("get", f"{REL}/{{relationshipId}}", "read"),
    "deleteRelationship": ("delete", f"{REL}/{{relationshipId}}", "delete"),
}
# IDM routes these but its provider refuses them (501), so they never succeed.
NEVER_SUCCEEDS = {"readTaskInstanceHistory"}
COMMON_ERRORS = {"400", "401", "403", "404", "409", "412", "500",
                 "408", "413", "414", "431", "503"}  # the last: limits in front of IDM
WITH_501 = {
    "createProcessInstance", "createProcessInstanceHistory", "updateTaskInstance",
    "queryTaskInstances", "actOnExecutions", "queryExecutions",
    "readTaskInstanceHistory", "actOnJob", "actOnDeadLetterJob", "createRelationship",
}
SUCCESS = {"create": "201"}  # every other CREST operation answers 200
# A PUT without If-None-Match on an object that exists replaces it: 200 beside the 201.
UPSERTS = {"createManagedObject", "createInternalObject"}
TAGS = {"processdefinition", "processinstance", "taskinstance", "execution", "job", "endpoint",
        "object", "info"}
# The API descriptors: answered on any path (written under these), by `_api` / `_crestapi`,
# before Common REST checks anything; tests/http/test_descriptors.py checks them.
DESCRIPTORS = {
    "describeApi": ("get", "/openidm", "openapi"),
    "describeCrestApi": ("get", f"{WF}", "api"),
}


# ----------------------------------------------------------------------------- loading helpers
@cache
def load_document(uri: str) -> Any:
    path = Path(unquote(uri.removeprefix("file://")))
    text = path.read_text(encoding="utf-8")
    return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)


def spec() -> dict[str, Any]:
    return load_document(SPEC_PATH.as_uri())


def resolve_pointer(document: Any, fragment: str) -> Any:
    node = document
    if not fragment:
        return node
    assert fragment.startswith("/"), f"not a JSON pointer: {fragment!r}"
    for raw in fragment[1:].split("/"):
        token = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(token)]
        else:
            assert isinstance(node, dict) and token in node, f"no {token!r} in pointer {fragment!r}"
            node = node[token]
    return node


def walk_refs(node: Any, where: str = "#"):
    """Yield (json-path, $ref) for every "$ref" string in a document."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield where, ref
        for key, value in node.items():
            yield from walk_refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk_refs(value, f"{where}/{i}")


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, item in spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op = item[method]
                found.setdefault(op["operationId"], (method, path, op))
    return found


def deref(node: Any, base: str = SPEC_PATH.as_uri()) -> Any:
    """Follow a chain of $refs inside the spec (responses, parameters, headers)."""
    while isinstance(node, dict) and "$ref" in node:
        target, fragment = urldefrag(urljoin(base, node["$ref"]))
        node = resolve_pointer(load_document(target), fragment)
        base = target
    return node


@cache
def registry() -> Registry:
    resources = [
        (
            p.as_uri(),
            Resource.from_contents(json.loads(p.read_text()), default_specification=DRAFT202012),
        )
        for p in CONTRACT_FILES
    ]
    return Registry().with_resources(resources).crawl()


def validator(ref: str) -> Draft202012Validator:
    """A validator for `ref`, relative to the spec file (e.g. contracts/error.json#/$defs/x)."""
    return Draft202012Validator(
        {"$ref": urljoin(SPEC_PATH.as_uri(), ref)},
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def contract(name: str) -> Draft202012Validator:
    return validator(f"contracts/{name}")


def response_schema_ref(operation_id: str, status: str) -> str:
    response = deref(operations()[operation_id][2]["responses"][status])
    return response["content"]["application/json"]["schema"]["$ref"]


def request_schema_ref(operation_id: str) -> str:
    return operations()[operation_id][2]["requestBody"]["content"]["application/json"]["schema"][
        "$ref"
    ]


def assert_valid(v: Draft202012Validator, instance: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(instance)]
    assert not errors, errors


def assert_invalid(v: Draft202012Validator, instance: Any) -> None:
    with pytest.raises(ValidationError):
        v.validate(instance)


# ----------------------------------------------------------------------------- samples (shapes.md)
T0 = "2026-11-27T20:49:24.035Z"
T1 = "2026-11-27T21:02:11.500+01:00"

HANDLER = {
    "id": "firstName",
    "name": "First name",
    "type": {"name": "string", "values": None, "datePattern": None},
    "readable": True,
    "required": True,
    "writable": True,
    "variableName": None,
    "variableExpression": None,
    "defaultExpression": None,
}
FORM_PROPERTY = {
    "_id": "firstName",
    "name": "First name",
    "defaultExpression": None,
    "variableExpression": None,
    "variableName": None,
    "type": {"name": "string", "values": None, "datePattern": None},
    "readable": True,
    "required": True,
    "writable": True,
}
PROCESS_DEFINITION = {
    "_id": "onboarding:1:3",
    "_rev": "1",
    "candidateStarterGroupIdExpressions": [],
    "candidateStarterUserIdExpressions": [],
    "category": "mockidm.samples",
    "deploymentId": "1",
    "description": None,
    "eventSupport": {},
    "executionListeners": {},
    "graphicalNotationDefined": False,
    "hasStartFormKey": False,
    "historyLevel": None,
    "ioSpecification": None,
    "key": "onboarding",
    "laneSets": [],
    "name": "Onboarding",
    "participantProcess": None,
    "processDiagramResourceName": None,
    "properties": {},
    "resourceName": "onboarding.bpmn20.xml",
    "revisionNext": 2,
    "startFormHandler": None,
    "suspended": False,
    "suspensionState": 1,
    "taskDefinitions": None,
    "tenantId": "",
    "variables": None,
    "version": 1,
}
TASK_DEFINITION = {
    "_id": "approve",
    "name": {"expressionText": "Approve request"},
    "assignee": {"expressionText": "manager"},
    "taskCandidateUser": [{"expressionText": "alice"}],
    "taskCandidateGroup": [{"expressionText": "internal/role/openidm-admin"}],
    "formProperties": {
        "deploymentId": "1",
        "formKey": None,
        "formPropertyHandlers": [
            {
                **{k: v for k, v in HANDLER.items() if k != "id"},
                "_id": "decision",
                "type": {
                    "name": "enum",
                    "values": {"approve": "Approve", "reject": "Reject"},
                    "datePattern": None,
                },
            }
        ],
    },
    "dueDate": None,
    "priority": None,
    "ownerExpression": None,
    "categoryExpression": None,
    "descriptionExpression": None,
    "taskListeners": {},
    "formResourceKey": None,
}
PROCESS_DEFINITION_READ = {
    **PROCESS_DEFINITION,
    "formProperties": [FORM_PROPERTY],
    "startFormHandler": {"deploymentId": "1", "formKey": None, "formPropertyHandlers": [HANDLER]},
    "taskDefinitions": {
        "approve": {k: v for k, v in TASK_DEFINITION.items() if k != "formResourceKey"}
    },
    "formResourceKey": None,
    "formGenerationTemplate": None,
    "diagram": "iVBORw0KGgo=",
}
CREATED = {
    "_id": "7",
    "processInstanceId": "7",
    "status": "suspended",
    "businessKey": None,
    "processDefinitionId": "onboarding:2:5",
}
PROCESS_INSTANCE = {
    "_id": "7",
    "businessKey": None,
    "deleteReason": None,
    "durationInMillis": None,
    "endActivityId": None,
    "endTime": None,
    "processDefinitionId": "onboarding:2:5",
    "processInstanceId": "7",
    "processVariables": {},
    "queryVariables": None,
    "startActivityId": "start",
    "startTime": T0,
    "startUserId": "openidm-admin",
    "superProcessInstanceId": None,
    "tenantId": "",
    "processDefinitionResourceName": "Onboarding",
}
TASK_HISTORY = {
    "_id": "9",
    "assignee": None,
    "category": None,
    "claimTime": None,
    "deleteReason": None,
    "description": None,
    "dueDate": None,
    "durationInMillis": None,
    "endTime": None,
    "executionId": "7",
    "formKey": None,
    "name": "Approve request",
    "owner": None,
    "parentTaskId": None,
    "priority": 50,
    "processDefinitionId": "onboarding:2:5",
    "processInstanceId": "7",
    "processVariables": {},
    "startTime": T0,
    "taskDefinitionKey": "approve",
    "taskLocalVariables": {},
    "tenantId": "",
    "time": T0,
    "workTimeInMillis": None,
}
TASK_HISTORY_DONE = {
    **TASK_HISTORY,
    "assignee": "openidm-admin",
    "claimTime": T0,
    "deleteReason": "completed",
    "durationInMillis": 1000,
    "endTime": T1,
}
PROCESS_INSTANCE_READ = {**PROCESS_INSTANCE, "tasks": [TASK_HISTORY]}
PROCESS_INSTANCE_DELETED = {
    k: v for k, v in PROCESS_INSTANCE.items() if k != "processDefinitionResourceName"
}
TASK = {
    "_id": "9",
    "_rev": "1",
    "activityInstanceVariables": {},
    "assignee": None,
    "cachedElContext": None,
    "category": None,
    "createTime": T0,
    "delegationState": None,
    "delegationStateString": None,
    "deleted": False,
    "description": None,
    "dueDate": None,
    "eventName": None,
    "executionId": "7",
    "name": "Approve request",
    "owner": None,
    "parentTaskId": None,
    "priority": 50,
    "processDefinitionId": "onboarding:2:5",
    "processInstanceId": "7",
    "processVariables": {},
    "queryVariables": None,
    "revisionNext": 2,
    "suspended": False,
    "suspensionState": 1,
    "taskDefinitionKey": "approve",
    "taskLocalVariables": {},
    "tenantId": "",
}
TASK_READ = {
    **TASK,
    "formProperties": [{"decision": None}],
    "variables": {"department": "finance"},
    "candidates": {"candidateUsers": ["alice"], "candidateGroups": ["internal/role/openidm-admin"]},
}
EXECUTION = {
    "_id": "7",
    "activityId": "waitForPayment",
    "businessKey": None,
    "ended": False,
    "active": True,
    "suspended": False,
    "parentId": None,
    "processInstanceId": "7",
    "processDefinitionId": "k:1:3",
    "superExecutionId": None,
    "name": None,
    "tenantId": "",
}
JOB = {
    "_id": "12",
    "processInstanceId": "7",
    "executionId": "8",
    "processDefinitionId": "k:1:3",
    "retries": 3,
    "dueDate": T1,
    "exceptionMessage": None,
}
ERROR = {
    "code": 404,
    "reason": "Not Found",
    "message": "no deployed process definition found with id &#39;nope:1:1&#39;",
}


def envelope(items: list[Any]) -> dict[str, Any]:
    return {
        "result": items,
        "resultCount": len(items),
        "pagedResultsCookie": None,
        "totalPagedResultsPolicy": "NONE",
        "totalPagedResults": -1,
        "remainingPagedResults": -1,
    }


GOOD_SAMPLES: list[tuple[str, Any]] = [
    ("processdefinition.json", PROCESS_DEFINITION),
    ("processdefinition-read.json", PROCESS_DEFINITION_READ),
    ("processdefinition-query.json", envelope([PROCESS_DEFINITION])),
    ("taskdefinition.json", TASK_DEFINITION),
    ("taskdefinition.json", {**TASK_DEFINITION, "formGenerationTemplate": "<form/>"}),
    (  # an untyped property: `{}` in the provider's list, null in the engine's handlers
        "processdefinition-read.json",
        {**PROCESS_DEFINITION_READ, "formProperties": [{**FORM_PROPERTY, "type": {}}],
         "startFormHandler": {"deploymentId": "1", "formKey": None,
                              "formPropertyHandlers": [{**HANDLER, "type": None}]}},
    ),
    (
        "taskdefinition.json",
        {
            **TASK_DEFINITION,
            "name": "approval",  # Wren flattens expressions
            "taskCandidateGroup": ["openidm-admin"],
            "assignee": None,
        },
    ),
    ("taskdefinition-query.json", envelope([TASK_DEFINITION])),
    ("processinstance-created.json", CREATED),
    ("processinstance-created.json", {**CREATED, "status": "ended", "businessKey": "order-4711"}),
    ("processinstance.json", PROCESS_INSTANCE),
    ("processinstance.json", PROCESS_INSTANCE_DELETED),
    ("processinstance-read.json", PROCESS_INSTANCE_READ),
    (
        "processinstance-read.json",
        {
            **PROCESS_INSTANCE,
            "endTime": T1,
            "durationInMillis": 465287,
            "endActivityId": "end",
            "tasks": [TASK_HISTORY_DONE],
        },
    ),
    ("processinstance-query.json", envelope([PROCESS_INSTANCE])),
    ("taskinstance.json", TASK),
    ("taskinstance.json", {k: v for k, v in TASK.items() if k != "assignee"} | {"delegate": "bob"}),
    ("taskinstance-read.json", TASK_READ),
    ("taskinstance-query.json", envelope([TASK, {**TASK, "_id": "10", "assignee": "bob"}])),
    ("taskinstance-history.json", TASK_HISTORY),
    ("taskinstance-history.json", TASK_HISTORY_DONE),
    ("taskinstance-history-query.json", envelope([TASK_HISTORY, TASK_HISTORY_DONE])),
    ("execution.json", EXECUTION),
    ("execution-query.json", envelope([EXECUTION])),
    ("job.json", JOB),
    ("job-query.json", envelope([])),
    ("task-action-result.json", {"Task action performed": "claim"}),
    ("task-action-result.json", {"Task action performed": "complete"}),
    ("task-updated.json", {"_id": "9", "Task updated": "9"}),
    ("execution-action-result.json", {"Execution action performed": "trigger"}),
    ("query-envelope.json", envelope([])),
    (
        "query-envelope.json",
        {
            **envelope([{"_id": "1"}]),
            "pagedResultsCookie": "1",
            "totalPagedResultsPolicy": "EXACT",
            "totalPagedResults": 3,
            "remainingPagedResults": 2,
        },
    ),
    ("error.json", ERROR),
    (
        "error.json",
        {
            "code": 400,
            "reason": "Bad Request",
            "message": "The request could not be processed because the provided content "
            "is not valid JSON",
            "detail": "Unexpected end-of-input",
        },
    ),
    (
        "error.json",
        {
            "code": 401,
            "reason": "Unauthorized",
            "message": "Access Denied",
            "detail": {"failureReasons": []},
        },
    ),
    (
        "error.json#/$defs/forbidden",
        {"code": 403, "reason": "Forbidden", "message": "Access denied"},
    ),
    (
        "error.json#/$defs/notImplemented",
        {
            "code": 501,
            "reason": "Not Implemented",
            "message": "The CREATE operations are not supported",
        },
    ),
    ("processinstance-create-request.json", {"_key": "onboarding", "_businessKey": None, "x": [1]}),
    ("processinstance-create-request.json", None),
    ("taskinstance-update-request.json", {"assignee": None}),
    ("taskinstance-update-request.json", TASK_READ),  # a UI sending back the whole task
    ("taskinstance-action-request.json", {"userId": "openidm-admin"}),
    ("taskinstance-action-request.json", None),
    ("execution-action-request.json", {"executionId": "8", "transientVariables": None}),
]


def without(obj: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k != key}


BAD_SAMPLES: list[tuple[str, Any, str]] = [
    ("processdefinition.json", {**PROCESS_DEFINITION, "_rev": 1}, "numeric _rev"),
    ("taskinstance.json", {**TASK, "_rev": 1}, "numeric _rev"),
    ("processdefinition.json", {**PROCESS_DEFINITION, "version": "1"}, "string version"),
    ("processdefinition.json", without(PROCESS_DEFINITION, "tenantId"), "missing core key"),
    ("processdefinition.json", {**PROCESS_DEFINITION, "_id": 3}, "numeric id"),
    (
        "processdefinition-read.json",
        without(PROCESS_DEFINITION_READ, "formProperties"),
        "read without formProperties",
    ),
    (
        "processdefinition-read.json",
        {**PROCESS_DEFINITION_READ, "startFormHandler": None},
        "read without start form handler",
    ),
    ("processinstance-created.json", {**CREATED, "startTime": T0}, "created with a sixth key"),
    (
        "processinstance-created.json",
        without(CREATED, "businessKey"),
        "created without businessKey",
    ),
    ("processinstance-created.json", {**CREATED, "status": "running"}, "unknown status"),
    ("processinstance.json", {**PROCESS_INSTANCE, "_rev": "1"}, "_rev on an instance"),
    (
        "processinstance.json",
        {**PROCESS_INSTANCE, "startTime": "2026-11-27T20:49:24Z"},
        "date without milliseconds",
    ),
    (
        "processinstance.json",
        {**PROCESS_INSTANCE, "startTime": "2026-13-45T25:61:00.000Z"},
        "impossible date (format checking is on)",
    ),
    ("processinstance.json", {**PROCESS_INSTANCE, "durationInMillis": "12"}, "string duration"),
    ("processinstance-read.json", PROCESS_INSTANCE, "read without tasks"),
    (
        "processinstance-query.json",
        envelope([PROCESS_INSTANCE_DELETED]),
        "query item without processDefinitionResourceName",
    ),
    ("taskinstance.json", without(TASK, "assignee"), "neither assignee nor delegate"),
    ("taskinstance.json", {**TASK, "priority": "50"}, "string priority"),
    ("taskinstance-read.json", without(TASK_READ, "candidates"), "read without candidates"),
    ("taskinstance-read.json", {**TASK_READ, "formProperties": [{}]}, "empty form property entry"),
    ("taskinstance-history.json", {**TASK_HISTORY, "_rev": "1"}, "_rev on a history task"),
    ("taskdefinition.json", {**TASK_DEFINITION, "taskCandidateGroup": None}, "null candidates"),
    (
        "processdefinition-read.json",
        {**PROCESS_DEFINITION_READ, "formProperties": [{**FORM_PROPERTY, "type": None}]},
        "a null type in the provider's list (it writes `{}`)",
    ),
    (
        "processdefinition-read.json",
        {**PROCESS_DEFINITION_READ, "formProperties": [{**FORM_PROPERTY, "type": {"x": 1}}]},
        "a type map without a name",
    ),
    (
        "taskdefinition-query.json",
        envelope([without(TASK_DEFINITION, "formResourceKey")]),
        "query item without formResourceKey",
    ),
    ("task-action-result.json", {"_id": "9", "Task action performed": "claim"}, "extra _id"),
    ("task-updated.json", {"_id": "9"}, "missing Task updated"),
    (
        "query-envelope.json",
        without(envelope([]), "remainingPagedResults"),
        "envelope without remainingPagedResults",
    ),
    ("query-envelope.json", {**envelope([]), "totalPagedResultsPolicy": "ALL"}, "bad policy"),
    ("processinstance-query.json", envelope([{"_id": "7"}]), "bare item in a typed query"),
    ("error.json", without(ERROR, "reason"), "error without reason"),
    ("error.json", {**ERROR, "stack": "..."}, "unknown error key"),
    (
        "error.json",
        {**ERROR, "message": "no deployed process definition found with id 'x'"},
        "message not HTML-escaped",
    ),
    ("error.json#/$defs/notFound", {**ERROR, "code": 500}, "code differs from the status"),
    (
        "error.json#/$defs/unauthorized",
        {"code": 401, "reason": "Access Denied", "message": "Access Denied"},
        "wrong reason phrase",
    ),
    ("processinstance-create-request.json", {"_key": 5}, "numeric _key"),
    ("processinstance-create-request.json", {"_processDefinitionId": ["a"]}, "array id"),
    ("processinstance-create-request.json", {"_businessKey": True}, "boolean business key"),
    ("processinstance-create-request.json", [1], "array body"),
    ("taskinstance-update-request.json", {"assignee": 7}, "numeric assignee"),
    ("taskinstance-update-request.json", {"owner": {}}, "object owner"),
    ("taskinstance-action-request.json", {"userId": 1}, "numeric userId"),
]


# ----------------------------------------------------------------------------- tests
def test_openapi_document_is_valid() -> None:
    validate_openapi(spec(), base_uri=SPEC_PATH.as_uri())


def test_openapi_header() -> None:
    doc = spec()
    assert doc["openapi"] == "3.1.0"
    assert [server["url"] for server in doc["servers"]] == ["http://127.0.0.1:8080"]
    assert doc["security"] == [
        {"idmUsername": [], "idmPassword": []},
        {"basicAuth": []},
        {"sessionJwt": []},
        {"bearerToken": []},
    ]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["idmUsername"] == {
        **schemes["idmUsername"],
        "type": "apiKey",
        "in": "header",
        "name": "X-OpenIDM-Username",
    }
    assert schemes["idmPassword"]["name"] == "X-OpenIDM-Password"
    assert schemes["basicAuth"]["scheme"] == "basic"
    assert (schemes["sessionJwt"]["in"], schemes["sessionJwt"]["name"]) == ("cookie", "session-jwt")
    assert (schemes["bearerToken"]["type"], schemes["bearerToken"]["scheme"]) == ("http", "bearer")
    # Resources, and the two descriptor operations, which answer on any path (their own is
    # only where they are written down).
    assert all(path.startswith(("/openidm/workflow/", "/openidm/endpoint/", "/openidm/managed/",
                                "/openidm/internal/", "/openidm/info/"))
               or item["get"]["operationId"] in DESCRIPTORS
               for path, item in doc["paths"].items())


@pytest.mark.parametrize("path", CONTRACT_FILES, ids=lambda p: p.name)
def test_contract_is_a_valid_2020_12_schema(path: Path) -> None:
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "$id" not in schema, "refs are resolved against the file location; no $id"
    Draft202012Validator.check_schema(schema)


def test_every_ref_resolves() -> None:
    documents = [SPEC_PATH, *CONTRACT_FILES]
    checked = 0
    for path in documents:
        uri = path.as_uri()
        for where, ref in walk_refs(load_document(uri)):
            target, fragment = urldefrag(urljoin(uri, ref))
            target_path = Path(unquote(target.removeprefix("file://")))
            assert target_path.is_file(), f"{path.name}{where}: {ref} -> missing file"
            assert target_path.resolve().is_relative_to(ROOT), (
                f"{path.name}{where}: {ref} leaves the repo"
            )
            try:
                resolve_pointer(load_document(target), fragment)
            except (AssertionError, IndexError, ValueError) as exc:
                raise AssertionError(f"{path.name}{where}: {ref} -> {exc}") from exc
            checked += 1
    assert checked > 100


def test_contract_registry_compiles_with_jsonschema_rs() -> None:
    """The server validates with jsonschema-rs: make sure it resolves the same file-URI registry."""
    reg = jsonschema_rs.Registry(
        [(p.as_uri(), json.loads(p.read_text(encoding="utf-8"))) for p in CONTRACT_FILES]
    )
    for path in CONTRACT_FILES:
        v = jsonschema_rs.Draft202012Validator(
            {"$ref": path.as_uri()}, registry=reg, validate_formats=True
        )
        accepts_null = path.name.endswith("-request.json") or path.name == "common.json"
        assert v.is_valid(None) is accepts_null, path.name
    created = jsonschema_rs.Draft202012Validator(
        {"$ref": (CONTRACTS / "processinstance-created.json").as_uri()},
        registry=reg,
        validate_formats=True,
    )
    assert created.is_valid(CREATED)
    assert not created.is_valid({**CREATED, "x": 1})


def test_operation_ids_match_the_fixed_list() -> None:
    seen: list[str] = []
    for path, item in spec()["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op_id = item[method]["operationId"]
                seen.append(op_id)
                expected = {**OPERATIONS, **DESCRIPTORS}
                assert op_id in expected, f"unexpected operation {op_id}"
                assert expected[op_id][:2] == (method, path), op_id
                assert item[method]["x-crest-operation"] == expected[op_id][2], op_id
    duplicates = {o for o in seen if seen.count(o) > 1}
    assert not duplicates, duplicates
    assert sorted(seen) == sorted({**OPERATIONS, **DESCRIPTORS})


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_operation_metadata(operation_id: str) -> None:
    _, _, op = operations()[operation_id]
    assert op["x-crest-operation"] == OPERATIONS[operation_id][2]
    assert op["x-mockidm-invalid-status"] == 500
    assert op["summary"] and op["description"]
    assert op["tags"] and set(op["tags"]) <= TAGS
    names = {deref(p)["name"] for p in op.get("parameters", [])}
    assert {"Accept-API-Version", "X-OpenIDM-NoSession"} <= names
    if op["x-crest-operation"] == "query":
        assert {"_queryId", "_queryFilter", "_pageSize", "_totalPagedResultsPolicy"} <= names
    if op["x-crest-operation"] in ("create", "update", "action"):
        assert op["requestBody"]["required"] is False
    else:
        assert "requestBody" not in op


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_operation_responses(operation_id: str) -> None:
    _, _, op = operations()[operation_id]
    statuses = set(op["responses"])
    success = [s for s in statuses if s.startswith("2")]
    if operation_id in NEVER_SUCCEEDS:
        assert success == []
    else:
        assert sorted(success) == sorted(
            [SUCCESS.get(op["x-crest-operation"], "200")]
            + (["200"] if operation_id in UPSERTS else []))
    assert "401" in statuses
    expected = COMMON_ERRORS | ({"501"} if operation_id in WITH_501 else set())
    assert statuses == expected | set(success)
    for status in statuses:
        response = deref(op["responses"][status])
        schema_ref = response["content"]["application/json"]["schema"]["$ref"]
        assert schema_ref.startswith("contracts/"), (status, schema_ref)
        if status.startswith("2"):
            headers = response["headers"]
            assert deref(headers["Cache-Control"])["required"] is True
            assert deref(headers["Content-API-Version"])["required"] is False
        else:
            assert schema_ref.startswith("contracts/error.json#/$defs/"), (status, schema_ref)
            body = resolve_pointer(
                load_document((ROOT / "contracts/error.json").as_uri()),
                urldefrag(schema_ref).fragment,
            )
            assert body["properties"]["code"]["const"] == int(status)


def test_only_safe_constraints_on_requests() -> None:
    """No enums on _queryId/_action, no constrained path ids, open request bodies."""
    for operation_id, (_, path, op) in operations().items():
        params = [deref(p) for p in spec()["paths"][path].get("parameters", [])]
        params += [deref(p) for p in op.get("parameters", [])]
        for param in params:
            schema = param["schema"]
            if param["in"] == "path" or param["name"] in ("_queryId", "_action"):
                assert schema == {"type": "string"}, (operation_id, param["name"])
            # The descriptor parameter is what makes a request one; no other is required.
            if param["in"] != "path" and operation_id not in DESCRIPTORS:
                assert param.get("required", False) is False, (operation_id, param["name"])
        if "requestBody" in op:
            body = json.loads((ROOT / request_schema_ref(operation_id)).read_text())
            assert body["type"] == ["object", "null"]
            assert body["additionalProperties"] is True


def test_filter_parameter_types() -> None:
    def query_params(operation_id: str) -> dict[str, dict[str, Any]]:
        return {
            p["name"]: p["schema"]
            for p in map(deref, operations()[operation_id][2]["parameters"])
            if p["in"] == "query"
        }

    assert query_params("queryTaskInstances")["priority"] == {"type": "integer"}
    assert query_params("queryTaskInstanceHistory")["priority"] == {"type": "integer"}
    assert query_params("queryProcessDefinitions")["version"] == {"type": "string"}
    assert query_params("queryProcessInstances")["processInstanceBusinessKey"] == {"type": "string"}
    assert {"finished", "unfinished"} <= set(query_params("queryProcessInstanceHistory"))
    assert {"taskId", "taskName", "processFinished"} <= set(
        query_params("queryTaskInstanceHistory")
    )
    assert query_params("queryProcessDefinitions")["_pageSize"] == {"type": "integer"}
    assert query_params("queryJobs")["_totalPagedResultsPolicy"]["enum"] == [
        "NONE",
        "EXACT",
        "ESTIMATE",
    ]


def test_accept_api_version_pattern() -> None:
    param = deref({"$ref": "#/components/parameters/acceptApiVersion"})
    assert param["x-mockidm-invalid-status"] == 400
    v = Draft202012Validator(param["schema"])
    for good in (
        "resource=1.0",
        "protocol=2.1",
        "protocol=2.1,resource=1.0",
        "resource=1, protocol=2",
        "resource=1.0 ,protocol=2.1",
    ):
        assert v.is_valid(good), good
    for bad in (
        "foo",
        "",
        "resource=",
        "resource=1.0,",
        "resource=a",
        "protocol=2.1;resource=1.0",
        "version=1",
    ):
        assert not v.is_valid(bad), bad


def test_create_links_for_stateful_testing() -> None:
    response = operations()["createProcessInstance"][2]["responses"]["201"]
    links = response["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    assert set(targets) == {
        "readProcessInstance",
        "deleteProcessInstance",
        "queryProcessInstances",
        "readProcessInstanceHistory",
    }
    for operation_id, parameters in targets.items():
        op_path = OPERATIONS[operation_id][1]
        _, _, op = operations()[operation_id]
        declared = {
            f"{p['in']}.{p['name']}"
            for p in map(
                deref, [*spec()["paths"][op_path].get("parameters", []), *op.get("parameters", [])]
            )
        }
        assert set(parameters) <= declared, (operation_id, parameters)
    assert targets["readProcessInstance"] == {"path.processInstanceId": "$response.body#/_id"}
    assert targets["queryProcessInstances"] == {
        "query._queryId": "filtered-query",
        "query.processInstanceBusinessKey": "$response.body#/businessKey",
    }


@pytest.mark.parametrize(
    "name,instance", GOOD_SAMPLES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GOOD_SAMPLES)]
)
def test_sample_is_accepted(name: str, instance: Any) -> None:
    assert_valid(contract(name), instance)


@pytest.mark.parametrize("name,instance,why", BAD_SAMPLES, ids=[b[2] for b in BAD_SAMPLES])
def test_wrong_object_is_rejected(name: str, instance: Any, why: str) -> None:
    assert_invalid(contract(name), instance)


RESPONSES_BY_OPERATION: list[tuple[str, str, Any]] = [
    ("queryProcessDefinitions", "200", envelope([PROCESS_DEFINITION])),
    ("readProcessDefinition", "200", PROCESS_DEFINITION_READ),
    ("deleteProcessDefinition", "200", PROCESS_DEFINITION),
    ("queryTaskDefinitions", "200", envelope([TASK_DEFINITION])),
    ("readTaskDefinition", "200", TASK_DEFINITION),
    ("createProcessInstance", "201", CREATED),
    ("queryProcessInstances", "200", envelope([PROCESS_INSTANCE])),
    ("readProcessInstance", "200", PROCESS_INSTANCE_READ),
    ("deleteProcessInstance", "200", PROCESS_INSTANCE_DELETED),
    ("queryProcessInstanceHistory", "200", envelope([PROCESS_INSTANCE])),
    ("readProcessInstanceHistory", "200", PROCESS_INSTANCE_READ),
    ("deleteProcessInstanceHistory", "200", PROCESS_INSTANCE_DELETED),
    ("queryTaskInstances", "200", envelope([TASK])),
    ("readTaskInstance", "200", TASK_READ),
    ("updateTaskInstance", "200", {"_id": "9", "Task updated": "9"}),
    ("actOnTaskInstance", "200", {"Task action performed": "complete"}),
    ("deleteTaskInstance", "200", TASK),
    ("queryTaskInstanceHistory", "200", envelope([TASK_HISTORY_DONE])),
    ("queryExecutions", "200", envelope([EXECUTION])),
    ("actOnExecutions", "200", {"Execution action performed": "message"}),
    ("queryJobs", "200", envelope([JOB])),
    (
        "createProcessInstance",
        "404",
        {
            "code": 404,
            "reason": "Not Found",
            "message": "no processes deployed with key &#39;foo&#39;",
        },
    ),
    (
        "createProcessInstance",
        "500",
        {
            "code": 500,
            "reason": "Internal Server Error",
            "message": "processDefinitionKey and processDefinitionId are null",
        },
    ),
    ("queryJobs", "401", {"code": 401, "reason": "Unauthorized", "message": "Access Denied"}),
]


@pytest.mark.parametrize(
    "operation_id,status,body",
    RESPONSES_BY_OPERATION,
    ids=[f"{o}-{s}" for o, s, _ in RESPONSES_BY_OPERATION],
)
def test_spec_points_each_response_at_the_right_contract(
    operation_id: str, status: str, body: Any
) -> None:
    assert_valid(validator(response_schema_ref(operation_id, status)), body)


def test_wrong_status_body_is_rejected_through_the_spec() -> None:
    not_found = validator(response_schema_ref("readProcessInstance", "404"))
    assert_invalid(not_found, {"code": 500, "reason": "Internal Server Error", "message": "x"})
    created = validator(response_schema_ref("createProcessInstance", "201"))
    assert_invalid(created, PROCESS_INSTANCE)


def test_request_examples_match_their_schemas() -> None:
    count = 0
    for _, _, op in operations().values():
        if "requestBody" not in op:
            continue
        media = op["requestBody"]["content"]["application/json"]
        v = validator(media["schema"]["$ref"])
        for example in media.get("examples", {}).values():
            assert_valid(v, example["value"])
            count += 1
    assert count >= 5
    create = operations()["createProcessInstance"][2]["requestBody"]["content"]["application/json"]
    values = [e["value"] for e in create["examples"].values()]
    assert any("_key" in v for v in values)
    assert any("_processDefinitionId" in v for v in values)
    assert any("_businessKey" in v and len(v) > 2 for v in values)


def spec_examples(document: Any, where: str = "#"):
    """Yield (json-path, schema, example value) for every `example` / `examples` entry next to a
    `schema` (parameters, headers, media types) in an OpenAPI document."""
    if isinstance(document, dict):
        schema = document.get("schema")
        if isinstance(schema, dict):
            if "example" in document:
                yield f"{where}/example", schema, document["example"]
            for name, example in (document.get("examples") or {}).items():
                yield f"{where}/examples/{name}", schema, deref(example)["value"]
        for key, value in document.items():
            yield from spec_examples(value, f"{where}/{key}")
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from spec_examples(value, f"{where}/{i}")


def example_errors(schema: dict[str, Any], value: Any) -> list[str]:
    v = (validator(schema["$ref"]) if "$ref" in schema
         else Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER))
    return [f"{list(e.absolute_path)}: {e.message}" for e in v.iter_errors(value)]


def test_every_spec_example_matches_its_own_schema() -> None:
    found = list(spec_examples(spec()))
    assert len(found) >= 15  # parameters, headers and request bodies all carry examples
    bad = {where: errors for where, schema, value in found
           if (errors := example_errors(schema, value))}
    assert not bad, bad


def test_contract_examples_match_their_schema() -> None:
    # JSON Schema `examples` (a list) inside the contracts, wherever one is given.
    def walk(node: Any, ref: str):
        if isinstance(node, dict):
            if isinstance(node.get("examples"), list) and "type" in node:
                for value in node["examples"]:
                    yield ref, value
            for key, value in node.items():
                yield from walk(value, f"{ref}/{key}")
    for path in CONTRACT_FILES:
        for ref, value in walk(json.loads(path.read_text()), f"contracts/{path.name}#"):
            assert not example_errors({"$ref": ref}, value), (ref, value)


def test_a_wrong_example_is_caught() -> None:
    # The check above can fail: an example that breaks its schema is reported.
    broken = {"parameters": [{"name": "Accept-API-Version", "in": "header",
                              "schema": {"type": "string", "pattern": "^resource=1\\.0$"},
                              "examples": {"bad": {"value": "resource=banana"}}}],
              "requestBody": {"content": {"application/json": {
                  "schema": {"$ref": "contracts/taskinstance-update-request.json"},
                  "examples": {"bad": {"value": {"assignee": 42}}}}}}}
    found = list(spec_examples(broken))
    assert len(found) == 2
    assert all(example_errors(schema, value) for _, schema, value in found)


def test_query_filter_beyond_true_is_marked_as_mockidms_extension() -> None:
    assert "`x-mockidm-extension`" in spec()["info"]["description"]
    parameter = spec()["components"]["parameters"]["queryFilter"]
    assert "mockidm extension" in parameter["description"]
    assert "Only _queryFilter=true is supported" in parameter["description"]
    marker = parameter["x-mockidm-extension"]
    for evaluated in ("processdefinition", "processinstance", "taskinstance"):
        assert evaluated in marker
    assert "execution" not in marker and "job" not in marker


def test_task_definition_key_is_not_described_as_a_filter() -> None:
    for operation_id in ("queryTaskInstances", "queryTaskInstanceHistory"):
        [parameter] = [p for p in operations()[operation_id][2]["parameters"]
                       if p.get("name") == "taskDefinitionKey"]
        assert parameter["description"].startswith("Not a filter")
        assert "Honoured" not in parameter["description"]
