"""`workflow/processinstance` and `workflow/processinstance/history` (docs/process-instances.md)."""

from __future__ import annotations

import base64
from typing import Any

from ..engine import InstanceQuery, ObjectNotFound, ProcessInstance
from . import shapes
from .call import Call, Reply
from .errors import IdmError
from .operations import (
    FILTERED_QUERY,
    QUERY_ALL_IDS,
    SortPolicy,
    filtered,
    is_true,
    operation,
    query_filter_allowed,
    sort_items,
    unknown_query_id,
    variables_filter,
)

_SORT = SortPolicy({
    "processInstanceId": "processInstanceId",
    "processDefinitionId": "processDefinitionId",
    "processInstanceBusinessKey": "businessKey",
    "startTime": "startTime",
    "endTime": "endTime",
    "durationInMillis": "durationInMillis",
    "tenantId": "tenantId",
}, 500)


@operation("createProcessInstance")
@operation("createProcessInstanceHistory")
def create_instance(call: Call) -> Reply:
    variables: dict[str, Any] = dict(call.request.content or {})
    key = variables.pop("_key", None)
    definition_id = variables.pop("_processDefinitionId", None)
    business_key = variables.pop("_businessKey", None)
    try:
        instance = call.engine.start(key=key, definition_id=definition_id,
                                     business_key=business_key, variables=variables,
                                     user=call.principal.name)
    except ObjectNotFound as exc:
        raise IdmError(404, exc.message) from None
    return Reply(shapes.created(instance), status=201,
                 location=f"workflow/processinstance/{instance.id}")


def _loaded(items: list[dict[str, Any]], instances: list[ProcessInstance]
            ) -> list[dict[str, Any]]:
    """Shaped instances with their variables, for a release that loads them
    (`Profile.instance_variables`; the check stays in the handlers, off the common path)."""
    for item, i in zip(items, instances, strict=True):
        item["processVariables"] = shapes.visible(i.variables)
    return items


def _query(call: Call, *, history: bool) -> Reply:
    query_filter_allowed(call, "processinstance")
    request, params = call.request, call.request.params
    running_only = None if history else False
    if request.query_filter is not None:
        query = InstanceQuery(finished=running_only)
        equality = request.query_filter.equality()
        if (equality is not None and equality[0].strip("/") == "businessKey"
                and isinstance(equality[1], str)):
            # Let the business-key index narrow the scan; the filter still decides.
            query.business_key_folded = equality[1].lower()
        instances = call.engine.query_instances(query)
        items = [shapes.instance(i) for i in instances]
        if call.state.profile.instance_variables:
            items = _loaded(items, instances)
        return Reply(items=sort_items(filtered(items, call), request.sort_keys, _SORT))
    if request.query_id == QUERY_ALL_IDS:
        instances = call.engine.query_instances(InstanceQuery(finished=running_only))
        items = [shapes.instance(i) for i in instances]
        if call.state.profile.instance_variables:
            items = _loaded(items, instances)
        return Reply(items=items)
    if request.query_id != FILTERED_QUERY:
        raise unknown_query_id(call, "processinstance")
    # The running view always asks the engine for unfinished instances; a query asking for
    # both finished and unfinished ones matches nothing.
    finished_wanted = is_true(params.get("finished"))
    unfinished_wanted = not history or is_true(params.get("unfinished"))
    if finished_wanted and unfinished_wanted:
        return Reply(items=[])
    finished = True if finished_wanted else False if unfinished_wanted else None
    query = InstanceQuery(
        instance_id=params.get("processInstanceId"),
        business_key=params.get("processInstanceBusinessKey"),
        definition_id=params.get("processDefinitionId"),
        definition_key=params.get("processDefinitionKey"),
        super_instance_id=params.get("superProcessInstanceId"),
        start_user=params.get("startUserId"),
        involved_user=params.get("involvedUserId"),
        finished=finished,
        variables=variables_filter(params),
    )
    instances = call.engine.query_instances(query)
    items = [shapes.instance(i) for i in instances]
    if call.state.profile.instance_variables:
        items = _loaded(items, instances)
    return Reply(items=sort_items(items, request.sort_keys, _SORT))


@operation("queryProcessInstances")
def query_instances(call: Call) -> Reply:
    return _query(call, history=False)


@operation("queryProcessInstanceHistory")
def query_history(call: Call) -> Reply:
    return _query(call, history=True)


def _instance(call: Call) -> ProcessInstance:
    try:
        return call.engine.instance(call.path_params["processInstanceId"])
    except ObjectNotFound:
        raise IdmError(404) from None  # IDM answers with the bare reason phrase


@operation("readProcessInstance")
@operation("readProcessInstanceHistory")
def read_instance(call: Call) -> Reply:
    instance = _instance(call)
    body = shapes.instance(instance)
    tasks = call.engine.tasks_of(instance.id)
    body["tasks"] = [shapes.task_history(t, call.profile) for t in tasks]
    if call.profile.instance_variables:  # with each task's own variables
        [body] = _loaded([body], [instance])
        for shaped, task in zip(body["tasks"], tasks, strict=True):
            shaped["taskLocalVariables"] = shapes.visible(task.local_variables)
    if any(f.strip("/") == "diagram" for f in call.request.fields or []):
        if instance.ended:  # the engine draws only running instances (IDM's message lacks a space)
            raise IdmError(500, f"Process instance with id{instance.id} could not be found")
        # Generated on each read with the active activities framed, whatever image the
        # deployment has; none without diagram interchange.
        diagram = call.engine.instance_diagram(instance)
        if diagram is not None:
            body["diagram"] = base64.b64encode(diagram).decode("ascii")
    return Reply(body)


@operation("deleteProcessInstance")
@operation("deleteProcessInstanceHistory")
def delete_instance(call: Call) -> Reply:
    instance = _instance(call)
    # The answer is the instance as read before the deletion, without its variables (IDM
    # serialises it without loading them).
    body = shapes.instance(instance, resource_name=False)
    try:
        call.engine.delete_instance(instance.id, call.profile.instance_delete_reason)
    except ObjectNotFound as exc:  # it has already ended
        raise IdmError(404, exc.message) from None
    return Reply(body)
