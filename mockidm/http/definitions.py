"""`workflow/processdefinition` and its `taskdefinition` sub-collection
(docs/process-definitions.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..engine import HasRunningInstances, ObjectNotFound, ProcessDefinition
from . import shapes
from .call import Call, Reply
from .errors import IdmError
from .operations import (
    FILTERED_QUERY,
    QUERY_ALL_IDS,
    SortPolicy,
    filtered,
    like,
    operation,
    query_filter_allowed,
    sort_items,
    unknown_query_id,
)

# The provider ignores `_sortKeys` for queries by id; only `_queryFilter` (7+) sorts.
_SORT = SortPolicy({name: name for name in ("_id", "key", "name", "version", "category",
                                            "deploymentId", "resourceName")}, 500)

_EXACT = {"_id": "_id", "key": "key", "name": "name", "category": "category",
          "deploymentId": "deploymentId",
          "processDefinitionResourceName": "resourceName"}
_LIKE = {"keyLike": "key", "nameLike": "name", "categoryLike": "category",
         "processDefinitionResourceNameLike": "resourceName"}


def _predicates(params: dict[str, str]) -> list[Callable[[dict[str, Any]], bool]]:
    if "version" in params:
        # IDM reads this parameter through a system property lookup, so the engine gets null.
        raise IdmError(500, "version is null")
    checks = [_equals(field, params[param]) for param, field in _EXACT.items() if param in params]
    checks += [_like(field, like(params[param])) for param, field in _LIKE.items()
               if param in params]
    return checks


def _equals(field: str, value: str) -> Callable[[dict[str, Any]], bool]:
    return lambda definition: definition.get(field) == value


def _like(field: str, pattern: re.Pattern[str]) -> Callable[[dict[str, Any]], bool]:
    return lambda definition: (definition.get(field) is not None
                               and pattern.fullmatch(str(definition[field])) is not None)


@operation("queryProcessDefinitions")
def query_definitions(call: Call) -> Reply:
    query_filter_allowed(call)
    items = [shapes.definition(d) for d in call.engine.definitions()]
    request = call.request
    if request.query_filter is not None:
        return Reply(items=sort_items(filtered(items, call), request.sort_keys, _SORT))
    if request.query_id == QUERY_ALL_IDS:
        return Reply(items=items)
    if request.query_id == FILTERED_QUERY:
        checks = _predicates(request.params)
        return Reply(items=[d for d in items if all(check(d) for check in checks)])
    raise unknown_query_id()


def _definition(call: Call, status: int = 404) -> ProcessDefinition:
    try:
        return call.engine.definition(call.path_params["processDefinitionId"])
    except ObjectNotFound as exc:
        raise IdmError(status, exc.message) from None


def _form_template(call: Call, definition: ProcessDefinition, form_key: str) -> str:
    """The form file a form key names, read as IDM's providers read it: a key naming no file
    of the deployment is the engine's not-found, which they answer 404."""
    try:
        return call.engine.read_resource(definition.deployment_id, form_key).decode("utf-8")
    except ObjectNotFound as exc:
        raise IdmError(404, exc.message) from None


@operation("readProcessDefinition")
def read_definition(call: Call) -> Reply:
    definition = _definition(call)
    form_key = definition.model.start.form_key
    template = _form_template(call, definition, form_key) if form_key is not None else None
    wants_diagram = any(f.strip("/") == "diagram" for f in call.request.fields or [])
    diagram = (call.engine.resource(definition.deployment_id, definition.diagram_resource_name)
               if wants_diagram and definition.diagram_resource_name else None)
    return Reply(shapes.definition_read(definition, form_template=template, diagram=diagram))


@operation("deleteProcessDefinition")
def delete_definition(call: Call) -> Reply:
    definition = _definition(call)
    body = shapes.definition(definition)
    try:
        call.engine.delete_definition(definition.id)
    except HasRunningInstances as exc:
        raise IdmError(409, exc.message) from None
    return Reply(body)


@operation("queryTaskDefinitions")
def query_task_definitions(call: Call) -> Reply:
    if call.request.query_id != QUERY_ALL_IDS:
        raise unknown_query_id()
    # Only IllegalArgumentException is caught here in IDM: an unknown definition is a 500.
    definition = _definition(call, status=500)
    return Reply(items=[shapes.task_definition(definition, node)
                        for node in definition.model.user_tasks])


@operation("readTaskDefinition")
def read_task_definition(call: Call) -> Reply:
    definition = _definition(call)
    key = call.path_params["taskDefinitionId"]
    node = definition.model.nodes.get(key)
    if node is None or node not in definition.model.user_tasks:
        raise IdmError(404, f"Task definition for {key} was not found")
    body = shapes.task_definition(definition, node)
    if node.form_key is not None:
        body["formGenerationTemplate"] = _form_template(call, definition, node.form_key)
    return Reply(body)
