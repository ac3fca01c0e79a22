"""The JSON IDM writes for each workflow resource (the Shape sections of docs/).

Keys follow IDM's order: `_id`, then `_rev`, then the engine entity's fields alphabetically
(Jackson sorts them), then the extra fields the provider appends.
"""

from __future__ import annotations

import base64
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..engine import FormProperty, Node, ProcessDefinition, ProcessInstance, Task
from ..engine.interpreter import COMPLETED, MULTI_INSTANCE_ENDED
from ..engine.jobs import Job
from ..profile import Profile


def iso(moment: datetime | None) -> str | None:
    """IDM's date format: milliseconds and an offset (`Z` for UTC)."""
    return None if moment is None else _iso(moment)


@lru_cache(maxsize=65536)  # the same start and create times are written again and again
def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def definition(d: ProcessDefinition) -> dict[str, Any]:
    start = d.model.start
    return {
        "_id": d.id,
        "_rev": "1",
        "candidateStarterGroupIdExpressions": [],
        "candidateStarterUserIdExpressions": [],
        "category": d.model.category,
        "deploymentId": d.deployment_id,
        "description": d.model.documentation,
        "eventSupport": {},
        "executionListeners": {},
        "graphicalNotationDefined": d.model.graphical_notation,
        "hasStartFormKey": start.form_key is not None,
        "historyLevel": None,
        "ioSpecification": None,
        "key": d.key,
        "laneSets": [],
        "name": d.name,
        "participantProcess": None,
        "processDiagramResourceName": d.diagram_resource_name,
        "properties": {},
        "resourceName": d.model.resource_name,
        "revisionNext": 2,
        "startFormHandler": None,
        "suspended": d.suspended,
        "suspensionState": 2 if d.suspended else 1,
        "taskDefinitions": None,
        "tenantId": "",
        "variables": None,
        "version": d.version,
    }


def definition_read(d: ProcessDefinition, *, form_template: str | None = None,
                    diagram: bytes | None = None) -> dict[str, Any]:
    start = d.model.start
    body = definition(d)
    body["formProperties"] = [listed_form_property(p) for p in start.form_properties]
    body["startFormHandler"] = {
        "deploymentId": d.deployment_id,
        "formKey": start.form_key,
        "formPropertyHandlers": [form_property(p, id_key="id") for p in start.form_properties],
    }
    body["taskDefinitions"] = {
        node.id: task_definition(d, node, with_form_key=False) for node in d.model.user_tasks}
    if start.form_key is not None:
        body["formResourceKey"] = start.form_key
        body["formGenerationTemplate"] = form_template
    if diagram is not None:
        body["diagram"] = base64.b64encode(diagram).decode("ascii")
    return body


def form_property(p: FormProperty, *, id_key: str = "_id") -> dict[str, Any]:
    """A form property handler as IDM's Jackson writes the engine's (in `startFormHandler`
    and task definitions): an untyped property's `type` is null."""
    return {
        id_key: p.id,
        "name": p.name,
        "defaultExpression": p.default,
        "variableExpression": p.expression,
        "variableName": p.variable,
        "type": None if p.type is None else {"name": p.type, "values": p.values,
                                             "datePattern": p.date_pattern},
        "readable": p.readable,
        "required": p.required,
        "writable": p.writable,
    }


def listed_form_property(p: FormProperty) -> dict[str, Any]:
    """An entry of a definition read's `formProperties`, which IDM's provider builds itself:
    the type is a map it fills only when the property has a type, so `{}` when untyped."""
    body = form_property(p)
    if p.type is None:
        body["type"] = {}
    return body


def _expression(text: str | None) -> dict[str, str] | None:
    return None if text is None else {"expressionText": text}


def task_definition(d: ProcessDefinition, node: Node, *, with_form_key: bool = True
                    ) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_id": node.id,
        "assignee": _expression(node.assignee),
        "categoryExpression": _expression(node.task_category),
        "descriptionExpression": _expression(node.documentation),
        "dueDate": None,
        "formProperties": {
            "deploymentId": d.deployment_id,
            "formKey": node.form_key,
            "formPropertyHandlers": [form_property(p) for p in node.form_properties],
        },
        "name": _expression(node.name),
        "ownerExpression": None,
        "priority": None,
        "taskCandidateGroup": [_expression(g) for g in node.candidate_groups],
        "taskCandidateUser": [_expression(u) for u in node.candidate_users],
        "taskListeners": {},
    }
    if with_form_key:
        body["formResourceKey"] = node.form_key
    return body


def created(i: ProcessInstance) -> dict[str, Any]:
    return {
        "_id": i.id,
        "processInstanceId": i.id,
        "status": "ended" if i.ended else "suspended",
        "businessKey": i.business_key,
        "processDefinitionId": i.definition.id,
    }


def instance(i: ProcessInstance, *, resource_name: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
        "_id": i.id,
        "businessKey": i.business_key,
        "deleteReason": i.delete_reason,
        "durationInMillis": i.duration_ms,
        "endActivityId": i.end_activity,
        "endTime": iso(i.end_time),
        "processDefinitionId": i.definition.id,
        "processInstanceId": i.id,
        # OpenIDM never loads them (docs/process-instances.md); where a release does
        # (`Profile.instance_variables`), the handler fills them in
        "processVariables": {},
        "queryVariables": None,
        "startActivityId": i.start_activity,
        "startTime": iso(i.start_time),
        "startUserId": i.start_user,
        "superProcessInstanceId": i.super_instance_id,
        "tenantId": "",
    }
    if resource_name:
        # Named after a resource, but IDM puts the definition's name here.
        body["processDefinitionResourceName"] = i.definition.name
    return body


def task(t: Task) -> dict[str, Any]:
    return {
        "_id": t.id,
        "_rev": "1",
        "activityInstanceVariables": {},
        "assignee": t.assignee,
        "cachedElContext": None,
        "category": t.category,
        "createTime": iso(t.create_time),
        "delegationState": None,
        "delegationStateString": None,
        "deleted": False,
        "description": t.description,
        "dueDate": iso(t.due_date),
        "eventName": None,
        "executionId": t.execution_id,
        "name": t.name,
        "owner": t.owner,
        "parentTaskId": None,
        "priority": t.priority,
        "processDefinitionId": t.definition_id,
        "processInstanceId": t.instance_id,
        "processVariables": {},
        "queryVariables": None,
        "revisionNext": 2,
        "suspended": False,
        "suspensionState": 1,
        "taskDefinitionKey": t.key,
        "taskLocalVariables": {},
        "tenantId": "",
    }


# Process variables the engine keeps for itself and never shows in a task read.
HIDDEN_VARIABLES = frozenset({"openidmcontext"})


def visible(variables: dict[str, Any]) -> dict[str, Any]:
    """Variables as a read shows them: without those the engine keeps for itself."""
    return {k: v for k, v in variables.items() if k not in HIDDEN_VARIABLES}


def task_read(t: Task, variables: dict[str, Any],
              form: list[tuple[str, str | None]]) -> dict[str, Any]:
    """A task with its variables and its form (`Engine.form_values`: id, value as text)."""
    body = task(t)
    body["formProperties"] = [{name: value} for name, value in form]
    body["variables"] = {k: v for k, v in variables.items() if k not in HIDDEN_VARIABLES}
    body["candidates"] = {"candidateUsers": list(t.candidate_users),
                          "candidateGroups": list(t.candidate_groups)}
    return body


def task_history(t: Task, profile: Profile) -> dict[str, Any]:
    """A task of the history; its `deleteReason` as the release records it (a completed
    task's, one a multi-instance cut short: the profile says)."""
    reason = t.delete_reason
    if reason == COMPLETED:
        reason = profile.completed_task_delete_reason
    elif reason == MULTI_INSTANCE_ENDED:
        reason = profile.multi_instance_task_delete_reason
    return {
        "_id": t.id,
        "assignee": t.assignee,
        "category": t.category,
        "claimTime": iso(t.claim_time),
        "deleteReason": reason,
        "description": t.description,
        "dueDate": iso(t.due_date),
        "durationInMillis": t.duration_ms,
        "endTime": iso(t.end_time),
        "executionId": t.execution_id,
        "formKey": t.form_key,
        "name": t.name,
        "owner": t.owner,
        "parentTaskId": None,
        "priority": t.priority,
        "processDefinitionId": t.definition_id,
        "processInstanceId": t.instance_id,
        "processVariables": {},
        "startTime": iso(t.create_time),
        "taskDefinitionKey": t.key,
        "taskLocalVariables": {},
        "tenantId": "",
        "time": iso(t.create_time),
        "workTimeInMillis": None,
    }


def execution(i: ProcessInstance, execution_id: str, activity_id: str) -> dict[str, Any]:
    """One waiting token. IDM 7/8 do not document this shape: it is the mock's own."""
    return {
        "_id": execution_id,
        "activityId": activity_id,
        "active": True,
        "businessKey": i.business_key,
        "ended": False,
        "name": None,
        "parentId": i.parent_of(execution_id),
        "processDefinitionId": i.definition.id,
        "processInstanceId": i.id,
        # A called instance's own execution names the caller's execution in the call activity.
        "superExecutionId": i.super_execution if execution_id == i.id else None,
        "suspended": False,
        "tenantId": "",
    }


def job(j: Job) -> dict[str, Any]:
    """A timer job or a dead-letter job. IDM does not document this shape: it is the mock's,
    with the fields of Flowable's job that Wren:IDM's dead-letter resource writes, and the due
    date and failure that a job has."""
    return {
        "_id": j.id,
        "createTime": iso(j.create_time),
        "dueDate": iso(j.due_date),
        "exceptionMessage": j.exception_message,
        "executionId": j.execution_id,
        "jobType": "timer",
        "processDefinitionId": j.definition_id,
        "processInstanceId": j.instance_id,
        "retries": j.retries,
    }
